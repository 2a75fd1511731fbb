//! RMP-CT-005: Trails log read and write management events.

use super::on;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-CT-005",
    title: "Trails log read and write management events",
    level: Level::High,
    kinds: &["cloudtrail"],
    rationale: "Management events are the record of who changed what in the account (IAM, KMS, S3 settings); a trail without them misses exactly what an audit asks about.",
    fix: "Leave `management_events` out, or set it to `true`.",
    controls: Controls {
        seed: &["CloudTrail enabled for all regions"],
        cis: &["3.1"],
        fsbp: &["CloudTrail.1"],
        frameworks: &["HIPAA 164.312(b)", "SOC 2 CC7.2"],
    },
    check: Check::Resource(|s, _| on(s, "management_events")),
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
    fn breaks_when_off() {
        breaks(
            &RULE,
            "cloudtrail.platform",
            &[("management_events", json!(false))],
            Some("management_events"),
        );
    }
}
