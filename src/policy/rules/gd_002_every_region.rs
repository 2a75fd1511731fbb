//! RMP-GD-002: GuardDuty runs in every region.

use crate::policy::{Breach, Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-GD-002",
    title: "GuardDuty runs in every region",
    level: Level::High,
    kinds: &["guardduty_detector"],
    rationale: "Attackers use the regions nobody watches. A detector must run in every region the account uses, not only the home one.",
    fix: "Give the detector every region in `regions` (or the blueprint's `regions`).",
    controls: Controls {
        seed: &["GuardDuty/Security Hub enabled for threat detection"],
        cis: &[],
        fsbp: &["GuardDuty.1"],
        frameworks: &["SOC 2 CC7.1"],
    },
    check: Check::Account {
        check: |w| {
            let missing: Vec<&str> = w
                .regions
                .iter()
                // A detector that is there but suspended is RMP-GD-001's finding.
                .filter(|r| !w.detectors.iter().any(|(_, at, _)| at == *r))
                .map(String::as_str)
                .collect();
            if missing.is_empty() {
                return Vec::new();
            }
            vec![(
                w.detectors.first().map(|(resource, _, _)| resource.clone()),
                Breach {
                    field: Some("regions"),
                    message: format!("no detector in {}", missing.join(", ")),
                },
            )]
        },
        audit_only: false,
    },
};

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::policy::rules::testing::{account, subject};

    #[test]
    fn holds_when_every_region_has_one() {
        let (_, w) = subject("guardduty_detector.platform[eu-west-1]");
        assert!(account(&RULE, &w).is_empty());
    }

    #[test]
    fn breaks_for_a_region_without_one() {
        let (_, mut w) = subject("guardduty_detector.platform[eu-west-1]");
        w.regions.insert("us-east-1".into());
        let found = account(&RULE, &w);
        assert_eq!(found.len(), 1);
        assert!(found[0].1.message.contains("us-east-1"), "{found:?}");
    }
}
