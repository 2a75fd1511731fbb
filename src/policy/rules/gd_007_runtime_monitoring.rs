//! RMP-GD-007: GuardDuty runtime monitoring is on.

use super::includes;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-GD-007",
    title: "GuardDuty runtime monitoring is on",
    level: Level::Medium,
    kinds: &["guardduty_detector"],
    rationale: "Runtime monitoring sees process and file activity on EC2, ECS and EKS workloads that log analysis cannot.",
    fix: "Add `RUNTIME_MONITORING` to the detector's `features` (it is in the default list).",
    controls: Controls {
        seed: &["GuardDuty/Security Hub enabled for threat detection"],
        cis: &[],
        fsbp: &["GuardDuty.11"],
        frameworks: &["SOC 2 CC7.1"],
    },
    check: Check::Resource(|s, _| includes(s, "features", "RUNTIME_MONITORING")),
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
                    .filter(|f| **f != "RUNTIME_MONITORING")
                    .collect::<Vec<_>>()
                ),
            )],
            Some("features"),
        );
    }
}
