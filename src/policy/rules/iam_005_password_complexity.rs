//! RMP-IAM-005: IAM passwords mix character classes.

use super::on;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-IAM-005",
    title: "IAM passwords mix character classes",
    level: Level::Medium,
    kinds: &["iam_password_policy"],
    rationale: "Requiring uppercase and lowercase letters, digits and symbols multiplies the search space of every password.",
    fix: "Leave the four `require_*` fields out, or set them to `true`.",
    controls: Controls {
        seed: &["No shared accounts, everyone has individual login"],
        cis: &[],
        fsbp: &["IAM.11", "IAM.12", "IAM.13", "IAM.14"],
        frameworks: &["SOC 2 CC6.1", "HIPAA 164.308(a)(5)(ii)(D)"],
    },
    check: Check::Resource(|s, _| {
        [
            "require_uppercase",
            "require_lowercase",
            "require_numbers",
            "require_symbols",
        ]
        .into_iter()
        .find_map(|f| on(s, f))
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
        let (s, w) = cis_password_policy(Some(("require_symbols", json!(false))));
        let found = judge(&RULE, &s, &w);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].field, Some("require_symbols"));
    }
}
