//! RMP-KMS-004: no customer key is scheduled for deletion.

use crate::policy::{Breach, Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-KMS-004",
    title: "No KMS key is scheduled for deletion unnoticed",
    level: Level::High,
    kinds: &["kms_key"],
    rationale: "When a key's deletion completes, everything it encrypts (objects, snapshots, secrets, logs) can never be decrypted again. A key scheduled for deletion must be a decision someone made, seen before the waiting period ends.",
    fix: "If the deletion is a mistake, cancel it (`aws kms cancel-key-deletion`) and enable the key; otherwise make sure nothing still needs what it encrypts.",
    controls: Controls {
        seed: &["Backup and disaster recovery"],
        cis: &[],
        fsbp: &["KMS.3"],
        frameworks: &["SOC 2 A1.2", "HIPAA 164.308(a)(7)"],
    },
    check: Check::Account {
        check: |w| {
            w.keys_pending_deletion
                .iter()
                .map(|key| {
                    (
                        Some(key.clone()),
                        Breach {
                            field: None,
                            message: "the key is scheduled for deletion".into(),
                        },
                    )
                })
                .collect()
        },
        audit_only: true,
    },
};

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::policy::rules::testing::{account, subject};

    #[test]
    fn holds_when_no_key_is_leaving() {
        let (_, w) = subject("kms_key.data");
        assert!(account(&RULE, &w).is_empty());
    }

    #[test]
    fn breaks_for_a_key_scheduled_for_deletion() {
        let (_, mut w) = subject("kms_key.data");
        w.keys_pending_deletion.push("kms_key:1234".into());
        let found = account(&RULE, &w);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0.as_deref(), Some("kms_key:1234"));
    }
}
