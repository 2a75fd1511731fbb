//! `cloudtrail`: a multi-region, validated, KMS-encrypted trail with data events, and the
//! grants rampart derives for it on its bucket and key.

use serde_json::Value;

use crate::support::{Project, kms, s3};

async fn cloudtrail() -> aws_sdk_cloudtrail::Client {
    aws_sdk_cloudtrail::Client::new(&crate::support::sdk_config().await)
}

const BLUEPRINT: &str = r#"
[blueprint]
name = "data-platform"
region = "eu-west-1"

[kms_key.audit]
alias = "alias/acme-audit"

[s3_bucket.trail]
name = "acme-trail-logs"
kms_key = "kms_key.audit"

[s3_bucket.lake]
name = "acme-lake"

[cloudtrail.org]
name = "acme-org-trail"
bucket = "s3_bucket.trail"
kms_key = "kms_key.audit"
data_events = ["s3_bucket.lake"]
"#;

fn statement<'a>(doc: &'a Value, sid: &str) -> &'a Value {
    doc["Statement"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["Sid"] == sid))
        .unwrap_or_else(|| panic!("no statement {sid} in {doc:#}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trail_is_created_with_its_grants_and_kept_logging() {
    let p = Project::new("trail", BLUEPRINT);
    p.waive("RMP-S3-001", "s3_bucket.lake");
    p.waive("RMP-S3-005", "s3_bucket.lake");
    p.waive("RMP-S3-005", "s3_bucket.trail");
    p.waive("RMP-S3-006", "s3_bucket.trail");
    // Later steps stop logging the lake's objects and turn validation off.
    p.waive("RMP-S3-007", "s3_bucket.lake");
    p.waive("RMP-CT-002", "cloudtrail.org");
    let plan = p
        .rampart("plan", &["--detailed-exitcode"])
        .expect(2)
        .stdout();
    assert!(
        plan.contains(&format!(
            "+ cloudtrail_delivery_from = [\"{}-org-trail\"]",
            p.prefix
        )),
        "{plan}"
    );
    assert!(
        plan.contains(&format!(
            "+ cloudtrail_access    = [\"{}-org-trail\"]",
            p.prefix
        )),
        "{plan}"
    );
    p.rampart("apply", &["--auto-approve"]).expect(0);

    let trail_name = format!("{}-org-trail", p.prefix);
    let ct = cloudtrail().await;
    let trail = ct.get_trail().name(&trail_name).send().await.unwrap();
    let trail = trail.trail().unwrap();
    assert_eq!(trail.is_multi_region_trail(), Some(true));
    assert_eq!(trail.log_file_validation_enabled(), Some(true));
    assert_eq!(trail.include_global_service_events(), Some(true));
    assert_eq!(
        trail.s3_bucket_name(),
        Some(p.bucket("trail-logs").as_str())
    );
    let state = p.state();
    let key_arn = state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "kms_key.audit")
        .unwrap()["arn"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(trail.kms_key_id(), Some(key_arn.as_str()));
    let status = ct
        .get_trail_status()
        .name(&trail_name)
        .send()
        .await
        .unwrap();
    assert_eq!(status.is_logging(), Some(true));
    let selectors = ct
        .get_event_selectors()
        .trail_name(&trail_name)
        .send()
        .await
        .unwrap();
    let values: Vec<&str> = selectors
        .event_selectors()
        .iter()
        .flat_map(|s| s.data_resources())
        .flat_map(|d| d.values())
        .map(String::as_str)
        .collect();
    assert_eq!(values, vec![format!("arn:aws:s3:::{}/", p.bucket("lake"))]);

    // The grants AWS needs before CloudTrail delivers: on the bucket and on the key.
    let policy = s3()
        .await
        .get_bucket_policy()
        .bucket(p.bucket("trail-logs"))
        .send()
        .await
        .unwrap();
    let doc: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let write = statement(&doc, "RampartCloudTrailWrite");
    assert_eq!(
        write["Resource"],
        format!(
            "arn:aws:s3:::{}/AWSLogs/123456789012/*",
            p.bucket("trail-logs")
        )
    );
    assert_eq!(
        write["Condition"]["ArnLike"]["aws:SourceArn"],
        serde_json::json!([format!(
            "arn:aws:cloudtrail:*:123456789012:trail/{trail_name}"
        )])
    );
    statement(&doc, "RampartCloudTrailAclCheck");
    let key_policy = kms()
        .await
        .get_key_policy()
        .key_id(&key_arn)
        .policy_name("default")
        .send()
        .await
        .unwrap();
    let key_doc: Value = serde_json::from_str(key_policy.policy().unwrap()).unwrap();
    assert_eq!(
        statement(&key_doc, "RampartCloudTrailEncrypt")["Action"],
        "kms:GenerateDataKey*"
    );
    statement(&key_doc, "Enable IAM User Permissions");
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);

    // Stopped behind our back: the plan shows it and apply starts it again.
    ct.stop_logging().name(&trail_name).send().await.unwrap();
    let plan = p
        .rampart("plan", &["--detailed-exitcode"])
        .expect(2)
        .stdout();
    assert!(plan.contains("~ logging = false -> true"), "{plan}");
    p.rampart("apply", &["--auto-approve"]).expect(0);
    let status = ct
        .get_trail_status()
        .name(&trail_name)
        .send()
        .await
        .unwrap();
    assert_eq!(status.is_logging(), Some(true));

    // Management events switched off behind our back: critical drift, healed by apply.
    ct.put_event_selectors()
        .trail_name(&trail_name)
        .event_selectors(
            aws_sdk_cloudtrail::types::EventSelector::builder()
                .read_write_type(aws_sdk_cloudtrail::types::ReadWriteType::All)
                .include_management_events(false)
                .data_resources(
                    aws_sdk_cloudtrail::types::DataResource::builder()
                        .r#type("AWS::S3::Object")
                        .values(format!("arn:aws:s3:::{}/", p.bucket("lake")))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let run = p.rampart("drift", &["--json"]).expect(2);
    let report: Value = serde_json::from_str(&run.stdout()).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{report:#}");
    assert_eq!(findings[0]["attribute"], "management_events");
    assert_eq!(findings[0]["severity"], "critical");
    assert_eq!(findings[0]["id"], trail_name.as_str());
    p.rampart("apply", &["--auto-approve"]).expect(0);
    let selectors = ct
        .get_event_selectors()
        .trail_name(&trail_name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        selectors.event_selectors()[0].include_management_events(),
        Some(true)
    );
    p.rampart("drift", &[]).expect(0);

    // One setting changes in place.
    p.edit(
        "data_events = [",
        "data_events = []\nlog_file_validation = false",
    );
    let plan = p
        .rampart("plan", &["--detailed-exitcode"])
        .expect(2)
        .stdout();
    assert!(
        plan.contains("~ log_file_validation = true -> false"),
        "{plan}"
    );
    assert!(plan.contains("Plan: 0 to create, 1 to update"), "{plan}");
    p.rampart("apply", &["--auto-approve"]).expect(0);
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);

    p.rampart("destroy", &["--auto-approve"]).expect(0);
    assert!(ct.get_trail().name(&trail_name).send().await.is_err());
}
