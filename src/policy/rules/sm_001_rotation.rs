//! RMP-SM-001: Secrets rotate automatically.

use super::set;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-SM-001",
    title: "Secrets rotate automatically",
    level: Level::High,
    kinds: &["secret"],
    rationale: "A secret that never changes stays valid wherever it leaked: logs, laptops, old deployments. Rotation by a Lambda function limits that window without anyone handling the value.",
    fix: "Set `rotation_lambda = \"lambda_function.NAME\"`.",
    controls: Controls {
        seed: &["Automatic secret rotation enabled (30-90 days)"],
        cis: &[],
        fsbp: &["SecretsManager.1"],
        frameworks: &["SOC 2 CC6.1", "HIPAA 164.308(a)(5)(ii)(D)"],
    },
    check: Check::Resource(|s, _| set(s, "rotation_lambda", "the secret never rotates")),
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
    fn breaks_without_rotation() {
        breaks(
            &RULE,
            "secret.api_key",
            &[("rotation_lambda", json!(null))],
            Some("rotation_lambda"),
        );
    }
}
