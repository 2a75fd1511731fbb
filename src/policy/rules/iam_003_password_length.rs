//! RMP-IAM-003: IAM passwords are at least 14 characters.

use super::at_least;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-IAM-003",
    title: "IAM passwords are at least 14 characters",
    level: Level::Medium,
    kinds: &["iam_password_policy"],
    rationale: "Short passwords fall to guessing and cracking; CIS asks for at least 14 characters for IAM users' console passwords.",
    fix: "Leave `minimum_length` out, or set it to 14 or more.",
    controls: Controls {
        seed: &["No shared accounts, everyone has individual login"],
        cis: &["1.8"],
        fsbp: &["IAM.15"],
        frameworks: &["SOC 2 CC6.1", "HIPAA 164.308(a)(5)(ii)(D)"],
    },
    check: Check::Resource(|s, _| at_least(s, "minimum_length", 14)),
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
        let (s, w) = cis_password_policy(Some(("minimum_length", json!(8))));
        let found = judge(&RULE, &s, &w);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].field, Some("minimum_length"));
    }
}
