//! The engine end to end: plan, apply, read back, converge, update, replace, delete, destroy.

use serde_json::Value;

use crate::support::{Project, kms, s3};

/// A small blueprint for tests that need only a key and two buckets.
pub const SMALL: &str = r#"
[blueprint]
name = "data-platform"
region = "eu-west-1"

[tags]
team = "tests"

[kms_key.k]
description = "test key"
alias = "alias/acme-k"

[s3_bucket.a]
name = "acme-a"
kms_key = "kms_key.k"

[s3_bucket.b]
name = "acme-b"
kms_key = "kms_key.k"

# These tests are about the engine; access logging has tests of its own.
[[waiver]]
rule = "RMP-S3-005"
resource = "s3_bucket.a"
reason = "engine tests need no log bucket"
expires = "2099-12-31"

[[waiver]]
rule = "RMP-S3-005"
resource = "s3_bucket.b"
reason = "engine tests need no log bucket"
expires = "2099-12-31"
"#;

fn recorded<'a>(state: &'a Value, address: &str) -> &'a Value {
    state["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["address"] == address))
        .unwrap_or_else(|| panic!("{address} is not in the state: {state:#}"))
}

fn key_id(arn_or_id: &str) -> &str {
    arn_or_id.rsplit('/').next().unwrap_or(arn_or_id)
}

/// Reads a bucket back and checks every hardening property rampart promises for it:
/// SSE-KMS with `key_arn` and the bucket key, or SSE-S3 when there is no key.
async fn assert_hardened(bucket: &str, key_arn: Option<&str>) {
    let s3 = s3().await;
    let enc = s3
        .get_bucket_encryption()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
    let default = rule.apply_server_side_encryption_by_default().unwrap();
    match key_arn {
        Some(key_arn) => {
            assert_eq!(default.sse_algorithm().as_str(), "aws:kms", "{bucket}");
            assert_eq!(
                key_id(default.kms_master_key_id().unwrap()),
                key_id(key_arn),
                "{bucket} is encrypted with the wrong key"
            );
            assert_eq!(
                rule.bucket_key_enabled(),
                Some(true),
                "{bucket}: bucket key"
            );
        }
        None => assert_eq!(default.sse_algorithm().as_str(), "AES256", "{bucket}"),
    }

    let ver = s3
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ver.status().map(|s| s.as_str()),
        Some("Enabled"),
        "{bucket}"
    );

    let pab = s3
        .get_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let c = pab.public_access_block_configuration().unwrap();
    assert_eq!(
        (
            c.block_public_acls(),
            c.ignore_public_acls(),
            c.block_public_policy(),
            c.restrict_public_buckets()
        ),
        (Some(true), Some(true), Some(true), Some(true)),
        "{bucket}: public access block"
    );

    let policy = s3.get_bucket_policy().bucket(bucket).send().await.unwrap();
    let doc: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let tls = doc["Statement"].as_array().unwrap().iter().any(|s| {
        s["Effect"] == "Deny"
            && s["Action"] == "s3:*"
            && s["Condition"]["Bool"]["aws:SecureTransport"] == "false"
    });
    assert!(tls, "{bucket} has no TLS-only statement: {doc:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_from_empty_creates_the_hardened_storage_and_then_plans_nothing() {
    let p = Project::example("apply");

    let plan = p
        .rampart("plan", &["--detailed-exitcode"])
        .expect(2)
        .stdout();
    for address in [
        "kms_key.data",
        "kms_key.audit",
        "s3_bucket.raw",
        "s3_bucket.processed",
        "s3_bucket.production",
        "s3_bucket.access_logs",
        "s3_bucket.audit",
        "cloudtrail.platform",
        "rds_instance.analytics",
        "secret.api_key",
        "lambda_function.rotate_api_key",
        "iam_role.analyst",
    ] {
        assert!(
            plan.contains(&format!("  + {address}\n")),
            "{address} in\n{plan}"
        );
    }
    assert!(
        plan.contains("Plan: 21 to create, 0 to update, 0 to replace, 0 to delete."),
        "{plan}"
    );

    let json: Value =
        serde_json::from_str(&p.rampart("plan", &["--json"]).expect(0).stdout()).unwrap();
    assert_eq!(json["format_version"], 1);
    assert_eq!(json["summary"]["create"], 21);
    assert_eq!(json["changes"].as_array().unwrap().len(), 21);

    p.rampart("apply", &["--auto-approve"]).expect(0);

    let state = p.state();
    let data_key = recorded(&state, "kms_key.data")["arn"]
        .as_str()
        .unwrap()
        .to_string();
    let audit_key = recorded(&state, "kms_key.audit")["arn"]
        .as_str()
        .unwrap()
        .to_string();
    assert_hardened(&p.bucket("datalake-raw"), Some(&data_key)).await;
    assert_hardened(&p.bucket("datalake-processed"), Some(&data_key)).await;
    assert_hardened(&p.bucket("datalake-production"), Some(&data_key)).await;
    assert_hardened(&p.bucket("access-logs"), None).await;
    assert_hardened(&p.bucket("audit-trail"), Some(&audit_key)).await;

    let s3 = s3().await;
    let lock = s3
        .get_object_lock_configuration()
        .bucket(p.bucket("audit-trail"))
        .send()
        .await
        .unwrap();
    let retention = lock
        .object_lock_configuration()
        .unwrap()
        .rule()
        .unwrap()
        .default_retention()
        .unwrap();
    assert_eq!(retention.mode().map(|m| m.as_str()), Some("COMPLIANCE"));
    assert_eq!(retention.days(), Some(2190));
    let logging = s3
        .get_bucket_logging()
        .bucket(p.bucket("datalake-raw"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        logging.logging_enabled().unwrap().target_bucket(),
        p.bucket("access-logs")
    );
    let tags = s3
        .get_bucket_tagging()
        .bucket(p.bucket("datalake-raw"))
        .send()
        .await
        .unwrap();
    let tag = |k: &str| {
        tags.tag_set()
            .iter()
            .find(|t| t.key() == k)
            .map(|t| t.value().to_string())
    };
    assert_eq!(tag("rampart:address").as_deref(), Some("s3_bucket.raw"));
    assert_eq!(tag("rampart:blueprint").as_deref(), Some(p.prefix.as_str()));
    assert_eq!(tag("data-classification").as_deref(), Some("confidential"));

    let kms = kms().await;
    for key in [&data_key, &audit_key] {
        let rotation = kms
            .get_key_rotation_status()
            .key_id(key)
            .send()
            .await
            .unwrap();
        assert!(rotation.key_rotation_enabled(), "rotation of {key}");
    }
    let aliases = kms.list_aliases().key_id(&data_key).send().await.unwrap();
    let alias = format!("alias/{}-data-lake", p.prefix);
    assert!(
        aliases
            .aliases()
            .iter()
            .any(|a| a.alias_name() == Some(alias.as_str()))
    );

    assert_platform(&p, &state).await;

    let again = p
        .rampart("plan", &["--detailed-exitcode"])
        .expect(0)
        .stdout();
    assert!(again.contains("No changes."), "{again}");
}

/// The rest of the platform: trail, detectors, database, secrets, as the SDK reads them.
async fn assert_platform(p: &Project, state: &Value) {
    let conf = crate::support::sdk_config().await;
    let ct = aws_sdk_cloudtrail::Client::new(&conf);
    let trail_name = format!("{}-platform-trail", p.prefix);
    let trail = ct.get_trail().name(&trail_name).send().await.unwrap();
    let trail = trail.trail().unwrap();
    assert_eq!(trail.is_multi_region_trail(), Some(true));
    assert_eq!(trail.log_file_validation_enabled(), Some(true));
    assert_eq!(
        trail.kms_key_id(),
        recorded(state, "kms_key.audit")["arn"].as_str()
    );
    let status = ct
        .get_trail_status()
        .name(&trail_name)
        .send()
        .await
        .unwrap();
    assert_eq!(status.is_logging(), Some(true));

    let detectors: Vec<&Value> = state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "guardduty_detector")
        .collect();
    assert_eq!(detectors.len(), 2, "one detector per listed region");
    for d in detectors {
        let region = d["region"].as_str().unwrap();
        let gd = aws_sdk_guardduty::Client::new(&crate::support::sdk_config_in(region).await);
        let out = gd
            .get_detector()
            .detector_id(d["id"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(
            out.status().map(|s| s.as_str()),
            Some("ENABLED"),
            "{region}"
        );
        let on: Vec<&str> = out
            .features()
            .iter()
            .filter(|f| f.status().map(|s| s.as_str()) == Some("ENABLED"))
            .filter_map(|f| f.name().map(|n| n.as_str()))
            .collect();
        for feature in ["S3_DATA_EVENTS", "RDS_LOGIN_EVENTS", "LAMBDA_NETWORK_LOGS"] {
            assert!(on.contains(&feature), "{feature} off in {region}");
        }
    }

    let rds = aws_sdk_rds::Client::new(&conf);
    let out = rds
        .describe_db_instances()
        .db_instance_identifier(format!("{}-analytics", p.prefix))
        .send()
        .await
        .unwrap();
    let db = &out.db_instances()[0];
    assert_eq!(db.storage_encrypted(), Some(true));
    assert_eq!(db.deletion_protection(), Some(true));
    assert_eq!(db.publicly_accessible(), Some(false));
    assert_eq!(db.iam_database_authentication_enabled(), Some(true));
    assert_eq!(db.backup_retention_period(), Some(14));
    assert_eq!(db.multi_az(), Some(true));
    let group = db.db_parameter_groups()[0]
        .db_parameter_group_name()
        .unwrap();
    let params = rds
        .describe_db_parameters()
        .db_parameter_group_name(group)
        .send()
        .await
        .unwrap();
    assert!(
        params.parameters().iter().any(
            |p| p.parameter_name() == Some("rds.force_ssl") && p.parameter_value() == Some("1")
        )
    );

    let sm = aws_sdk_secretsmanager::Client::new(&conf);
    let rotator = recorded(state, "lambda_function.rotate_api_key")["arn"]
        .as_str()
        .unwrap();
    for name in ["prod/api/model-provider", "prod/database/pipeline"] {
        let secret = sm
            .describe_secret()
            .secret_id(format!("{}-{name}", p.prefix))
            .send()
            .await
            .unwrap();
        assert_eq!(secret.rotation_enabled(), Some(true), "{name}");
        assert_eq!(secret.rotation_lambda_arn(), Some(rotator), "{name}");
        assert_eq!(
            secret
                .rotation_rules()
                .and_then(|r| r.automatically_after_days()),
            Some(30)
        );
        assert_eq!(
            secret.kms_key_id(),
            recorded(state, "kms_key.secrets")["arn"].as_str()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn changing_one_attribute_plans_one_update_and_apply_converges() {
    let p = Project::example("update");
    p.waive("RMP-KMS-001", "kms_key.data");
    p.rampart("apply", &["--auto-approve"]).expect(0);
    p.edit(
        "lifecycle = { noncurrent_expiration_days = 90 }   # seed: data retention policy",
        "lifecycle = { noncurrent_expiration_days = 30 }",
    );
    let plan = p
        .rampart("plan", &["--detailed-exitcode"])
        .expect(2)
        .stdout();
    let blocks: Vec<&str> = plan.lines().filter(|l| l.starts_with("  ~ ")).collect();
    assert_eq!(
        blocks,
        vec![format!("  ~ s3_bucket.raw ({})", p.bucket("datalake-raw"))]
    );
    assert!(
        plan.contains(r#"~ lifecycle = {"noncurrent_expiration_days":90} -> {"noncurrent_expiration_days":30}"#),
        "{plan}"
    );
    assert!(plan.contains("Plan: 0 to create, 1 to update, 0 to replace, 0 to delete."));
    p.rampart("apply", &["--auto-approve"]).expect(0);

    let life = s3()
        .await
        .get_bucket_lifecycle_configuration()
        .bucket(p.bucket("datalake-raw"))
        .send()
        .await
        .unwrap();
    let days = life.rules()[0]
        .noncurrent_version_expiration()
        .and_then(|e| e.noncurrent_days());
    assert_eq!(days, Some(30));
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);

    // A key attribute, too: rotation off is one in-place update.
    p.edit(
        "rotation = true                 # seed: rotate",
        "rotation = false",
    );
    let plan = p
        .rampart("plan", &["--detailed-exitcode"])
        .expect(2)
        .stdout();
    assert!(plan.contains("~ rotation = true -> false"), "{plan}");
    p.rampart("apply", &["--auto-approve"]).expect(0);
    let key = recorded(&p.state(), "kms_key.data")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let rotation = kms()
        .await
        .get_key_rotation_status()
        .key_id(key)
        .send()
        .await
        .unwrap();
    assert!(!rotation.key_rotation_enabled());
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_made_outside_rampart_shows_in_the_plan_and_apply_heals_it() {
    let p = Project::new("refresh", SMALL);
    p.rampart("apply", &["--auto-approve"]).expect(0);
    s3().await
        .put_bucket_versioning()
        .bucket(p.bucket("a"))
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Suspended)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let plan = p
        .rampart("plan", &["--detailed-exitcode"])
        .expect(2)
        .stdout();
    assert!(plan.contains("~ versioning = false -> true"), "{plan}");
    p.rampart("apply", &["--auto-approve"]).expect(0);
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn renaming_a_bucket_replaces_it_and_says_why() {
    let p = Project::new("replace", SMALL);
    p.rampart("apply", &["--auto-approve"]).expect(0);
    p.edit("name = \"acme-b\"", "name = \"acme-b2\"");
    let plan = p
        .rampart("plan", &["--detailed-exitcode"])
        .expect(2)
        .stdout();
    assert!(
        plan.contains(&format!("-/+ s3_bucket.b ({})", p.bucket("b"))),
        "{plan}"
    );
    assert!(plan.contains("# forces replacement"), "{plan}");
    assert!(
        plan.contains("because `name` cannot change in place"),
        "{plan}"
    );
    p.rampart("apply", &["--auto-approve"]).expect(0);
    let s3 = s3().await;
    assert!(s3.head_bucket().bucket(p.bucket("b")).send().await.is_err());
    assert!(s3.head_bucket().bucket(p.bucket("b2")).send().await.is_ok());
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn removal_deletes_destroy_empties_and_prevent_destroy_protects() {
    let p = Project::example("destroy");
    p.rampart("apply", &["--auto-approve"]).expect(0);
    let s3 = s3().await;

    // A bucket removed from the blueprint is deleted; its log target stops granting it.
    let text = p.text();
    let start = text.find("[s3_bucket.processed]").unwrap();
    let end = start + text[start..].find("[s3_bucket.production]").unwrap();
    let without = format!("{}{}", &text[..start], &text[end..]).replace(
        "\"s3_bucket.raw\", \"s3_bucket.processed\", ",
        "\"s3_bucket.raw\", ",
    );
    std::fs::write(p.blueprint(), without).unwrap();
    let plan = p
        .rampart("plan", &["--detailed-exitcode"])
        .expect(2)
        .stdout();
    assert!(plan.contains("  - s3_bucket.processed"), "{plan}");
    // The log bucket's grant and the trail's data events both drop it.
    assert!(
        plan.contains("Plan: 0 to create, 2 to update, 0 to replace, 1 to delete."),
        "{plan}"
    );
    p.rampart("apply", &["--auto-approve"]).expect(0);
    let processed = p.bucket("datalake-processed");
    assert!(s3.head_bucket().bucket(&processed).send().await.is_err());

    // A plan that would delete a protected resource fails whole and changes nothing.
    p.edit(
        "[iam_role.analyst]",
        "[iam_role.analyst]\nprevent_destroy = true",
    );
    p.rampart("apply", &["--auto-approve"]).expect(0);
    let with_analyst = p.text();
    let start = with_analyst.find("[iam_role.analyst]").unwrap();
    let end = start
        + with_analyst[start..]
            .find("[iam_role.data_engineer]")
            .unwrap();
    std::fs::write(
        p.blueprint(),
        format!("{}{}", &with_analyst[..start], &with_analyst[end..]),
    )
    .unwrap();
    let serial = p.state()["serial"].as_u64().unwrap();
    let err = p.rampart("plan", &[]).expect(1).stderr();
    assert!(
        err.contains("`iam_role.analyst` has `prevent_destroy = true`"),
        "{err}"
    );
    let err = p.rampart("apply", &["--auto-approve"]).expect(1).stderr();
    assert!(err.contains("nothing was changed"), "{err}");
    assert_eq!(p.state()["serial"].as_u64().unwrap(), serial);
    std::fs::write(p.blueprint(), &with_analyst).unwrap();

    // Destroy removes everything it may and refuses what is protected, one line each: the
    // key with prevent_destroy, and the database with deletion protection (and its key).
    p.edit("[kms_key.data]", "[kms_key.data]\nprevent_destroy = true");
    p.rampart("apply", &["--auto-approve"]).expect(0);
    let run = p.rampart("destroy", &["--auto-approve"]).expect(1);
    let out = run.stdout();
    assert_eq!(out.matches("refused:").count(), 3, "{out}");
    assert!(
        out.contains("`kms_key.data` has `prevent_destroy = true`"),
        "{out}"
    );
    assert!(
        out.contains("`rds_instance.analytics` cannot be deleted"),
        "{out}"
    );
    assert!(out.contains("`kms_key.database` is kept too"), "{out}");
    let left: Vec<String> = p.state()["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["address"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        left,
        vec![
            "iam_role.analyst",
            "kms_key.data",
            "kms_key.database",
            "rds_instance.analytics"
        ]
    );
    assert!(
        s3.head_bucket()
            .bucket(p.bucket("datalake-raw"))
            .send()
            .await
            .is_err()
    );

    // Without the flags, the rest goes too (apply first records them, bringing back what
    // the blueprint still asks for).
    p.edit("prevent_destroy = true", "");
    p.edit("prevent_destroy = true", "");
    p.edit("deletion_protection = true", "deletion_protection = false");
    // Decommissioning is what a waiver of deletion protection is for.
    p.waive("RMP-RDS-003", "rds_instance.analytics");
    p.rampart("apply", &["--auto-approve"]).expect(0);
    let state = p.state();
    let keys: Vec<String> = ["kms_key.data", "kms_key.audit"]
        .iter()
        .map(|a| recorded(&state, a)["id"].as_str().unwrap().to_string())
        .collect();
    let plan = p.rampart("destroy", &["--auto-approve"]).expect(0).stdout();
    assert!(plan.contains("scheduled for deletion in 30 days"), "{plan}");
    for b in [
        "datalake-raw",
        "datalake-production",
        "access-logs",
        "audit-trail",
    ] {
        assert!(
            s3.head_bucket().bucket(p.bucket(b)).send().await.is_err(),
            "{b} survived destroy"
        );
    }
    let kms = kms().await;
    for key in keys {
        let meta = kms.describe_key().key_id(&key).send().await.unwrap();
        let state = meta
            .key_metadata()
            .unwrap()
            .key_state()
            .unwrap()
            .as_str()
            .to_string();
        assert_eq!(state, "PendingDeletion", "{key}");
    }
    assert_eq!(p.state()["resources"].as_array().unwrap().len(), 0);
    p.rampart("plan", &["--detailed-exitcode"]).expect(2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locked_bucket_holding_objects_is_refused_while_destroy_removes_the_rest() {
    let with_vault = format!(
        "{SMALL}\n[s3_bucket.vault]\nname = \"acme-vault\"\nrequire_tls = false\nobject_lock = {{ mode = \"GOVERNANCE\", retention_days = 1 }}\n"
    );
    let p = Project::new("objlock", &with_vault);
    p.waive("RMP-S3-001", "s3_bucket.vault");
    p.waive("RMP-S3-003", "s3_bucket.vault");
    p.waive("RMP-S3-005", "s3_bucket.vault");
    p.rampart("apply", &["--auto-approve"]).expect(0);
    s3().await
        .put_object()
        .bucket(p.bucket("vault"))
        .key("evidence.txt")
        // Object lock wants Content-MD5 on every put (here: MD5 of `kept`).
        .content_md5("TYtghPPRZ7dsrGaiKpG+Ag==")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"kept"))
        .send()
        .await
        .unwrap();
    // A plan that reads nothing from AWS still asks it whether a deletion it plans can happen
    // (its AWS access is set up only then).
    p.write(SMALL);
    let err = p.rampart("plan", &["--refresh=false"]).expect(1).stderr();
    assert!(err.contains("`s3_bucket.vault` cannot be deleted"), "{err}");
    assert!(err.contains("holds objects"), "{err}");
    p.write(&with_vault);
    // The plan says so before anything happens; the rest is destroyed, the vault stays.
    let out = p.rampart("destroy", &["--auto-approve"]).expect(1).stdout();
    assert!(out.contains("`s3_bucket.vault` cannot be deleted"), "{out}");
    assert!(out.contains("holds objects"), "{out}");
    let left: Vec<String> = p.state()["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["address"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left, vec!["s3_bucket.vault"]);
    let s3 = s3().await;
    assert!(
        s3.head_bucket()
            .bucket(p.bucket("vault"))
            .send()
            .await
            .is_ok()
    );
    assert!(s3.head_bucket().bucket(p.bucket("a")).send().await.is_err());
}
