//! RMP-KMS-002: KMS keys rotate at least yearly.

use super::at_most;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-KMS-002",
    title: "KMS keys rotate at least yearly",
    level: Level::Low,
    kinds: &["kms_key"],
    rationale: "KMS allows rotation periods up to 2560 days; CIS and most key-management policies ask for a new key version at least every year.",
    fix: "Set `rotation_period_days` to 365 or less.",
    controls: Controls {
        seed: &[],
        cis: &["3.6"],
        fsbp: &["KMS.4"],
        frameworks: &["SOC 2 CC6.1"],
    },
    check: Check::Resource(|s, _| match s.is("rotation", true) {
        true => at_most(s, "rotation_period_days", 365),
        false => None,
    }),
};

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::policy::rules::testing::{breaks, holds};
    use serde_json::json;

    #[test]
    fn the_example_complies() {
        holds(&RULE, "kms_key.data");
    }

    #[test]
    fn breaks_with_a_longer_period() {
        breaks(
            &RULE,
            "kms_key.data",
            &[("rotation_period_days", json!(730))],
            Some("rotation_period_days"),
        );
    }
}
