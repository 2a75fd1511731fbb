//! `rampart validate`: the example passes; broken copies fail with `file:line:column`.

use crate::support::Project;

#[test]
fn the_example_blueprint_validates() {
    let p = Project::example_offline("validate");
    let run = p.rampart("validate", &[]).expect(0);
    assert!(run.stdout().contains("is valid"), "{}", run.stdout());
}

/// Each broken copy of the example: what to change, and what the error must say.
fn check_broken(tag: &str, from: &str, to: &str, message: &str, line: usize, column: usize) {
    let p = Project::example_offline(tag);
    p.edit(from, to);
    let run = p.rampart("validate", &[]).expect(1);
    let err = run.stderr();
    assert!(err.contains(message), "{tag}: want {message:?} in\n{err}");
    let location = format!("{}:{line}:{column}", p.blueprint().display());
    assert!(err.contains(&location), "{tag}: want {location} in\n{err}");
    assert!(!err.contains("panicked"), "{err}");
}

fn line_of(needle: &str) -> usize {
    let text =
        std::fs::read_to_string(crate::support::repo().join("blueprints/data-platform.toml"))
            .unwrap();
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn an_unknown_field_is_an_error_with_a_suggestion() {
    let line = line_of("versioning = true               # seed: protect");
    check_broken(
        "unknown",
        "versioning = true               # seed: protect",
        "versionin = true",
        "unknown field `versionin` in `s3_bucket.raw`",
        line,
        1,
    );
    let p = Project::example_offline("unknown-hint");
    p.edit(
        "versioning = true               # seed: protect",
        "versionin = true",
    );
    let err = p.rampart("validate", &[]).expect(1).stderr();
    assert!(err.contains("did you mean `versioning`?"), "{err}");
}

#[test]
fn a_bad_reference_is_an_error() {
    let line = line_of("kms_key = \"kms_key.data\"        # seed");
    check_broken(
        "badref",
        "kms_key = \"kms_key.data\"        # seed",
        "kms_key = \"kms_key.dta\"",
        "refers to `kms_key.dta`, which the blueprint does not declare",
        line,
        11,
    );
}

#[test]
fn a_cycle_is_an_error() {
    let line = line_of("[s3_bucket.access_logs]");
    check_broken(
        "cycle",
        "[s3_bucket.access_logs]",
        "[s3_bucket.access_logs]\ndepends_on = [\"s3_bucket.raw\"]",
        "dependency cycle: s3_bucket.access_logs -> s3_bucket.raw -> s3_bucket.access_logs",
        line,
        12,
    );
}

#[test]
fn broken_toml_is_an_error() {
    let line = line_of("[s3_bucket.processed]");
    check_broken(
        "toml",
        "[s3_bucket.processed]",
        "[s3_bucket.processed",
        "invalid TOML",
        line,
        21,
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let p = Project::example_offline("many");
    p.edit(
        "versioning = true               # seed: protect",
        "versionin = true",
    );
    p.edit("rotation_period_days = 365", "rotation_period_days = 5");
    p.edit(
        "object_lock = {",
        "object_lock = { mode = \"COMPLIANCE\", retention_days = \"long\" }",
    );
    let err = p.rampart("validate", &[]).expect(1).stderr();
    assert!(err.contains("blueprint has 3 problems"), "{err}");
}
