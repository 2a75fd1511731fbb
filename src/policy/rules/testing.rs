//! What the rule tests share: the example blueprint, which complies with every rule, as the
//! passing case, and one changed attribute as the failing one.

use std::sync::OnceLock;

use serde_json::Value;

use crate::blueprint::Blueprint;
use crate::policy::evaluate::desired;
use crate::policy::{Breach, Check, Rule, Subject, World};

fn example() -> &'static Blueprint {
    static EXAMPLE: OnceLock<Blueprint> = OnceLock::new();
    EXAMPLE.get_or_init(|| {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("blueprints/data-platform.toml");
        crate::blueprint::load(&path).expect("the example blueprint loads")
    })
}

/// The example's resource at `address`, and what the example tells about the account.
pub fn subject(address: &str) -> (Subject<'static>, World) {
    let (subjects, world) = desired(example());
    let s = subjects
        .into_iter()
        .find(|s| s.resource == address)
        .unwrap_or_else(|| panic!("the example has no `{address}`"));
    (s, world)
}

/// A resource of `kind` the example does not have, with just `attrs`, as read from AWS.
pub fn synthetic(kind: &'static str, attrs: &[(&str, Value)]) -> (Subject<'static>, World) {
    let s = Subject {
        kind,
        resource: format!("{kind}:test").into(),
        names: vec!["test".into()],
        region: "eu-west-1".into(),
        attrs: std::borrow::Cow::Owned(
            attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        ),
        computed: Default::default(),
        mode: crate::policy::Mode::Actual,
    };
    (s, World::default())
}

/// A password policy meeting CIS, with `change` applied.
pub fn cis_password_policy(change: Option<(&str, Value)>) -> (Subject<'static>, World) {
    let mut attrs = vec![
        ("minimum_length", Value::from(14)),
        ("require_uppercase", Value::Bool(true)),
        ("require_lowercase", Value::Bool(true)),
        ("require_numbers", Value::Bool(true)),
        ("require_symbols", Value::Bool(true)),
        ("reuse_prevention", Value::from(24)),
        ("max_age_days", Value::from(90)),
    ];
    if let Some((name, value)) = change {
        attrs.retain(|(k, _)| *k != name);
        attrs.push((name, value));
    }
    synthetic("iam_password_policy", &attrs)
}

/// What a resource rule says about one subject.
pub fn judge(rule: &Rule, s: &Subject, w: &World) -> Vec<Breach> {
    match rule.check {
        Check::Resource(check) => check(s, w).into_iter().collect(),
        Check::Account { .. } => panic!("{} is an account rule: use `account`", rule.id),
    }
}

/// What an account rule says about the account.
pub fn account(rule: &Rule, w: &World) -> Vec<(Option<String>, Breach)> {
    match rule.check {
        Check::Account { check, .. } => check(w),
        Check::Resource(_) => panic!("{} is a resource rule: use `judge`", rule.id),
    }
}

/// The example's `address` keeps the rule.
pub fn holds(rule: &Rule, address: &str) {
    let (s, w) = subject(address);
    let found = judge(rule, &s, &w);
    assert!(
        found.is_empty(),
        "{} breaks on {address}: {found:?}",
        rule.id
    );
}

/// With `overrides`, the example's `address` breaks the rule once, at `field`.
pub fn breaks(rule: &Rule, address: &str, overrides: &[(&str, Value)], field: Option<&str>) {
    let (mut s, w) = subject(address);
    for (name, value) in overrides {
        s.computed.to_mut().insert(name.to_string(), value.clone());
    }
    let found = judge(rule, &s, &w);
    assert_eq!(found.len(), 1, "{} on {address}: {found:?}", rule.id);
    assert_eq!(found[0].field, field, "{}", found[0].message);
}
