//! RMP-S3-002: S3 buckets block all public access.

use super::on;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-S3-002",
    title: "S3 buckets block all public access",
    level: Level::Critical,
    kinds: &["s3_bucket"],
    rationale: "One bucket policy or ACL written in a hurry is enough to publish a bucket. The public-access block overrides them: with all four flags on, no policy or ACL can make the bucket or its objects public.",
    fix: "Leave `block_public_access` out, or set it to `true`.",
    controls: Controls {
        seed: &[],
        cis: &["2.1.4"],
        fsbp: &["S3.8"],
        frameworks: &["GDPR Art. 32", "HIPAA 164.312(a)(1)", "SOC 2 CC6.1"],
    },
    check: Check::Resource(|s, _| on(s, "block_public_access")),
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
    fn breaks_when_relaxed() {
        breaks(
            &RULE,
            "s3_bucket.raw",
            &[("block_public_access", json!(false))],
            Some("block_public_access"),
        );
    }
}
