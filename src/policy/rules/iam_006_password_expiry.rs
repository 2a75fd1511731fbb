//! RMP-IAM-006: IAM passwords expire within 90 days.

use super::{at_most, unset};
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-IAM-006",
    title: "IAM passwords expire within 90 days",
    level: Level::Low,
    kinds: &["iam_password_policy"],
    rationale: "A password that never expires stays valid wherever it leaked; AWS FSBP asks for expiry within 90 days.",
    fix: "Leave `max_age_days` out, or set it to 90 or less.",
    controls: Controls {
        seed: &["No shared accounts, everyone has individual login"],
        cis: &[],
        fsbp: &["IAM.17"],
        frameworks: &["SOC 2 CC6.1", "HIPAA 164.308(a)(5)(ii)(D)"],
    },
    check: Check::Resource(|s, _| {
        at_most(s, "max_age_days", 90).or_else(|| unset(s, "max_age_days"))
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
        let (s, w) = cis_password_policy(Some(("max_age_days", json!(365))));
        let found = judge(&RULE, &s, &w);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].field, Some("max_age_days"));
    }
}
