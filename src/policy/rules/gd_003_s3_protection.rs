//! RMP-GD-003: GuardDuty S3 protection is on.

use super::includes;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-GD-003",
    title: "GuardDuty S3 protection is on",
    level: Level::High,
    kinds: &["guardduty_detector"],
    rationale: "S3 protection analyses data events for unusual access to buckets, the data lake's main exfiltration path.",
    fix: "Add `S3_DATA_EVENTS` to the detector's `features` (it is in the default list).",
    controls: Controls {
        seed: &["GuardDuty/Security Hub enabled for threat detection"],
        cis: &[],
        fsbp: &["GuardDuty.10"],
        frameworks: &["SOC 2 CC7.1"],
    },
    check: Check::Resource(|s, _| includes(s, "features", "S3_DATA_EVENTS")),
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
                    .filter(|f| **f != "S3_DATA_EVENTS")
                    .collect::<Vec<_>>()
                ),
            )],
            Some("features"),
        );
    }
}
