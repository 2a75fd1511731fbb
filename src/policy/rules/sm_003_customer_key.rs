//! RMP-SM-003: Secrets are encrypted with a customer-managed KMS key.

use super::customer_key;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-SM-003",
    title: "Secrets are encrypted with a customer-managed KMS key",
    level: Level::Medium,
    kinds: &["secret"],
    rationale: "With the AWS managed key every principal allowed to read the secret can decrypt it; a customer key adds a second, audited permission and can be shared across accounts deliberately.",
    fix: "Set `kms_key = \"kms_key.NAME\"` on the secret.",
    controls: Controls {
        seed: &["All secrets in AWS Secrets Manager or Vault"],
        cis: &[],
        fsbp: &[],
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
        holds(&RULE, "secret.api_key");
    }

    #[test]
    fn breaks_with_the_aws_managed_key() {
        breaks(
            &RULE,
            "secret.api_key",
            &[("kms_key", json!(null))],
            Some("kms_key"),
        );
    }
}
