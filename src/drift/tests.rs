use std::collections::HashMap;

use serde_json::{Value, json};

use super::*;
use crate::plan::fixtures::{blueprint, converged};
use crate::plan::{Mode, Refreshed};
use crate::state::State;

const BP: &str = r#"
[blueprint]
name = "t"
region = "eu-west-1"

[kms_key.data]
alias = "alias/data"

[s3_bucket.raw]
name = "raw-bucket"
kms_key = "kms_key.data"

[drift]
ignore = ["s3_bucket:cdk-*"]
"#;

/// The findings of `src` after `tweak` changes the converged world.
fn drift_of(
    src: &str,
    tweak: impl FnOnce(&mut State, &mut HashMap<String, Refreshed>),
) -> Vec<Finding> {
    let bp = blueprint(src);
    let (mut state, mut actual) = converged(&bp);
    tweak(&mut state, &mut actual);
    let plan = crate::plan::plan(&bp, &state, &actual, Mode::Apply);
    findings(&plan, |_| true)
}

fn set(actual: &mut HashMap<String, Refreshed>, address: &str, name: &str, value: Value) {
    if let Some(Refreshed::Exists(attrs)) = actual.get_mut(address) {
        attrs.insert(name.to_string(), value);
    }
}

fn header() -> Header {
    Header {
        blueprint: "t".into(),
        blueprint_path: "t.toml".into(),
        generated_at: "2026-12-01T00:00:00Z".into(),
        account_id: None,
        regions: vec!["eu-west-1".into()],
        unmanaged_checked: true,
        resources: 2,
        notes: vec![],
    }
}

#[test]
fn a_converged_world_has_no_findings() {
    assert_eq!(drift_of(BP, |_, _| {}), vec![]);
}

#[test]
fn switching_off_a_control_outside_rampart_is_critical_with_expected_and_actual() {
    let found = drift_of(BP, |_, actual| {
        set(actual, "s3_bucket.raw", "versioning", json!(false));
        set(
            actual,
            "s3_bucket.raw",
            "kms_key",
            json!("none (unencrypted)"),
        );
        set(actual, "kms_key.data", "rotation", json!(false));
    });
    let rows: Vec<_> = found
        .iter()
        .map(|f| {
            (
                f.address.as_str(),
                f.id.as_deref(),
                f.attribute.as_deref(),
                f.severity,
                f.origin,
                f.actual.clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (
                "kms_key.data",
                Some("k1"),
                Some("rotation"),
                Severity::Critical,
                Origin::Outside,
                Some(json!(false))
            ),
            (
                "s3_bucket.raw",
                Some("raw-bucket"),
                Some("kms_key"),
                Severity::Critical,
                Origin::Outside,
                Some(json!("none (unencrypted)"))
            ),
            (
                "s3_bucket.raw",
                Some("raw-bucket"),
                Some("versioning"),
                Severity::Critical,
                Origin::Outside,
                Some(json!(false))
            ),
        ]
    );
    assert_eq!(
        found[1].expected,
        Some(json!("arn:aws:kms:eu-west-1:1:key/k1"))
    );
    assert_eq!(
        found[0].arn.as_deref(),
        Some("arn:aws:kms:eu-west-1:1:key/k1")
    );
}

#[test]
fn other_changes_are_warnings_and_a_vanished_resource_is_deleted() {
    let found = drift_of(BP, |_, actual| {
        set(actual, "kms_key.data", "tags", json!({"owner": "someone"}));
        actual.insert("s3_bucket.raw".into(), Refreshed::Gone);
    });
    let rows: Vec<_> = found
        .iter()
        .map(|f| (f.address.as_str(), f.attribute.as_deref(), f.severity))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("kms_key.data", Some("tags"), Severity::Warning),
            ("s3_bucket.raw", None, Severity::Deleted),
        ]
    );
    assert_eq!(found[1].id.as_deref(), Some("raw-bucket"));
}

#[test]
fn an_unapplied_blueprint_edit_is_told_apart_from_a_change_outside() {
    let edited = BP.replace(
        "kms_key = \"kms_key.data\"",
        "kms_key = \"kms_key.data\"\nversioning = false",
    );
    // Applied with versioning on; the blueprint now says off.
    let applied = |state: &mut State, actual: &mut HashMap<String, Refreshed>| {
        set(actual, "s3_bucket.raw", "versioning", json!(true));
        if let Some(rec) = state
            .resources
            .iter_mut()
            .find(|r| r.address == "s3_bucket.raw")
        {
            rec.attributes.insert("versioning", json!(true));
        }
    };
    let found = drift_of(&edited, applied);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].attribute.as_deref(), Some("versioning"));
    assert_eq!(found[0].origin, Origin::Blueprint);
    // Turning versioning off is the blueprint's choice, not a control switched off behind its back.
    assert_eq!(found[0].severity, Severity::Warning);

    let both = drift_of(&edited, |state, actual| {
        applied(state, actual);
        set(actual, "s3_bucket.raw", "versioning", json!("suspended"));
    });
    assert_eq!(both[0].origin, Origin::Both);
}

#[test]
fn ignored_resources_are_counted_not_reported_and_unreadable_ones_mean_error() {
    let stray = |id: &str| Unmanaged {
        kind: "s3_bucket".into(),
        id: id.into(),
        arn: None,
        region: "eu-west-1".into(),
        tagged_address: None,
        problems: vec!["`versioning` is off".into()],
    };
    let ignore = IgnoreList::of(&blueprint(BP));
    let report = Report::new(header(), vec![], vec![stray("cdk-assets")], vec![], &ignore);
    assert_eq!(report.status, Status::InSync);
    assert_eq!(report.summary.ignored, 1);
    assert_eq!(report.ignored[0].pattern, "s3_bucket:cdk-*");

    let report = Report::new(header(), vec![], vec![stray("stray")], vec![], &ignore);
    assert_eq!(report.status, Status::Drift);
    assert_eq!(report.summary.unmanaged, 1);

    let unreadable = Unreadable {
        address: "s3_bucket.raw".into(),
        id: Some("raw-bucket".into()),
        region: "eu-west-1".into(),
        error: "GetBucketPolicy: AccessDenied".into(),
    };
    let report = Report::new(header(), vec![], vec![], vec![unreadable], &ignore);
    assert_eq!(report.status, Status::Error);
}

#[test]
fn an_unmanaged_bucket_is_measured_against_the_secure_settings() {
    let kind = resources::kind("s3_bucket").unwrap();
    let attrs: Attrs = [
        ("name", json!("stray")),
        ("kms_key", json!("none (unencrypted)")),
        ("block_public_access", json!(false)),
        ("versioning", json!(true)),
        ("require_tls", json!(false)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(
        problems(kind, &attrs),
        vec![
            "`block_public_access` is off",
            "`kms_key` is none (unencrypted), not a customer-managed KMS key",
            "`require_tls` is off",
        ]
    );
}

#[test]
fn a_control_the_blueprint_turns_on_but_apply_has_not_yet_is_a_warning() {
    let found = drift_of(BP, |state, actual| {
        set(actual, "kms_key.data", "rotation", json!(false));
        if let Some(rec) = state
            .resources
            .iter_mut()
            .find(|r| r.address == "kms_key.data")
        {
            rec.attributes.insert("rotation", json!(false));
        }
    });
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].origin, Origin::Blueprint);
    assert_eq!(found[0].severity, Severity::Warning);
}

#[test]
fn what_refers_to_a_resource_deleted_outside_changed_outside_too() {
    let found = drift_of(BP, |_, actual| {
        actual.insert("kms_key.data".into(), Refreshed::Gone);
    });
    let bucket = found
        .iter()
        .find(|f| f.address == "s3_bucket.raw")
        .expect("the bucket's key is unknown until apply");
    assert_eq!(bucket.origin, Origin::Outside);
    assert!(bucket.expected_unknown);
    assert_eq!(bucket.severity, Severity::Critical);
}
