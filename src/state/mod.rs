//! Recorded state: what rampart created, in a versioned format, behind a backend with a lock.

pub mod local;
pub mod lock;
pub mod s3;

pub use lock::{LockGuard, LockHandle, LockInfo};

use serde::{Deserialize, Serialize};

use crate::blueprint::{Attrs, Blueprint};

/// The state format this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// Everything rampart recorded about the resources of one blueprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub format_version: u32,
    /// Identifies one state's history; a state with another lineage is a different state.
    pub lineage: String,
    /// Grows by one with every saved change.
    pub serial: u64,
    pub blueprint: String,
    pub resources: Vec<Recorded>,
    /// Creates begun and not known to have finished: the journal a run killed mid-call
    /// leaves, which the next refresh resolves by looking the resource up.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<Pending>,
}

/// A create that was about to be called: written before the call, cleared once the new
/// resource is recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    pub address: String,
    pub kind: String,
    pub region: String,
    /// When the call was begun (RFC 3339).
    pub since: String,
    /// The idempotency token the create is made with, where its API takes one.
    #[serde(default)]
    pub token: String,
}

/// One resource as rampart last saw it after changing it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    pub address: String,
    pub kind: String,
    /// The physical id: a key id, a bucket name.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    pub region: String,
    /// The attributes rampart set, with references resolved to physical values.
    pub attributes: Attrs,
    #[serde(default)]
    pub dependencies: Vec<String>,
    /// Kept so that deleting a protected resource's block from the blueprint cannot bypass it.
    #[serde(default)]
    pub prevent_destroy: bool,
}

impl State {
    pub fn new(blueprint: &str) -> State {
        State {
            format_version: FORMAT_VERSION,
            lineage: uuid::Uuid::new_v4().to_string(),
            serial: 0,
            blueprint: blueprint.to_string(),
            resources: Vec::new(),
            pending: Vec::new(),
        }
    }

    /// Whether a create of `address` was begun and may have finished unrecorded.
    pub fn is_pending(&self, address: &str) -> bool {
        self.pending.iter().any(|p| p.address == address)
    }

    /// The recorded resource at `address`. Resources are kept sorted by address: the loader
    /// sorts them and `upsert` keeps them so.
    pub fn get(&self, address: &str) -> Option<&Recorded> {
        match self
            .resources
            .binary_search_by(|r| r.address.as_str().cmp(address))
        {
            Ok(i) => self.resources.get(i),
            Err(_) => None,
        }
    }

    /// Inserts or replaces a resource, keeping addresses sorted for stable files.
    pub fn upsert(&mut self, resource: Recorded) {
        match self
            .resources
            .binary_search_by(|r| r.address.as_str().cmp(&resource.address))
        {
            Ok(i) => self.resources[i] = resource,
            Err(i) => self.resources.insert(i, resource),
        }
    }

    pub fn remove(&mut self, address: &str) -> Option<Recorded> {
        let i = match self
            .resources
            .binary_search_by(|r| r.address.as_str().cmp(address))
        {
            Ok(i) => i,
            Err(_) => return None,
        };
        Some(self.resources.remove(i))
    }

    /// Copies the blueprint's `prevent_destroy` and dependencies onto recorded resources;
    /// returns whether anything changed.
    pub fn sync_meta(&mut self, blueprint: &Blueprint) -> bool {
        let mut changed = false;
        for rec in &mut self.resources {
            if let Some(r) = blueprint.resource(&rec.address)
                && (rec.prevent_destroy != r.prevent_destroy || rec.dependencies != r.dependencies)
            {
                rec.prevent_destroy = r.prevent_destroy;
                rec.dependencies = r.dependencies.clone();
                changed = true;
            }
        }
        changed
    }
}

/// What can go wrong with state.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot {action} state `{path}`: {source}")]
    Io {
        action: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error(
        "state `{path}` is corrupt: {detail}\n  = hint: restore the previous version from `{backup}` if it is intact, or fix the file by hand; nothing was changed"
    )]
    Corrupt {
        path: String,
        backup: String,
        detail: String,
    },
    #[error(
        "state `{path}` has format version {found}, newer than this rampart understands ({FORMAT_VERSION})\n  = hint: upgrade rampart; nothing was changed"
    )]
    TooNew { path: String, found: u32 },
    #[error(
        "state `{path}` belongs to blueprint `{found}`, not `{expected}`\n  = hint: point `--state` or `[state] path` at this blueprint's own state"
    )]
    WrongBlueprint {
        path: String,
        found: String,
        expected: String,
    },
    #[error("{0}")]
    Locked(Box<LockInfo>),
    #[error(
        "refusing to remove the lock: pid {} on host `{}` ({}) still holds it{}\n  = hint: stop that run first; if it is gone, wait for its lease to run out, or delete `{}` by hand",
        .0.pid, .0.host, .0.operation,
        .0.lease_until.as_ref().map(|t| format!(", its lease runs until {t}")).unwrap_or_default(),
        .0.path
    )]
    HolderAlive(Box<LockInfo>),
    #[error("cannot {action} state `{location}`: {message}")]
    Remote {
        action: &'static str,
        location: String,
        message: String,
    },
    #[error(
        "refusing to write state `{location}`: it changed since this run read it, so another run wrote it (this run's lock was lost or removed)\n  = hint: nothing of that run was overwritten; run `rampart plan` again"
    )]
    Conflict { location: String },
    #[error(
        "refusing to write state `{location}`: this run lost its lock (its lease lapsed, or the lock was removed or taken)\n  = hint: what this run changed before is recorded; run `rampart plan` again"
    )]
    LostLock { location: String },
}

/// Where state lives: load, save, and the lock that serialises runs.
pub trait Backend: Send + Sync {
    /// Takes the lock for `operation`, failing at once if another run holds it.
    fn lock(&self, operation: &str) -> Result<LockGuard, StateError>;
    /// Who holds the lock, if anyone.
    fn read_lock(&self) -> Result<Option<LockInfo>, StateError>;
    /// Removes a lock left by a run that is gone, refusing while its holder is known to run;
    /// returns the holder.
    fn force_unlock(&self) -> Result<Option<LockInfo>, StateError>;
    /// Loads the state, or `None` if none was saved yet.
    fn load(&self) -> Result<Option<State>, StateError>;
    /// Saves the state atomically.
    fn save(&self, state: &State) -> Result<(), StateError>;
    /// Describes where the state lives, for messages.
    fn describe(&self) -> String;
}
