//! Test fixtures shared by the planner's and drift's tests.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use super::Refreshed;
use crate::blueprint::Blueprint;
use crate::state::{Recorded, State};

pub fn blueprint(src: &str) -> Blueprint {
    crate::blueprint::parse(Path::new("t.toml"), src.as_bytes()).unwrap()
}

/// A state and refresh in which everything of the blueprint exists exactly as desired.
pub fn converged(bp: &Blueprint) -> (State, HashMap<String, Refreshed>) {
    let mut state = State::new("t");
    let mut actual = HashMap::new();
    for r in &bp.resources {
        let mut attrs = r.desired();
        let (id, arn) = match r.kind {
            "kms_key" => (
                "k1".to_string(),
                Some("arn:aws:kms:eu-west-1:1:key/k1".into()),
            ),
            _ => (
                attrs
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap()
                    .to_string(),
                None,
            ),
        };
        if r.kind == "s3_bucket" {
            attrs.insert("kms_key", Value::String("k1".into()));
        }
        actual.insert(r.address.clone(), Refreshed::Exists(attrs.clone()));
        state.upsert(Recorded {
            address: r.address.clone(),
            kind: r.kind.to_string(),
            id,
            arn,
            region: "eu-west-1".into(),
            attributes: attrs,
            dependencies: r.dependencies.clone(),
            prevent_destroy: r.prevent_destroy,
        });
    }
    (state, actual)
}
