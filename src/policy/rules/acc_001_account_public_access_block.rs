//! RMP-ACC-001: The account blocks public S3 access.

use super::on;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-ACC-001",
    title: "The account blocks public S3 access",
    level: Level::Critical,
    kinds: &["account_public_access_block"],
    rationale: "The account-level public-access block applies to every bucket, including those created outside rampart, and stops a single bucket's settings from ever making data public.",
    fix: "Turn on all four flags of the account-level S3 public-access block (`aws s3control put-public-access-block`).",
    controls: Controls {
        seed: &[],
        cis: &["2.1.4"],
        fsbp: &["S3.1"],
        frameworks: &["GDPR Art. 32", "SOC 2 CC6.1"],
    },
    check: Check::Resource(|s, _| {
        [
            "block_public_acls",
            "ignore_public_acls",
            "block_public_policy",
            "restrict_public_buckets",
        ]
        .into_iter()
        .find_map(|flag| on(s, flag))
    }),
};

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::policy::rules::testing::{judge, synthetic};
    use serde_json::json;

    fn block(flags: [bool; 4]) -> Vec<crate::policy::Breach> {
        let (s, w) = synthetic(
            "account_public_access_block",
            &[
                ("block_public_acls", json!(flags[0])),
                ("ignore_public_acls", json!(flags[1])),
                ("block_public_policy", json!(flags[2])),
                ("restrict_public_buckets", json!(flags[3])),
            ],
        );
        judge(&RULE, &s, &w)
    }

    #[test]
    fn holds_with_all_four_flags_on() {
        assert!(block([true; 4]).is_empty());
    }

    #[test]
    fn breaks_with_one_flag_off() {
        let found = block([true, true, false, true]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].field, Some("block_public_policy"));
    }
}
