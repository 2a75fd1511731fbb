//! RMP-RDS-001: RDS storage is encrypted with a customer-managed KMS key.

use super::customer_key;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-RDS-001",
    title: "RDS storage is encrypted with a customer-managed KMS key",
    level: Level::Critical,
    kinds: &["rds_instance"],
    rationale: "Encryption at rest protects snapshots, replicas and storage media; with a customer key, access can be audited and revoked. It can only be chosen when the database is created.",
    fix: "`kms_key` is required on every `rds_instance`; for an existing unencrypted database, restore an encrypted copy from a snapshot.",
    controls: Controls {
        seed: &["RDS/Redshift encrypted at rest"],
        cis: &["2.3.1"],
        fsbp: &["RDS.3"],
        frameworks: &["GDPR Art. 32", "HIPAA 164.312(a)(2)(iv)", "SOC 2 CC6.1"],
    },
    check: Check::Resource(|s, _| customer_key(s, "kms_key")),
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
    fn breaks_when_unencrypted() {
        breaks(
            &RULE,
            "rds_instance.analytics",
            &[("kms_key", json!("none (storage not encrypted)"))],
            Some("kms_key"),
        );
    }
}
