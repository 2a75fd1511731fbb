//! `rampart bootstrap` on accounts of their own (private emulators): the backend and the
//! baseline, read back with the SDK; a second run changes nothing; what exists is adopted.

use aws_sdk_s3::types::ServerSideEncryption;
use serde_json::Value;

use crate::support::{Emulator, Project, private_emulator, s3control_at, sdk_config_at};

const ACCOUNT: &str = "123456789012";

fn bootstrap(p: &Project, extra: &[&str]) -> crate::support::Run {
    let mut args = vec![
        "bootstrap",
        "--name",
        "acme",
        "--region",
        "eu-west-1",
        "--regions",
        "eu-west-1,eu-central-1",
    ];
    args.extend_from_slice(extra);
    p.run(&args)
}

async fn s3_of(e: &Emulator) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk_config_at(&e.endpoint, "eu-west-1").await)
            .force_path_style(true)
            .build(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_account_gets_its_backend_and_baseline_and_a_second_run_changes_nothing() {
    let emulator = private_emulator();
    let p = Project::new("bootstrap", "").on(&emulator);
    let run = bootstrap(&p, &["--account-id", ACCOUNT]).expect(0);
    assert!(
        run.stdout().contains("its baseline is in place"),
        "{}",
        run.stdout()
    );
    for step in ["[1/4]", "[2/4]", "[3/4]", "[4/4]"] {
        assert!(run.stderr().contains(step), "{}", run.stderr());
    }
    let conf = sdk_config_at(&emulator.endpoint, "eu-west-1").await;
    let s3 = s3_of(&emulator).await;
    let kms = aws_sdk_kms::Client::new(&conf);

    // The state backend: a rotating key, and a private, versioned, TLS-only SSE-KMS bucket.
    let state_bucket = format!("acme-rampart-state-{ACCOUNT}");
    let key = kms
        .describe_key()
        .key_id("alias/acme-rampart-state")
        .send()
        .await
        .unwrap();
    let key_id = key.key_metadata().unwrap().key_id().to_string();
    let rotation = kms
        .get_key_rotation_status()
        .key_id(&key_id)
        .send()
        .await
        .unwrap();
    assert!(rotation.key_rotation_enabled());
    let enc = s3
        .get_bucket_encryption()
        .bucket(&state_bucket)
        .send()
        .await
        .unwrap();
    let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
    let default = rule.apply_server_side_encryption_by_default().unwrap();
    assert_eq!(default.sse_algorithm(), &ServerSideEncryption::AwsKms);
    assert!(default.kms_master_key_id().unwrap().contains(&key_id));
    let versioning = s3
        .get_bucket_versioning()
        .bucket(&state_bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(
        versioning.status(),
        Some(&aws_sdk_s3::types::BucketVersioningStatus::Enabled)
    );
    let pab = s3
        .get_public_access_block()
        .bucket(&state_bucket)
        .send()
        .await
        .unwrap();
    let pab = pab.public_access_block_configuration().unwrap();
    assert_eq!(pab.block_public_policy(), Some(true));
    assert_eq!(pab.restrict_public_buckets(), Some(true));
    let policy = s3
        .get_bucket_policy()
        .bucket(&state_bucket)
        .send()
        .await
        .unwrap();
    assert!(policy.policy().unwrap().contains("aws:SecureTransport"));
    let lifecycle = s3
        .get_bucket_lifecycle_configuration()
        .bucket(&state_bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(
        lifecycle.rules()[0]
            .noncurrent_version_expiration()
            .and_then(|e| e.noncurrent_days()),
        Some(365)
    );
    let state = s3
        .head_object()
        .bucket(&state_bucket)
        .key("acme/baseline.json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        state.server_side_encryption(),
        Some(&ServerSideEncryption::AwsKms)
    );

    // The baseline: account settings, the trail and its locked bucket, GuardDuty.
    let block = s3control_at(&emulator.endpoint)
        .await
        .get_public_access_block()
        .account_id(ACCOUNT)
        .send()
        .await
        .unwrap();
    assert_eq!(
        block
            .public_access_block_configuration()
            .unwrap()
            .block_public_acls(),
        Some(true)
    );
    let iam = aws_sdk_iam::Client::new(&conf);
    let pw = iam.get_account_password_policy().send().await.unwrap();
    let pw = pw.password_policy().unwrap();
    assert_eq!(
        (
            pw.minimum_password_length(),
            pw.password_reuse_prevention(),
            pw.max_password_age()
        ),
        (Some(14), Some(24), Some(90))
    );
    assert!(pw.require_symbols() && pw.require_numbers());
    let ct = aws_sdk_cloudtrail::Client::new(&conf);
    let trails = ct.describe_trails().send().await.unwrap();
    assert_eq!(trails.trail_list().len(), 1);
    let trail = &trails.trail_list()[0];
    assert_eq!(trail.name(), Some("acme-account-trail"));
    assert_eq!(trail.is_multi_region_trail(), Some(true));
    assert_eq!(trail.log_file_validation_enabled(), Some(true));
    assert!(trail.kms_key_id().is_some());
    let logs = format!("acme-cloudtrail-{ACCOUNT}");
    assert_eq!(trail.s3_bucket_name(), Some(logs.as_str()));
    let lock = s3
        .get_object_lock_configuration()
        .bucket(&logs)
        .send()
        .await
        .unwrap();
    let retention = lock
        .object_lock_configuration()
        .and_then(|c| c.rule())
        .and_then(|r| r.default_retention())
        .unwrap();
    assert_eq!(
        retention.mode(),
        Some(&aws_sdk_s3::types::ObjectLockRetentionMode::Compliance)
    );
    assert_eq!(retention.days(), Some(2190));
    let logging = s3.get_bucket_logging().bucket(&logs).send().await.unwrap();
    assert_eq!(
        logging.logging_enabled().map(|l| l.target_bucket()),
        Some(format!("acme-access-logs-{ACCOUNT}").as_str())
    );
    for region in ["eu-west-1", "eu-central-1"] {
        let gd = aws_sdk_guardduty::Client::new(&sdk_config_at(&emulator.endpoint, region).await);
        assert_eq!(
            gd.list_detectors()
                .send()
                .await
                .unwrap()
                .detector_ids()
                .len(),
            1,
            "{region}"
        );
    }

    // The written blueprint is an ordinary one, on the S3 state, and the account matches it.
    let written = p.dir.path().join("blueprints/acme-baseline.toml");
    let text = std::fs::read_to_string(&written).unwrap();
    assert!(text.contains("backend = \"s3\""), "{text}");
    let bp = written.to_str().unwrap();
    p.run(&["validate", bp]).expect(0);
    p.run(&["check", bp]).expect(0);
    p.run(&["plan", bp, "--detailed-exitcode"]).expect(0);
    assert!(
        !p.dir.path().join("state/acme-baseline.json").exists(),
        "a local state is left"
    );

    let again = bootstrap(&p, &[]).expect(0);
    assert!(
        again.stdout().contains("nothing changed"),
        "{}",
        again.stdout()
    );
    assert_eq!(std::fs::read_to_string(&written).unwrap(), text);

    // From another checkout, without the blueprint: the state in S3 says what was made.
    std::fs::remove_file(&written).unwrap();
    let elsewhere = bootstrap(&p, &[]).expect(0);
    assert!(
        elsewhere.stdout().contains("nothing changed"),
        "{}",
        elsewhere.stdout()
    );
    assert_eq!(std::fs::read_to_string(&written).unwrap(), text);

    // Credentials for another account are refused before anything changes.
    let err = bootstrap(&p, &["--account-id", "210987654321"])
        .expect(1)
        .stderr();
    assert!(err.contains("refusing to bootstrap account"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_detector_and_a_trail_made_by_hand_are_adopted_not_duplicated() {
    let emulator = private_emulator();
    let conf = sdk_config_at(&emulator.endpoint, "eu-west-1").await;
    let s3 = s3_of(&emulator).await;
    s3.create_bucket()
        .bucket("hand-made-trail-logs")
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    aws_sdk_cloudtrail::Client::new(&conf)
        .create_trail()
        .name("by-hand")
        .s3_bucket_name("hand-made-trail-logs")
        .send()
        .await
        .unwrap();
    let gd = aws_sdk_guardduty::Client::new(&conf);
    let detector = gd.create_detector().enable(false).send().await.unwrap();
    let detector = detector.detector_id().unwrap().to_string();

    let p = Project::new("adopt-baseline", "").on(&emulator);
    let run = bootstrap(
        &p,
        &[
            "--role-arn",
            "arn:aws:iam::123456789012:role/OrganizationAccountAccessRole",
        ],
    )
    .expect(0);
    assert!(
        run.stderr()
            .contains("assumed-role/OrganizationAccountAccessRole"),
        "the role was not assumed: {}",
        run.stderr()
    );
    let trails = aws_sdk_cloudtrail::Client::new(&conf)
        .describe_trails()
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = trails
        .trail_list()
        .iter()
        .filter_map(|t| t.name())
        .collect();
    assert_eq!(names, vec!["by-hand"], "a second trail was made");
    let trail = &trails.trail_list()[0];
    assert_eq!(
        trail.is_multi_region_trail(),
        Some(true),
        "not brought to the baseline"
    );
    assert_eq!(
        trail.s3_bucket_name(),
        Some(format!("acme-cloudtrail-{ACCOUNT}").as_str())
    );
    let ids = gd.list_detectors().send().await.unwrap();
    assert_eq!(
        ids.detector_ids(),
        std::slice::from_ref(&detector),
        "a second detector was made"
    );
    let got = gd
        .get_detector()
        .detector_id(&detector)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.status(),
        Some(&aws_sdk_guardduty::types::DetectorStatus::Enabled)
    );
    let state: Value = serde_json::from_slice(
        &s3.get_object()
            .bucket(format!("acme-rampart-state-{ACCOUNT}"))
            .key("acme/baseline.json")
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes(),
    )
    .unwrap();
    let adopted = state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "guardduty_detector.account[eu-west-1]")
        .unwrap();
    assert_eq!(adopted["id"], detector.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_bootstrap_resumes_where_it_stopped() {
    let emulator = private_emulator();
    let p = Project::new("resume", "").on(&emulator);
    let first = p
        .command(&["bootstrap", "--name", "acme", "--region", "eu-west-1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Stopped with Ctrl-C once its apply has recorded something.
    let local = p.dir.path().join("state/acme-baseline.json");
    crate::support::wait_for("the first resource recorded", || local.exists());
    let killed = std::process::Command::new("kill")
        .args(["-INT", &first.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = first.wait_with_output().unwrap();
    let stopped = out.status.code();
    assert!(
        matches!(stopped, Some(130) | Some(0)),
        "{:?}: {}",
        stopped,
        String::from_utf8_lossy(&out.stderr)
    );

    p.run(&["bootstrap", "--name", "acme", "--region", "eu-west-1"])
        .expect(0);
    let conf = sdk_config_at(&emulator.endpoint, "eu-west-1").await;
    let aliases = aws_sdk_kms::Client::new(&conf)
        .list_aliases()
        .send()
        .await
        .unwrap();
    let ours: Vec<&str> = aliases
        .aliases()
        .iter()
        .filter_map(|a| a.alias_name())
        .filter(|n| n.starts_with("alias/acme-"))
        .collect();
    assert_eq!(ours.len(), 2, "{ours:?}");
    let trails = aws_sdk_cloudtrail::Client::new(&conf)
        .describe_trails()
        .send()
        .await
        .unwrap();
    assert_eq!(trails.trail_list().len(), 1);
    let text = std::fs::read_to_string(p.dir.path().join("blueprints/acme-baseline.toml")).unwrap();
    assert!(text.contains("backend = \"s3\""), "{text}");
    let bp = p.dir.path().join("blueprints/acme-baseline.toml");
    p.run(&["plan", bp.to_str().unwrap(), "--detailed-exitcode"])
        .expect(0);
}
