//! RMP-KMS-001: KMS keys rotate automatically.

use super::on;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-KMS-001",
    title: "KMS keys rotate automatically",
    level: Level::High,
    kinds: &["kms_key"],
    rationale: "Rotation limits how much data one key version protects and how long a leaked key stays useful. KMS keeps old versions for decryption, so rotation costs nothing in availability.",
    fix: "Leave `rotation` out, or set it to `true`.",
    controls: Controls {
        seed: &["Encryption at rest and in transit"],
        cis: &["3.6"],
        fsbp: &["KMS.4"],
        frameworks: &["HIPAA 164.312(a)(2)(iv)", "GDPR Art. 32", "SOC 2 CC6.1"],
    },
    check: Check::Resource(|s, _| on(s, "rotation")),
};

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::policy::rules::testing::{breaks, holds};
    use serde_json::json;

    #[test]
    fn the_example_complies() {
        holds(&RULE, "kms_key.data");
    }

    #[test]
    fn breaks_without_rotation() {
        breaks(
            &RULE,
            "kms_key.data",
            &[("rotation", json!(false))],
            Some("rotation"),
        );
    }
}
