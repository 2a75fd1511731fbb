//! RMP-RDS-005: RDS instances accept IAM authentication.

use super::on;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-RDS-005",
    title: "RDS instances accept IAM authentication",
    level: Level::Medium,
    kinds: &["rds_instance"],
    rationale: "IAM authentication gives each person and service its own short-lived database credentials, instead of shared passwords.",
    fix: "Leave `iam_auth` out, or set it to `true`.",
    controls: Controls {
        seed: &["No shared accounts, everyone has individual login"],
        cis: &[],
        fsbp: &["RDS.10"],
        frameworks: &["HIPAA 164.312(d)", "SOC 2 CC6.1"],
    },
    check: Check::Resource(|s, _| on(s, "iam_auth")),
};

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::policy::rules::testing::{breaks, holds};
    use serde_json::json;

    #[test]
    fn the_example_complies() {
        holds(&RULE, "rds_instance.analytics");
    }

    #[test]
    fn breaks_without_it() {
        breaks(
            &RULE,
            "rds_instance.analytics",
            &[("iam_auth", json!(false))],
            Some("iam_auth"),
        );
    }
}
