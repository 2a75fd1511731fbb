//! RMP-CT-006: Trails include global service events.

use super::on;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-CT-006",
    title: "Trails include global service events",
    level: Level::Medium,
    kinds: &["cloudtrail"],
    rationale: "IAM, STS and CloudFront events are global: without them the trail misses role creation, key creation and console sign-ins.",
    fix: "Leave `include_global_service_events` out, or set it to `true`.",
    controls: Controls {
        seed: &["CloudTrail enabled for all regions"],
        cis: &["3.1"],
        fsbp: &["CloudTrail.1"],
        frameworks: &["HIPAA 164.312(b)", "SOC 2 CC7.2"],
    },
    check: Check::Resource(|s, _| on(s, "include_global_service_events")),
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
            &[("include_global_service_events", json!(false))],
            Some("include_global_service_events"),
        );
    }
}
