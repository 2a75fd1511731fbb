//! Hardening rules: one file per rule under `rules/`, each with a stable id, its rationale,
//! its fix and the controls it maps to. The same rules judge the desired state (`validate`,
//! `plan`, `apply`, `check`) and the actual state of a live account (`audit`).

pub mod evaluate;
pub mod rules;
pub mod sarif;

use std::borrow::Cow;
use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use crate::blueprint::Attrs;

/// How much a broken rule matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Critical,
    High,
    Medium,
    Low,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Critical => "critical",
            Level::High => "high",
            Level::Medium => "medium",
            Level::Low => "low",
        }
    }
}

/// What a rule maps to in the standards users are audited against.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Controls {
    /// Items of the production checklist of `security-best-practices.txt` (the seed).
    pub seed: &'static [&'static str],
    /// CIS AWS Foundations Benchmark v3.0 recommendations.
    pub cis: &'static [&'static str],
    /// AWS Foundational Security Best Practices controls.
    pub fsbp: &'static [&'static str],
    /// GDPR articles, HIPAA safeguards, SOC 2 criteria.
    pub frameworks: &'static [&'static str],
}

/// Whether a subject is what the blueprint asks for or what AWS holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Desired,
    Actual,
}

/// One resource as a rule sees it.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    pub kind: &'static str,
    /// The blueprint address, or `KIND:ID` for a resource found in AWS.
    pub resource: Cow<'a, str>,
    /// Every name other resources may use for it: address, physical name, ARN.
    pub names: Vec<Cow<'a, str>>,
    pub region: Cow<'a, str>,
    /// What the blueprint writes (borrowed from it) or what AWS holds.
    pub attrs: Cow<'a, Attrs>,
    /// What rampart adds on top (tags, derived grants): these win over `attrs`.
    pub computed: Cow<'a, Attrs>,
    pub mode: Mode,
}

impl Subject<'_> {
    pub fn attr(&self, field: &str) -> Option<&Value> {
        self.computed.get(field).or_else(|| self.attrs.get(field))
    }

    pub fn is(&self, field: &str, wanted: bool) -> bool {
        self.attr(field).and_then(Value::as_bool) == Some(wanted)
    }

    /// Whether a list attribute (a computed grant) has members.
    pub fn has_members(&self, field: &str) -> bool {
        self.attr(field)
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
    }

    /// Whether the bucket receives server access logs: its policy grants it, or another
    /// bucket names it (ACL-based delivery leaves no grant to see).
    pub fn receives_access_logs(&self, w: &World) -> bool {
        self.has_members("log_delivery_from")
            || self
                .names
                .iter()
                .any(|n| w.log_targets.contains(n.as_ref()))
    }

    /// Whether the bucket receives CloudTrail logs, by its policy or a trail's `bucket`.
    pub fn receives_trail_logs(&self, w: &World) -> bool {
        self.has_members("cloudtrail_delivery_from")
            || self
                .names
                .iter()
                .any(|n| w.trail_buckets.contains(n.as_ref()))
    }
}

/// What rules may know beyond one resource.
#[derive(Debug, Clone, Default)]
pub struct World {
    /// The blueprint's regions (home and `regions`), or the audited ones.
    pub regions: BTreeSet<String>,
    /// Whether any trail is known: object-level logging can only be judged then.
    pub has_trail: bool,
    /// Every bucket any trail logs object-level events of (addresses or names); `*` is all.
    pub data_events: BTreeSet<String>,
    /// Buckets other buckets send server access logs to (addresses or names).
    pub log_targets: BTreeSet<String>,
    /// Buckets trails deliver to (addresses or names).
    pub trail_buckets: BTreeSet<String>,
    /// GuardDuty detectors: (resource, region, enabled).
    pub detectors: Vec<(String, String, bool)>,
    /// Trails: (resource, multi-region and logging with management events).
    pub trails: Vec<(String, bool)>,
    /// Customer KMS keys scheduled for deletion, as `kms_key:ID`.
    pub keys_pending_deletion: Vec<String>,
}

/// What is wrong: the field (for locations) and the problem in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    pub field: Option<&'static str>,
    pub message: String,
}

impl Breach {
    pub fn at(field: &'static str, message: impl Into<String>) -> Option<Breach> {
        Some(Breach {
            field: Some(field),
            message: message.into(),
        })
    }
}

/// Breaches found in the account as a whole, each with the resource it belongs to (if any).
pub type AccountBreaches = Vec<(Option<String>, Breach)>;

/// How a rule is checked.
#[derive(Clone, Copy)]
pub enum Check {
    /// One resource of its kinds at a time.
    Resource(fn(&Subject, &World) -> Option<Breach>),
    /// The account as a whole (or the blueprint, when it holds resources of the kinds):
    /// answers (resource the finding belongs to, breach).
    Account {
        check: fn(&World) -> AccountBreaches,
        /// Judged on a live account only: a blueprint describes part of an account.
        audit_only: bool,
    },
}

/// One hardening rule.
pub struct Rule {
    /// Stable, e.g. `RMP-S3-001`; waivers and SARIF refer to it.
    pub id: &'static str,
    pub title: &'static str,
    pub level: Level,
    pub kinds: &'static [&'static str],
    pub rationale: &'static str,
    pub fix: &'static str,
    pub controls: Controls,
    pub check: Check,
}

/// The rule with this id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    rules::RULES.iter().copied().find(|r| r.id == id)
}
