//! `apply` killed with SIGKILL at moments spread over the whole run, then run again: it
//! converges, and the account holds exactly the blueprint's resources, none twice and none
//! untracked. Each run has an emulator of its own, so everything in it is the blueprint's.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::Value;

use crate::support::{Emulator, Project, private_emulator, sdk_config_at};

/// How many of each kind the account holds, and their ids.
pub async fn inventory(e: &Emulator, prefix: &str) -> BTreeMap<&'static str, Vec<String>> {
    let conf = sdk_config_at(&e.endpoint, "eu-west-1").await;
    let mut found: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    );
    let buckets = s3.list_buckets().send().await.unwrap();
    found.insert(
        "s3_bucket",
        buckets
            .buckets()
            .iter()
            .filter_map(|b| b.name().map(String::from))
            .collect(),
    );
    let kms = aws_sdk_kms::Client::new(&conf);
    let mut keys = Vec::new();
    for k in kms.list_keys().send().await.unwrap().keys() {
        let id = k.key_id().unwrap();
        let meta = kms.describe_key().key_id(id).send().await.unwrap();
        let meta = meta.key_metadata().unwrap();
        if meta.key_state() == Some(&aws_sdk_kms::types::KeyState::Enabled) {
            keys.push(id.to_string());
        }
    }
    found.insert("kms_key", keys);
    let trails = aws_sdk_cloudtrail::Client::new(&conf)
        .describe_trails()
        .send()
        .await
        .unwrap();
    found.insert(
        "cloudtrail",
        trails
            .trail_list()
            .iter()
            .filter_map(|t| t.name().map(String::from))
            .collect(),
    );
    let mut detectors = Vec::new();
    for region in ["eu-west-1", "eu-central-1"] {
        let gd = aws_sdk_guardduty::Client::new(&sdk_config_at(&e.endpoint, region).await);
        detectors.extend(
            gd.list_detectors()
                .send()
                .await
                .unwrap()
                .detector_ids()
                .to_vec(),
        );
    }
    found.insert("guardduty_detector", detectors);
    let roles = aws_sdk_iam::Client::new(&conf)
        .list_roles()
        .send()
        .await
        .unwrap();
    found.insert(
        "iam_role",
        roles
            .roles()
            .iter()
            .map(|r| r.role_name().to_string())
            .collect(),
    );
    let functions = aws_sdk_lambda::Client::new(&conf)
        .list_functions()
        .send()
        .await
        .unwrap();
    found.insert(
        "lambda_function",
        functions
            .functions()
            .iter()
            .filter_map(|f| f.function_name().map(String::from))
            .collect(),
    );
    let secrets = aws_sdk_secretsmanager::Client::new(&conf)
        .list_secrets()
        .send()
        .await
        .unwrap();
    found.insert(
        "secret",
        secrets
            .secret_list()
            .iter()
            .filter(|s| s.deleted_date().is_none())
            .filter_map(|s| s.name())
            // RDS keeps the master password in a secret of its own.
            .filter(|n| n.starts_with(prefix))
            .map(String::from)
            .collect(),
    );
    let dbs = aws_sdk_rds::Client::new(&conf)
        .describe_db_instances()
        .send()
        .await
        .unwrap();
    found.insert(
        "rds_instance",
        dbs.db_instances()
            .iter()
            .filter_map(|d| d.db_instance_identifier().map(String::from))
            .collect(),
    );
    for ids in found.values_mut() {
        ids.sort();
    }
    found
}

/// The same, as the state records it.
pub fn recorded(state: &Value) -> BTreeMap<&'static str, Vec<String>> {
    let kinds = [
        "s3_bucket",
        "kms_key",
        "cloudtrail",
        "guardduty_detector",
        "iam_role",
        "lambda_function",
        "secret",
        "rds_instance",
    ];
    kinds
        .into_iter()
        .map(|kind| {
            let mut ids: Vec<String> = state["resources"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["kind"] == kind)
                .map(|r| r["id"].as_str().unwrap().to_string())
                .collect();
            ids.sort();
            (kind, ids)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_killed_at_any_moment_converges_with_no_orphan_and_no_duplicate() {
    // How long a whole apply takes here, to spread the kills over it.
    let e = private_emulator();
    let p = Project::example_offline("crash-timing").on(&e);
    let started = Instant::now();
    p.rampart("apply", &["--auto-approve"]).expect(0);
    let whole = started.elapsed();
    drop(e);

    for i in 1..=20u32 {
        let e = private_emulator();
        let p = Project::example_offline(&format!("crash-{i}")).on(&e);
        let bp = p.blueprint();
        let mut run = p
            .command(&["apply", bp.to_str().unwrap(), "--auto-approve"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        tokio::time::sleep(whole * i / 21).await;
        let _ = run.kill();
        let _ = run.wait();
        // Calls the killed run had sent still land (the emulator finishes them, as AWS would):
        // the next run comes after them, as a person or a CI retry does, not within their
        // latency, when no lookup could see what they make yet.
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let moment = format!("killed after {:?} of {whole:?}", whole * i / 21);
        // The lock of a killed run is stale: cleared, as a user would.
        if p.lock_path().exists() {
            p.rampart("force-unlock", &[]).expect(0);
        }
        let again = p.rampart("apply", &["--auto-approve"]);
        assert_eq!(again.code(), 0, "{moment}: {}", again.stderr());
        p.rampart("plan", &["--detailed-exitcode"]).expect(0);
        let state = p.state();
        assert_eq!(
            inventory(&e, &p.prefix).await,
            recorded(&state),
            "{moment}: the account and the state differ"
        );
        assert!(
            state.get("pending").is_none(),
            "{moment}: a journal entry is left"
        );
        let counts: Vec<usize> = recorded(&state).values().map(Vec::len).collect();
        assert_eq!(counts.iter().sum::<usize>(), 21, "{moment}: {counts:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn what_an_interrupted_create_made_is_found_through_the_journal_and_adopted() {
    let p = Project::new("journal", crate::engine::SMALL);
    // As a run killed inside its creates leaves it: the journal names both, the state neither.
    let tags = [
        ("rampart:blueprint", p.prefix.clone()),
        ("rampart:address", "kms_key.k".to_string()),
    ];
    let kms = crate::support::kms().await;
    let mut req = kms.create_key();
    for (k, v) in &tags {
        req = req.tags(
            aws_sdk_kms::types::Tag::builder()
                .tag_key(*k)
                .tag_value(v)
                .build()
                .unwrap(),
        );
    }
    let key = req.send().await.unwrap();
    let key_id = key.key_metadata().unwrap().key_id().to_string();
    let bucket = p.bucket("a");
    crate::support::s3()
        .await
        .create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let state = serde_json::json!({
        "format_version": 1,
        "lineage": "4f1c2b8e-0000-4000-8000-000000000001",
        "serial": 3,
        "blueprint": p.prefix,
        "resources": [],
        "pending": [
            { "address": "kms_key.k", "kind": "kms_key", "region": "eu-west-1", "since": "2026-12-01T00:00:00Z" },
            { "address": "s3_bucket.a", "kind": "s3_bucket", "region": "eu-west-1", "since": "2026-12-01T00:00:00Z" },
        ],
    });
    std::fs::create_dir_all(p.state_path().parent().unwrap()).unwrap();
    std::fs::write(p.state_path(), state.to_string()).unwrap();

    let plan = p
        .rampart("plan", &["--detailed-exitcode"])
        .expect(2)
        .stdout();
    assert!(plan.contains(&format!("<= kms_key.k ({key_id})")), "{plan}");
    assert!(
        plan.contains(&format!("<= s3_bucket.a ({bucket})")),
        "{plan}"
    );
    assert!(plan.contains("+ s3_bucket.b"), "{plan}");
    p.rampart("apply", &["--auto-approve"]).expect(0);
    let state = p.state();
    assert!(state.get("pending").is_none(), "{state:#}");
    let key_rec = state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "kms_key.k")
        .unwrap();
    assert_eq!(key_rec["id"], key_id.as_str());
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_during_apply_stops_new_work_saves_what_finished_and_the_next_run_completes() {
    let e = private_emulator();
    let p = Project::example_offline("sigint").on(&e);
    let bp = p.blueprint();
    let run = p
        .command(&["apply", bp.to_str().unwrap(), "--auto-approve"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let state = p.state_path();
    crate::support::wait_for("the first resource recorded", || state.exists());
    let sent = std::process::Command::new("kill")
        .args(["-INT", &run.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = run.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        // Stopped: it says what was done and what was not, and the state is whole JSON.
        Some(130) => {
            assert!(
                err.contains("not started") || err.contains("interrupted"),
                "{err}"
            );
            let recorded = p.state();
            assert!(
                recorded["resources"]
                    .as_array()
                    .is_some_and(|r| !r.is_empty())
            );
            assert!(!p.lock_path().exists(), "the lock was left behind");
        }
        // Or it had finished before the signal came.
        Some(0) => {}
        other => panic!("exit {other:?}: {err}"),
    }
    p.rampart("apply", &["--auto-approve"]).expect(0);
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);
    assert_eq!(inventory(&e, &p.prefix).await, recorded(&p.state()));
}
