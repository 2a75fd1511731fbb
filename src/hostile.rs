//! Property tests over hostile input: whatever bytes a blueprint or a state file holds, the
//! parser and the state loader answer with a value or an error, never a panic. CI runs them
//! with a fixed budget of cases (`PROPTEST_CASES` raises it).

use std::path::Path;

use proptest::prelude::*;

use crate::state::local::parse_state;

const EXAMPLE: &str = include_str!("../blueprints/data-platform.toml");
const STATE: &str = r#"{"format_version":1,"lineage":"l","serial":3,"blueprint":"b","resources":[{"address":"s3_bucket.a","kind":"s3_bucket","id":"a","region":"eu-west-1","attributes":{"versioning":true,"tags":{"k":"v"}},"dependencies":["kms_key.k"]}],"pending":[{"address":"kms_key.k","kind":"kms_key","region":"eu-west-1","since":"2026-12-01T00:00:00Z"}]}"#;

/// An edit of a valid text: bytes replaced, inserted or cut at some place.
fn damaged(text: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let len = text.len();
    (
        0..len,
        0..64usize,
        proptest::collection::vec(any::<u8>(), 0..16),
    )
        .prop_map(move |(at, cut, insert)| {
            let mut bytes = text.as_bytes().to_vec();
            let end = (at + cut).min(bytes.len());
            bytes.splice(at..end, insert);
            bytes
        })
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2000),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_bytes_are_a_blueprint_or_diagnostics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = crate::blueprint::parse(Path::new("hostile.toml"), &bytes);
    }

    #[test]
    fn a_damaged_example_is_a_blueprint_or_diagnostics(bytes in damaged(EXAMPLE)) {
        if let Err(diagnostics) = crate::blueprint::parse(Path::new("blueprints/x.toml"), &bytes) {
            prop_assert!(!diagnostics.is_empty());
        }
    }

    #[test]
    fn any_bytes_are_a_state_or_an_error(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_state(&bytes, "hostile.json", Path::new("hostile.json.backup"));
    }

    #[test]
    fn a_damaged_state_is_a_state_or_an_error(bytes in damaged(STATE)) {
        let _ = parse_state(&bytes, "s.json", Path::new("s.json.backup"));
    }
}
