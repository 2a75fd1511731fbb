//! RMP-IAM-001: IAM roles are not administrators.

use serde_json::Value;

use super::{statements, wildcard};
use crate::policy::{Breach, Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-IAM-001",
    title: "IAM roles are not administrators",
    level: Level::Critical,
    kinds: &["iam_role"],
    rationale: "A statement allowing `Action: *` on `Resource: *` (or the AdministratorAccess policy) gives the role, and whoever assumes it, every permission in the account: least privilege means naming the actions and resources.",
    fix: "Replace the statement with the actions and resources the role needs.",
    controls: Controls {
        seed: &["RBAC implemented with least privilege"],
        cis: &["1.16"],
        fsbp: &["IAM.1"],
        frameworks: &["HIPAA 164.308(a)(4)", "SOC 2 CC6.3", "GDPR Art. 25"],
    },
    check: Check::Resource(|s, _| {
        let admin_policy = s
            .attr("managed_policies")
            .and_then(Value::as_array)
            .is_some_and(|p| {
                p.iter()
                    .any(|a| a.as_str() == Some("arn:aws:iam::aws:policy/AdministratorAccess"))
            });
        if admin_policy {
            return Breach::at("managed_policies", "AdministratorAccess is attached");
        }
        let docs = s.attr("policies")?.as_object()?;
        let (name, _) = docs.iter().find(|(_, doc)| {
            statements(doc).into_iter().any(|st| {
                st.get("Effect").and_then(Value::as_str) == Some("Allow")
                    && wildcard(st.get("Action"))
                    && wildcard(st.get("Resource"))
            })
        })?;
        Breach::at(
            "policies",
            format!("policy `{name}` allows every action on every resource"),
        )
    }),
};

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::policy::rules::testing::{breaks, holds};
    use serde_json::json;

    #[test]
    fn the_example_complies() {
        holds(&RULE, "iam_role.analyst");
    }

    #[test]
    fn breaks_with_a_wildcard_statement() {
        breaks(
            &RULE,
            "iam_role.analyst",
            &[(
                "policies",
                json!({"all": {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}}),
            )],
            Some("policies"),
        );
    }

    #[test]
    fn breaks_with_administrator_access() {
        breaks(
            &RULE,
            "iam_role.analyst",
            &[(
                "managed_policies",
                json!(["arn:aws:iam::aws:policy/AdministratorAccess"]),
            )],
            Some("managed_policies"),
        );
    }
}
