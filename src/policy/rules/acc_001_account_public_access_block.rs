//! RMP-ACC-001: The account blocks public S3 access.

use crate::policy::{Breach, Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-ACC-001",
    title: "The account blocks public S3 access",
    level: Level::Critical,
    kinds: &["s3_bucket"],
    rationale: "The account-level public-access block applies to every bucket, including those created outside rampart, and stops a single bucket's settings from ever making data public.",
    fix: "Turn on all four flags of the account-level S3 public-access block (`aws s3control put-public-access-block`).",
    controls: Controls {
        seed: &[],
        cis: &["2.1.4"],
        fsbp: &["S3.1"],
        frameworks: &["GDPR Art. 32", "SOC 2 CC6.1"],
    },
    check: Check::Account {
        check: |w| match w.account_public_access_block {
            Some(false) => vec![(
                None,
                Breach {
                    field: None,
                    message: "the account-level S3 public-access block is not fully on".into(),
                },
            )],
            _ => Vec::new(),
        },
        audit_only: true,
    },
};

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::policy::rules::testing::{account, subject};

    #[test]
    fn holds_when_the_account_blocks_public_access() {
        let (_, mut w) = subject("s3_bucket.raw");
        w.account_public_access_block = Some(true);
        assert!(account(&RULE, &w).is_empty());
        w.account_public_access_block = None;
        assert!(account(&RULE, &w).is_empty(), "not known, not judged");
    }

    #[test]
    fn breaks_when_it_does_not() {
        let (_, mut w) = subject("s3_bucket.raw");
        w.account_public_access_block = Some(false);
        assert_eq!(account(&RULE, &w).len(), 1);
    }
}
