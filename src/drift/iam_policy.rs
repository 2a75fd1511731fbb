//! `drift --print-iam-policy`: the least-privilege, read-only IAM policy drift needs for the
//! kinds and resources of one blueprint.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::blueprint::Blueprint;
use crate::resources;
use crate::state::State;

/// The policy document. Reads are granted on the ARNs of the blueprint's (and the state's)
/// resources; `unmanaged` widens them to every resource of the kinds and adds the listings.
pub fn policy(bp: &Blueprint, state: &State, unmanaged: bool) -> Value {
    let account = bp.account_id.as_deref().unwrap_or("*");
    // kind -> (region, physical name) of everything drift reads.
    let mut targets: BTreeMap<&str, BTreeSet<(String, String)>> = BTreeMap::new();
    for r in &bp.resources {
        let name = ["name", "identifier"]
            .iter()
            .find_map(|f| r.attrs.get(f).and_then(Value::as_str))
            .unwrap_or("*");
        targets
            .entry(r.kind)
            .or_default()
            .insert((bp.region_of(r).to_string(), name.to_string()));
    }
    for rec in &state.resources {
        if let Some(kind) = resources::kind(&rec.kind) {
            targets
                .entry(kind.name())
                .or_default()
                .insert((rec.region.clone(), rec.id.clone()));
        }
    }
    let mut statements = Vec::new();
    for (kind_name, places) in &targets {
        let Some(kind) = resources::kind(kind_name) else {
            continue;
        };
        let access = kind.read_access();
        let sid = kind_name
            .split('_')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect::<String>();
        let arns: BTreeSet<String> = places
            .iter()
            .flat_map(|(region, name)| {
                let name = if unmanaged { "*" } else { name.as_str() };
                access.arns.iter().map(move |t| {
                    t.replace("{region}", region)
                        .replace("{account}", account)
                        .replace("{name}", name)
                })
            })
            .collect();
        if !access.read.is_empty() {
            statements.push(json!({
                "Sid": format!("Read{sid}"),
                "Effect": "Allow",
                "Action": access.read,
                "Resource": arns,
            }));
        }
        let mut any: Vec<&str> = access.any.to_vec();
        if unmanaged {
            any.extend(access.list);
        }
        if !any.is_empty() {
            any.sort();
            any.dedup();
            statements.push(json!({
                "Sid": format!("List{sid}"),
                "Effect": "Allow",
                "Action": any,
                "Resource": "*",
            }));
        }
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixtures::blueprint;

    const BP: &str = r#"
[blueprint]
name = "t"
region = "eu-west-1"
account_id = "123456789012"

[kms_key.data]
alias = "alias/data"

[s3_bucket.raw]
name = "raw-bucket"
kms_key = "kms_key.data"
"#;

    fn statement<'a>(policy: &'a Value, sid: &str) -> &'a Value {
        policy["Statement"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["Sid"] == sid))
            .unwrap_or(&Value::Null)
    }

    #[test]
    fn reads_are_granted_on_the_blueprints_resources_only() {
        let bp = blueprint(BP);
        let p = policy(&bp, &State::new("t"), false);
        let bucket = statement(&p, "ReadS3Bucket");
        assert_eq!(bucket["Resource"], json!(["arn:aws:s3:::raw-bucket"]));
        assert!(
            bucket["Action"]
                .as_array()
                .unwrap()
                .iter()
                .all(|a| a.as_str().unwrap().starts_with("s3:Get"))
        );
        assert_eq!(
            statement(&p, "ReadKmsKey")["Resource"],
            json!(["arn:aws:kms:eu-west-1:123456789012:key/*"])
        );
        assert_eq!(
            statement(&p, "ListKmsKey")["Action"],
            json!(["kms:ListAliases"])
        );
        assert_eq!(statement(&p, "ListS3Bucket"), &Value::Null);
        let text = p.to_string();
        for write in ["Put", "Create", "Delete", "Update", "Enable", "Disable"] {
            assert!(!text.contains(write), "{write} in {text}");
        }
    }

    #[test]
    fn unmanaged_reads_every_resource_of_the_kinds_and_lists_them() {
        let p = policy(&blueprint(BP), &State::new("t"), true);
        assert_eq!(
            statement(&p, "ReadS3Bucket")["Resource"],
            json!(["arn:aws:s3:::*"])
        );
        assert_eq!(
            statement(&p, "ListS3Bucket")["Action"],
            json!(["s3:GetBucketLocation", "s3:ListAllMyBuckets"])
        );
    }
}
