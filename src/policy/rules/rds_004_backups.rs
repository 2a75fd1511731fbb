//! RMP-RDS-004: RDS backups are kept at least 7 days.

use super::at_least;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-RDS-004",
    title: "RDS backups are kept at least 7 days",
    level: Level::Medium,
    kinds: &["rds_instance"],
    rationale: "Automated backups allow point-in-time recovery; fewer than 7 days leaves too little time to notice corruption or a ransomware attack.",
    fix: "Set `backup_retention_days` to 7 or more.",
    controls: Controls {
        seed: &["Backup and disaster recovery"],
        cis: &[],
        fsbp: &["RDS.11"],
        frameworks: &["SOC 2 A1.2", "HIPAA 164.308(a)(7)(ii)(A)"],
    },
    check: Check::Resource(|s, _| at_least(s, "backup_retention_days", 7)),
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
    fn breaks_with_one_day() {
        breaks(
            &RULE,
            "rds_instance.analytics",
            &[("backup_retention_days", json!(1))],
            Some("backup_retention_days"),
        );
    }
}
