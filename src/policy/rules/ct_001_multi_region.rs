//! RMP-CT-001: Trails cover every region.

use super::on;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-CT-001",
    title: "Trails cover every region",
    level: Level::High,
    kinds: &["cloudtrail"],
    rationale: "A single-region trail misses activity in every other region, which is where an attacker with stolen credentials starts mining or exfiltrating.",
    fix: "Leave `multi_region` out, or set it to `true`.",
    controls: Controls {
        seed: &["CloudTrail enabled for all regions"],
        cis: &["3.1"],
        fsbp: &["CloudTrail.1"],
        frameworks: &["HIPAA 164.312(b)", "SOC 2 CC7.2"],
    },
    check: Check::Resource(|s, _| on(s, "multi_region")),
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
            &[("multi_region", json!(false))],
            Some("multi_region"),
        );
    }
}
