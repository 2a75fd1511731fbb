//! The planner: desired (blueprint), recorded (state) and actual (refresh) in, plan out.
//!
//! It is pure: no AWS, no I/O. Everything it needs was read before it runs.

use std::borrow::Cow;
use std::collections::HashMap;

use foldhash::{HashMap as FastMap, HashMapExt};
use serde_json::Value;

use super::diff::same;
use super::{Action, AttrChange, Change, Desired, FORMAT_VERSION, Plan, Summary};
use crate::blueprint::schema::{Replace, Source, Type};
use crate::blueprint::{Attrs, Blueprint, Resource};
use crate::graph::waves;
use crate::parallel;
use crate::resources;
use crate::state::{Recorded, State};

/// What refresh found for a recorded resource.
#[derive(Debug, Clone, PartialEq)]
pub enum Refreshed {
    Exists(Attrs),
    Gone,
    /// Not recorded (or recorded but gone), yet found in AWS by a kind that adopts what
    /// exists (one GuardDuty detector per region): it is imported, never duplicated.
    Found(Box<Recorded>, Attrs),
}

/// Whether the plan converges on the blueprint or removes everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Apply,
    Destroy,
}

/// Computes the plan. A recorded resource that `actual` does not name was not read (`plan
/// --refresh=false`): it is taken to be as recorded.
pub fn plan(
    bp: &Blueprint,
    state: &State,
    actual: &HashMap<String, Refreshed>,
    mode: Mode,
) -> Plan {
    let wanted: Vec<&Resource> = match mode {
        Mode::Apply => bp.resources.iter().collect(),
        Mode::Destroy => Vec::new(),
    };
    let by_address: FastMap<&str, &Resource> =
        wanted.iter().map(|r| (r.address.as_str(), *r)).collect();

    let mut changes: Vec<Change> = Vec::new();
    let mut actions: FastMap<&str, Option<Action>> = FastMap::with_capacity(wanted.len());
    let mut notes = Vec::new();

    // Dependencies first, so each resource knows whether what it refers to is being
    // (re)created and its reference is therefore unknown until apply.
    let nodes: Vec<(&str, &[String])> = wanted
        .iter()
        .map(|r| (r.address.as_str(), r.dependencies.as_slice()))
        .collect();
    // Looked up for every resource and reference: hashed once rather than searched each time.
    let recorded: FastMap<&str, &Recorded> = state
        .resources
        .iter()
        .map(|r| (r.address.as_str(), r))
        .collect();
    for wave in waves(&nodes) {
        let known = Known {
            recorded: &recorded,
            actions: &actions,
            wanted: &by_address,
        };
        // No resource of a wave depends on another of it: they are planned side by side. A
        // change is boxed: most resources have none, and a list of 10 000 unboxed ones
        // would be megabytes of fresh memory, mostly `None`.
        let planned = parallel::map(&wave, |&i| {
            let mut notes = Vec::new();
            let change = plan_resource(bp, actual, wanted[i], &known, &mut notes).map(Box::new);
            (change, notes)
        });
        for (i, (change, more)) in wave.into_iter().zip(planned) {
            actions.insert(&wanted[i].address, change.as_ref().map(|c| c.action));
            notes.extend(more);
            changes.extend(change.map(|c| *c));
        }
    }

    let mut forget = Vec::new();
    for rec in &state.resources {
        if by_address.contains_key(rec.address.as_str()) {
            continue;
        }
        match actual.get(&rec.address) {
            Some(Refreshed::Gone) => {
                notes.push(format!(
                    "`{}` (`{}`) no longer exists in AWS; it is dropped from the state",
                    rec.address, rec.id
                ));
                forget.push(rec.address.clone());
            }
            _ => changes.push(Change {
                address: rec.address.clone(),
                kind: rec.kind.clone(),
                action: Action::Delete,
                id: Some(rec.id.clone()),
                attributes: Vec::new(),
                desired: None,
                prior: Some(rec.clone()),
            }),
        }
    }
    changes.sort_by(|a, b| a.address.cmp(&b.address));

    let protected: Vec<(String, String)> = changes
        .iter()
        .filter(|c| matches!(c.action, Action::Delete | Action::Replace))
        .filter(|c| match bp.resource(&c.address) {
            Some(r) => r.prevent_destroy,
            None => c.prior.as_ref().is_some_and(|p| p.prevent_destroy),
        })
        .map(|c| {
            let what = match c.action {
                Action::Replace => format!(
                    "replace it (because {} cannot change in place)",
                    c.replace_reasons()
                        .iter()
                        .map(|r| format!("`{r}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                _ => "delete it".to_string(),
            };
            (
                c.address.clone(),
                format!(
                    "`{}` has `prevent_destroy = true`, and this plan would {what}\n  = hint: set `prevent_destroy = false` and apply first if the deletion is really wanted",
                    c.address
                ),
            )
        })
        .collect();
    let mut plan = Plan {
        format_version: FORMAT_VERSION,
        blueprint: bp.name.clone(),
        blueprint_path: bp.path.display().to_string(),
        blueprint_sha256: bp.source_sha256.clone(),
        lineage: state.lineage.clone(),
        serial: state.serial,
        destroy: mode == Mode::Destroy,
        summary: Summary::of(&changes),
        changes,
        forget,
        errors: Vec::new(),
        notes,
        refused: Vec::new(),
        policy: None,
    };
    for (address, why) in protected {
        plan.protect(&address, why);
    }
    plan
}

/// What the planner knows when it reaches a resource: the recorded resources, the actions already
/// planned for the resources it depends on, and the desired resources.
struct Known<'a> {
    recorded: &'a FastMap<&'a str, &'a Recorded>,
    actions: &'a FastMap<&'a str, Option<Action>>,
    wanted: &'a FastMap<&'a str, &'a Resource>,
}

impl Known<'_> {
    /// A desired value as the plan knows it: `None` when it is known only after apply.
    fn resolve<'v>(&self, ty: &Type, value: &'v Value) -> Option<Cow<'v, Value>> {
        match (ty, value) {
            (Type::Ref(_), Value::String(target)) => self.resolve_one(target).map(Cow::Owned),
            (Type::RefList(Some(_)), Value::Array(targets)) => targets
                .iter()
                .map(|t| self.resolve_one(t.as_str()?))
                .collect::<Option<Vec<_>>>()
                .map(|v| Cow::Owned(Value::Array(v))),
            _ => Some(Cow::Borrowed(value)),
        }
    }

    /// What a reference to `target` is: its recorded value, or what the blueprint fixes.
    fn resolve_one(&self, target: &str) -> Option<Value> {
        let pending = matches!(
            self.actions.get(target),
            Some(Some(Action::Create | Action::Replace))
        );
        match self.recorded.get(target) {
            Some(rec) if !pending => Some(resources::kind(&rec.kind)?.reference(rec)),
            _ => {
                let r = self.wanted.get(target)?;
                resources::kind(r.kind)?.planned_reference(&r.attrs)
            }
        }
    }
}

fn plan_resource(
    bp: &Blueprint,
    actual: &HashMap<String, Refreshed>,
    r: &Resource,
    known: &Known,
    notes: &mut Vec<String>,
) -> Option<Change> {
    let kind = resources::kind(r.kind)?;
    let region = bp.region_of(r);
    // Built only for a change: most resources of a converged plan have none.
    let desired = |attributes: Attrs, region: &str| Desired {
        region: region.to_string(),
        attributes,
        dependencies: r.dependencies.clone(),
        prevent_destroy: r.prevent_destroy,
    };
    let rec = known.recorded.get(r.address.as_str()).copied();
    let mut importing = false;
    let current = match (rec, actual.get(&r.address)) {
        (_, Some(Refreshed::Found(existing, found))) => {
            importing = true;
            Some((existing.as_ref(), found))
        }
        (Some(rec), Some(Refreshed::Exists(found))) => Some((rec, found)),
        (Some(rec), None) => Some((rec, &rec.attributes)),
        (Some(rec), Some(Refreshed::Gone)) => {
            notes.push(format!(
                "`{}` (`{}`) no longer exists in AWS; it will be created again",
                r.address,
                kind.display_id(rec)
            ));
            None
        }
        (None, _) => None,
    };

    let Some((rec, found)) = current else {
        let attributes = kind
            .schema()
            .iter()
            .filter_map(|f| {
                let value = r.attr(f.name)?;
                // A computed list that is empty says nothing about a new resource.
                if f.computed && value.as_array().is_some_and(|a| a.is_empty()) {
                    return None;
                }
                let resolved = known.resolve(&f.ty, value);
                Some(AttrChange {
                    name: f.name.to_string(),
                    before: None,
                    after_unknown: resolved.is_none(),
                    after: kind.shown(f.name, resolved.as_deref().unwrap_or(&Value::Null)),
                    forces_replacement: false,
                    drift: false,
                })
            })
            .collect();
        return Some(Change {
            address: r.address.clone(),
            kind: r.kind.to_string(),
            action: Action::Create,
            id: None,
            attributes,
            desired: Some(desired(r.desired(), region)),
            prior: rec.cloned(),
        });
    };

    let mut changed = Vec::new();
    if !kind.global() && rec.region != region {
        changed.push(AttrChange {
            name: "region".into(),
            before: Some(Value::String(rec.region.clone())),
            after: Value::String(region.to_string()),
            after_unknown: false,
            forces_replacement: true,
            drift: false,
        });
    }
    for field in kind.schema() {
        let unset = Value::Null;
        let value = match r.attr(field.name) {
            Some(v) => v,
            // An optional field that was set and is now left out is unset, not forgotten.
            None if !field.computed
                && rec.attributes.get(field.name).is_some_and(|v| !v.is_null()) =>
            {
                &unset
            }
            None => continue,
        };
        let before = match field.source {
            Source::Local => rec.attributes.get(field.name),
            Source::Aws => found
                .get(field.name)
                .or_else(|| rec.attributes.get(field.name)),
        }
        .unwrap_or(&unset);
        let after = known.resolve(&field.ty, value);
        if after.as_ref().is_some_and(|a| same(&field.ty, before, a)) {
            continue;
        }
        // AWS no longer holds what the last apply recorded: someone changed it outside.
        let drift = field.source == Source::Aws
            && !importing
            && rec
                .attributes
                .get(field.name)
                .is_some_and(|recorded| !same(&field.ty, before, recorded));
        let forces = match field.replace {
            Replace::Never => false,
            Replace::OnChange => true,
            Replace::OnPresenceChange => {
                before.is_null() != after.as_ref().is_some_and(|a| a.is_null())
            }
        };
        changed.push(AttrChange {
            name: field.name.to_string(),
            before: Some(kind.shown(field.name, before)),
            after_unknown: after.is_none(),
            after: kind.shown(field.name, after.as_deref().unwrap_or(&Value::Null)),
            forces_replacement: forces,
            drift,
        });
    }
    if changed.is_empty() && !importing {
        return None;
    }
    let action = if changed.iter().any(|c| c.forces_replacement) {
        Action::Replace
    } else if importing {
        Action::Import
    } else {
        Action::Update
    };
    Some(Change {
        address: r.address.clone(),
        kind: r.kind.to_string(),
        action,
        id: Some(kind.display_id(rec)),
        attributes: changed,
        desired: Some(desired(r.desired(), region)),
        prior: Some(rec.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixtures::{blueprint, converged};

    const BP: &str = r#"
[blueprint]
name = "t"
region = "eu-west-1"

[kms_key.data]
alias = "alias/data"

[s3_bucket.raw]
name = "raw-bucket"
kms_key = "kms_key.data"
"#;

    /// What a plan shows of a new `kms_key.data` of `BP`.
    const KEY_CREATED: &[&str] = &[
        "alias",
        "rotation",
        "rotation_period_days",
        "deletion_window_days",
        "tags",
    ];

    /// One helper for every planner case: blueprint text, a tweak of the converged world, and
    /// the expected (address, action, changed attributes) rows.
    fn check(
        src: &str,
        tweak: impl FnOnce(&mut State, &mut HashMap<String, Refreshed>),
        mode: Mode,
        expect: &[(&str, Action, &[&str])],
    ) -> Plan {
        let bp = blueprint(src);
        let (mut state, mut actual) = converged(&bp);
        tweak(&mut state, &mut actual);
        let plan = plan(&bp, &state, &actual, mode);
        let got: Vec<(String, Action, Vec<String>)> = plan
            .changes
            .iter()
            .map(|c| {
                (
                    c.address.clone(),
                    c.action,
                    c.attributes.iter().map(|a| a.name.clone()).collect(),
                )
            })
            .collect();
        let want: Vec<(String, Action, Vec<String>)> = expect
            .iter()
            .map(|(a, act, attrs)| {
                (
                    a.to_string(),
                    *act,
                    attrs.iter().map(|s| s.to_string()).collect(),
                )
            })
            .collect();
        assert_eq!(got, want);
        plan
    }

    #[test]
    fn converged_world_plans_nothing() {
        let plan = check(BP, |_, _| {}, Mode::Apply, &[]);
        assert!(!plan.has_changes());
    }

    #[test]
    fn empty_world_creates_all_with_unknown_references() {
        let plan = check(
            BP,
            |s, a| {
                *s = State::new("t");
                a.clear();
            },
            Mode::Apply,
            &[
                ("kms_key.data", Action::Create, KEY_CREATED),
                (
                    "s3_bucket.raw",
                    Action::Create,
                    &[
                        "name",
                        "block_public_access",
                        "kms_key",
                        "versioning",
                        "require_tls",
                        "tags",
                    ],
                ),
            ],
        );
        let kms = &plan.change("s3_bucket.raw").unwrap().attributes[2];
        assert_eq!(kms.name, "kms_key");
        assert!(kms.after_unknown);
        assert_eq!(plan.summary.create, 2);
    }

    #[test]
    fn a_large_blueprint_is_planned_as_a_small_one_is() {
        // Waves this long are planned on several threads: each bucket still sees its key
        // being created, and a key already there by its ARN.
        let mut src = String::from("[blueprint]\nname = \"t\"\nregion = \"eu-west-1\"\n");
        for i in 0..600 {
            src.push_str(&format!(
                "[kms_key.k{i}]\n[s3_bucket.b{i}]\nname = \"bucket-{i}\"\nkms_key = \"kms_key.k{i}\"\n"
            ));
        }
        let bp = blueprint(&src);
        let (mut state, _) = converged(&bp);
        for i in (1..600).step_by(2) {
            state.remove(&format!("kms_key.k{i}"));
        }
        let plan = plan(&bp, &state, &HashMap::new(), Mode::Apply);
        assert_eq!(plan.summary.create, 300);
        for i in 0..600 {
            let bucket = plan.change(&format!("s3_bucket.b{i}"));
            let key = bucket.and_then(|c| c.attributes.iter().find(|a| a.name == "kms_key"));
            match i % 2 {
                0 => assert!(key.is_none(), "b{i}: {bucket:?}"),
                _ => assert!(key.is_some_and(|k| k.after_unknown), "b{i}: {bucket:?}"),
            }
        }
    }

    #[test]
    fn a_new_bucket_is_referred_to_by_its_name_before_it_exists() {
        let src = format!(
            "{BP}access_logs = \"s3_bucket.logs\"\n[s3_bucket.logs]\nname = \"logs-bucket\"\n"
        );
        let bp = blueprint(&src);
        let plan = plan(&bp, &State::new("t"), &HashMap::new(), Mode::Apply);
        let raw = plan.change("s3_bucket.raw").unwrap();
        let logs = raw
            .attributes
            .iter()
            .find(|a| a.name == "access_logs")
            .unwrap();
        assert!(!logs.after_unknown);
        assert_eq!(logs.after, Value::from("logs-bucket"));
        // The target grants log delivery to exactly its source.
        let target = plan.change("s3_bucket.logs").unwrap();
        let grant = target
            .attributes
            .iter()
            .find(|a| a.name == "log_delivery_from")
            .unwrap();
        assert_eq!(grant.after, serde_json::json!(["raw-bucket"]));
    }

    #[test]
    fn one_drifted_attribute_is_one_update() {
        let plan = check(
            BP,
            |_, a| {
                if let Some(Refreshed::Exists(attrs)) = a.get_mut("s3_bucket.raw") {
                    attrs.insert("versioning", Value::Bool(false));
                }
            },
            Mode::Apply,
            &[("s3_bucket.raw", Action::Update, &["versioning"])],
        );
        let change = &plan.changes[0].attributes[0];
        assert_eq!(change.before, Some(Value::Bool(false)));
        assert_eq!(change.after, Value::Bool(true));
    }

    #[test]
    fn renaming_a_bucket_forces_replacement() {
        let renamed = BP.replace("raw-bucket", "raw-bucket-2");
        let bp = blueprint(BP);
        let (state, actual) = converged(&bp);
        let plan = plan(&blueprint(&renamed), &state, &actual, Mode::Apply);
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(plan.changes[0].action, Action::Replace);
        assert_eq!(plan.changes[0].replace_reasons(), vec!["name"]);
    }

    #[test]
    fn attributes_aws_does_not_report_fall_back_to_recorded() {
        check(
            BP,
            |_, a| {
                if let Some(Refreshed::Exists(attrs)) = a.get_mut("kms_key.data") {
                    attrs.remove("rotation_period_days");
                }
            },
            Mode::Apply,
            &[],
        );
    }

    #[test]
    fn removed_resources_are_deleted_and_vanished_ones_recreated_or_forgotten() {
        let without_bucket = BP.split("[s3_bucket.raw]").next().unwrap().to_string();
        let bp = blueprint(BP);
        let (state, mut actual) = converged(&bp);
        let plan_del = plan(&blueprint(&without_bucket), &state, &actual, Mode::Apply);
        assert_eq!(plan_del.changes[0].action, Action::Delete);
        actual.insert("s3_bucket.raw".into(), Refreshed::Gone);
        let plan_gone = plan(&blueprint(&without_bucket), &state, &actual, Mode::Apply);
        assert!(plan_gone.changes.is_empty());
        assert_eq!(plan_gone.forget, vec!["s3_bucket.raw"]);
        let plan_back = plan(&bp, &state, &actual, Mode::Apply);
        assert_eq!(plan_back.changes[0].action, Action::Create);
        assert!(plan_back.notes[0].contains("no longer exists"));
    }

    #[test]
    fn prevent_destroy_spares_in_destroy_and_fails_plans_that_delete() {
        let protected = BP.replace(
            "alias = \"alias/data\"",
            "alias = \"alias/data\"\nprevent_destroy = true",
        );
        // Destroy leaves the key (one line), and deletes the bucket that only depends on it.
        let plan = check(
            &protected,
            |_, _| {},
            Mode::Destroy,
            &[("s3_bucket.raw", Action::Delete, &[])],
        );
        assert!(plan.errors.is_empty());
        assert_eq!(plan.refused.len(), 1);
        assert!(plan.refused[0].contains("`kms_key.data` has `prevent_destroy = true`"));
        // A plan that deletes it fails whole; the recorded flag protects it even once its
        // block is gone from the blueprint.
        let bp = blueprint(&protected);
        let (state, actual) = converged(&bp);
        let bare = blueprint("[blueprint]\nname = \"t\"\nregion = \"eu-west-1\"\n");
        assert_eq!(plan_errors(&bare, &state, &actual), 1);
    }

    #[test]
    fn destroy_keeps_what_a_protected_resource_depends_on() {
        let protected = BP.replace(
            "kms_key = \"kms_key.data\"",
            "kms_key = \"kms_key.data\"\nprevent_destroy = true",
        );
        let plan = check(&protected, |_, _| {}, Mode::Destroy, &[]);
        assert_eq!(plan.refused.len(), 1);
        assert!(
            plan.notes
                .iter()
                .any(|n| n.contains("`kms_key.data` is kept too"))
        );
    }

    fn plan_errors(bp: &Blueprint, state: &State, actual: &HashMap<String, Refreshed>) -> usize {
        plan(bp, state, actual, Mode::Apply).errors.len()
    }

    #[test]
    fn replacing_a_key_makes_its_bucket_reference_unknown() {
        let plan = check(
            BP,
            |s, a| {
                s.remove("kms_key.data");
                a.remove("kms_key.data");
            },
            Mode::Apply,
            &[
                ("kms_key.data", Action::Create, KEY_CREATED),
                ("s3_bucket.raw", Action::Update, &["kms_key"]),
            ],
        );
        assert!(plan.change("s3_bucket.raw").unwrap().attributes[0].after_unknown);
    }
}
