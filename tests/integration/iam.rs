//! `iam_role`: trust, inline and managed policies, compared as documents; IAM is global.

use crate::support::Project;

async fn iam() -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&crate::support::sdk_config().await)
}

fn decoded(doc: &str) -> serde_json::Value {
    let text = percent_encoding::percent_decode_str(doc).decode_utf8_lossy();
    serde_json::from_str(&text).unwrap()
}

const BLUEPRINT: &str = r#"
[blueprint]
name = "data-platform"
region = "eu-west-1"

[iam_role.analyst]
name = "acme-analyst"
description = "Read-only access to processed data"
trust = ["arn:aws:iam::123456789012:root"]
managed_policies = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]

[iam_role.analyst.policies.read-processed]
Version = "2012-10-17"
Statement = [
  { Sid = "List", Effect = "Allow", Action = "s3:ListBucket", Resource = "arn:aws:s3:::acme-processed" },
  { Sid = "Read", Effect = "Allow", Action = ["s3:GetObject"], Resource = "arn:aws:s3:::acme-processed/*" },
]
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_role_is_created_compared_as_documents_and_kept_in_sync() {
    let p = Project::new("iam", BLUEPRINT);
    p.rampart("apply", &["--auto-approve"]).expect(0);
    let name = format!("{}-analyst", p.prefix);
    let iam = iam().await;

    let role = iam.get_role().role_name(&name).send().await.unwrap();
    let role = role.role().unwrap();
    let trust = decoded(role.assume_role_policy_document().unwrap());
    assert_eq!(
        trust["Statement"][0]["Principal"]["AWS"],
        serde_json::json!(["arn:aws:iam::123456789012:root"])
    );
    assert!(
        role.tags()
            .iter()
            .any(|t| t.key() == "rampart:address" && t.value() == "iam_role.analyst")
    );
    let inline = iam
        .get_role_policy()
        .role_name(&name)
        .policy_name("read-processed")
        .send()
        .await
        .unwrap();
    let doc = decoded(inline.policy_document());
    assert_eq!(
        doc["Statement"][1]["Action"],
        serde_json::json!(["s3:GetObject"])
    );
    let attached = iam
        .list_attached_role_policies()
        .role_name(&name)
        .send()
        .await
        .unwrap();
    let arns: Vec<&str> = attached
        .attached_policies()
        .iter()
        .filter_map(|a| a.policy_arn())
        .collect();
    assert_eq!(arns, vec!["arn:aws:iam::aws:policy/ReadOnlyAccess"]);
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);

    // Reordering statements and actions is no change; IAM has no region to change either.
    let reordered = BLUEPRINT.replace(
        "  { Sid = \"List\", Effect = \"Allow\", Action = \"s3:ListBucket\", Resource = \"arn:aws:s3:::acme-processed\" },\n  { Sid = \"Read\", Effect = \"Allow\", Action = [\"s3:GetObject\"], Resource = \"arn:aws:s3:::acme-processed/*\" },",
        "  { Resource = \"arn:aws:s3:::acme-processed/*\", Action = \"s3:GetObject\", Effect = \"Allow\", Sid = \"Read\" },\n  { Sid = \"List\", Effect = \"Allow\", Action = [\"s3:ListBucket\"], Resource = [\"arn:aws:s3:::acme-processed\"] },",
    );
    assert_ne!(reordered, BLUEPRINT, "the reordering must change the file");
    p.write(&reordered);
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);
    p.rampart("plan", &["--detailed-exitcode", "--region", "eu-central-1"])
        .expect(0);

    // A real change of a document, and of the managed policies: one update.
    p.edit("Sid = \"Read\"", "  { Resource = \"arn:aws:s3:::acme-processed/*\", Action = [\"s3:GetObject\", \"s3:GetObjectVersion\"], Effect = \"Allow\", Sid = \"Read\" },");
    p.edit("managed_policies = [", "managed_policies = []");
    let plan = p
        .rampart("plan", &["--detailed-exitcode"])
        .expect(2)
        .stdout();
    assert!(plan.contains("~ iam_role.analyst"), "{plan}");
    assert!(plan.contains("~ policies"), "{plan}");
    assert!(
        plan.contains("~ managed_policies = [\"arn:aws:iam::aws:policy/ReadOnlyAccess\"] -> []"),
        "{plan}"
    );
    assert!(plan.contains("Plan: 0 to create, 1 to update"), "{plan}");
    p.rampart("apply", &["--auto-approve"]).expect(0);
    let attached = iam
        .list_attached_role_policies()
        .role_name(&name)
        .send()
        .await
        .unwrap();
    assert!(attached.attached_policies().is_empty());
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);

    p.rampart("destroy", &["--auto-approve"]).expect(0);
    assert!(iam.get_role().role_name(&name).send().await.is_err());
}

#[test]
fn trust_to_anyone_is_refused() {
    let p = Project::new(
        "iam-star",
        &BLUEPRINT.replace(
            "trust = [\"arn:aws:iam::123456789012:root\"]",
            "trust = [\"*\"]",
        ),
    );
    let err = p.rampart("validate", &[]).expect(1).stderr();
    assert!(
        err.contains("trust to `*` lets anyone assume the role"),
        "{err}"
    );
}
