//! The S3 state backend: the state is one object written with SSE-KMS, locked by a second
//! object created with a conditional write, and never overwritten by a writer that lost its
//! lock.
//!
//! - Lock: `KEY.lock` is created with `If-None-Match: *`, so of two runs exactly one creates
//!   it; it names its holder and a lease that a background task renews while the run goes on.
//!   A lock whose lease lapsed is reported stale with its holder.
//! - State: read with its ETag; each write sends `If-Match` with the ETag this run last read or
//!   wrote (`If-None-Match: *` for the first write), so a write over state someone else wrote
//!   is refused. The bucket's versioning keeps every earlier state.
//!
//! The backend's calls are synchronous, as the executor's saves are: each blocks its worker
//! thread (`block_in_place`) on the shared runtime, which commands always run in.

use std::sync::Mutex;
use std::time::Duration;

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
}

pub struct S3Backend {
    client: aws_sdk_s3::Client,
    at: Location,
    /// The ETag of the state as this run last read or wrote it; `None`: there was none.
    etag: Mutex<Option<String>>,
}

/// Runs one SDK future to completion from synchronous code on a runtime worker.
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

impl S3Backend {
    pub fn new(client: aws_sdk_s3::Client, at: Location) -> S3Backend {
        S3Backend {
            client,
            at,
            etag: Mutex::new(None),
        }
    }

    fn lock_key(&self) -> String {
        format!("{}.lock", self.at.key)
    }

    fn remote<E, R>(
        &self,
        action: &'static str,
    ) -> impl FnOnce(aws_sdk_s3::error::SdkError<E, R>) -> StateError
    where
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let location = self.describe();
        move |e| StateError::Remote {
            action,
            location,
            message: describe_error(&e),
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

    /// A lock body with its lease from now.
    fn lease(&self, info: &mut LockInfo) -> Vec<u8> {
        let until = chrono::Utc::now()
            + chrono::Duration::from_std(self.at.lease).unwrap_or(chrono::Duration::hours(1));
        info.lease_until = Some(until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        serde_json::to_vec_pretty(info).unwrap_or_default()
    }

    async fn put_lock(
        client: &aws_sdk_s3::Client,
        at: &Location,
        key: &str,
        body: Vec<u8>,
        condition: Condition<'_>,
    ) -> Result<
        Option<String>,
        aws_sdk_s3::error::SdkError<aws_sdk_s3::operation::put_object::PutObjectError>,
    > {
        let mut req = client
            .put_object()
            .bucket(&at.bucket)
            .key(key)
            .body(ByteStream::from(body))
            .content_type("application/json")
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id(&at.kms_key);
        req = match condition {
            Condition::Absent => req.if_none_match("*"),
            Condition::Is(etag) => req.if_match(etag),
        };
        Ok(req.send().await?.e_tag().map(String::from))
    }
}

/// What a conditional write expects of the object.
enum Condition<'a> {
    Absent,
    Is(&'a str),
}

impl Backend for S3Backend {
    fn load(&self) -> Result<Option<State>, StateError> {
        let out = match block(
            self.client
                .get_object()
                .bucket(&self.at.bucket)
                .key(&self.at.key)
                .send(),
        ) {
            Ok(out) => out,
            Err(e) if error_code(&e) == Some("NoSuchKey") => {
                self.set_etag(None);
                return Ok(None);
            }
            Err(e) => return Err(self.remote("read")(e)),
        };
        let etag = out.e_tag().map(String::from);
        let bytes = block(out.body.collect())
            .map_err(|e| StateError::Remote {
                action: "read",
                location: self.describe(),
                message: e.to_string(),
            })?
            .into_bytes();
        let backup = std::path::PathBuf::from(format!(
            "the previous version of {} (the bucket keeps versions)",
            self.describe()
        ));
        let state = parse_state(&bytes, &self.describe(), &backup)?;
        self.set_etag(etag);
        Ok(Some(state))
    }

    fn save(&self, state: &State) -> Result<(), StateError> {
        let mut bytes = serde_json::to_vec_pretty(state).map_err(|e| StateError::Remote {
            action: "serialise",
            location: self.describe(),
            message: e.to_string(),
        })?;
        bytes.push(b'\n');
        let previous = self.etag();
        let condition = match &previous {
            Some(etag) => Condition::Is(etag),
            None => Condition::Absent,
        };
        match block(Self::put_lock(
            &self.client,
            &self.at,
            &self.at.key,
            bytes,
            condition,
        )) {
            Ok(etag) => {
                self.set_etag(etag);
                Ok(())
            }
            Err(e) if precondition_failed(&e) || error_code(&e) == Some("NoSuchKey") => {
                Err(StateError::Conflict {
                    location: self.describe(),
                })
            }
            Err(e) => Err(self.remote("write")(e)),
        }
    }

    fn describe(&self) -> String {
        format!("s3://{}/{}", self.at.bucket, self.at.key)
    }

    fn lock(&self, operation: &str) -> Result<LockGuard, StateError> {
        let key = self.lock_key();
        let mut info = LockInfo::new(operation, format!("s3://{}/{key}", self.at.bucket));
        let body = self.lease(&mut info);
        let etag = match block(Self::put_lock(
            &self.client,
            &self.at,
            &key,
            body,
            Condition::Absent,
        )) {
            Ok(etag) => etag.unwrap_or_default(),
            Err(e) if precondition_failed(&e) => {
                let held = self.read_lock()?.unwrap_or_else(|| {
                    LockInfo::unknown(&info.path, "unknown (just released; try again)")
                });
                return Err(StateError::Locked(Box::new(held)));
            }
            Err(e) => return Err(self.remote("lock")(e)),
        };
        // Renew the lease while the run goes on: a third of the lease, every time.
        let (client, at, every) = (self.client.clone(), self.at.clone(), self.at.lease / 3);
        let mut renewed = info.clone();
        let renewal = tokio::runtime::Handle::current().spawn(async move {
            let mut etag = etag;
            loop {
                tokio::time::sleep(every).await;
                let until = chrono::Utc::now()
                    + chrono::Duration::from_std(at.lease).unwrap_or(chrono::Duration::hours(1));
                renewed.lease_until =
                    Some(until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
                let body = serde_json::to_vec_pretty(&renewed).unwrap_or_default();
                let lock_key = format!("{}.lock", at.key);
                match Self::put_lock(&client, &at, &lock_key, body, Condition::Is(&etag)).await {
                    Ok(new) => etag = new.unwrap_or_default(),
                    Err(e) => {
                        // Removed or taken by someone else: the state's ETag check now
                        // refuses this run's writes over theirs.
                        tracing::warn!(error = %describe_error(&e), "the state lock could not be renewed");
                        break;
                    }
                }
            }
        });
        let release = S3Release {
            client: self.client.clone(),
            bucket: self.at.bucket.clone(),
            key,
            id: info.id,
        };
        Ok(LockGuard::new(
            LockHandle::new(release),
            Some(renewal.abort_handle()),
        ))
    }

    fn read_lock(&self) -> Result<Option<LockInfo>, StateError> {
        read_lock_object(&self.client, &self.at.bucket, &self.lock_key())
            .map_err(|message| StateError::Remote {
                action: "read the lock of",
                location: self.describe(),
                message,
            })
            .map(|found| found.map(|(info, _)| info))
    }

    fn force_unlock(&self) -> Result<Option<LockInfo>, StateError> {
        let held = self.read_lock()?;
        if let Some(info) = &held
            && info.holder_alive() == Some(true)
            && !info.lease_expired()
        {
            return Err(StateError::HolderAlive(Box::new(info.clone())));
        }
        if held.is_some() {
            block(
                self.client
                    .delete_object()
                    .bucket(&self.at.bucket)
                    .key(self.lock_key())
                    .send(),
            )
            .map_err(self.remote("unlock"))?;
        }
        Ok(held)
    }
}

/// The lock object's holder and ETag, if there is one; a body that cannot be parsed still
/// counts as held.
fn read_lock_object(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Option<(LockInfo, Option<String>)>, String> {
    let out = match block(client.get_object().bucket(bucket).key(key).send()) {
        Ok(out) => out,
        Err(e) if error_code(&e) == Some("NoSuchKey") => return Ok(None),
        Err(e) => return Err(describe_error(&e)),
    };
    let etag = out.e_tag().map(String::from);
    let bytes = block(out.body.collect())
        .map_err(|e| e.to_string())?
        .into_bytes();
    let info = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        LockInfo::unknown(
            &format!("s3://{bucket}/{key}"),
            "unknown (unreadable lock object)",
        )
    });
    Ok(Some((info, etag)))
}

/// Deletes the lock object if it is still this run's.
struct S3Release {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    id: String,
}

impl Release for S3Release {
    fn release(&self) {
        // Outside a runtime (a process that is going anyway), the lease lets it lapse.
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let Ok(Some((info, etag))) = read_lock_object(&self.client, &self.bucket, &self.key) else {
            return;
        };
        if info.id != self.id {
            return;
        }
        let mut req = self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(&self.key);
        if let Some(etag) = etag {
            req = req.if_match(etag);
        }
        let _ = block(req.send());
    }
}

/// For messages that want the lease as words.
pub fn lease_of(minutes: i64) -> Duration {
    Duration::from_secs(u64::try_from(minutes.max(1)).unwrap_or(60) * 60)
}
