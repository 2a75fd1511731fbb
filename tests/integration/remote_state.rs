//! The S3 state backend: state encrypted with the state key, one run at a time by a
//! conditional-write lock, no write over state another run wrote, stale locks named and
//! cleared.

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::engine::SMALL;
use crate::support::{Project, kms, s3};

/// A versioned state bucket and a state key, made by hand as bootstrap would.
async fn state_backend(p: &Project) -> (String, String) {
    let bucket = p.bucket("state");
    let s3 = s3().await;
    s3.create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    s3.put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let key = kms().await.create_key().send().await.unwrap();
    let arn = key.key_metadata().unwrap().arn().unwrap().to_string();
    (bucket, arn)
}

const KEY: &str = "data-platform/state.json";

async fn object(bucket: &str, key: &str) -> Option<Vec<u8>> {
    let out = s3()
        .await
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .ok()?;
    Some(out.body.collect().await.ok()?.into_bytes().to_vec())
}

async fn wait_for_object(bucket: &str, key: &str) {
    for _ in 0..600 {
        if object(bucket, key).await.is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for s3://{bucket}/{key}");
}

#[tokio::test(flavor = "multi_thread")]
async fn state_in_s3_is_encrypted_locked_and_never_overwritten_by_a_run_that_lost_its_lock() {
    let p = Project::new("s3-state", SMALL);
    let (bucket, key_arn) = state_backend(&p).await;
    let text = p.text().replace(
        "[tags]",
        &format!(
            "[state]\nbackend = \"s3\"\nbucket = \"{bucket}\"\nkey = \"{KEY}\"\nkms_key = \"{key_arn}\"\n\n[tags]"
        ),
    );
    std::fs::write(p.blueprint(), &text).unwrap();
    p.rampart("apply", &["--auto-approve"]).expect(0);
    assert!(!p.state_path().exists(), "a local state was written");
    let head = s3()
        .await
        .head_object()
        .bucket(&bucket)
        .key(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.server_side_encryption(),
        Some(&aws_sdk_s3::types::ServerSideEncryption::AwsKms)
    );
    assert!(
        head.ssekms_key_id()
            .is_some_and(|k| key_arn.ends_with(k.rsplit('/').next().unwrap_or(k))),
        "{:?}",
        head.ssekms_key_id()
    );
    let state: Value = serde_json::from_slice(&object(&bucket, KEY).await.unwrap()).unwrap();
    assert_eq!(state["resources"].as_array().unwrap().len(), 3);
    let lock_key = format!("{KEY}.lock");
    assert!(
        object(&bucket, &lock_key).await.is_none(),
        "the lock was left behind"
    );
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);
    let show = p.rampart("show", &[]).expect(0).stdout();
    assert!(show.contains(&format!("s3://{bucket}/{KEY}")), "{show}");

    // One run holds the lock at its prompt; another fails at once, naming it.
    std::fs::write(
        p.blueprint(),
        text.replace("team = \"tests\"", "team = \"storage\""),
    )
    .unwrap();
    let bp = p.blueprint();
    let mut first = p
        .command(&["apply", bp.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_object(&bucket, &lock_key).await;
    let started = std::time::Instant::now();
    let err = p.rampart("apply", &["--auto-approve"]).expect(1).stderr();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the second apply waited for the lock instead of failing at once"
    );
    assert!(
        err.contains(&format!("state is locked by pid {}", first.id()))
            && err.contains(&format!("s3://{bucket}/{lock_key}")),
        "{err}"
    );

    // The state is rewritten behind its back (by hand, bypassing the lock): when the run
    // goes on, its write is refused by the ETag check instead of overwriting.
    let mut changed: Value = serde_json::from_slice(&object(&bucket, KEY).await.unwrap()).unwrap();
    changed["serial"] = Value::from(changed["serial"].as_u64().unwrap() + 100);
    let written = serde_json::to_vec_pretty(&changed).unwrap();
    s3().await
        .put_object()
        .bucket(&bucket)
        .key(KEY)
        .body(written.clone().into())
        .send()
        .await
        .unwrap();
    first.stdin.take().unwrap().write_all(b"yes\n").unwrap();
    let out = first.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("changed since this run read it"), "{err}");
    assert_eq!(
        object(&bucket, KEY).await.unwrap(),
        written,
        "the state was overwritten"
    );
    assert!(
        object(&bucket, &lock_key).await.is_none(),
        "the lock was left behind"
    );
    p.rampart("apply", &["--auto-approve"]).expect(0);

    // A lock left by a run that is gone is reported stale, and force-unlock clears it.
    let stale = serde_json::json!({
        "id": "left-behind",
        "pid": 4242,
        "host": "ci-runner-gone",
        "operation": "apply",
        "since": "2026-01-01T00:00:00Z",
        "path": format!("s3://{bucket}/{lock_key}"),
        "lease_until": "2026-01-01T01:00:00Z",
    });
    s3().await
        .put_object()
        .bucket(&bucket)
        .key(&lock_key)
        .body(stale.to_string().into_bytes().into())
        .send()
        .await
        .unwrap();
    let err = p.rampart("plan", &[]).expect(1).stderr();
    assert!(
        err.contains("ci-runner-gone") && err.contains("lease expired"),
        "{err}"
    );
    let out = p.rampart("force-unlock", &[]).expect(0).stdout();
    assert!(out.contains("held by pid 4242"), "{out}");
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);

    // The other order: a run whose lock was removed and taken by another run stops at its
    // first write, before the other run writes anything.
    std::fs::write(
        p.blueprint(),
        text.replace("team = \"tests\"", "team = \"lake\""),
    )
    .unwrap();
    let waiting = || {
        p.command(&["apply", bp.to_str().unwrap()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut a = waiting();
    wait_for_object(&bucket, &lock_key).await;
    s3().await
        .delete_object()
        .bucket(&bucket)
        .key(&lock_key)
        .send()
        .await
        .unwrap();
    let mut b = waiting();
    wait_for_object(&bucket, &lock_key).await;
    let before = object(&bucket, KEY).await.unwrap();
    a.stdin.take().unwrap().write_all(b"yes\n").unwrap();
    let out = a.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("lost its lock"), "{err}");
    assert_eq!(
        object(&bucket, KEY).await.unwrap(),
        before,
        "the run without its lock wrote"
    );
    b.stdin.take().unwrap().write_all(b"yes\n").unwrap();
    let out = b.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn state_migrates_local_to_s3_and_back_with_its_lineage_and_serial() {
    let p = Project::new("migrate", SMALL);
    let (bucket, key_arn) = state_backend(&p).await;
    p.rampart("apply", &["--auto-approve"]).expect(0);
    let local = p.state();
    let to = format!("s3://{bucket}/{KEY}");
    p.run(&[
        "state",
        "migrate",
        p.blueprint().to_str().unwrap(),
        "--to",
        &to,
        "--kms-key",
        &key_arn,
    ])
    .expect(0);
    let remote: Value = serde_json::from_slice(&object(&bucket, KEY).await.unwrap()).unwrap();
    assert_eq!(
        (&remote["lineage"], &remote["serial"]),
        (&local["lineage"], &local["serial"])
    );

    // The blueprint now points at S3: the plan reads the state there and has nothing to do.
    let text = p.text().replace(
        "[tags]",
        &format!(
            "[state]\nbackend = \"s3\"\nbucket = \"{bucket}\"\nkey = \"{KEY}\"\nkms_key = \"{key_arn}\"\n\n[tags]"
        ),
    );
    std::fs::write(p.blueprint(), &text).unwrap();
    std::fs::remove_file(p.state_path()).unwrap();
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);
    let pulled: Value = serde_json::from_str(
        &p.run(&["state", "pull", p.blueprint().to_str().unwrap()])
            .expect(0)
            .stdout(),
    )
    .unwrap();
    assert_eq!(pulled, remote);

    // And back to a local file.
    let back = p.dir.path().join("back.json");
    p.run(&[
        "state",
        "migrate",
        p.blueprint().to_str().unwrap(),
        "--to",
        back.to_str().unwrap(),
    ])
    .expect(0);
    let round: Value = serde_json::from_slice(&std::fs::read(&back).unwrap()).unwrap();
    assert_eq!(round, remote);

    // Pushing another state's history is refused; the state stays as it was.
    let mut foreign = round.clone();
    foreign["lineage"] = Value::from("00000000-0000-0000-0000-000000000000");
    let file = p.dir.path().join("foreign.json");
    std::fs::write(&file, foreign.to_string()).unwrap();
    let err = p
        .run(&[
            "state",
            "push",
            p.blueprint().to_str().unwrap(),
            file.to_str().unwrap(),
        ])
        .expect(1)
        .stderr();
    assert!(err.contains("holds another state"), "{err}");
    assert_eq!(
        serde_json::from_slice::<Value>(&object(&bucket, KEY).await.unwrap()).unwrap(),
        remote
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_run_renews_its_lease() {
    let p = Project::new("lease", SMALL);
    let (bucket, key_arn) = state_backend(&p).await;
    let text = p.text().replace(
        "[tags]",
        &format!(
            "[state]\nbackend = \"s3\"\nbucket = \"{bucket}\"\nkey = \"{KEY}\"\nkms_key = \"{key_arn}\"\nlock_lease_minutes = 1\n\n[tags]"
        ),
    );
    std::fs::write(p.blueprint(), &text).unwrap();
    let bp = p.blueprint();
    let mut run = p
        .command(&["apply", bp.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lock_key = format!("{KEY}.lock");
    wait_for_object(&bucket, &lock_key).await;
    let lease = |bytes: Vec<u8>| {
        let info: Value = serde_json::from_slice(&bytes).unwrap();
        chrono::DateTime::parse_from_rfc3339(info["lease_until"].as_str().unwrap()).unwrap()
    };
    let first = lease(object(&bucket, &lock_key).await.unwrap());
    // A third of the one-minute lease, and a little more.
    tokio::time::sleep(Duration::from_secs(23)).await;
    let renewed = lease(object(&bucket, &lock_key).await.unwrap());
    assert!(
        renewed > first,
        "the lease was not renewed: {first} then {renewed}"
    );
    drop(run.stdin.take());
    let out = run.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "cancelled at the prompt");
    assert!(
        object(&bucket, &lock_key).await.is_none(),
        "the lock was left behind"
    );
}
