//! `rampart drift`: out-of-band changes made with the SDK are reported with severity, physical
//! id and expected/actual values, `apply` heals them, unmanaged resources are listed and can be
//! ignored, and a read that fails never passes for "in sync".

use aws_sdk_s3::types::PublicAccessBlockConfiguration;
use serde_json::{Value, json};

use crate::support::{Project, kms, s3, sdk_config, sdk_config_in};

/// Asserts that a report matches the published JSON Schema (checked by the pinned
/// `jsonschema` of the emulator's venv).
fn assert_valid_report(report: &Value) {
    let root = crate::support::repo();
    let mut check = std::process::Command::new(root.join(".venv/bin/python"))
        .arg(root.join("tests/check_schema.py"))
        .arg(root.join("docs/drift-report.schema.json"))
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run tests/check_schema.py");
    let mut stdin = check.stdin.take().unwrap();
    std::io::Write::write_all(&mut stdin, report.to_string().as_bytes()).unwrap();
    drop(stdin);
    let out = check.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the report does not match docs/drift-report.schema.json:\n{}\n{report:#}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The physical id the state records for `address`.
fn id_of(state: &Value, address: &str) -> String {
    state["resources"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["address"] == address))
        .and_then(|r| r["id"].as_str())
        .unwrap_or_else(|| panic!("no `{address}` in the state"))
        .to_string()
}

fn arn_of(state: &Value, address: &str) -> Value {
    state["resources"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["address"] == address))
        .map(|r| r["arn"].clone())
        .unwrap_or(Value::Null)
}

/// The findings of a JSON report as (address, attribute, severity, id, expected, actual) rows,
/// sorted.
fn rows(report: &Value) -> Vec<(String, Value, String, String, Value, Value)> {
    let mut rows: Vec<_> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["address"].as_str().unwrap_or("").to_string(),
                f["attribute"].clone(),
                f["severity"].as_str().unwrap_or("").to_string(),
                f["id"].as_str().unwrap_or("").to_string(),
                f["expected"].clone(),
                f["actual"].clone(),
            )
        })
        .collect();
    rows.sort_by_key(|r| format!("{}{}", r.0, r.1));
    rows
}

#[tokio::test(flavor = "multi_thread")]
async fn out_of_band_changes_are_reported_and_apply_heals_them() {
    let p = Project::example("drift");
    p.rampart("apply", &["--auto-approve"]).expect(0);
    let run = p.rampart("drift", &[]).expect(0);
    assert!(
        run.stdout()
            .contains("In sync: 21 resources match the blueprint."),
        "{}",
        run.stdout()
    );

    // Drift is one refresh, as a plan's: one read per recorded resource, in parallel.
    let bp = p.blueprint();
    let reads = |command: &str| {
        let out = p
            .command(&[command, bp.to_str().unwrap()])
            .env("RAMPART_LOG", "debug")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| l.contains(" refreshed"))
            .count()
    };
    assert_eq!(reads("drift"), 21);
    assert_eq!(reads("plan"), 21);

    let state = p.state();
    let id = |address: &str| id_of(&state, address);
    let regions: Vec<String> = state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "guardduty_detector")
        .map(|r| r["region"].as_str().unwrap().to_string())
        .collect();
    let second = regions.iter().max().unwrap().clone();
    let detector = format!("guardduty_detector.platform[{second}]");
    let conf = sdk_config().await;
    let s3 = s3().await;
    let kms = kms().await;

    kms.disable_key_rotation()
        .key_id(id("kms_key.data"))
        .send()
        .await
        .unwrap();
    s3.delete_bucket_encryption()
        .bucket(id("s3_bucket.raw"))
        .send()
        .await
        .unwrap();
    s3.put_public_access_block()
        .bucket(id("s3_bucket.production"))
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(false)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    s3.delete_bucket_policy()
        .bucket(id("s3_bucket.production"))
        .send()
        .await
        .unwrap();
    s3.delete_bucket()
        .bucket(id("s3_bucket.processed"))
        .send()
        .await
        .unwrap();
    aws_sdk_cloudtrail::Client::new(&conf)
        .stop_logging()
        .name(id("cloudtrail.platform"))
        .send()
        .await
        .unwrap();
    aws_sdk_guardduty::Client::new(&sdk_config_in(&second).await)
        .update_detector()
        .detector_id(id(&detector))
        .enable(false)
        .send()
        .await
        .unwrap();
    aws_sdk_secretsmanager::Client::new(&conf)
        .cancel_rotate_secret()
        .secret_id(id("secret.api_key"))
        .send()
        .await
        .unwrap();
    aws_sdk_rds::Client::new(&conf)
        .modify_db_instance()
        .db_instance_identifier(id("rds_instance.analytics"))
        .backup_retention_period(1)
        .publicly_accessible(true)
        .apply_immediately(true)
        .send()
        .await
        .unwrap();

    let before = std::fs::read(p.state_path()).unwrap();
    let report_file = p.dir.path().join("drift.json");
    let run = p
        .rampart(
            "drift",
            &["--json", "--output", report_file.to_str().unwrap()],
        )
        .expect(2);
    let report: Value = serde_json::from_str(&run.stdout()).expect("the report is JSON");
    let written: Value =
        serde_json::from_slice(&std::fs::read(&report_file).unwrap()).expect("JSON file");
    assert_eq!(report, written);
    assert_valid_report(&report);
    assert_eq!(report["format_version"], 1);
    assert_eq!(report["status"], "drift");
    let critical = |address: &str, attribute: &str, expected: Value, actual: Value| {
        (
            address.to_string(),
            json!(attribute),
            "critical".to_string(),
            id(address),
            expected,
            actual,
        )
    };
    let mut want = vec![
        critical("cloudtrail.platform", "logging", json!(true), json!(false)),
        critical(&detector, "enabled", json!(true), json!(false)),
        critical("kms_key.data", "rotation", json!(true), json!(false)),
        critical(
            "rds_instance.analytics",
            "backup_retention_days",
            json!(14),
            json!(1),
        ),
        critical(
            "rds_instance.analytics",
            "publicly_accessible",
            json!(false),
            json!(true),
        ),
        (
            "s3_bucket.processed".to_string(),
            Value::Null,
            "deleted".to_string(),
            id("s3_bucket.processed"),
            Value::Null,
            Value::Null,
        ),
        critical(
            "s3_bucket.production",
            "block_public_access",
            json!(true),
            json!(false),
        ),
        critical(
            "s3_bucket.production",
            "require_tls",
            json!(true),
            json!(false),
        ),
        critical(
            "s3_bucket.raw",
            "kms_key",
            arn_of(&state, "kms_key.data"),
            json!("none (unencrypted)"),
        ),
        critical(
            "secret.api_key",
            "rotation_lambda",
            arn_of(&state, "lambda_function.rotate_api_key"),
            Value::Null,
        ),
    ];
    want.sort_by_key(|r| format!("{}{}", r.0, r.1));
    assert_eq!(rows(&report), want);
    let gd = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["address"] == detector.as_str())
        .unwrap();
    assert_eq!(gd["region"], second.as_str());
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["origin"] == "outside"),
        "{report}"
    );
    assert_eq!(report["summary"]["critical"], 9);
    assert_eq!(report["summary"]["deleted"], 1);

    // The human report, while an apply holds the lock: drift neither waits nor writes.
    let mut holder = p.apply_waiting_at_prompt();
    let run = p.rampart("drift", &[]).expect(2);
    assert_eq!(std::fs::read(p.state_path()).unwrap(), before);
    drop(holder.stdin.take());
    let _ = holder.wait();
    let text = run.stdout();
    for line in [
        "Critical (9):".to_string(),
        "Deleted (1):".to_string(),
        format!(
            "  kms_key.data ({}) in eu-west-1\n      rotation: expected true, actual false (changed outside rampart)",
            id("kms_key.data")
        ),
        format!(
            "  {detector} ({}) in {second}\n      enabled: expected true, actual false",
            id(&detector)
        ),
        format!(
            "  s3_bucket.processed ({}) in eu-west-1: no longer exists; apply creates it again",
            id("s3_bucket.processed")
        ),
        "backup_retention_days: expected 14, actual 1".to_string(),
        "note: the state is locked".to_string(),
        "Drift: 9 critical, 1 deleted in 21 resources checked.".to_string(),
    ] {
        assert!(text.contains(&line), "no {line:?} in\n{text}");
    }

    // A job per region sees only its region.
    let run = p
        .rampart("drift", &["--regions", &second, "--json"])
        .expect(2);
    let regional: Value = serde_json::from_str(&run.stdout()).unwrap();
    let addresses: Vec<&Value> = regional["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["address"])
        .collect();
    assert_eq!(addresses, vec![&json!(detector)]);
    assert_eq!(regional["regions"], json!([second]));
    let run = p.rampart("drift", &["--regions", "atlantis"]).expect(1);
    assert!(run.stderr().contains("atlantis"), "{}", run.stderr());

    let plan = p.rampart("plan", &[]).expect(0).stdout();
    assert!(
        plan.lines()
            .any(|l| l.contains("rotation") && l.ends_with("# drift: changed outside rampart")),
        "{plan}"
    );
    assert!(plan.contains("9 attributes drifted"), "{plan}");
    assert!(
        plan.contains(
            "# s3_bucket.processed was deleted outside rampart (drift) and will be created again"
        ),
        "{plan}"
    );

    p.rampart("apply", &["--auto-approve"]).expect(0);
    let run = p.rampart("drift", &[]).expect(0);
    assert!(
        run.stdout().contains("In sync: 21 resources"),
        "{}",
        run.stdout()
    );
    // Healed in AWS, as the SDK sees it too.
    let rotation = kms
        .get_key_rotation_status()
        .key_id(id("kms_key.data"))
        .send()
        .await
        .unwrap();
    assert!(rotation.key_rotation_enabled());
    s3.head_bucket()
        .bucket(id("s3_bucket.processed"))
        .send()
        .await
        .expect("the deleted bucket is back");
}

const SMALL: &str = r#"
[blueprint]
name = "data-platform"
region = "eu-central-2"

[kms_key.data]
alias = "alias/acme-data"

[s3_bucket.raw]
name = "acme-raw"
kms_key = "kms_key.data"
"#;

/// No other test uses this region, so what is unmanaged in it is this test's.
const QUIET: &str = "eu-central-2";

async fn s3_in(region: &str) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(&sdk_config_in(region).await)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

#[tokio::test(flavor = "multi_thread")]
async fn unmanaged_resources_are_listed_with_their_problems_and_can_be_ignored() {
    let p = Project::new("unmanaged", SMALL);
    p.waive("RMP-S3-005", "s3_bucket.raw");
    p.rampart("apply", &["--auto-approve"]).expect(0);
    p.rampart("drift", &["--unmanaged"]).expect(0);

    let stray = format!("{}-stray", p.prefix);
    let s3 = s3_in(QUIET).await;
    s3.create_bucket()
        .bucket(&stray)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(QUIET))
                .build(),
        )
        .send()
        .await
        .unwrap();
    // Without `--unmanaged`, only what the blueprint manages counts.
    p.rampart("drift", &[]).expect(0);
    let run = p.rampart("drift", &["--unmanaged", "--json"]).expect(2);
    let report: Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_valid_report(&report);
    let listed = report["unmanaged"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{report}");
    assert_eq!(listed[0]["kind"], "s3_bucket");
    assert_eq!(listed[0]["id"], stray.as_str());
    assert_eq!(listed[0]["region"], QUIET);
    let problems: Vec<&str> = listed[0]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for problem in [
        "`kms_key` is ",
        "`block_public_access` is off",
        "`require_tls` is off",
    ] {
        assert!(
            problems.iter().any(|p| p.starts_with(problem)),
            "no {problem:?} in {problems:?}"
        );
    }
    let text = p.rampart("drift", &["--unmanaged"]).expect(2).stdout();
    assert!(
        text.contains(&format!(
            "  s3_bucket {stray} in {QUIET}: managed by no blueprint"
        )),
        "{text}"
    );

    let mut blueprint = p.text();
    blueprint.push_str(&format!(
        "\n[drift]\nignore = [\"s3_bucket:{}-str*\"]\n",
        p.prefix
    ));
    std::fs::write(p.blueprint(), blueprint).unwrap();
    let run = p.rampart("drift", &["--unmanaged"]).expect(0);
    assert!(
        run.stdout()
            .contains("In sync: 2 resources match the blueprint; 1 ignored."),
        "{}",
        run.stdout()
    );
    let run = p.rampart("drift", &["--unmanaged", "--json"]).expect(0);
    let report: Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_valid_report(&report);
    assert_eq!(report["summary"]["ignored"], 1);
    assert_eq!(report["ignored"][0]["id"], stray.as_str());
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_that_fails_is_an_error_and_never_in_sync() {
    let p = Project::new("unreadable", &SMALL.replace("eu-central-2", "eu-west-1"));
    p.waive("RMP-S3-005", "s3_bucket.raw");
    p.rampart("apply", &["--auto-approve"]).expect(0);
    let dead = format!("http://127.0.0.1:{}", closed_port());

    // S3 is unreachable, KMS is not: the bucket is named as unread, the key still compared.
    let bp = p.blueprint();
    let file = p.dir.path().join("report.json");
    let out = p
        .command(&[
            "drift",
            bp.to_str().unwrap(),
            "--output",
            file.to_str().unwrap(),
        ])
        .env("AWS_ENDPOINT_URL_S3", &dead)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("Could not read (1):"), "{text}");
    assert!(
        text.contains(&format!(
            "`s3_bucket.raw` (`{}-raw`): cannot read it:",
            p.prefix
        )),
        "{text}"
    );
    assert!(!text.contains("In sync"), "{text}");
    let report: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_valid_report(&report);
    assert_eq!(report["status"], "error");
    assert_eq!(report["unreadable"][0]["address"], "s3_bucket.raw");
    assert_eq!(report["unreadable"][0]["id"], format!("{}-raw", p.prefix));

    // KMS unreachable: the key is unread, and the bucket that uses it shows no false change.
    let out = p
        .command(&["drift", bp.to_str().unwrap(), "--json"])
        .env("AWS_ENDPOINT_URL_KMS", &dead)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["findings"], json!([]), "{report:#}");
    assert_eq!(report["unreadable"][0]["address"], "kms_key.data");

    // Nothing reachable at all.
    let out = p
        .command(&["drift", bp.to_str().unwrap(), "--json"])
        .env("AWS_ENDPOINT_URL", &dead)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).expect("a report even so");
    assert_valid_report(&report);
    assert_eq!(report["status"], "error");
    assert!(
        report["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{report}"
    );
}

#[test]
fn the_read_only_policy_covers_the_blueprints_kinds_and_nothing_that_writes() {
    let p = Project::example_offline("policy");
    let run = p.rampart("drift", &["--print-iam-policy"]).expect(0);
    let policy: Value = serde_json::from_str(&run.stdout()).expect("a JSON policy");
    let actions: Vec<String> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["Action"].as_array().unwrap().clone())
        .filter_map(|a| a.as_str().map(String::from))
        .collect();
    for service in [
        "kms:",
        "s3:",
        "cloudtrail:",
        "guardduty:",
        "iam:",
        "lambda:",
        "secretsmanager:",
        "rds:",
    ] {
        assert!(
            actions.iter().any(|a| a.starts_with(service)),
            "no {service} in {actions:?}"
        );
    }
    let verbs = ["Get", "List", "Describe"];
    for a in &actions {
        let verb = a.split(':').nth(1).unwrap_or("");
        assert!(
            verbs.iter().any(|v| verb.starts_with(v)),
            "{a} is not read-only"
        );
    }
}
