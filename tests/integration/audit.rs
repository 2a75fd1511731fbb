//! An audit of what the example creates, independent of rampart's own read code: each control
//! of CIS AWS Foundations v3.0 and AWS Foundational Security Best Practices that applies to a
//! data platform, checked with the SDK against the account, every failure reported at once.

use serde_json::Value;

use crate::support::{Project, kms, s3, sdk_config, sdk_config_in};

/// Collects failed controls as `ID what`.
#[derive(Default)]
struct Audit(Vec<String>);

impl Audit {
    fn check(&mut self, control: &str, holds: bool, what: impl std::fmt::Display) {
        if !holds {
            self.0.push(format!("{control}: {what}"));
        }
    }
}

fn of_kind<'a>(state: &'a Value, kind: &str) -> Vec<&'a Value> {
    state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == kind)
        .collect()
}

fn statements(doc: &Value) -> Vec<Value> {
    match &doc["Statement"] {
        Value::Array(a) => a.clone(),
        s @ Value::Object(_) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn mentions(v: &Value, wanted: &str) -> bool {
    match v {
        Value::String(s) => s == wanted,
        Value::Array(a) => a.iter().any(|x| x.as_str() == Some(wanted)),
        _ => false,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_example_passes_a_cis_and_fsbp_audit() {
    let p = Project::example("audit");
    p.rampart("apply", &["--auto-approve"]).expect(0);
    let state = p.state();
    let mut audit = Audit::default();
    // An audit of nothing would pass: every audited kind is there.
    for kind in [
        "s3_bucket",
        "kms_key",
        "cloudtrail",
        "guardduty_detector",
        "rds_instance",
        "secret",
    ] {
        assert!(!of_kind(&state, kind).is_empty(), "no {kind} to audit");
    }

    // S3: CIS 2.1.1 / S3.5 TLS only, S3.8 public access blocked, S3.17 SSE-KMS for data,
    // S3.14 versioning, S3.9 server access logging, S3.15 object lock for the audit bucket.
    let s3 = s3().await;
    for b in of_kind(&state, "s3_bucket") {
        let name = b["id"].as_str().unwrap();
        let policy = s3.get_bucket_policy().bucket(name).send().await.ok();
        let doc: Value = policy
            .and_then(|p| p.policy().map(String::from))
            .and_then(|p| serde_json::from_str(&p).ok())
            .unwrap_or(Value::Null);
        let tls = statements(&doc).iter().any(|s| {
            s["Effect"] == "Deny"
                && mentions(&s["Condition"]["Bool"]["aws:SecureTransport"], "false")
                && (mentions(&s["Action"], "s3:*") || mentions(&s["Action"], "*"))
        });
        audit.check(
            "S3.5/CIS-2.1.1",
            tls,
            format!("{name} accepts requests without TLS"),
        );
        let pab = s3.get_public_access_block().bucket(name).send().await.ok();
        let blocked = pab
            .as_ref()
            .and_then(|p| p.public_access_block_configuration())
            .is_some_and(|c| {
                c.block_public_acls() == Some(true)
                    && c.ignore_public_acls() == Some(true)
                    && c.block_public_policy() == Some(true)
                    && c.restrict_public_buckets() == Some(true)
            });
        audit.check(
            "S3.8/CIS-2.1.4",
            blocked,
            format!("{name} does not block public access"),
        );
        let enc = s3.get_bucket_encryption().bucket(name).send().await.ok();
        let algorithm = enc
            .as_ref()
            .and_then(|e| e.server_side_encryption_configuration())
            .and_then(|c| c.rules().first())
            .and_then(|r| r.apply_server_side_encryption_by_default())
            .map(|d| d.sse_algorithm().as_str().to_string())
            .unwrap_or_default();
        audit.check(
            "S3.4",
            !algorithm.is_empty(),
            format!("{name} has no default encryption"),
        );
        let receives_access_logs = b["attributes"]["log_delivery_from"]
            .as_array()
            .is_some_and(|a| !a.is_empty());
        if !receives_access_logs {
            audit.check(
                "S3.17",
                algorithm == "aws:kms",
                format!("{name} is not SSE-KMS"),
            );
        }
        let ver = s3
            .get_bucket_versioning()
            .bucket(name)
            .send()
            .await
            .unwrap();
        audit.check(
            "S3.14",
            ver.status().map(|s| s.as_str()) == Some("Enabled"),
            format!("{name} is not versioned"),
        );
        if !receives_access_logs {
            let logging = s3.get_bucket_logging().bucket(name).send().await.unwrap();
            audit.check(
                "S3.9",
                logging.logging_enabled().is_some(),
                format!("{name} has no server access logging"),
            );
        }
    }
    let audit_bucket = p.bucket("audit-trail");
    let lock = s3
        .get_object_lock_configuration()
        .bucket(&audit_bucket)
        .send()
        .await
        .ok();
    let retention = lock
        .as_ref()
        .and_then(|l| l.object_lock_configuration())
        .and_then(|c| c.rule())
        .and_then(|r| r.default_retention());
    audit.check(
        "S3.15",
        retention.is_some_and(|r| {
            r.mode().map(|m| m.as_str()) == Some("COMPLIANCE") && r.days().unwrap_or(0) >= 2190
        }),
        "the audit bucket has no six-year compliance-mode object lock",
    );

    // KMS: CIS 3.6 / KMS.4 rotation, KMS.3 no key scheduled for deletion.
    let kms = kms().await;
    for k in of_kind(&state, "kms_key") {
        let id = k["id"].as_str().unwrap();
        let rotation = kms
            .get_key_rotation_status()
            .key_id(id)
            .send()
            .await
            .unwrap();
        audit.check(
            "KMS.4/CIS-3.6",
            rotation.key_rotation_enabled(),
            format!("{id} does not rotate"),
        );
        let meta = kms.describe_key().key_id(id).send().await.unwrap();
        let enabled = meta
            .key_metadata()
            .and_then(|m| m.key_state())
            .map(|s| s.as_str())
            == Some("Enabled");
        audit.check("KMS.3", enabled, format!("{id} is not enabled"));
    }

    // CloudTrail: CIS 3.1 / CloudTrail.1 multi-region and logging, CIS 3.2 / CloudTrail.4
    // validation, CIS 3.5 / CloudTrail.2 KMS, CIS 3.8-3.9 object-level events on the lake.
    let conf = sdk_config().await;
    let ct = aws_sdk_cloudtrail::Client::new(&conf);
    for t in of_kind(&state, "cloudtrail") {
        let name = t["id"].as_str().unwrap();
        let trail = ct.get_trail().name(name).send().await.unwrap();
        let trail = trail.trail().unwrap();
        audit.check(
            "CloudTrail.1/CIS-3.1",
            trail.is_multi_region_trail() == Some(true),
            format!("{name} is not multi-region"),
        );
        audit.check(
            "CloudTrail.4/CIS-3.2",
            trail.log_file_validation_enabled() == Some(true),
            format!("{name} does not validate log files"),
        );
        audit.check(
            "CloudTrail.2/CIS-3.5",
            trail.kms_key_id().is_some(),
            format!("{name} is not KMS-encrypted"),
        );
        let status = ct.get_trail_status().name(name).send().await.unwrap();
        audit.check(
            "CloudTrail.1",
            status.is_logging() == Some(true),
            format!("{name} is not logging"),
        );
        let selectors = ct
            .get_event_selectors()
            .trail_name(name)
            .send()
            .await
            .unwrap();
        let logged: Vec<String> = selectors
            .event_selectors()
            .iter()
            .flat_map(|s| s.data_resources())
            .flat_map(|d| d.values().iter().cloned())
            .collect();
        for bucket in ["datalake-raw", "datalake-production"] {
            audit.check(
                "CIS-3.8/3.9",
                logged.contains(&format!("arn:aws:s3:::{}/", p.bucket(bucket))),
                format!("object-level events of {bucket} are not logged"),
            );
        }
        let management = selectors
            .event_selectors()
            .iter()
            .any(|s| s.include_management_events() == Some(true));
        audit.check(
            "CloudTrail.1",
            management,
            format!("{name} does not log management events"),
        );
    }

    // GuardDuty: GuardDuty.1 enabled in every region of the blueprint, with S3, RDS and
    // Lambda protection (GuardDuty.10, .9, .6).
    let detectors = of_kind(&state, "guardduty_detector");
    audit.check(
        "GuardDuty.1",
        detectors.len() == 2,
        "not one detector per listed region",
    );
    // Asked of GuardDuty itself, not of rampart's state: exactly one detector per region.
    for d in &detectors {
        let region = d["region"].as_str().unwrap();
        let gd = aws_sdk_guardduty::Client::new(&sdk_config_in(region).await);
        let listed = gd.list_detectors().send().await.unwrap();
        audit.check(
            "GuardDuty.1",
            listed.detector_ids().len() == 1,
            format!(
                "{} detectors in {region}, not one",
                listed.detector_ids().len()
            ),
        );
    }
    for d in detectors {
        let region = d["region"].as_str().unwrap();
        let gd = aws_sdk_guardduty::Client::new(&sdk_config_in(region).await);
        let out = gd
            .get_detector()
            .detector_id(d["id"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        audit.check(
            "GuardDuty.1",
            out.status().map(|s| s.as_str()) == Some("ENABLED"),
            format!("detector in {region} is off"),
        );
        let on: Vec<String> = out
            .features()
            .iter()
            .filter(|f| f.status().map(|s| s.as_str()) == Some("ENABLED"))
            .filter_map(|f| f.name().map(|n| n.as_str().to_string()))
            .collect();
        for (control, feature) in [
            ("GuardDuty.10", "S3_DATA_EVENTS"),
            ("GuardDuty.9", "RDS_LOGIN_EVENTS"),
            ("GuardDuty.6", "LAMBDA_NETWORK_LOGS"),
        ] {
            audit.check(
                control,
                on.iter().any(|f| f == feature),
                format!("{feature} off in {region}"),
            );
        }
    }

    // RDS: RDS.3 / CIS 2.3.1 encrypted, RDS.2 / CIS 2.3.3 private, RDS.8 deletion
    // protection, RDS.11 backups, RDS.13 / CIS 2.3.2 minor upgrades, RDS.9 logs, RDS.10 IAM
    // auth, RDS.5 multi-AZ, RDS.17 tags to snapshots, TLS forced (HIPAA), no default admin.
    let rds = aws_sdk_rds::Client::new(&conf);
    for db in of_kind(&state, "rds_instance") {
        let id = db["id"].as_str().unwrap();
        let out = rds
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
            .unwrap();
        let d = &out.db_instances()[0];
        audit.check(
            "RDS.3/CIS-2.3.1",
            d.storage_encrypted() == Some(true),
            format!("{id} is not encrypted"),
        );
        audit.check(
            "RDS.2/CIS-2.3.3",
            d.publicly_accessible() == Some(false),
            format!("{id} is public"),
        );
        audit.check(
            "RDS.8",
            d.deletion_protection() == Some(true),
            format!("{id} has no deletion protection"),
        );
        audit.check(
            "RDS.11",
            d.backup_retention_period().unwrap_or(0) >= 7,
            format!("{id} keeps backups under 7 days"),
        );
        audit.check(
            "RDS.13/CIS-2.3.2",
            d.auto_minor_version_upgrade() == Some(true),
            format!("{id} skips minor upgrades"),
        );
        audit.check(
            "RDS.9",
            !d.enabled_cloudwatch_logs_exports().is_empty(),
            format!("{id} exports no logs"),
        );
        audit.check(
            "RDS.10",
            d.iam_database_authentication_enabled() == Some(true),
            format!("{id} has no IAM auth"),
        );
        audit.check(
            "RDS.5",
            d.multi_az() == Some(true),
            format!("{id} is single-AZ"),
        );
        audit.check(
            "RDS.17",
            d.copy_tags_to_snapshot() == Some(true),
            format!("{id} does not tag snapshots"),
        );
        audit.check(
            "RDS.25",
            !["postgres", "admin"].contains(&d.master_username().unwrap_or("")),
            format!("{id} uses a default admin name"),
        );
        audit.check(
            "seed:managed-password",
            d.master_user_secret().is_some(),
            format!("{id} password is not in Secrets Manager"),
        );
        let group = d.db_parameter_groups()[0]
            .db_parameter_group_name()
            .unwrap_or("");
        let params = rds
            .describe_db_parameters()
            .db_parameter_group_name(group)
            .send()
            .await
            .unwrap();
        let tls = params.parameters().iter().any(|p| {
            p.parameter_name() == Some("rds.force_ssl") && p.parameter_value() == Some("1")
        });
        audit.check(
            "seed:tls",
            tls,
            format!("{id} accepts connections without TLS"),
        );
    }

    // Secrets Manager: SecretsManager.1 rotation on, .4 within 90 days, customer key.
    let sm = aws_sdk_secretsmanager::Client::new(&conf);
    for s in of_kind(&state, "secret") {
        let name = s["id"].as_str().unwrap();
        let out = sm.describe_secret().secret_id(name).send().await.unwrap();
        audit.check(
            "SecretsManager.1",
            out.rotation_enabled() == Some(true),
            format!("{name} does not rotate"),
        );
        let days = out
            .rotation_rules()
            .and_then(|r| r.automatically_after_days())
            .unwrap_or(0);
        audit.check(
            "SecretsManager.4",
            (1..=90).contains(&days),
            format!("{name} rotates every {days} days"),
        );
        audit.check(
            "seed:customer-key",
            out.kms_key_id().is_some_and(|k| k.contains(":key/")),
            format!("{name} is not under a customer key"),
        );
    }

    assert!(
        audit.0.is_empty(),
        "failed controls:\n  {}",
        audit.0.join("\n  ")
    );
}
