//! RMP-S3-006: Buckets that receive CloudTrail logs have object lock.

use super::set;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-S3-006",
    title: "Buckets that receive CloudTrail logs have object lock",
    level: Level::High,
    kinds: &["s3_bucket"],
    rationale: "Audit logs are evidence. With object lock in compliance mode, nobody, not even the account root, can delete or overwrite them before their retention ends, which HIPAA's six-year retention of audit records asks for.",
    fix: "Set `object_lock = { mode = \"COMPLIANCE\", retention_days = 2190 }` on the trail's bucket (object lock can only be set when the bucket is created).",
    controls: Controls {
        seed: &["Audit log retention meets compliance (3-6 years)"],
        cis: &[],
        fsbp: &["S3.15"],
        frameworks: &["HIPAA 164.316(b)(2)", "SOC 2 CC7.2"],
    },
    check: Check::Resource(|s, w| {
        if !s.receives_trail_logs(w) {
            return None;
        }
        set(s, "object_lock", "the audit logs can be deleted")
    }),
};

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::policy::rules::testing::{breaks, holds};
    use serde_json::json;

    #[test]
    fn the_example_trail_bucket_complies() {
        holds(&RULE, "s3_bucket.audit");
    }

    #[test]
    fn breaks_without_object_lock() {
        breaks(
            &RULE,
            "s3_bucket.audit",
            &[("object_lock", json!(null))],
            Some("object_lock"),
        );
    }

    #[test]
    fn a_bucket_without_trail_logs_needs_no_lock() {
        holds(&RULE, "s3_bucket.raw");
    }
}
