//! `--stats`: what a run asked of AWS. Refresh makes, per resource, only the calls whose
//! answers the diff compares (README, "Performance"), drift the same as plan, and a plan
//! without refresh none at all.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::support::{Project, Run, private_emulator};

/// The `--stats=json` line, the last on stderr.
pub fn stats(run: &Run) -> Value {
    let err = run.stderr();
    let line = err.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("no stats line ({e}):\n{err}"))
}

fn calls(stats: &Value) -> BTreeMap<String, u64> {
    stats["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                format!(
                    "{} {}",
                    c["service"].as_str().unwrap(),
                    c["operation"].as_str().unwrap()
                ),
                c["calls"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn refreshing_the_example_makes_exactly_the_calls_its_diff_needs() {
    let e = private_emulator();
    let p = Project::example_offline("stats").on(&e);
    p.rampart("apply", &["--auto-approve"]).expect(0);
    let plan = p
        .rampart("plan", &["--detailed-exitcode", "--stats=json"])
        .expect(0);
    let plan = stats(&plan);
    // 5 buckets, 4 keys, 1 trail, 2 detectors, 5 roles, 1 function, 2 secrets, 1 database.
    let expected: BTreeMap<String, u64> = [
        // 5 calls per bucket; object lock, logging and lifecycle only where the blueprint has them.
        ("S3 GetBucketEncryption", 5),
        ("S3 GetBucketVersioning", 5),
        ("S3 GetPublicAccessBlock", 5),
        ("S3 GetBucketPolicy", 5),
        ("S3 GetBucketTagging", 5),
        ("S3 GetObjectLockConfiguration", 1),
        ("S3 GetBucketLogging", 4),
        ("S3 GetBucketLifecycleConfiguration", 4),
        // 4 per key; the key policy only where trails are granted.
        ("KMS DescribeKey", 4),
        ("KMS GetKeyRotationStatus", 4),
        ("KMS ListResourceTags", 4),
        ("KMS ListAliases", 4),
        ("KMS GetKeyPolicy", 1),
        ("CloudTrail GetTrail", 1),
        ("CloudTrail GetTrailStatus", 1),
        ("CloudTrail GetEventSelectors", 1),
        ("CloudTrail ListTags", 1),
        ("GuardDuty GetDetector", 2),
        // Attached policies only for the one role whose blueprint lists them.
        ("IAM GetRole", 5),
        ("IAM ListRolePolicies", 5),
        ("IAM GetRolePolicy", 5),
        ("IAM ListAttachedRolePolicies", 1),
        ("Lambda GetFunction", 1),
        ("Lambda GetPolicy", 1),
        ("Secrets Manager DescribeSecret", 2),
        ("RDS DescribeDBInstances", 1),
        ("RDS DescribeDBParameters", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(calls(&plan), expected);
    assert_eq!(plan["total"]["calls"], 79);
    assert_eq!(plan["total"]["retries"], 0);
    let phases: Vec<&str> = plan["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["parse", "state", "refresh", "diff"]);

    // Drift reads what plan reads, and asks STS which account its report is about.
    let drift = p.rampart("drift", &["--stats=json"]).expect(0);
    let mut with_account = expected.clone();
    with_account.insert("STS GetCallerIdentity".into(), 1);
    assert_eq!(calls(&stats(&drift)), with_account);

    // Without refresh, the plan asks AWS nothing, and still sees a blueprint edit.
    p.edit(
        "description = \"Secrets Manager secrets\"",
        "description = \"Secrets of the platform\"",
    );
    let blind = p
        .rampart(
            "plan",
            &["--refresh=false", "--detailed-exitcode", "--stats=json"],
        )
        .expect(2);
    assert!(blind.stdout().contains("1 to update"), "{}", blind.stdout());
    assert_eq!(stats(&blind)["total"]["calls"], 0);
    // Nothing but the stats line reaches stderr: no leftover diagnostics in a CI log.
    assert_eq!(
        blind.stderr().trim().lines().count(),
        1,
        "{}",
        blind.stderr()
    );
    p.rampart("plan", &["--refresh=false", "--out", "plan.json"])
        .expect(1);

    // Nor does it set up AWS access: a CA bundle that is not one, which stops every command
    // that reads AWS, does not stop it.
    let junk = p.blueprint().with_file_name("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let bp = p.blueprint();
    let with_junk = |flags: &[&str]| {
        let mut args = vec!["plan", bp.to_str().unwrap()];
        args.extend_from_slice(flags);
        Run(p
            .command(&args)
            .env("AWS_CA_BUNDLE", &junk)
            .output()
            .unwrap())
    };
    let blind = with_junk(&["--refresh=false", "--detailed-exitcode"]).expect(2);
    assert!(blind.stdout().contains("1 to update"), "{}", blind.stdout());
    let refreshed = with_junk(&[]).expect(1);
    assert!(
        refreshed.stderr().contains("holds no PEM certificate"),
        "{}",
        refreshed.stderr()
    );
}
