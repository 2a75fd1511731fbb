//! Plans: the action enum, attribute changes, and the pure planner that computes them.
//!
//! A plan is also the saved-plan file format and the `--json` output (versioned; see
//! `docs/plan-json.md`), so everything apply needs is in it.

pub mod diff;
#[cfg(test)]
pub mod fixtures;
mod planner;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::blueprint::Attrs;
use crate::state::Recorded;

pub use planner::{Mode, Refreshed, plan};

/// The plan format this build writes and applies.
pub const FORMAT_VERSION: u32 = 1;

/// What happens to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Adopt a resource that exists but is not recorded, then update it to match.
    Import,
    Create,
    Update,
    Replace,
    Delete,
}

impl Action {
    /// The symbol plans show: `+`, `~`, `-/+`, `-`.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Import => "<=",
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
        }
    }

    pub fn verb(self) -> &'static str {
        match self {
            Action::Import => "imported",
            Action::Create => "created",
            Action::Update => "updated in place",
            Action::Replace => "replaced",
            Action::Delete => "deleted",
        }
    }
}

/// One attribute's planned change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttrChange {
    pub name: String,
    /// The current value; absent for a create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// The planned value; `null` with `after_unknown` when only apply will know it.
    pub after: Value,
    #[serde(default)]
    pub after_unknown: bool,
    #[serde(default)]
    pub forces_replacement: bool,
    /// AWS holds something else than the last apply recorded: it was changed outside rampart.
    #[serde(default)]
    pub drift: bool,
}

/// What the blueprint wants of a resource, as apply needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Desired {
    pub region: String,
    /// Attributes with references still as addresses; apply resolves them when it gets there.
    pub attributes: Attrs,
    pub dependencies: Vec<String>,
    pub prevent_destroy: bool,
}

/// One resource's planned change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub address: String,
    pub kind: String,
    pub action: Action,
    /// The physical name shown beside the address (bucket name, key id), when it exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub attributes: Vec<AttrChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired: Option<Desired>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior: Option<Recorded>,
}

impl Change {
    /// Where the change happens: where the resource will be, or, for a delete, where it is.
    pub fn region(&self) -> &str {
        match (&self.desired, &self.prior) {
            (Some(d), _) => &d.region,
            (None, Some(p)) => &p.region,
            (None, None) => "",
        }
    }

    pub fn replace_reasons(&self) -> Vec<&str> {
        self.attributes
            .iter()
            .filter(|a| a.forces_replacement)
            .map(|a| a.name.as_str())
            .collect()
    }
}

/// Counts by action, as the summary line shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    #[serde(default)]
    pub import: usize,
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
}

impl Summary {
    pub fn of(changes: &[Change]) -> Summary {
        let mut s = Summary::default();
        for c in changes {
            match c.action {
                Action::Import => s.import += 1,
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Replace => s.replace += 1,
                Action::Delete => s.delete += 1,
            }
        }
        s
    }
}

/// A complete plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub blueprint: String,
    pub blueprint_path: String,
    pub blueprint_sha256: String,
    /// The state the plan was made against: a saved plan applies only to exactly that state.
    pub lineage: String,
    pub serial: u64,
    pub destroy: bool,
    pub changes: Vec<Change>,
    /// Recorded resources that no longer exist and are not wanted: dropped from state.
    #[serde(default)]
    pub forget: Vec<String>,
    /// Why the plan cannot be applied (protected resources); empty for an applicable plan.
    #[serde(default)]
    pub errors: Vec<String>,
    /// Things worth knowing that are not changes (resources deleted outside rampart).
    #[serde(default)]
    pub notes: Vec<String>,
    /// What a destroy leaves in place because it is protected, one line each.
    #[serde(default)]
    pub refused: Vec<String>,
    pub summary: Summary,
    /// What the hardening rules say of the blueprint: violations (also in `errors`) and
    /// waived findings. A saved plan is judged again when it is applied.
    #[serde(default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub policy: Option<crate::policy::evaluate::Evaluation>,
}

impl Plan {
    /// A resource the plan would delete is protected (`why`). A destroy spares it, and what it
    /// depends on, and goes on with the rest; any other plan cannot be applied.
    pub fn protect(&mut self, address: &str, why: String) {
        if !self.destroy {
            self.errors.push(why);
            return;
        }
        self.refused.push(why);
        let mut keep = vec![address.to_string()];
        let mut i = 0;
        while i < keep.len() {
            let deps: Vec<String> = self
                .changes
                .iter()
                .filter(|c| c.address == keep[i])
                .filter_map(|c| c.prior.as_ref())
                .flat_map(|p| p.dependencies.iter().cloned())
                .filter(|d| !keep.contains(d))
                .collect();
            for d in deps {
                if self.changes.iter().any(|c| c.address == d) {
                    self.notes
                        .push(format!("`{d}` is kept too: `{}` depends on it", keep[i]));
                }
                keep.push(d);
            }
            i += 1;
        }
        self.changes.retain(|c| !keep.contains(&c.address));
        self.summary = Summary::of(&self.changes);
    }

    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty() || !self.forget.is_empty()
    }

    #[cfg(test)]
    pub fn change(&self, address: &str) -> Option<&Change> {
        self.changes.iter().find(|c| c.address == address)
    }
}
