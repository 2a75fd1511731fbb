//! RMP-S3-001: S3 buckets are encrypted with a customer-managed KMS key.

use serde_json::Value;

use super::customer_key;
use crate::policy::{Breach, Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-S3-001",
    title: "S3 buckets are encrypted with a customer-managed KMS key",
    level: Level::High,
    kinds: &["s3_bucket"],
    rationale: "Data at rest must be encrypted with a key the account controls, so that access to the data needs both S3 and KMS permissions, is logged in CloudTrail, and can be cut off by disabling the key. A bucket that receives server access logs is the exception: AWS delivers those logs only to SSE-S3 buckets, so it must use SSE-S3 (still encrypted).",
    fix: "Set `kms_key = \"kms_key.NAME\"` on the bucket. For a bucket named in other buckets' `access_logs`, leave `kms_key` out (SSE-S3).",
    controls: Controls {
        seed: &[
            "S3 buckets encrypted with KMS (SSE-KMS)",
            "All S3 buckets with PHI have encryption enabled (SSE-KMS)",
        ],
        cis: &[],
        fsbp: &["S3.17"],
        frameworks: &["GDPR Art. 32", "HIPAA 164.312(a)(2)(iv)", "SOC 2 CC6.1"],
    },
    check: Check::Resource(|s, w| {
        // AWS delivers server access logs only to SSE-S3 buckets.
        if s.receives_access_logs(w) {
            return match s.attr("kms_key") {
                Some(Value::String(k)) if k.starts_with("none") => {
                    Breach::at("kms_key", format!("`kms_key` is {k}"))
                }
                _ => None,
            };
        }
        customer_key(s, "kms_key")
    }),
};

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::policy::rules::testing::{breaks, holds};
    use serde_json::json;

    #[test]
    fn the_example_complies() {
        holds(&RULE, "s3_bucket.raw");
    }

    #[test]
    fn breaks_with_sse_s3() {
        breaks(
            &RULE,
            "s3_bucket.raw",
            &[("kms_key", json!(null))],
            Some("kms_key"),
        );
    }

    #[test]
    fn a_log_target_may_use_sse_s3_but_not_nothing() {
        holds(&RULE, "s3_bucket.access_logs");
        breaks(
            &RULE,
            "s3_bucket.access_logs",
            &[("kms_key", json!("none (unencrypted)"))],
            Some("kms_key"),
        );
    }
}
