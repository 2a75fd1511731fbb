//! The S3 state backend: the state is one object written with SSE-KMS, locked by a second
//! object created with a conditional write, and never overwritten by a writer that lost its
//! lock.
//!
//! - Lock: `KEY.lock` is created with `If-None-Match: *`, so of two runs exactly one creates
//!   it; it names its holder and a lease that a background task renews while the run goes on.
//!   A lock whose lease lapsed is reported stale with its holder.
//! - State: read with its ETag; each write first checks that the lock is still this run's and
//!   its lease current, then sends `If-Match` with the ETag this run last read or wrote
//!   (`If-None-Match: *` for the first write), so a write over state someone else wrote is
//!   refused. The bucket's versioning keeps every earlier state.
//!
//! The backend's calls are synchronous, as the executor's saves are: each blocks its worker
//! thread (`block_in_place`) on the shared runtime, which commands always run in. Every
//! public method enters the runtime once; the helpers below it are async.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;

use super::local::parse_state;
use super::lock::{LockGuard, LockHandle, LockInfo, Release};
use super::{Backend, State, StateError};
use crate::resources::{describe_error, error_code};

/// Where the state is, as `[state]` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub bucket: String,
    pub key: String,
    pub region: String,
    pub kms_key: String,
    /// How long a lock holds without renewal.
    pub lease: Duration,
    /// The account that must own the bucket (bucket names are global).
    pub owner: Option<String>,
}

/// The lock this run holds, shared by its saves, its renewal and its release.
struct Held {
    id: String,
    etag: String,
    /// When the lease runs out unless renewed.
    until: Instant,
    /// Renewal found the lock gone or taken.
    lost: bool,
    released: bool,
}

type Shared = Arc<tokio::sync::Mutex<Option<Held>>>;

pub struct S3Backend {
    client: aws_sdk_s3::Client,
    at: Location,
    /// The ETag of the state as this run last read or wrote it; `None`: there was none.
    etag: Mutex<Option<String>>,
    held: Shared,
}

/// Runs a future to completion from synchronous code on a runtime worker.
fn block<F: std::future::Future>(future: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(future))
}

/// Whether an S3 error is a failed precondition (`If-Match`, `If-None-Match`).
fn precondition_failed<E: aws_sdk_s3::error::ProvideErrorMetadata, R>(
    err: &aws_sdk_s3::error::SdkError<E, R>,
) -> bool {
    matches!(
        error_code(err),
        Some("PreconditionFailed" | "ConditionalRequestConflict")
    )
}

/// What a conditional write expects of the object.
enum Condition<'a> {
    Absent,
    Is(&'a str),
}

type PutError = aws_sdk_s3::error::SdkError<aws_sdk_s3::operation::put_object::PutObjectError>;

async fn put(
    client: &aws_sdk_s3::Client,
    at: &Location,
    key: &str,
    body: Vec<u8>,
    condition: Condition<'_>,
) -> Result<String, PutError> {
    let req = client
        .put_object()
        .bucket(&at.bucket)
        .key(key)
        .set_expected_bucket_owner(at.owner.clone())
        .body(ByteStream::from(body))
        .content_type("application/json")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(&at.kms_key);
    let req = match condition {
        Condition::Absent => req.if_none_match("*"),
        Condition::Is(etag) => req.if_match(etag),
    };
    Ok(req.send().await?.e_tag().unwrap_or_default().to_string())
}

/// An object's bytes and ETag, or `None` if there is none.
async fn get(
    client: &aws_sdk_s3::Client,
    at: &Location,
    key: &str,
) -> Result<Option<(Vec<u8>, String)>, String> {
    let out = match client
        .get_object()
        .bucket(&at.bucket)
        .key(key)
        .set_expected_bucket_owner(at.owner.clone())
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if error_code(&e) == Some("NoSuchKey") => return Ok(None),
        Err(e) => return Err(describe_error(&e)),
    };
    let etag = out.e_tag().unwrap_or_default().to_string();
    let bytes = out.body.collect().await.map_err(|e| e.to_string())?;
    Ok(Some((bytes.into_bytes().to_vec(), etag)))
}

/// The lock object's holder and ETag; a body that cannot be parsed still counts as held.
async fn read_lock(
    client: &aws_sdk_s3::Client,
    at: &Location,
    key: &str,
) -> Result<Option<(LockInfo, String)>, String> {
    Ok(get(client, at, key).await?.map(|(bytes, etag)| {
        let info = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            LockInfo::unknown(
                &format!("s3://{}/{key}", at.bucket),
                "unknown (unreadable lock object)",
            )
        });
        (info, etag)
    }))
}

fn lease_body(info: &mut LockInfo, lease: Duration) -> Vec<u8> {
    let until = chrono::Utc::now()
        + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::hours(1));
    info.lease_until = Some(until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    serde_json::to_vec_pretty(info).unwrap_or_default()
}

impl S3Backend {
    pub fn new(client: aws_sdk_s3::Client, at: Location) -> S3Backend {
        S3Backend {
            client,
            at,
            etag: Mutex::new(None),
            held: Arc::new(tokio::sync::Mutex::new(None)),
        }
    }

    fn lock_key(&self) -> String {
        format!("{}.lock", self.at.key)
    }

    fn remote(&self, action: &'static str, message: impl Into<String>) -> StateError {
        StateError::Remote {
            action,
            location: self.describe(),
            message: message.into(),
        }
    }

    fn etag(&self) -> Option<String> {
        self.etag
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn set_etag(&self, etag: Option<String>) {
        *self
            .etag
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = etag;
    }

    /// Refuses a write unless this run still holds the lock: its lease is current and the lock
    /// object still names it (another run may have taken it after it lapsed or was removed).
    async fn still_ours(&self) -> Result<(), StateError> {
        let mut held = self.held.lock().await;
        let Some(h) = held.as_mut() else {
            return Ok(());
        };
        let lost = StateError::LostLock {
            location: self.describe(),
        };
        if h.lost || Instant::now() > h.until {
            return Err(lost);
        }
        match read_lock(&self.client, &self.at, &self.lock_key()).await {
            Ok(Some((info, _))) if info.id == h.id => Ok(()),
            Ok(_) => {
                // Someone else's now: never release it.
                h.lost = true;
                Err(lost)
            }
            Err(message) => Err(self.remote("check the lock of", message)),
        }
    }

    async fn save_async(&self, state: &State) -> Result<(), StateError> {
        self.still_ours().await?;
        let mut bytes = serde_json::to_vec_pretty(state)
            .map_err(|e| self.remote("serialise", e.to_string()))?;
        bytes.push(b'\n');
        let previous = self.etag();
        let condition = match &previous {
            Some(etag) => Condition::Is(etag),
            None => Condition::Absent,
        };
        match put(
            &self.client,
            &self.at,
            &self.at.key,
            bytes.clone(),
            condition,
        )
        .await
        {
            Ok(etag) => {
                self.set_etag(Some(etag));
                Ok(())
            }
            Err(e) if precondition_failed(&e) || error_code(&e) == Some("NoSuchKey") => {
                // A retry of a write that went through fails its own precondition: if the
                // object is what this run wrote, it is this run's write.
                match get(&self.client, &self.at, &self.at.key).await {
                    Ok(Some((now, etag))) if now == bytes => {
                        self.set_etag(Some(etag));
                        Ok(())
                    }
                    _ => Err(StateError::Conflict {
                        location: self.describe(),
                    }),
                }
            }
            Err(e) => Err(self.remote("write", describe_error(&e))),
        }
    }

    async fn lock_async(&self, operation: &str) -> Result<LockGuard, StateError> {
        let key = self.lock_key();
        let mut info = LockInfo::new(operation, format!("s3://{}/{key}", self.at.bucket));
        let body = lease_body(&mut info, self.at.lease);
        let taken_at = Instant::now();
        let etag = match put(&self.client, &self.at, &key, body, Condition::Absent).await {
            Ok(etag) => etag,
            Err(e) if precondition_failed(&e) => {
                let held = read_lock(&self.client, &self.at, &key)
                    .await
                    .map_err(|m| self.remote("read the lock of", m))?;
                match held {
                    // A retried create whose first attempt went through: the lock is ours.
                    Some((found, etag)) if found.id == info.id => etag,
                    Some((found, _)) => return Err(StateError::Locked(Box::new(found))),
                    None => {
                        return Err(StateError::Locked(Box::new(LockInfo::unknown(
                            &info.path,
                            "unknown (just released; try again)",
                        ))));
                    }
                }
            }
            Err(e) => return Err(self.remote("lock", describe_error(&e))),
        };
        *self.held.lock().await = Some(Held {
            id: info.id.clone(),
            etag,
            until: taken_at + self.at.lease,
            lost: false,
            released: false,
        });
        let renewal = tokio::spawn(renew(
            self.client.clone(),
            self.at.clone(),
            key.clone(),
            info,
            self.held.clone(),
        ));
        let release = S3Release {
            client: self.client.clone(),
            at: self.at.clone(),
            key,
            held: self.held.clone(),
        };
        Ok(LockGuard::new(
            LockHandle::new(release),
            Some(renewal.abort_handle()),
        ))
    }

    async fn force_unlock_async(&self) -> Result<Option<LockInfo>, StateError> {
        let key = self.lock_key();
        let held = read_lock(&self.client, &self.at, &key)
            .await
            .map_err(|m| self.remote("read the lock of", m))?;
        let Some((info, etag)) = held else {
            return Ok(None);
        };
        // A lease that is still running belongs to a run that is still renewing it.
        let fresh = info.lease_until.is_some() && !info.lease_expired();
        if info.holder_alive() == Some(true) || (fresh && info.holder_alive() != Some(false)) {
            return Err(StateError::HolderAlive(Box::new(info)));
        }
        self.client
            .delete_object()
            .bucket(&self.at.bucket)
            .key(&key)
            .set_expected_bucket_owner(self.at.owner.clone())
            // Not a lock someone took between the look and the delete.
            .if_match(etag)
            .send()
            .await
            .map_err(|e| self.remote("unlock", describe_error(&e)))?;
        Ok(Some(info))
    }
}

/// Renews the lease every third of it. A renewal that fails for a moment is tried again;
/// a lock found gone or taken marks this run's lock lost, and its saves are refused.
async fn renew(
    client: aws_sdk_s3::Client,
    at: Location,
    key: String,
    mut info: LockInfo,
    held: Shared,
) {
    let every = (at.lease / 3).max(Duration::from_secs(1));
    loop {
        tokio::time::sleep(every).await;
        let mut guard = held.lock().await;
        let Some(h) = guard.as_mut() else { return };
        if h.released || h.lost {
            return;
        }
        let body = lease_body(&mut info, at.lease);
        let attempt = Instant::now();
        match put(&client, &at, &key, body, Condition::Is(&h.etag)).await {
            Ok(etag) => {
                h.etag = etag;
                h.until = attempt + at.lease;
            }
            Err(e) if precondition_failed(&e) || error_code(&e) == Some("NoSuchKey") => {
                tracing::warn!("the state lock was removed or taken: this run's saves stop");
                h.lost = true;
                return;
            }
            Err(e) => {
                tracing::warn!(error = %describe_error(&e), "renewing the state lock failed; trying again");
            }
        }
    }
}

impl S3Backend {
    /// The KMS key the state object is encrypted with, if there is a state object.
    pub fn state_kms_key(&self) -> Result<Option<String>, StateError> {
        let out = block(
            self.client
                .head_object()
                .bucket(&self.at.bucket)
                .key(&self.at.key)
                .set_expected_bucket_owner(self.at.owner.clone())
                .send(),
        );
        match out {
            Ok(out) => Ok(out.ssekms_key_id().map(String::from)),
            Err(e)
                if matches!(
                    error_code(&e),
                    Some("NotFound" | "NoSuchKey" | "NoSuchBucket")
                ) || e.raw_response().is_some_and(|r| r.status().as_u16() == 404) =>
            {
                Ok(None)
            }
            Err(e) => Err(self.remote("look for", describe_error(&e))),
        }
    }
}

impl Backend for S3Backend {
    fn load(&self) -> Result<Option<State>, StateError> {
        let found =
            block(get(&self.client, &self.at, &self.at.key)).map_err(|m| self.remote("read", m))?;
        let Some((bytes, etag)) = found else {
            self.set_etag(None);
            return Ok(None);
        };
        let backup = std::path::PathBuf::from(format!(
            "the previous version of {} (the bucket keeps versions)",
            self.describe()
        ));
        let state = parse_state(&bytes, &self.describe(), &backup)?;
        self.set_etag(Some(etag));
        Ok(Some(state))
    }

    fn save(&self, state: &State) -> Result<(), StateError> {
        block(self.save_async(state))
    }

    fn describe(&self) -> String {
        format!("s3://{}/{}", self.at.bucket, self.at.key)
    }

    fn lock(&self, operation: &str) -> Result<LockGuard, StateError> {
        block(self.lock_async(operation))
    }

    fn read_lock(&self) -> Result<Option<LockInfo>, StateError> {
        block(read_lock(&self.client, &self.at, &self.lock_key()))
            .map(|found| found.map(|(info, _)| info))
            .map_err(|m| self.remote("read the lock of", m))
    }

    fn force_unlock(&self) -> Result<Option<LockInfo>, StateError> {
        block(self.force_unlock_async())
    }
}

/// Deletes the lock object if it is still this run's.
struct S3Release {
    client: aws_sdk_s3::Client,
    at: Location,
    key: String,
    held: Shared,
}

impl Release for S3Release {
    fn release(&self) {
        // Outside a runtime (a process that is going anyway), the lease lets it lapse.
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        block(async {
            // Under the lock the renewal takes: no renewal changes the ETag meanwhile.
            let mut held = self.held.lock().await;
            let Some(h) = held.as_mut().filter(|h| !h.released && !h.lost) else {
                return;
            };
            h.released = true;
            // Still ours? (`If-Match` below says the same; not every S3 honours it on delete.)
            let ours = read_lock(&self.client, &self.at, &self.key)
                .await
                .is_ok_and(|found| found.is_some_and(|(info, _)| info.id == h.id));
            if !ours {
                return;
            }
            let _ = self
                .client
                .delete_object()
                .bucket(&self.at.bucket)
                .key(&self.key)
                .set_expected_bucket_owner(self.at.owner.clone())
                .if_match(h.etag.clone())
                .send()
                .await;
        });
    }
}

/// A lease of `minutes`.
pub fn lease_of(minutes: i64) -> Duration {
    Duration::from_secs(u64::try_from(minutes.max(1)).unwrap_or(60) * 60)
}
