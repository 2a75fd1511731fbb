//! The lock every backend takes around a run: who holds it, and the guard that gives it back.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Who holds a lock, as written in the lock file or object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LockInfo {
    pub id: String,
    pub pid: u32,
    pub host: String,
    pub operation: String,
    pub since: String,
    /// Where the lock is: a file path, or `s3://bucket/key.lock`.
    #[serde(default)]
    pub path: String,
    /// For a lock with a lease (S3): when it lapses unless its holder renews it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<String>,
}

impl LockInfo {
    /// A new lock for this process.
    pub fn new(operation: &str, path: String) -> LockInfo {
        LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            pid: std::process::id(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            operation: operation.to_string(),
            since: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            path,
            lease_until: None,
        }
    }

    /// Whether the holder still runs: known only on its own host, and only where `/proc` is.
    pub fn holder_alive(&self) -> Option<bool> {
        let here = gethostname::gethostname().to_string_lossy().into_owned();
        if self.pid == 0 || self.host != here || !Path::new("/proc/self").exists() {
            return None;
        }
        Some(Path::new(&format!("/proc/{}", self.pid)).exists())
    }

    /// Whether the lease has lapsed: the holder stopped renewing it, so it is gone.
    pub fn lease_expired(&self) -> bool {
        self.lease_until
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .is_some_and(|t| t < chrono::Utc::now())
    }

    /// Whether the lock is known to be left behind by a run that is gone.
    pub fn stale(&self) -> bool {
        self.holder_alive() == Some(false) || self.lease_expired()
    }

    /// Stands in for a lock whose holder cannot be read.
    pub fn unknown(path: &str, host: &str) -> LockInfo {
        LockInfo {
            id: String::new(),
            pid: 0,
            host: host.to_string(),
            operation: "unknown".into(),
            since: "unknown".into(),
            path: path.to_string(),
            lease_until: None,
        }
    }
}

impl fmt::Display for LockInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hint = if self.lease_expired() {
            "its lease expired, so the lock is stale: run `rampart force-unlock BLUEPRINT`"
        } else {
            match self.holder_alive() {
                Some(false) => {
                    "that process is no longer running, so the lock is stale: run `rampart force-unlock BLUEPRINT`"
                }
                Some(true) => "that run is still going: wait for it to finish",
                None => {
                    "wait for that run to finish; if it is gone, run `rampart force-unlock BLUEPRINT`"
                }
            }
        };
        let lease = self
            .lease_until
            .as_ref()
            .map(|t| format!(", lease until {t}"))
            .unwrap_or_default();
        write!(
            f,
            "state is locked by pid {} on host `{}` ({}) since {}{lease} (lock `{}`)\n  = hint: {hint}",
            self.pid, self.host, self.operation, self.since, self.path
        )
    }
}

/// Gives a lock back; each backend knows how.
pub trait Release: Send + Sync {
    /// Removes the lock if it is still ours: after a force-unlock another run may hold it.
    fn release(&self);
}

/// Identifies one run's lock, so it can be given back from elsewhere (an exit that skips
/// `Drop`).
#[derive(Clone)]
pub struct LockHandle(Arc<dyn Release>);

impl LockHandle {
    pub fn new(release: impl Release + 'static) -> LockHandle {
        LockHandle(Arc::new(release))
    }

    pub fn release(&self) {
        self.0.release();
    }
}

/// Holds the lock until dropped; a lock with a lease is renewed meanwhile.
pub struct LockGuard {
    handle: LockHandle,
    renewal: Option<tokio::task::AbortHandle>,
}

impl LockGuard {
    pub fn new(handle: LockHandle, renewal: Option<tokio::task::AbortHandle>) -> LockGuard {
        LockGuard { handle, renewal }
    }

    pub fn handle(&self) -> LockHandle {
        self.handle.clone()
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let Some(renewal) = &self.renewal {
            renewal.abort();
        }
        self.handle.release();
    }
}
