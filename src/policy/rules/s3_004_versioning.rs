//! RMP-S3-004: S3 buckets keep object versions.

use super::on;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-S3-004",
    title: "S3 buckets keep object versions",
    level: Level::Medium,
    kinds: &["s3_bucket"],
    rationale: "Versioning keeps every overwritten or deleted object recoverable, which protects against mistakes and ransomware, and is required for object lock and replication.",
    fix: "Leave `versioning` out, or set it to `true`; bound the cost with `lifecycle = { noncurrent_expiration_days = N }`.",
    controls: Controls {
        seed: &["Backup and disaster recovery"],
        cis: &[],
        fsbp: &["S3.14"],
        frameworks: &["SOC 2 A1.2", "HIPAA 164.308(a)(7)"],
    },
    check: Check::Resource(|s, _| on(s, "versioning")),
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
    fn breaks_without_versioning() {
        breaks(
            &RULE,
            "s3_bucket.raw",
            &[("versioning", json!(false))],
            Some("versioning"),
        );
    }
}
