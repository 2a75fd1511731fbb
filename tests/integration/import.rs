//! `rampart import`: an existing resource is recorded under its blueprint address and then
//! brought to the blueprint, never created a second time.

use crate::engine::SMALL;
use crate::support::{Project, s3};

#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_made_by_hand_is_imported_and_then_hardened_in_place() {
    let p = Project::new("import", SMALL);
    let bucket = p.bucket("a");
    s3().await
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

    let err = p
        .rampart("import", &["s3_bucket.aa", &bucket])
        .expect(1)
        .stderr();
    assert!(err.contains("did you mean `s3_bucket.a`?"), "{err}");
    let err = p
        .rampart("import", &["s3_bucket.a", &format!("{bucket}-nope")])
        .expect(1)
        .stderr();
    assert!(err.contains("there is no s3_bucket"), "{err}");
    assert!(!p.state_path().exists(), "a failed import wrote a state");

    let out = p
        .rampart("import", &["s3_bucket.a", &bucket])
        .expect(0)
        .stdout();
    assert!(
        out.contains(&format!("Imported s3_bucket `{bucket}` as `s3_bucket.a`")),
        "{out}"
    );
    let state = p.state();
    let rec = state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "s3_bucket.a")
        .unwrap();
    assert_eq!(rec["id"], bucket.as_str());
    assert_eq!(rec["arn"], format!("arn:aws:s3:::{bucket}").as_str());

    let plan = p
        .rampart("plan", &["--detailed-exitcode"])
        .expect(2)
        .stdout();
    assert!(
        plan.contains(&format!("~ s3_bucket.a ({bucket})")),
        "{plan}"
    );
    assert!(plan.contains("~ versioning"), "{plan}");
    assert!(!plan.contains("+ s3_bucket.a"), "{plan}");
    p.rampart("apply", &["--auto-approve"]).expect(0);
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);

    let err = p
        .rampart("import", &["s3_bucket.a", &bucket])
        .expect(1)
        .stderr();
    assert!(err.contains("already in the state"), "{err}");
}
