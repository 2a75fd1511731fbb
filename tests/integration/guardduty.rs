//! GuardDuty: one detector per region, each its own line in the plan, kept in sync.

use crate::support::Project;

async fn guardduty(region: &str) -> aws_sdk_guardduty::Client {
    aws_sdk_guardduty::Client::new(&crate::support::sdk_config_in(region).await)
}

// Detectors are one per region and account, so this test has regions no other test uses.
const BLUEPRINT: &str = r#"
[blueprint]
name = "data-platform"
region = "ap-southeast-1"
regions = ["ap-southeast-1", "ap-southeast-2"]

[guardduty_detector.main]
features = ["S3_DATA_EVENTS", "RDS_LOGIN_EVENTS", "LAMBDA_NETWORK_LOGS"]
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_detector_per_region_is_created_shown_per_region_and_kept_in_sync() {
    let p = Project::new("guardduty", BLUEPRINT);
    p.waive("RMP-GD-005", "guardduty_detector.main");
    p.waive("RMP-GD-006", "guardduty_detector.main");
    p.waive("RMP-GD-007", "guardduty_detector.main");
    let plan = p
        .rampart("plan", &["--detailed-exitcode"])
        .expect(2)
        .stdout();
    assert!(
        plan.contains("  + guardduty_detector.main[ap-southeast-1]\n"),
        "{plan}"
    );
    assert!(
        plan.contains("  + guardduty_detector.main[ap-southeast-2]\n"),
        "{plan}"
    );
    assert!(plan.contains("Plan: 2 to create"), "{plan}");
    p.rampart("apply", &["--auto-approve"]).expect(0);

    let state = p.state();
    for region in ["ap-southeast-1", "ap-southeast-2"] {
        let address = format!("guardduty_detector.main[{region}]");
        let rec = state["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["address"] == address.as_str())
            .unwrap_or_else(|| panic!("{address} not recorded"));
        assert_eq!(rec["region"], region);
        let detector = guardduty(region)
            .await
            .get_detector()
            .detector_id(rec["id"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(detector.status().map(|s| s.as_str()), Some("ENABLED"));
        let mut on: Vec<&str> = detector
            .features()
            .iter()
            .filter(|f| f.status().map(|s| s.as_str()) == Some("ENABLED"))
            .filter_map(|f| f.name().map(|n| n.as_str()))
            .collect();
        on.sort();
        assert_eq!(
            on,
            vec!["LAMBDA_NETWORK_LOGS", "RDS_LOGIN_EVENTS", "S3_DATA_EVENTS"]
        );
        assert_eq!(
            detector
                .tags()
                .and_then(|t| t.get("rampart:address"))
                .map(String::as_str),
            Some(address.as_str())
        );
    }
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);

    // Disabled behind our back in one region: one update, in that region only.
    let second = state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "guardduty_detector.main[ap-southeast-2]")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    guardduty("ap-southeast-2")
        .await
        .update_detector()
        .detector_id(&second)
        .enable(false)
        .send()
        .await
        .unwrap();
    let plan = p
        .rampart("plan", &["--detailed-exitcode"])
        .expect(2)
        .stdout();
    assert!(
        plan.contains("~ guardduty_detector.main[ap-southeast-2]"),
        "{plan}"
    );
    assert!(plan.contains("~ enabled = false -> true"), "{plan}");
    assert!(plan.contains("Plan: 0 to create, 1 to update"), "{plan}");

    // A feature and the blueprint's tags change too: updated in place, tags included.
    p.edit(
        "features = [",
        "features = [\"S3_DATA_EVENTS\", \"RDS_LOGIN_EVENTS\"]\ntags = { team = \"secops\" }",
    );
    p.rampart("apply", &["--auto-approve"]).expect(0);
    let detector = guardduty("ap-southeast-2")
        .await
        .get_detector()
        .detector_id(&second)
        .send()
        .await
        .unwrap();
    assert_eq!(detector.status().map(|s| s.as_str()), Some("ENABLED"));
    assert_eq!(
        detector
            .tags()
            .and_then(|t| t.get("team"))
            .map(String::as_str),
        Some("secops")
    );
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);

    p.rampart("destroy", &["--auto-approve"]).expect(0);
    let gone = guardduty("ap-southeast-1")
        .await
        .list_detectors()
        .send()
        .await
        .unwrap();
    assert!(gone.detector_ids().is_empty(), "{:?}", gone.detector_ids());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_detector_made_by_hand_is_adopted_never_duplicated() {
    let gd = guardduty("sa-east-1").await;
    let existing = gd
        .create_detector()
        .enable(false)
        .send()
        .await
        .unwrap()
        .detector_id()
        .unwrap()
        .to_string();
    let p = Project::new(
        "adopt",
        &BLUEPRINT
            .replace("region = \"ap-southeast-1\"", "region = \"sa-east-1\"")
            .replace("regions = [\"ap-southeast-1\", \"ap-southeast-2\"]", ""),
    );
    p.waive("RMP-GD-005", "guardduty_detector.main");
    p.waive("RMP-GD-007", "guardduty_detector.main");
    let plan = p
        .rampart("plan", &["--detailed-exitcode"])
        .expect(2)
        .stdout();
    assert!(
        plan.contains(&format!(
            "<= guardduty_detector.main[sa-east-1] ({existing})"
        )),
        "{plan}"
    );
    assert!(
        plan.contains("it will be imported and updated to match"),
        "{plan}"
    );
    assert!(
        plan.lines()
            .any(|l| l.trim_start().starts_with("~ enabled ") && l.ends_with("= false -> true")),
        "{plan}"
    );
    assert!(
        plan.contains("Plan: 1 to import, 0 to create, 0 to update"),
        "{plan}"
    );
    let done = p.rampart("apply", &["--auto-approve"]).expect(0).stderr();
    assert!(done.contains("1 imported, 0 created"), "{done}");

    let ids = gd.list_detectors().send().await.unwrap();
    assert_eq!(
        ids.detector_ids(),
        std::slice::from_ref(&existing),
        "a second detector was made"
    );
    let state = p.state();
    assert_eq!(state["resources"][0]["id"], existing.as_str());
    let detector = gd
        .get_detector()
        .detector_id(&existing)
        .send()
        .await
        .unwrap();
    assert_eq!(detector.status().map(|s| s.as_str()), Some("ENABLED"));
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_detector_of_another_blueprint_is_not_taken_over() {
    guardduty("ca-central-1")
        .await
        .create_detector()
        .enable(true)
        .tags("rampart:blueprint", "someone-else")
        .send()
        .await
        .unwrap();
    let p = Project::new(
        "foreign",
        &BLUEPRINT
            .replace("region = \"ap-southeast-1\"", "region = \"ca-central-1\"")
            .replace("regions = [\"ap-southeast-1\", \"ap-southeast-2\"]", ""),
    );
    let err = p.rampart("plan", &[]).expect(1).stderr();
    assert!(
        err.contains("is managed by blueprint `someone-else`"),
        "{err}"
    );
}
