//! Changes beyond the happy path: unsetting fields, failures part way, refusals, adoption of
//! a new requirement that forces replacement, semantic policy comparison, interrupts.

use crate::engine::SMALL;
use crate::support::{Project, s3};

#[tokio::test(flavor = "multi_thread")]
async fn removing_access_logs_turns_logging_off_and_the_grant_goes_too() {
    let p = Project::example("unset");
    p.waive("RMP-S3-005", "s3_bucket.raw");
    p.rampart("apply", &["--auto-approve"]).expect(0);
    p.edit("access_logs = \"s3_bucket.access_logs\"   # seed", "");
    let plan = p
        .rampart("plan", &["--detailed-exitcode"])
        .expect(2)
        .stdout();
    assert!(
        plan.contains(&format!(
            "~ access_logs = \"{}\" -> null",
            p.bucket("access-logs")
        )),
        "{plan}"
    );
    assert!(plan.contains("~ log_delivery_from"), "{plan}");
    p.rampart("apply", &["--auto-approve"]).expect(0);
    let logging = s3()
        .await
        .get_bucket_logging()
        .bucket(p.bucket("datalake-raw"))
        .send()
        .await
        .unwrap();
    assert!(logging.logging_enabled().is_none(), "logging is still on");
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_resource_skips_its_dependents_while_independent_work_goes_on() {
    let blueprint =
        format!("{SMALL}\n[s3_bucket.c]\nname = \"acme-c\"\ndepends_on = [\"s3_bucket.b\"]\n");
    let p = Project::new("failure", &blueprint);
    p.waive("RMP-S3-001", "s3_bucket.c");
    p.waive("RMP-S3-005", "s3_bucket.c");
    // Someone else's bucket already has `b`'s name.
    s3().await
        .create_bucket()
        .bucket(p.bucket("b"))
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let run = p.rampart("apply", &["--auto-approve"]).expect(1);
    let err = run.stderr();
    assert!(
        err.contains("failed:      s3_bucket.b: CreateBucket: BucketAlreadyOwnedByYou"),
        "{err}"
    );
    assert!(
        err.contains("skipped:     s3_bucket.c (waits for `s3_bucket.b`)"),
        "{err}"
    );
    assert!(err.contains("2 created"), "{err}");
    let state = p.state();
    let recorded: Vec<&str> = state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["address"].as_str().unwrap())
        .collect();
    assert_eq!(recorded, vec!["kms_key.k", "s3_bucket.a"]);

    // What is left is exactly what the next plan shows; once the name is free, it converges.
    let plan = p
        .rampart("plan", &["--detailed-exitcode"])
        .expect(2)
        .stdout();
    assert!(
        plan.contains("Plan: 2 to create, 0 to update, 0 to replace, 0 to delete."),
        "{plan}"
    );
    s3().await
        .delete_bucket()
        .bucket(p.bucket("b"))
        .send()
        .await
        .unwrap();
    p.rampart("apply", &["--auto-approve"]).expect(0);
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);
}

#[test]
fn credentials_for_another_account_are_refused_before_anything_changes() {
    let p = Project::new(
        "account",
        &SMALL.replace(
            "region = \"eu-west-1\"",
            "region = \"eu-west-1\"\naccount_id = \"999999999999\"",
        ),
    );
    let err = p.rampart("apply", &["--auto-approve"]).expect(1).stderr();
    assert!(
        err.contains(
            "refusing to touch AWS account 123456789012: the blueprint is for account 999999999999"
        ),
        "{err}"
    );
    assert!(!p.state_path().exists());
    // A plan that reads nothing else from AWS still checks whose account it is planned for.
    let err = p.rampart("plan", &["--refresh=false"]).expect(1).stderr();
    assert!(
        err.contains("refusing to touch AWS account 123456789012"),
        "{err}"
    );
    let ok = Project::new(
        "account-ok",
        &SMALL.replace(
            "region = \"eu-west-1\"",
            "region = \"eu-west-1\"\naccount_id = \"123456789012\"",
        ),
    );
    ok.rampart("plan", &["--detailed-exitcode"]).expect(2);
}

#[test]
fn adding_object_lock_to_a_bucket_forces_replacement_and_the_plan_says_so() {
    let p = Project::new("addlock", SMALL);
    p.rampart("apply", &["--auto-approve"]).expect(0);
    p.edit(
        "name = \"acme-b\"",
        "name = \"acme-b\"\nobject_lock = { mode = \"GOVERNANCE\", retention_days = 1 }",
    );
    let plan = p
        .rampart("plan", &["--detailed-exitcode"])
        .expect(2)
        .stdout();
    assert!(plan.contains("-/+ s3_bucket.b"), "{plan}");
    assert!(
        plan.contains("because `object_lock` cannot change in place"),
        "{plan}"
    );
    assert!(plan.contains("# forces replacement"), "{plan}");
    p.rampart("apply", &["--auto-approve"]).expect(0);
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);
}

#[test]
fn a_key_policy_is_compared_as_a_document_not_as_text() {
    let policy = |first: &str, second: &str| {
        format!(
            "policy = '''{{\"Version\": \"2012-10-17\", \"Statement\": [{first}, {second}]}}'''"
        )
    };
    let admin = r#"{"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*", "Resource": "*"}"#;
    let deny = r#"{"Sid": "NoDelete", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": ["kms:ScheduleKeyDeletion", "kms:DisableKey"], "Resource": "*"}"#;
    let deny_reordered = r#"{"Resource": "*", "Action": ["kms:DisableKey", "kms:ScheduleKeyDeletion"], "Principal": {"AWS": "*"}, "Effect": "Deny", "Sid": "NoDelete"}"#;
    let p = Project::new(
        "policy",
        &SMALL.replace(
            "description = \"test key\"",
            &format!("description = \"test key\"\n{}", policy(admin, deny)),
        ),
    );
    p.rampart("apply", &["--auto-approve"]).expect(0);
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);
    p.edit("policy = '''", &policy(deny_reordered, admin));
    let plan = p
        .rampart("plan", &["--detailed-exitcode"])
        .expect(0)
        .stdout();
    assert!(plan.contains("No changes."), "{plan}");
    // A real change of the document is one update.
    p.edit("policy = '''", &policy(admin, "{\"Effect\": \"Deny\", \"Principal\": {\"AWS\": \"*\"}, \"Action\": \"kms:DisableKey\", \"Resource\": \"*\"}"));
    let plan = p
        .rampart("plan", &["--detailed-exitcode"])
        .expect(2)
        .stdout();
    assert!(plan.contains("~ policy"), "{plan}");
}

#[test]
fn another_region_replaces_resources_and_says_why() {
    let p = Project::new("region", SMALL);
    p.rampart("apply", &["--auto-approve"]).expect(0);
    let plan = p
        .rampart("plan", &["--detailed-exitcode", "--region", "eu-central-1"])
        .expect(2)
        .stdout();
    assert!(
        plan.contains("~ region = \"eu-west-1\" -> \"eu-central-1\" # forces replacement"),
        "{plan}"
    );
    assert!(plan.contains("3 to replace"), "{plan}");
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_bucket_that_holds_objects_is_announced_in_the_plan() {
    let p = Project::new("data", SMALL);
    p.rampart("apply", &["--auto-approve"]).expect(0);
    s3().await
        .put_object()
        .bucket(p.bucket("b"))
        .key("report.csv")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"a,b\n"))
        .send()
        .await
        .unwrap();
    let text = p.text();
    let cut = text.find("[s3_bucket.b]").unwrap();
    std::fs::write(p.blueprint(), &text[..cut]).unwrap();
    p.waive("RMP-S3-005", "s3_bucket.a");
    let plan = p
        .rampart("plan", &["--detailed-exitcode"])
        .expect(2)
        .stdout();
    assert!(
        plan.contains("deleting it deletes every object version in it"),
        "{plan}"
    );
    p.rampart("apply", &["--auto-approve"]).expect(0);
    assert!(
        s3().await
            .head_bucket()
            .bucket(p.bucket("b"))
            .send()
            .await
            .is_err()
    );
}

#[test]
fn ctrl_c_at_the_prompt_changes_nothing_and_leaves_no_lock() {
    let p = Project::new("sigint", SMALL);
    let lock = p.lock_path();
    let mut child = p.apply_waiting_at_prompt();
    // Wherever it is by now (refresh, plan, prompt), nothing has changed yet.
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // Keep stdin open: an end of input would answer the prompt "no" instead.
    let stdin = child.stdin.take();
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("nothing was changed"), "{err}");
    assert!(!lock.exists(), "the lock was left behind");
    assert!(!p.state_path().exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resource_may_live_in_another_region_and_the_plan_groups_by_region() {
    let p = Project::new(
        "regions",
        &format!(
            "{SMALL}\n[s3_bucket.replica]\nname = \"acme-replica\"\nregion = \"eu-central-1\"\n"
        ),
    );
    p.waive("RMP-S3-001", "s3_bucket.replica");
    p.waive("RMP-S3-005", "s3_bucket.replica");
    let plan = p
        .rampart("plan", &["--detailed-exitcode"])
        .expect(2)
        .stdout();
    let central = plan
        .find("Region eu-central-1:")
        .expect("a heading per region");
    let west = plan
        .find("Region eu-west-1:")
        .expect("a heading per region");
    let replica = plan.find("+ s3_bucket.replica").unwrap();
    assert!(central < replica && replica < west, "{plan}");
    p.rampart("apply", &["--auto-approve"]).expect(0);
    let location = s3()
        .await
        .get_bucket_location()
        .bucket(p.bucket("replica"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        location.location_constraint().map(|l| l.as_str()),
        Some("eu-central-1")
    );
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);
}
