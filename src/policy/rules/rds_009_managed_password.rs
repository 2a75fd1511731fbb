//! RMP-RDS-009: RDS master passwords live in Secrets Manager.

use super::on;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-RDS-009",
    title: "RDS master passwords live in Secrets Manager",
    level: Level::High,
    kinds: &["rds_instance"],
    rationale: "With the password managed by RDS in Secrets Manager, nobody needs to see it, it is encrypted with the database's key and rotated by AWS; a password set by hand lives in someone's notes.",
    fix: "rampart always manages the password this way; in a live account, turn `ManageMasterUserPassword` on.",
    controls: Controls {
        seed: &[
            "All secrets in AWS Secrets Manager or Vault",
            "No hardcoded secrets in code or configs",
        ],
        cis: &[],
        fsbp: &[],
        frameworks: &["SOC 2 CC6.1", "HIPAA 164.312(d)"],
    },
    check: Check::Resource(|s, _| on(s, "managed_master_password")),
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
    fn breaks_with_a_hand_set_password() {
        breaks(
            &RULE,
            "rds_instance.analytics",
            &[("managed_master_password", json!(false))],
            Some("managed_master_password"),
        );
    }
}
