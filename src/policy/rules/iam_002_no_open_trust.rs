//! RMP-IAM-002: IAM roles do not trust everyone.

use crate::policy::{Breach, Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-IAM-002",
    title: "IAM roles do not trust everyone",
    level: Level::Critical,
    kinds: &["iam_role"],
    rationale: "A trust policy naming `*` lets any AWS account assume the role. rampart refuses `*` in a blueprint's `trust`; this rule finds such roles in a live account.",
    fix: "Name the services or accounts that may assume the role in `trust`.",
    controls: Controls {
        seed: &["RBAC implemented with least privilege"],
        cis: &[],
        fsbp: &[],
        frameworks: &["SOC 2 CC6.3", "GDPR Art. 25"],
    },
    check: Check::Resource(|s, _| {
        let trust = s.attr("trust")?.as_array()?;
        trust
            .iter()
            .any(|p| p.as_str() == Some("*"))
            .then(|| Breach {
                field: Some("trust"),
                message: "the role trusts `*`: anyone may assume it".into(),
            })
    }),
};

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::policy::rules::testing::{breaks, holds};
    use serde_json::json;

    #[test]
    fn the_example_complies() {
        holds(&RULE, "iam_role.analyst");
    }

    #[test]
    fn breaks_when_trusting_anyone() {
        breaks(
            &RULE,
            "iam_role.analyst",
            &[("trust", json!(["*"]))],
            Some("trust"),
        );
    }
}
