//! Saved plans apply exactly what was planned, and only to the state they were made against.

use std::os::unix::fs::PermissionsExt;

use crate::engine::SMALL;
use crate::support::Project;

#[test]
fn a_saved_plan_applies_and_a_stale_one_is_refused() {
    let p = Project::new("saved", SMALL);
    let first = p.dir.path().join("first.plan");
    let first = first.to_str().unwrap();

    p.rampart("plan", &["--out", first]).expect(0);
    let mode = std::fs::metadata(first).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "a plan file is private");
    p.run(&["apply", "--plan", first]).expect(0);
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);

    // The state moves on after the plan was saved: the plan is refused.
    p.edit("description = \"test key\"", "description = \"test key 2\"");
    let second = p.dir.path().join("second.plan");
    let second = second.to_str().unwrap();
    p.rampart("plan", &["--out", second]).expect(0);
    p.rampart("apply", &["--auto-approve"]).expect(0);
    let err = p.run(&["apply", "--plan", second]).expect(1).stderr();
    assert!(
        err.contains("the state changed since the plan was made"),
        "{err}"
    );

    // The blueprint changes after the plan was saved: refused too.
    p.edit(
        "description = \"test key 2\"",
        "description = \"test key 3\"",
    );
    let third = p.dir.path().join("third.plan");
    let third = third.to_str().unwrap();
    p.rampart("plan", &["--out", third]).expect(0);
    p.edit("[s3_bucket.b]", "[s3_bucket.b]\nversioning = true");
    let err = p.run(&["apply", "--plan", third]).expect(1).stderr();
    assert!(err.contains("changed since the plan was made"), "{err}");
    assert!(err.contains("blueprint"), "{err}");

    // A fresh plan applies.
    let fresh = p.dir.path().join("fresh.plan");
    let fresh = fresh.to_str().unwrap();
    p.rampart("plan", &["--out", fresh]).expect(0);
    p.run(&["apply", "--plan", fresh]).expect(0);
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);
}

#[test]
fn a_damaged_plan_file_is_refused_with_a_clear_error() {
    let p = Project::new("badplan", SMALL);
    let path = p.dir.path().join("bad.plan");
    std::fs::write(&path, b"{\"format_version\": 1, \"chan").unwrap();
    let err = p
        .run(&["apply", "--plan", path.to_str().unwrap()])
        .expect(1)
        .stderr();
    assert!(err.contains("is not a rampart plan file"), "{err}");
}
