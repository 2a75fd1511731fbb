//! RMP-GD-001: GuardDuty detectors are enabled.

use super::on;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-GD-001",
    title: "GuardDuty detectors are enabled",
    level: Level::Critical,
    kinds: &["guardduty_detector"],
    rationale: "A suspended detector analyses nothing: no findings for compromised credentials, crypto mining or data exfiltration.",
    fix: "Leave `enabled` out, or set it to `true`.",
    controls: Controls {
        seed: &["GuardDuty/Security Hub enabled for threat detection"],
        cis: &[],
        fsbp: &["GuardDuty.1"],
        frameworks: &["HIPAA 164.308(a)(1)(ii)(D)", "SOC 2 CC7.1"],
    },
    check: Check::Resource(|s, _| on(s, "enabled")),
};

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::policy::rules::testing::{breaks, holds};
    use serde_json::json;

    #[test]
    fn the_example_complies() {
        holds(&RULE, "guardduty_detector.platform[eu-west-1]");
    }

    #[test]
    fn breaks_when_suspended() {
        breaks(
            &RULE,
            "guardduty_detector.platform[eu-west-1]",
            &[("enabled", json!(false))],
            Some("enabled"),
        );
    }
}
