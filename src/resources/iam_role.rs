//! `iam_role`: a role with a trust policy, inline policies and attached managed policies.
//!
//! IAM is global, so the role has no region. Refresh makes three calls plus one per inline
//! policy: GetRole (trust, description, tags), ListRolePolicies and ListAttachedRolePolicies
//! concurrently, then GetRolePolicy for each inline policy, concurrently. IAM answers policy
//! documents URL-encoded; they are decoded before comparison.

use async_trait::async_trait;
use aws_sdk_iam::types::Tag;
use futures::future::try_join_all;
use serde_json::{Value, json};

use super::{
    Created, Ctx, Discovered, Failure, ReadAccess, Referrers, ResourceKind, error_code, manages,
    names, stale_tags, str_attr, tags, tags_value,
};
use crate::aws::Aws;
use crate::blueprint::schema::{Control, Field, Replace, Type};
use crate::blueprint::{Attrs, Resource};
use crate::state::Recorded;

pub struct IamRole;

static SCHEMA: &[Field] = &[
    Field::optional("name", Type::Str(Some(check_role_name)), "the role name")
        .required()
        .replace(Replace::OnChange)
        .unique(),
    Field::optional("description", Type::Str(None), "what the role is for"),
    Field::optional(
        "trust",
        Type::StrList(Some(check_principal)),
        "who may assume the role: service principals or account/role ARNs",
    )
    .required()
    .control(Control::Grants),
    Field::optional(
        "policies",
        Type::PolicyMap,
        "inline policies: name = document",
    )
    .control(Control::Grants),
    Field::optional(
        "managed_policies",
        Type::StrList(Some(check_policy_arn)),
        "ARNs of managed policies to attach",
    )
    .control(Control::Grants),
    Field::optional("tags", Type::StrMap, "tags besides the blueprint's"),
];

fn check_role_name(name: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    if ok {
        Ok(())
    } else {
        Err("an IAM role name has 1 to 64 letters, digits and `+=,.@_-`".into())
    }
}

/// A principal rampart can write into a trust policy without IAM rewriting it.
fn check_principal(principal: &str) -> Result<(), String> {
    if principal == "*" {
        return Err("trust to `*` lets anyone assume the role; name the principals".into());
    }
    if principal.ends_with(".amazonaws.com") && !principal.contains(['/', ':', '*']) {
        return Ok(());
    }
    if principal.starts_with("arn:aws:iam::") && !principal.contains('*') {
        return Ok(());
    }
    Err("a principal is a service (`lambda.amazonaws.com`) or an IAM ARN (`arn:aws:iam::123456789012:root`)".into())
}

fn check_policy_arn(arn: &str) -> Result<(), String> {
    if arn.starts_with("arn:aws:iam::") && arn.contains(":policy/") {
        Ok(())
    } else {
        Err("a managed policy is named by its ARN, `arn:aws:iam::ACCOUNT:policy/NAME` (`aws` for AWS managed)".into())
    }
}

/// The trust policy for `principals`: services and IAM principals may call sts:AssumeRole.
fn trust_policy(principals: &[String]) -> Value {
    let (services, arns): (Vec<&String>, Vec<&String>) = principals
        .iter()
        .partition(|p| p.ends_with(".amazonaws.com"));
    let mut principal = serde_json::Map::new();
    if !services.is_empty() {
        principal.insert("Service".into(), json!(services));
    }
    if !arns.is_empty() {
        principal.insert("AWS".into(), json!(arns));
    }
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]
    })
}

/// The principals a trust policy lets assume the role.
fn trusted(doc: &Value) -> Vec<String> {
    let statements = match &doc["Statement"] {
        Value::Array(list) => list.clone(),
        s @ Value::Object(_) => vec![s.clone()],
        _ => Vec::new(),
    };
    let strings = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        }
    };
    let mut out: Vec<String> = statements
        .iter()
        .filter(|s| {
            s["Effect"] == "Allow" && strings(&s["Action"]).iter().any(|a| a == "sts:AssumeRole")
        })
        .flat_map(|s| {
            let p = &s["Principal"];
            let mut all = strings(&p["Service"]);
            all.extend(strings(&p["AWS"]));
            if p == "*" {
                all.push("*".into());
            }
            all
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A policy document as IAM answers it: URL-encoded JSON.
fn decode(doc: &str) -> Value {
    let text = percent_encoding::percent_decode_str(doc).decode_utf8_lossy();
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// The names of a role's inline policies (read, and emptied before a delete).
async fn inline_policy_names(
    iam: &aws_sdk_iam::Client,
    role: &str,
) -> Result<Vec<String>, Failure> {
    let out = iam
        .list_role_policies()
        .role_name(role)
        .send()
        .await
        .map_err(Failure::sdk("ListRolePolicies"))?;
    Ok(out.policy_names().to_vec())
}

fn iam_tags(attrs: &Attrs) -> Result<Vec<Tag>, Failure> {
    tags(attrs)
        .into_iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| Failure::new("TagRole", e.to_string()))
        })
        .collect()
}

#[async_trait]
impl ResourceKind for IamRole {
    fn name(&self) -> &'static str {
        "iam_role"
    }

    fn schema(&self) -> &'static [Field] {
        SCHEMA
    }

    fn global(&self) -> bool {
        true
    }

    fn validate(
        &self,
        resource: &Resource,
        _blueprint: &Referrers,
    ) -> Vec<(&'static str, String, String)> {
        let Some(Value::Object(policies)) = resource.attrs.get("policies") else {
            return Vec::new();
        };
        policies
            .iter()
            .filter(|(_, doc)| doc.get("Statement").is_none())
            .map(|(name, _)| {
                (
                    "policies",
                    format!("policy `{name}` has no `Statement`"),
                    "a policy document has `Version = \"2012-10-17\"` and a `Statement` list"
                        .into(),
                )
            })
            .collect()
    }

    /// One refresh: concurrently GetRole (does the role exist; `name`, `description`, `trust`,
    /// `tags`), ListRolePolicies (the inline policies' names) followed at once by GetRolePolicy
    /// for each of them (`policies`), and ListAttachedRolePolicies (`managed_policies`); the
    /// policy calls only when the blueprint or the state has that field. 3 calls plus one per
    /// inline policy, 1 for a role with neither. The calls are sent even when the role is gone.
    async fn read(
        &self,
        ctx: &Ctx<'_>,
        recorded: &Recorded,
        desired: Option<&Attrs>,
    ) -> Result<Option<Attrs>, Failure> {
        let iam = &ctx.aws.iam();
        let name = recorded.id.as_str();
        let inline_documents = async {
            let inline = inline_policy_names(iam, name).await?;
            try_join_all(inline.iter().map(|policy| async move {
                let out = iam
                    .get_role_policy()
                    .role_name(name)
                    .policy_name(policy)
                    .send()
                    .await
                    .map_err(Failure::sdk("GetRolePolicy"))?;
                Ok::<_, Failure>((policy.clone(), decode(out.policy_document())))
            }))
            .await
        };
        let (want_inline, want_attached) = (
            manages(recorded, desired, "policies"),
            manages(recorded, desired, "managed_policies"),
        );
        let (role, docs, attached) = tokio::join!(
            iam.get_role().role_name(name).send(),
            async {
                match want_inline {
                    true => Some(inline_documents.await),
                    false => None,
                }
            },
            async {
                match want_attached {
                    true => Some(
                        iam.list_attached_role_policies()
                            .role_name(name)
                            .send()
                            .await,
                    ),
                    false => None,
                }
            },
        );
        let role = match role {
            Ok(out) => out,
            Err(e) if error_code(&e) == Some("NoSuchEntity") => return Ok(None),
            Err(e) => return Err(Failure::sdk("GetRole")(e)),
        };
        let Some(role) = role.role() else {
            return Ok(None);
        };
        let docs = docs.transpose()?;
        let attached = attached
            .transpose()
            .map_err(Failure::sdk("ListAttachedRolePolicies"))?;

        let mut attrs = Attrs::new();
        attrs.insert("name", Value::from(role.role_name()));
        attrs.insert("description", Value::from(role.description().unwrap_or("")));
        let trust = role
            .assume_role_policy_document()
            .map(decode)
            .unwrap_or(Value::Null);
        attrs.insert("trust", Value::from(trusted(&trust)));
        if let Some(docs) = docs {
            attrs.insert("policies", Value::Object(docs.into_iter().collect()));
        }
        if let Some(attached) = attached {
            let mut managed: Vec<String> = attached
                .attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn().map(String::from))
                .collect();
            managed.sort();
            attrs.insert("managed_policies", Value::from(managed));
        }
        attrs.insert(
            "tags",
            tags_value(
                role.tags()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string())),
            ),
        );
        Ok(Some(attrs))
    }

    async fn create(&self, ctx: &Ctx<'_>, desired: &Attrs) -> Result<Created, Failure> {
        let out = ctx
            .aws
            .iam()
            .create_role()
            .role_name(str_attr(desired, "name"))
            .assume_role_policy_document(trust_policy(&names(desired.get("trust"))).to_string())
            .description(str_attr(desired, "description"))
            .set_tags(Some(iam_tags(desired)?))
            .send()
            .await
            .map_err(Failure::sdk("CreateRole"))?;
        let role = out
            .role()
            .ok_or_else(|| Failure::new("CreateRole", "the answer has no role"))?;
        Ok(Created {
            id: role.role_name().to_string(),
            arn: Some(role.arn().to_string()),
            set: &["name", "description", "trust", "tags"],
        })
    }

    async fn update(
        &self,
        ctx: &Ctx<'_>,
        recorded: &Recorded,
        before: &Attrs,
        desired: &Attrs,
        changed: &[String],
    ) -> Result<(), Failure> {
        let iam = ctx.aws.iam();
        let name = recorded.id.as_str();
        let changed = |field: &str| changed.iter().any(|c| c == field);
        if changed("trust") {
            iam.update_assume_role_policy()
                .role_name(name)
                .policy_document(trust_policy(&names(desired.get("trust"))).to_string())
                .send()
                .await
                .map_err(Failure::sdk("UpdateAssumeRolePolicy"))?;
        }
        if changed("description") {
            iam.update_role()
                .role_name(name)
                .description(str_attr(desired, "description"))
                .send()
                .await
                .map_err(Failure::sdk("UpdateRole"))?;
        }
        if changed("policies") {
            let empty = serde_json::Map::new();
            let wanted = desired
                .get("policies")
                .and_then(Value::as_object)
                .unwrap_or(&empty);
            let had = before
                .get("policies")
                .and_then(Value::as_object)
                .unwrap_or(&empty);
            for (policy, doc) in wanted {
                if had.get(policy) == Some(doc) {
                    continue;
                }
                iam.put_role_policy()
                    .role_name(name)
                    .policy_name(policy)
                    .policy_document(doc.to_string())
                    .send()
                    .await
                    .map_err(Failure::sdk("PutRolePolicy"))?;
            }
            for policy in had.keys().filter(|p| !wanted.contains_key(*p)) {
                iam.delete_role_policy()
                    .role_name(name)
                    .policy_name(policy)
                    .send()
                    .await
                    .map_err(Failure::sdk("DeleteRolePolicy"))?;
            }
        }
        if changed("managed_policies") {
            let wanted = names(desired.get("managed_policies"));
            let had = names(before.get("managed_policies"));
            for arn in wanted.iter().filter(|a| !had.contains(a)) {
                iam.attach_role_policy()
                    .role_name(name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .map_err(Failure::sdk("AttachRolePolicy"))?;
            }
            for arn in had.iter().filter(|a| !wanted.contains(a)) {
                iam.detach_role_policy()
                    .role_name(name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .map_err(Failure::sdk("DetachRolePolicy"))?;
            }
        }
        if changed("tags") {
            let wanted = tags(desired);
            let stale = stale_tags(before, &wanted);
            if !stale.is_empty() {
                iam.untag_role()
                    .role_name(name)
                    .set_tag_keys(Some(stale))
                    .send()
                    .await
                    .map_err(Failure::sdk("UntagRole"))?;
            }
            iam.tag_role()
                .role_name(name)
                .set_tags(Some(iam_tags(desired)?))
                .send()
                .await
                .map_err(Failure::sdk("TagRole"))?;
        }
        Ok(())
    }

    async fn discover(&self, aws: &Aws, regions: &[String]) -> Result<Vec<Discovered>, Failure> {
        let roles = aws
            .iam()
            .list_roles()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(Failure::sdk("ListRoles"))?;
        let region = regions.first().cloned().unwrap_or_default();
        Ok(roles
            .iter()
            // Service-linked and AWS-reserved (SSO) roles belong to AWS, not to a blueprint.
            .filter(|r| {
                !r.path().starts_with("/aws-service-role/")
                    && !r.path().starts_with("/aws-reserved/")
            })
            .map(|r| Discovered {
                id: r.role_name().to_string(),
                arn: Some(r.arn().to_string()),
                region: region.clone(),
            })
            .collect())
    }

    fn read_access(&self) -> ReadAccess {
        ReadAccess {
            read: &[
                "iam:GetRole",
                "iam:ListRolePolicies",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
            ],
            arns: &["arn:aws:iam::{account}:role/{name}"],
            any: &[],
            list: &["iam:ListRoles"],
        }
    }

    async fn delete(&self, ctx: &Ctx<'_>, recorded: &Recorded) -> Result<(), Failure> {
        let iam = ctx.aws.iam();
        let name = recorded.id.as_str();
        // IAM deletes a role only once nothing is attached to it.
        let attached = match iam
            .list_attached_role_policies()
            .role_name(name)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if error_code(&e) == Some("NoSuchEntity") => return Ok(()),
            Err(e) => return Err(Failure::sdk("ListAttachedRolePolicies")(e)),
        };
        for policy in attached.attached_policies() {
            if let Some(arn) = policy.policy_arn() {
                iam.detach_role_policy()
                    .role_name(name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .map_err(Failure::sdk("DetachRolePolicy"))?;
            }
        }
        for policy in inline_policy_names(&iam, name).await? {
            iam.delete_role_policy()
                .role_name(name)
                .policy_name(policy)
                .send()
                .await
                .map_err(Failure::sdk("DeleteRolePolicy"))?;
        }
        match iam.delete_role().role_name(name).send().await {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("NoSuchEntity") => Ok(()),
            Err(e) => Err(Failure::sdk("DeleteRole")(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_round_trips_through_its_policy_document() {
        let principals = vec![
            "arn:aws:iam::123456789012:root".to_string(),
            "lambda.amazonaws.com".to_string(),
        ];
        assert_eq!(trusted(&trust_policy(&principals)), principals);
        let wildcard =
            json!({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}});
        assert_eq!(trusted(&wildcard), vec!["*"]);
    }

    #[test]
    fn principals_and_names_follow_iam_rules() {
        assert!(check_principal("lambda.amazonaws.com").is_ok());
        assert!(check_principal("arn:aws:iam::123456789012:role/ci").is_ok());
        assert!(check_principal("*").is_err());
        assert!(check_principal("123456789012").is_err());
        assert!(check_role_name("analyst-read-only").is_ok());
        assert!(check_role_name("has space").is_err());
        assert!(check_policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess").is_ok());
    }

    #[test]
    fn url_encoded_documents_are_decoded() {
        let doc = decode("%7B%22Version%22%3A%222012-10-17%22%7D");
        assert_eq!(doc, json!({"Version": "2012-10-17"}));
    }
}
