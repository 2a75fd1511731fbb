//! RMP-RDS-010: RDS instances export their logs to CloudWatch.

use serde_json::Value;

use crate::policy::{Breach, Check, Controls, Level, Mode, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-RDS-010",
    title: "RDS instances export their logs to CloudWatch",
    level: Level::Medium,
    kinds: &["rds_instance"],
    rationale: "Database logs (connections, failed logins, errors) are only useful for alerting and investigations when they leave the instance.",
    fix: "Set `log_exports`, e.g. `[\"postgresql\", \"upgrade\"]`.",
    controls: Controls {
        seed: &["Failed login attempts logged and alerted"],
        cis: &[],
        fsbp: &["RDS.9"],
        frameworks: &["HIPAA 164.312(b)", "SOC 2 CC7.2"],
    },
    check: Check::Resource(|s, _| match s.attr("log_exports") {
        Some(Value::Array(logs)) if !logs.is_empty() => None,
        None if s.mode == Mode::Actual => None,
        _ => Breach::at(
            "log_exports",
            "`log_exports` is empty: no log leaves the instance",
        ),
    }),
};

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::policy::rules::testing::{breaks, holds};
    use serde_json::json;

    #[test]
    fn the_example_complies() {
        holds(&RULE, "rds_instance.analytics");
    }

    #[test]
    fn breaks_without_exports() {
        breaks(
            &RULE,
            "rds_instance.analytics",
            &[("log_exports", json!([]))],
            Some("log_exports"),
        );
    }
}
