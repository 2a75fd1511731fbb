//! RMP-KMS-003: KMS key policies grant nothing to everyone.

use super::{allows_anyone, statements};
use crate::policy::{Breach, Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-KMS-003",
    title: "KMS key policies grant nothing to everyone",
    level: Level::Critical,
    kinds: &["kms_key"],
    rationale: "A key policy statement that allows `*` as principal without a condition lets any AWS account use or manage the key, and with it decrypt everything it protects.",
    fix: "Name the principals in the key policy, or narrow the statement with a condition (`kms:CallerAccount`, `kms:ViaService`).",
    controls: Controls {
        seed: &["RBAC implemented with least privilege"],
        cis: &[],
        fsbp: &["KMS.5"],
        frameworks: &["GDPR Art. 32", "HIPAA 164.312(a)(2)(iv)", "SOC 2 CC6.1"],
    },
    check: Check::Resource(|s, _| {
        let doc = s.attr("policy")?;
        statements(doc)
            .into_iter()
            .any(allows_anyone)
            .then(|| Breach {
                field: Some("policy"),
                message: "a statement allows everyone (`Principal: *`) without a condition".into(),
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
        holds(&RULE, "kms_key.data");
    }

    #[test]
    fn breaks_with_an_open_statement() {
        breaks(
            &RULE,
            "kms_key.data",
            &[(
                "policy",
                json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}]}),
            )],
            Some("policy"),
        );
    }
}
