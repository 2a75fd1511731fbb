//! RMP-CT-004: Trails are logging.

use super::on;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-CT-004",
    title: "Trails are logging",
    level: Level::Critical,
    kinds: &["cloudtrail"],
    rationale: "A stopped trail records nothing; stopping it is the first thing an intruder tries.",
    fix: "Leave `logging` out, or set it to `true`.",
    controls: Controls {
        seed: &["CloudTrail enabled for all regions"],
        cis: &["3.1"],
        fsbp: &["CloudTrail.1"],
        frameworks: &["HIPAA 164.312(b)", "SOC 2 CC7.2"],
    },
    check: Check::Resource(|s, _| on(s, "logging")),
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
            &[("logging", json!(false))],
            Some("logging"),
        );
    }
}
