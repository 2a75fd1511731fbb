//! RMP-IAM-004: IAM passwords cannot be reused.

use super::{at_least, unset};
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-IAM-004",
    title: "IAM passwords cannot be reused",
    level: Level::Medium,
    kinds: &["iam_password_policy"],
    rationale: "Without reuse prevention, a forced change can go straight back to the old, possibly leaked, password; CIS asks to remember the last 24.",
    fix: "Leave `reuse_prevention` out, or set it to 24.",
    controls: Controls {
        seed: &["No shared accounts, everyone has individual login"],
        cis: &["1.9"],
        fsbp: &["IAM.16"],
        frameworks: &["SOC 2 CC6.1", "HIPAA 164.308(a)(5)(ii)(D)"],
    },
    check: Check::Resource(|s, _| {
        at_least(s, "reuse_prevention", 24).or_else(|| unset(s, "reuse_prevention"))
    }),
};

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::policy::rules::testing::{cis_password_policy, judge};
    use serde_json::json;

    #[test]
    fn holds_for_the_cis_policy() {
        assert!(judge(&RULE, &cis_password_policy(None).0, &Default::default()).is_empty());
    }

    #[test]
    fn breaks_when_weakened() {
        let (s, w) = cis_password_policy(Some(("reuse_prevention", json!(5))));
        let found = judge(&RULE, &s, &w);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].field, Some("reuse_prevention"));
    }
}
