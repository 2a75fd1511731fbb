//! RMP-GD-006: GuardDuty Lambda protection is on.

use super::includes;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-GD-006",
    title: "GuardDuty Lambda protection is on",
    level: Level::Medium,
    kinds: &["guardduty_detector"],
    rationale: "Lambda protection watches function network traffic for calls to known-bad hosts, such as a rotation function that was tampered with.",
    fix: "Add `LAMBDA_NETWORK_LOGS` to the detector's `features` (it is in the default list).",
    controls: Controls {
        seed: &["GuardDuty/Security Hub enabled for threat detection"],
        cis: &[],
        fsbp: &["GuardDuty.6"],
        frameworks: &["SOC 2 CC7.1"],
    },
    check: Check::Resource(|s, _| includes(s, "features", "LAMBDA_NETWORK_LOGS")),
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
    fn breaks_without_the_protection() {
        breaks(
            &RULE,
            "guardduty_detector.platform[eu-west-1]",
            &[(
                "features",
                json!(
                    [
                        "S3_DATA_EVENTS",
                        "RDS_LOGIN_EVENTS",
                        "LAMBDA_NETWORK_LOGS",
                        "EBS_MALWARE_PROTECTION",
                        "RUNTIME_MONITORING"
                    ]
                    .iter()
                    .filter(|f| **f != "LAMBDA_NETWORK_LOGS")
                    .collect::<Vec<_>>()
                ),
            )],
            Some("features"),
        );
    }
}
