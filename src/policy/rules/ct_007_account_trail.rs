//! RMP-CT-007: The account has a multi-region trail that is logging.

use crate::policy::{Breach, Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-CT-007",
    title: "The account has a multi-region trail that is logging",
    level: Level::Critical,
    kinds: &["cloudtrail"],
    rationale: "Without at least one multi-region trail logging management events, the account has no record of its API activity at all.",
    fix: "Create a `cloudtrail` with the defaults (multi-region, logging, management events).",
    controls: Controls {
        seed: &["CloudTrail enabled for all regions"],
        cis: &["3.1"],
        fsbp: &["CloudTrail.1"],
        frameworks: &["HIPAA 164.312(b)", "SOC 2 CC7.2", "GDPR Art. 30"],
    },
    check: Check::Account {
        check: |w| match w.trails.iter().any(|(_, complete)| *complete) {
            true => Vec::new(),
            false => vec![(
                None,
                Breach {
                    field: None,
                    message: "no multi-region trail is logging management events".into(),
                },
            )],
        },
        audit_only: true,
    },
};

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::policy::rules::testing::{account, subject};

    #[test]
    fn holds_with_a_complete_trail() {
        let (_, w) = subject("cloudtrail.platform");
        assert!(account(&RULE, &w).is_empty());
    }

    #[test]
    fn breaks_without_one() {
        let (_, mut w) = subject("cloudtrail.platform");
        w.trails.iter_mut().for_each(|t| t.1 = false);
        assert_eq!(account(&RULE, &w).len(), 1);
    }
}
