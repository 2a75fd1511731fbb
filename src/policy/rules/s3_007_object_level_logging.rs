//! RMP-S3-007: S3 object-level reads and writes are logged by CloudTrail.

use crate::policy::{Breach, Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-S3-007",
    title: "S3 object-level reads and writes are logged by CloudTrail",
    level: Level::Medium,
    kinds: &["s3_bucket"],
    rationale: "Management events do not show who read or wrote which object. CloudTrail data events do, and they are what a breach investigation of PII or PHI needs. A blueprint without a trail is not judged: the account's trail may live in another blueprint. Log buckets are exempt.",
    fix: "Add the bucket to a trail's `data_events`.",
    controls: Controls {
        seed: &[
            "S3 data events logged for sensitive buckets",
            "Audit logging enabled for all PHI access (CloudTrail + app logs)",
        ],
        cis: &["3.8", "3.9"],
        fsbp: &["S3.22", "S3.23"],
        frameworks: &["HIPAA 164.312(b)", "GDPR Art. 30", "SOC 2 CC7.2"],
    },
    check: Check::Resource(|s, w| {
        let log_bucket = s.receives_access_logs(w) || s.receives_trail_logs(w);
        let logged = w.data_events.contains("*")
            || s.names.iter().any(|n| w.data_events.contains(n.as_ref()));
        if !w.has_trail || log_bucket || logged {
            return None;
        }
        Some(Breach {
            field: None,
            message: "no trail logs its object-level events".into(),
        })
    }),
};

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::policy::rules::testing::{holds, judge, subject};

    #[test]
    fn the_example_complies() {
        holds(&RULE, "s3_bucket.raw");
        holds(&RULE, "s3_bucket.audit");
    }

    #[test]
    fn breaks_when_no_trail_logs_the_bucket() {
        let (s, mut w) = subject("s3_bucket.raw");
        w.data_events.clear();
        assert_eq!(judge(&RULE, &s, &w).len(), 1);
        w.has_trail = false;
        assert!(judge(&RULE, &s, &w).is_empty(), "no trail, no judgement");
    }
}
