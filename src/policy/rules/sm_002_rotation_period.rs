//! RMP-SM-002: Secrets rotate at least every 90 days.

use serde_json::Value;

use super::at_most;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-SM-002",
    title: "Secrets rotate at least every 90 days",
    level: Level::Medium,
    kinds: &["secret"],
    rationale: "The seed checklist and AWS FSBP ask for rotation within 90 days; a longer period keeps a leaked value useful for months.",
    fix: "Set `rotation_days` to 90 or less.",
    controls: Controls {
        seed: &["Automatic secret rotation enabled (30-90 days)"],
        cis: &[],
        fsbp: &["SecretsManager.4"],
        frameworks: &["SOC 2 CC6.1"],
    },
    check: Check::Resource(|s, _| match s.attr("rotation_lambda") {
        Some(Value::String(_)) => at_most(s, "rotation_days", 90),
        _ => None,
    }),
};

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::policy::rules::testing::{breaks, holds};
    use serde_json::json;

    #[test]
    fn the_example_complies() {
        holds(&RULE, "secret.api_key");
    }

    #[test]
    fn breaks_with_a_longer_period() {
        breaks(
            &RULE,
            "secret.api_key",
            &[("rotation_days", json!(120))],
            Some("rotation_days"),
        );
    }
}
