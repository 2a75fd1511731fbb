//! RMP-S3-005: S3 buckets write server access logs.

use super::set;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-S3-005",
    title: "S3 buckets write server access logs",
    level: Level::Medium,
    kinds: &["s3_bucket"],
    rationale: "Server access logs record every request to the bucket, including those CloudTrail data events do not cover (denied and anonymous ones); investigations of data access need them. The bucket that receives the logs is exempt: logging into itself would loop.",
    fix: "Set `access_logs = \"s3_bucket.LOGS\"` to a bucket that receives access logs.",
    controls: Controls {
        seed: &[
            "Audit logging enabled for all PHI access (CloudTrail + app logs)",
            "Application audit logs for PII/PHI access",
        ],
        cis: &[],
        fsbp: &["S3.9"],
        frameworks: &["HIPAA 164.312(b)", "SOC 2 CC7.2", "GDPR Art. 30"],
    },
    check: Check::Resource(|s, w| {
        if s.receives_access_logs(w) {
            return None;
        }
        set(s, "access_logs", "requests to the bucket are not logged")
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
    fn breaks_without_access_logs() {
        breaks(
            &RULE,
            "s3_bucket.raw",
            &[("access_logs", json!(null))],
            Some("access_logs"),
        );
    }

    #[test]
    fn the_log_bucket_itself_is_exempt() {
        holds(&RULE, "s3_bucket.access_logs");
    }
}
