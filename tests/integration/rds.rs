//! `rds_instance`: encrypted, private, deletion-protected, IAM auth, TLS forced, password in
//! Secrets Manager; protected instances are never deleted or replaced.

use crate::support::Project;

async fn rds() -> aws_sdk_rds::Client {
    aws_sdk_rds::Client::new(&crate::support::sdk_config().await)
}

const BLUEPRINT: &str = r#"
[blueprint]
name = "data-platform"
region = "eu-west-1"

[kms_key.db]
alias = "alias/acme-db"

[rds_instance.analytics]
identifier = "acme-analytics"
engine = "postgres"
engine_version = "16.4"
instance_class = "db.m6g.large"
allocated_storage_gb = 100
kms_key = "kms_key.db"
master_username = "platform_owner"
log_exports = ["postgresql", "upgrade"]
multi_az = true
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_hardened_database_is_created_kept_and_protected() {
    let p = Project::new("rds", BLUEPRINT);
    p.waive("RMP-RDS-003", "rds_instance.analytics");
    p.rampart("apply", &["--auto-approve"]).expect(0);
    let id = format!("{}-analytics", p.prefix);
    let rds = rds().await;
    let out = rds
        .describe_db_instances()
        .db_instance_identifier(&id)
        .send()
        .await
        .unwrap();
    let db = &out.db_instances()[0];
    assert_eq!(db.storage_encrypted(), Some(true));
    assert_eq!(db.deletion_protection(), Some(true));
    assert_eq!(db.publicly_accessible(), Some(false));
    assert_eq!(db.iam_database_authentication_enabled(), Some(true));
    assert_eq!(db.multi_az(), Some(true));
    assert_eq!(db.backup_retention_period(), Some(7));
    assert_eq!(db.copy_tags_to_snapshot(), Some(true));
    assert!(
        db.master_user_secret().is_some(),
        "the password is not in Secrets Manager"
    );
    let group = db.db_parameter_groups()[0]
        .db_parameter_group_name()
        .unwrap()
        .to_string();
    let params = rds
        .describe_db_parameters()
        .db_parameter_group_name(&group)
        .send()
        .await
        .unwrap();
    assert!(
        params.parameters().iter().any(
            |p| p.parameter_name() == Some("rds.force_ssl") && p.parameter_value() == Some("1")
        )
    );
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);

    // Shortened backups and a public endpoint behind our back: shown, and healed.
    rds.modify_db_instance()
        .db_instance_identifier(&id)
        .backup_retention_period(1)
        .publicly_accessible(true)
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
    let plan = p
        .rampart("plan", &["--detailed-exitcode"])
        .expect(2)
        .stdout();
    assert!(plan.contains("~ backup_retention_days = 1 -> 7"), "{plan}");
    assert!(
        plan.contains("~ publicly_accessible   = true -> false"),
        "{plan}"
    );
    p.rampart("apply", &["--auto-approve"]).expect(0);
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);

    // A password set by hand takes it out of Secrets Manager: critical drift, healed.
    rds.modify_db_instance()
        .db_instance_identifier(&id)
        .manage_master_user_password(false)
        .master_user_password(format!("Aa1-{}", uuid::Uuid::new_v4()))
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
    let run = p.rampart("drift", &["--json"]).expect(2);
    let report: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    let found: Vec<(&str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["attribute"].as_str().unwrap_or(""),
                f["severity"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(found, vec![("managed_master_password", "critical")]);
    p.rampart("apply", &["--auto-approve"]).expect(0);
    let out = rds
        .describe_db_instances()
        .db_instance_identifier(&id)
        .send()
        .await
        .unwrap();
    assert!(out.db_instances()[0].master_user_secret().is_some());
    p.rampart("drift", &[]).expect(0);

    // A new key means a new instance, which deletion protection refuses at plan time.
    p.write(
        &format!("{BLUEPRINT}\n[kms_key.db2]\nalias = \"alias/acme-db2\"\n")
            .replace("kms_key = \"kms_key.db\"", "kms_key = \"kms_key.db2\""),
    );
    let err = p.rampart("plan", &[]).expect(1).stderr();
    assert!(
        err.contains("`rds_instance.analytics` cannot be deleted"),
        "{err}"
    );
    assert!(err.contains("deletion protection"), "{err}");

    // Destroy refuses it too, with one clear line, and changes nothing.
    p.write(BLUEPRINT);
    let err = p.rampart("destroy", &["--auto-approve"]).expect(1).stderr();
    assert_eq!(err.matches("deletion protection on").count(), 1, "{err}");
    assert!(
        rds.describe_db_instances()
            .db_instance_identifier(&id)
            .send()
            .await
            .is_ok()
    );

    // Turned off by the blueprint first, destroy removes it (keeping a final snapshot).
    p.edit(
        "multi_az = true",
        "multi_az = true\ndeletion_protection = false",
    );
    let plan = p
        .rampart("plan", &["--detailed-exitcode"])
        .expect(2)
        .stdout();
    assert!(
        plan.contains("~ deletion_protection = true -> false"),
        "{plan}"
    );
    assert!(
        plan.contains("Plan: 0 to create, 1 to update, 0 to replace, 0 to delete."),
        "{plan}"
    );
    p.rampart("apply", &["--auto-approve"]).expect(0);
    let out = rds
        .describe_db_instances()
        .db_instance_identifier(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(out.db_instances()[0].deletion_protection(), Some(false));
    p.rampart("destroy", &["--auto-approve"]).expect(0);
    assert!(
        rds.describe_db_instances()
            .db_instance_identifier(&id)
            .send()
            .await
            .is_err()
    );
}

#[test]
fn an_engine_default_master_user_is_refused_with_a_hint() {
    let p = Project::new(
        "rds-admin",
        &BLUEPRINT.replace(
            "master_username = \"platform_owner\"",
            "master_username = \"postgres\"",
        ),
    );
    let err = p.rampart("validate", &[]).expect(1).stderr();
    assert!(err.contains("`postgres` is an engine default"), "{err}");
}
