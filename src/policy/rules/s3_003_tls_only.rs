//! RMP-S3-003: S3 buckets refuse requests without TLS.

use super::on;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-S3-003",
    title: "S3 buckets refuse requests without TLS",
    level: Level::High,
    kinds: &["s3_bucket"],
    rationale: "Without a policy denying `aws:SecureTransport = false`, clients can read and write objects over plain HTTP, exposing data and credentials in transit.",
    fix: "Leave `require_tls` out, or set it to `true`: rampart adds the deny statement to the bucket policy.",
    controls: Controls {
        seed: &["Encryption at rest and in transit"],
        cis: &["2.1.1"],
        fsbp: &["S3.5"],
        frameworks: &["GDPR Art. 32", "HIPAA 164.312(e)(1)", "SOC 2 CC6.7"],
    },
    check: Check::Resource(|s, _| on(s, "require_tls")),
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
    fn breaks_without_the_tls_policy() {
        breaks(
            &RULE,
            "s3_bucket.raw",
            &[("require_tls", json!(false))],
            Some("require_tls"),
        );
    }
}
