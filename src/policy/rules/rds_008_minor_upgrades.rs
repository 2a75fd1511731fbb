//! RMP-RDS-008: RDS instances take minor version upgrades.

use super::on;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-RDS-008",
    title: "RDS instances take minor version upgrades",
    level: Level::Medium,
    kinds: &["rds_instance"],
    rationale: "Minor versions carry security fixes; automatic upgrades apply them in the maintenance window instead of leaving known vulnerabilities in place.",
    fix: "Leave `auto_minor_version_upgrade` out, or set it to `true`.",
    controls: Controls {
        seed: &["Vulnerability scanning"],
        cis: &["2.3.2"],
        fsbp: &["RDS.13"],
        frameworks: &["SOC 2 CC7.1"],
    },
    check: Check::Resource(|s, _| on(s, "auto_minor_version_upgrade")),
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
    fn breaks_without_them() {
        breaks(
            &RULE,
            "rds_instance.analytics",
            &[("auto_minor_version_upgrade", json!(false))],
            Some("auto_minor_version_upgrade"),
        );
    }
}
