//! RMP-GD-004: GuardDuty RDS protection is on.

use super::includes;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-GD-004",
    title: "GuardDuty RDS protection is on",
    level: Level::High,
    kinds: &["guardduty_detector"],
    rationale: "RDS protection profiles database logins and flags brute force and logins from unusual places.",
    fix: "Add `RDS_LOGIN_EVENTS` to the detector's `features` (it is in the default list).",
    controls: Controls {
        seed: &["GuardDuty/Security Hub enabled for threat detection"],
        cis: &[],
        fsbp: &["GuardDuty.9"],
        frameworks: &["SOC 2 CC7.1"],
    },
    check: Check::Resource(|s, _| includes(s, "features", "RDS_LOGIN_EVENTS")),
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
                    .filter(|f| **f != "RDS_LOGIN_EVENTS")
                    .collect::<Vec<_>>()
                ),
            )],
            Some("features"),
        );
    }
}
