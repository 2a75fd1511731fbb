//! Drift: what AWS holds that the blueprint does not say, found without changing anything.
//!
//! The findings come from the planner's own comparison (so drift and plan never disagree),
//! classified by the schema's security controls; the report is the versioned JSON document
//! `docs/drift-report.md` describes.

pub mod iam_policy;

use std::collections::HashSet;

use serde::Serialize;
use serde_json::Value;

use crate::blueprint::schema::{self, Control};
use crate::blueprint::{Attrs, Blueprint};
use crate::plan::diff::same;
use crate::plan::{Action, AttrChange, Change, Plan};
use crate::resources::{self, ResourceKind};

/// The report format this build writes.
pub const FORMAT_VERSION: u32 = 1;

/// How bad a finding is. The order is the order of the human report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A security control was switched off or weakened.
    Critical,
    /// The resource no longer exists.
    Deleted,
    /// Any other difference.
    Warning,
}

impl Severity {
    pub fn title(self) -> &'static str {
        match self {
            Severity::Critical => "Critical",
            Severity::Deleted => "Deleted",
            Severity::Warning => "Warning",
        }
    }
}

/// Where a difference comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// AWS no longer holds what the last apply recorded.
    Outside,
    /// The blueprint was edited and not applied yet.
    Blueprint,
    /// Both.
    Both,
}

impl Origin {
    fn describe(self) -> &'static str {
        match self {
            Origin::Outside => "changed outside rampart",
            Origin::Blueprint => "blueprint edited, not applied yet",
            Origin::Both => "changed outside rampart, and the blueprint was edited too",
        }
    }
}

/// One difference between AWS and the blueprint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub address: String,
    pub kind: String,
    /// The physical id: bucket name, key id, trail name, detector id, DB identifier...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    pub region: String,
    /// The attribute that differs; absent when the whole resource does (deleted, missing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    /// What the blueprint wants; `null` with `expected_unknown` when only apply will know.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<Value>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub expected_unknown: bool,
    /// What AWS holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<Value>,
    pub origin: Origin,
    pub message: String,
}

/// A resource of a kind the blueprint uses that no blueprint manages.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unmanaged {
    pub kind: String,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    pub region: String,
    /// Its `rampart:address` tag when it is tagged for this blueprint but not in its state:
    /// left behind by an apply that did not record it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tagged_address: Option<String>,
    /// Its hardening problems, one line each (`kms_key is none (unencrypted), ...`).
    pub problems: Vec<String>,
}

/// A resource whose findings `[drift] ignore` suppresses: counted, not reported as drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ignored {
    pub pattern: String,
    pub kind: String,
    pub id: String,
    pub region: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// How many findings (or 1 for an unmanaged resource) it suppressed.
    pub findings: usize,
}

/// The `[drift] ignore` patterns, `KIND:GLOB` over physical ids.
pub struct IgnoreList(Vec<(String, glob::Pattern, String)>);

impl IgnoreList {
    /// The blueprint's patterns; they were checked when it was parsed.
    pub fn of(bp: &Blueprint) -> IgnoreList {
        IgnoreList(
            bp.drift_ignore
                .iter()
                .filter_map(|raw| {
                    let (kind, glob) = raw.split_once(':')?;
                    Some((
                        kind.to_string(),
                        glob::Pattern::new(glob).ok()?,
                        raw.clone(),
                    ))
                })
                .collect(),
        )
    }

    /// The pattern that matches a resource, if one does.
    pub fn matching(&self, kind: &str, id: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, glob, _)| k == kind && glob.matches(id))
            .map(|(_, _, raw)| raw.as_str())
    }
}

/// Whether the report says "in sync", "drift" or "could not tell".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    InSync,
    Drift,
    Error,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Managed resources compared.
    pub resources: usize,
    pub critical: usize,
    pub deleted: usize,
    pub warning: usize,
    pub unmanaged: usize,
    /// Resources whose findings were ignored.
    pub ignored: usize,
    pub unreadable: usize,
}

/// A resource that could not be read: the report cannot say whether it drifted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unreadable {
    /// Its address, or `KIND:ID` for an unmanaged resource.
    pub address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub region: String,
    pub error: String,
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.id {
            Some(id) => write!(f, "`{}` (`{id}`): {}", self.address, self.error),
            None => write!(f, "`{}`: {}", self.address, self.error),
        }
    }
}

/// The whole drift report: what `--json` prints and `--output` writes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub format_version: u32,
    pub blueprint: String,
    pub blueprint_path: String,
    /// When the refresh ran (RFC 3339, UTC).
    pub generated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The regions read.
    pub regions: Vec<String>,
    /// Whether resources no blueprint manages were looked for (`--unmanaged`).
    pub unmanaged_checked: bool,
    pub status: Status,
    pub summary: Summary,
    pub findings: Vec<Finding>,
    pub unmanaged: Vec<Unmanaged>,
    pub ignored: Vec<Ignored>,
    pub unreadable: Vec<Unreadable>,
    /// Why nothing could be read at all (no credentials, endpoint unreachable).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub notes: Vec<String>,
}

impl Report {
    /// The report of a run that could read nothing: status error, and why.
    pub fn failed(header: Header, error: String) -> Report {
        let mut report = Report::new(header, vec![], vec![], vec![], &IgnoreList(vec![]));
        report.status = Status::Error;
        report.error = Some(error);
        report
    }

    /// Counts, applies the ignore list and sets the status.
    pub fn new(
        header: Header,
        findings: Vec<Finding>,
        unmanaged: Vec<Unmanaged>,
        unreadable: Vec<Unreadable>,
        ignore: &IgnoreList,
    ) -> Report {
        let mut ignored: Vec<Ignored> = Vec::new();
        let mut kept = Vec::new();
        for f in findings {
            let pattern = f.id.as_deref().and_then(|id| ignore.matching(&f.kind, id));
            match (pattern, &f.id) {
                (Some(pattern), Some(id)) => {
                    match ignored
                        .iter_mut()
                        .find(|i| i.address.as_deref() == Some(&f.address))
                    {
                        Some(i) => i.findings += 1,
                        None => ignored.push(Ignored {
                            pattern: pattern.to_string(),
                            kind: f.kind.clone(),
                            id: id.clone(),
                            region: f.region.clone(),
                            address: Some(f.address.clone()),
                            findings: 1,
                        }),
                    }
                }
                _ => kept.push(f),
            }
        }
        // An unmanaged resource that cannot be read may be ignored as well; a managed one never.
        let (ignored_unread, unreadable): (Vec<Unreadable>, Vec<Unreadable>) =
            unreadable.into_iter().partition(|u| {
                u.address
                    .split_once(':')
                    .is_some_and(|(kind, id)| id != "*" && ignore.matching(kind, id).is_some())
            });
        for u in ignored_unread {
            if let Some((kind, id)) = u.address.split_once(':')
                && let Some(pattern) = ignore.matching(kind, id)
            {
                ignored.push(Ignored {
                    pattern: pattern.to_string(),
                    kind: kind.to_string(),
                    id: id.to_string(),
                    region: u.region.clone(),
                    address: None,
                    findings: 1,
                });
            }
        }
        let mut listed = Vec::new();
        for u in unmanaged {
            match ignore.matching(&u.kind, &u.id) {
                Some(pattern) => ignored.push(Ignored {
                    pattern: pattern.to_string(),
                    kind: u.kind.clone(),
                    id: u.id.clone(),
                    region: u.region.clone(),
                    address: None,
                    findings: 1,
                }),
                None => listed.push(u),
            }
        }
        kept.sort_by(|a, b| {
            (a.severity, &a.address, &a.attribute).cmp(&(b.severity, &b.address, &b.attribute))
        });
        listed.sort_by(|a, b| (&a.kind, &a.region, &a.id).cmp(&(&b.kind, &b.region, &b.id)));
        let count = |s: Severity| kept.iter().filter(|f| f.severity == s).count();
        let summary = Summary {
            resources: header.resources,
            critical: count(Severity::Critical),
            deleted: count(Severity::Deleted),
            warning: count(Severity::Warning),
            unmanaged: listed.len(),
            ignored: ignored.len(),
            unreadable: unreadable.len(),
        };
        // A resource that could not be read may have drifted: never "in sync" then.
        let status = if !unreadable.is_empty() {
            Status::Error
        } else if !kept.is_empty() || !listed.is_empty() {
            Status::Drift
        } else {
            Status::InSync
        };
        Report {
            format_version: FORMAT_VERSION,
            blueprint: header.blueprint,
            blueprint_path: header.blueprint_path,
            generated_at: header.generated_at,
            account_id: header.account_id,
            regions: header.regions,
            unmanaged_checked: header.unmanaged_checked,
            status,
            summary,
            findings: kept,
            unmanaged: listed,
            ignored,
            unreadable,
            error: None,
            notes: header.notes,
        }
    }
}

/// What the report says about the run itself.
pub struct Header {
    pub blueprint: String,
    pub blueprint_path: String,
    pub generated_at: String,
    pub account_id: Option<String>,
    pub regions: Vec<String>,
    pub unmanaged_checked: bool,
    pub resources: usize,
    pub notes: Vec<String>,
}

/// The findings in a plan made against a fresh refresh, for the changes `selected` accepts.
pub fn findings(plan: &Plan, selected: impl Fn(&Change) -> bool) -> Vec<Finding> {
    let mut out = Vec::new();
    // Resources deleted outside rampart: what refers to them is unknown until apply, and
    // that too is a change from outside.
    let deleted: HashSet<&str> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Create && c.prior.is_some())
        .map(|c| c.address.as_str())
        .collect();
    for change in plan.changes.iter().filter(|c| selected(c)) {
        let Some(kind) = resources::kind(&change.kind) else {
            continue;
        };
        let finding = |severity, origin: Origin, message: &str| Finding {
            severity,
            address: change.address.clone(),
            kind: change.kind.clone(),
            id: change
                .prior
                .as_ref()
                .map(|p| kind.display_id(p))
                .or_else(|| change.id.clone())
                .or_else(|| planned_name(change)),
            arn: change.prior.as_ref().and_then(|p| p.arn.clone()),
            region: change.region().to_string(),
            attribute: None,
            expected: None,
            expected_unknown: false,
            actual: None,
            origin,
            message: message.to_string(),
        };
        match (change.action, &change.prior) {
            (Action::Create, Some(_)) => out.push(finding(
                Severity::Deleted,
                Origin::Outside,
                "no longer exists; apply creates it again",
            )),
            (Action::Create, None) => out.push(finding(
                Severity::Warning,
                Origin::Blueprint,
                "not created yet; apply creates it",
            )),
            (Action::Delete, _) => out.push(finding(
                Severity::Warning,
                Origin::Blueprint,
                "no longer in the blueprint; apply deletes it",
            )),
            (Action::Import, _) if change.attributes.is_empty() => out.push(finding(
                Severity::Warning,
                Origin::Blueprint,
                "exists but is not in the state; apply adopts it",
            )),
            (Action::Import | Action::Update | Action::Replace, prior) => {
                let recorded = prior.as_ref().map(|p| &p.attributes);
                let adopting = change.action == Action::Import;
                for a in &change.attributes {
                    let recorded = recorded.filter(|_| !adopting);
                    let refers_to_deleted = a.after_unknown
                        && change
                            .desired
                            .as_ref()
                            .and_then(|d| d.attributes.get(&a.name))
                            .is_some_and(|v| refers_to(v, &deleted));
                    let origin = match refers_to_deleted {
                        true => Origin::Outside,
                        false => origin(kind, a, recorded),
                    };
                    let field = schema::field(kind.schema(), &a.name);
                    let expected = (!a.after_unknown).then_some(&a.after);
                    let actual = a.before.clone().unwrap_or(Value::Null);
                    // Critical means switched off behind the blueprint's back: weaker than
                    // the last apply left it. An edit not applied yet is only a warning.
                    let baseline = recorded.and_then(|r| r.get(&a.name)).or(expected);
                    let critical = origin != Origin::Blueprint
                        && field
                            .and_then(|f| f.control)
                            .is_some_and(|c| c.weakened(baseline, &actual));
                    let severity = match critical {
                        true => Severity::Critical,
                        false => Severity::Warning,
                    };
                    let mut f = finding(severity, origin, origin.describe());
                    f.attribute = Some(a.name.clone());
                    f.expected = Some(expected.cloned().unwrap_or(Value::Null));
                    f.expected_unknown = a.after_unknown;
                    f.actual = Some(actual);
                    out.push(f);
                }
            }
        }
    }
    out
}

/// Whether a reference value (an address, or a list of them) names one of `addresses`.
fn refers_to(value: &Value, addresses: &HashSet<&str>) -> bool {
    match value {
        Value::String(s) => addresses.contains(s.as_str()),
        Value::Array(items) => items.iter().any(|v| refers_to(v, addresses)),
        _ => false,
    }
}

/// The name a resource not created yet will have, from the blueprint (bucket or DB name).
fn planned_name(change: &Change) -> Option<String> {
    let attrs = &change.desired.as_ref()?.attributes;
    ["name", "identifier"]
        .iter()
        .find_map(|f| attrs.get(f)?.as_str().map(String::from))
}

/// Whether an attribute differs because AWS changed, the blueprint did, or both.
fn origin(kind: &dyn ResourceKind, a: &AttrChange, recorded: Option<&Attrs>) -> Origin {
    let ty = schema::field(kind.schema(), &a.name).map(|f| f.ty);
    let edited = match (recorded.and_then(|r| r.get(&a.name)), ty) {
        _ if a.after_unknown => true,
        (Some(rec), Some(ty)) => !same(&ty, rec, &a.after),
        _ => true,
    };
    match (a.drift, edited) {
        (true, false) => Origin::Outside,
        (true, true) => Origin::Both,
        (false, _) => Origin::Blueprint,
    }
}

/// The hardening problems of a resource no blueprint manages: every security control of its
/// kind that AWS reports weaker than the secure end, one line each.
pub fn problems(kind: &dyn ResourceKind, attrs: &Attrs) -> Vec<String> {
    kind.schema()
        .iter()
        .filter_map(|f| {
            let control: Control = f.control?;
            let actual = attrs.get(f.name)?;
            let problem = control.problem(actual, f.default.value().as_ref())?;
            Some(format!("`{}` {problem}", f.name))
        })
        .collect()
}

#[cfg(test)]
mod tests;
