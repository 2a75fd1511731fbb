//! RMP-CT-003: Trails encrypt their logs with a customer-managed KMS key.

use super::customer_key;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-CT-003",
    title: "Trails encrypt their logs with a customer-managed KMS key",
    level: Level::Medium,
    kinds: &["cloudtrail"],
    rationale: "Logs name every resource and principal of the account. With a customer key, reading them needs kms:Decrypt as well as S3 access, and every read is itself logged.",
    fix: "Set `kms_key = \"kms_key.NAME\"` on the trail; rampart grants CloudTrail the key.",
    controls: Controls {
        seed: &["CloudTrail enabled for all regions"],
        cis: &["3.5"],
        fsbp: &["CloudTrail.2"],
        frameworks: &["HIPAA 164.312(a)(2)(iv)", "SOC 2 CC6.1"],
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
        holds(&RULE, "cloudtrail.platform");
    }

    #[test]
    fn breaks_when_unset() {
        breaks(
            &RULE,
            "cloudtrail.platform",
            &[("kms_key", json!(null))],
            Some("kms_key"),
        );
    }
}
