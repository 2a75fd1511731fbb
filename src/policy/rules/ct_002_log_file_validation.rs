//! RMP-CT-002: Trails validate their log files.

use super::on;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-CT-002",
    title: "Trails validate their log files",
    level: Level::High,
    kinds: &["cloudtrail"],
    rationale: "Digest files signed by CloudTrail prove that log files were not changed or deleted after delivery; without them, logs are not evidence.",
    fix: "Leave `log_file_validation` out, or set it to `true`.",
    controls: Controls {
        seed: &["Audit logging enabled for all PHI access (CloudTrail + app logs)"],
        cis: &["3.2"],
        fsbp: &["CloudTrail.4"],
        frameworks: &["HIPAA 164.312(c)(1)", "SOC 2 CC7.2"],
    },
    check: Check::Resource(|s, _| on(s, "log_file_validation")),
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
            &[("log_file_validation", json!(false))],
            Some("log_file_validation"),
        );
    }
}
