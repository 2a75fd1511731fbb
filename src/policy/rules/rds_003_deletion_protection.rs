//! RMP-RDS-003: RDS instances have deletion protection.

use super::on;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-RDS-003",
    title: "RDS instances have deletion protection",
    level: Level::Medium,
    kinds: &["rds_instance"],
    rationale: "Deletion protection makes deleting a database a two-step decision, so a script or a typo cannot drop production data.",
    fix: "Leave `deletion_protection` out, or set it to `true`.",
    controls: Controls {
        seed: &["Backup and disaster recovery"],
        cis: &[],
        fsbp: &["RDS.8"],
        frameworks: &["SOC 2 A1.2"],
    },
    check: Check::Resource(|s, _| on(s, "deletion_protection")),
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
            &[("deletion_protection", json!(false))],
            Some("deletion_protection"),
        );
    }
}
