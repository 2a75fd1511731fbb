//! The local state backend: a JSON file written atomically with mode 0600, a backup of the
//! previous version beside it, and a lock file created exclusively.

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::lock::{LockGuard, LockHandle, LockInfo, Release};
use super::{Backend, FORMAT_VERSION, State, StateError};

pub struct LocalBackend {
    path: PathBuf,
    ahead: Mutex<Option<ReadAhead>>,
}

/// A state file read and parsed ahead of its lock, while the blueprint is still being walked
/// (the two take about as long for a large blueprint). The load under the lock uses it only if
/// the file still holds exactly the bytes it was parsed from.
#[derive(Debug)]
pub struct ReadAhead {
    path: PathBuf,
    bytes: Vec<u8>,
    state: State,
}

impl ReadAhead {
    /// `None` when there is no file or it does not parse: the load under the lock says why.
    /// Only a regular file is read: a FIFO or a device given as `--state` would block, or be
    /// consumed, before the blueprint is even known to be valid.
    pub fn read(path: PathBuf) -> Option<ReadAhead> {
        if !fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            return None;
        }
        let bytes = fs::read(&path).ok()?;
        let state = parse_state(&bytes, "", Path::new("")).ok()?;
        Some(ReadAhead { path, bytes, state })
    }
}

impl LocalBackend {
    pub fn new(path: PathBuf) -> LocalBackend {
        LocalBackend {
            path,
            ahead: Mutex::new(None),
        }
    }

    /// The backend, with the state as read ahead if it was read from this backend's file.
    pub fn with_read_ahead(self, ahead: Option<ReadAhead>) -> LocalBackend {
        let ahead = ahead.filter(|a| a.path == self.path);
        LocalBackend {
            ahead: Mutex::new(ahead),
            ..self
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn backup_path(&self) -> PathBuf {
        with_suffix(&self.path, ".backup")
    }

    fn lock_path(&self) -> PathBuf {
        with_suffix(&self.path, ".lock")
    }

    fn io(&self, action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StateError {
        let path = path.display().to_string();
        move |source| StateError::Io {
            action,
            path,
            source,
        }
    }

    fn ensure_dir(&self) -> Result<(), StateError> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.exists()
        {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(self.io("create the directory of", &self.path))?;
        }
        Ok(())
    }

    /// Takes the lock for `operation`, failing at once if another run holds it.
    pub fn lock(&self, operation: &str) -> Result<LockGuard, StateError> {
        self.ensure_dir()?;
        let info = LockInfo::new(operation, self.lock_path().display().to_string());
        let lock_path = self.lock_path();
        let body = serde_json::to_vec_pretty(&info).unwrap_or_default();
        // `create_new` is atomic: of two runs racing here, exactly one creates the file.
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&lock_path)
        {
            Ok(mut file) => {
                // Not synced to disk: other runs see the holder at once through the page
                // cache, and a lock that outlived a crash names a run that is gone whatever
                // it says. An fsync here cost plans up to a quarter of a second.
                if let Err(e) = file.write_all(&body) {
                    // A lock file we could not fill in would read as held by "unknown".
                    drop(file);
                    let _ = fs::remove_file(&lock_path);
                    return Err(self.io("write the lock of", &self.path)(e));
                }
                let release = LocalRelease {
                    path: lock_path.clone(),
                    id: info.id,
                };
                Ok(LockGuard::new(LockHandle::new(release), None))
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                // The holder may release it between our two looks: say so rather than guess.
                let held = self.read_lock()?.unwrap_or_else(|| {
                    LockInfo::unknown(
                        &lock_path.display().to_string(),
                        "unknown (just released; try again)",
                    )
                });
                Err(StateError::Locked(Box::new(held)))
            }
            Err(e) => Err(self.io("lock", &self.path)(e)),
        }
    }

    /// Who holds the lock, if anyone. A lock file that cannot be parsed still counts as held.
    pub fn read_lock(&self) -> Result<Option<LockInfo>, StateError> {
        let lock_path = self.lock_path();
        match fs::read(&lock_path) {
            Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                LockInfo::unknown(
                    &lock_path.display().to_string(),
                    "unknown (unreadable lock file)",
                )
            }))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io("read the lock of", &self.path)(e)),
        }
    }

    /// Removes the lock unless its holder still runs on this host; returns the holder.
    pub fn force_unlock(&self) -> Result<Option<LockInfo>, StateError> {
        let held = self.read_lock()?;
        if let Some(info) = &held
            && info.holder_alive() == Some(true)
        {
            return Err(StateError::HolderAlive(Box::new(info.clone())));
        }
        if held.is_some() {
            fs::remove_file(self.lock_path()).map_err(self.io("unlock", &self.path))?;
        }
        Ok(held)
    }
}

/// Gives back a lock file, if it is still this run's.
struct LocalRelease {
    path: PathBuf,
    id: String,
}

impl Release for LocalRelease {
    fn release(&self) {
        let ours = fs::read(&self.path)
            .ok()
            .and_then(|b| serde_json::from_slice::<LockInfo>(&b).ok())
            .is_some_and(|l| l.id == self.id);
        if ours {
            let _ = fs::remove_file(&self.path);
        }
    }
}

impl Backend for LocalBackend {
    fn lock(&self, operation: &str) -> Result<LockGuard, StateError> {
        LocalBackend::lock(self, operation)
    }

    fn read_lock(&self) -> Result<Option<LockInfo>, StateError> {
        LocalBackend::read_lock(self)
    }

    fn force_unlock(&self) -> Result<Option<LockInfo>, StateError> {
        LocalBackend::force_unlock(self)
    }

    fn load(&self) -> Result<Option<State>, StateError> {
        let ahead = self.ahead.lock().ok().and_then(|mut a| a.take());
        if let Some(ahead) = ahead
            && still_holds(&self.path, &ahead.bytes)
        {
            return Ok(Some(ahead.state));
        }
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io("read", &self.path)(e)),
        };
        parse_state(
            &bytes,
            &self.path.display().to_string(),
            &self.backup_path(),
        )
        .map(Some)
    }

    fn save(&self, state: &State) -> Result<(), StateError> {
        self.ensure_dir()?;
        let mut bytes = serde_json::to_vec_pretty(state).map_err(|e| StateError::Io {
            action: "serialise",
            path: self.path.display().to_string(),
            source: std::io::Error::other(e),
        })?;
        bytes.push(b'\n');
        if let Ok(previous) = fs::read(&self.path)
            && previous != bytes
        {
            write_atomic(&self.backup_path(), &previous)
                .map_err(self.io("write the backup of", &self.path))?;
        }
        write_atomic(&self.path, &bytes).map_err(self.io("write", &self.path))
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }
}

/// Whether the file at `path` holds exactly `bytes`, compared a block at a time rather than
/// read whole again (a large state is megabytes). Any error is a no: the caller reads the
/// file and reports it.
fn still_holds(path: &Path, bytes: &[u8]) -> bool {
    let Ok(mut file) = fs::File::open(path) else {
        return false;
    };
    if !file.metadata().is_ok_and(|m| m.len() == bytes.len() as u64) {
        return false;
    }
    let mut block = vec![0; 64 * 1024];
    let mut rest = bytes;
    loop {
        match file.read(&mut block) {
            Ok(0) => return rest.is_empty(),
            Ok(n) if n <= rest.len() && block[..n] == rest[..n] => rest = &rest[n..],
            Ok(_) => return false,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

/// Writes `bytes` to `target` atomically: a 0600 temp file in the same directory, fsync,
/// rename, then fsync of the directory so the rename itself survives a crash.
pub fn write_atomic(target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".rampart-")
        .permissions(fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(target).map_err(|e| e.error)?;
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Parses state bytes, telling a corrupt file from one written by a newer rampart.
pub fn parse_state(bytes: &[u8], path: &str, backup: &Path) -> Result<State, StateError> {
    let corrupt = |detail: String| StateError::Corrupt {
        path: path.to_string(),
        backup: backup.display().to_string(),
        detail,
    };
    let too_new = |found: u64| StateError::TooNew {
        path: path.to_string(),
        found: u32::try_from(found).unwrap_or(u32::MAX),
    };
    // The whole file at once (one pass over what may be megabytes); only when that fails is
    // the version read alone, so that a newer format is told apart from a damaged file. The
    // text is checked as UTF-8 once, whole, not string by string as the bytes are parsed.
    let parsed = match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str::<State>(text),
        // Not text: parsed as bytes, serde_json says where.
        Err(_) => serde_json::from_slice::<State>(bytes),
    };
    match parsed {
        Ok(mut state) => {
            if state.format_version > FORMAT_VERSION {
                return Err(too_new(u64::from(state.format_version)));
            }
            // Lookups search by address; a file edited by hand may be out of order. rampart
            // writes it in order, and the stable sort takes a scratch buffer as large as the
            // list (1.8 MB of fresh memory at 10 000 resources) even for a sorted one.
            if !state.resources.is_sorted_by(|a, b| a.address <= b.address) {
                state.resources.sort_by(|a, b| a.address.cmp(&b.address));
            }
            // Two records of one address (a hand edit, a bad merge) would leave which one
            // counts to chance, and plan the deletion of one resource twice.
            if let Some(twice) = state
                .resources
                .windows(2)
                .find(|pair| pair[0].address == pair[1].address)
            {
                return Err(corrupt(format!(
                    "`{}` is recorded twice; keep the entry that matches AWS",
                    twice[0].address
                )));
            }
            Ok(state)
        }
        Err(e) => {
            #[derive(serde::Deserialize)]
            struct Version {
                format_version: Option<u64>,
            }
            let version: Version = serde_json::from_slice(bytes)
                .map_err(|e| corrupt(format!("not valid JSON ({e})")))?;
            match version.format_version {
                None => Err(corrupt("no `format_version`".into())),
                Some(found) if found > u64::from(FORMAT_VERSION) => Err(too_new(found)),
                Some(_) => Err(corrupt(e.to_string())),
            }
        }
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_read_ahead_is_used_only_while_the_file_holds_what_it_read() {
        let dir = tempfile::tempdir().unwrap();
        let backend = LocalBackend::new(dir.path().join("x.json"));
        let mut state = State::new("x");
        state.serial = 1;
        backend.save(&state).unwrap();
        let unchanged = ReadAhead::read(backend.path().to_path_buf());
        let stale = ReadAhead::read(backend.path().to_path_buf());
        let reload = |ahead| {
            LocalBackend::new(backend.path().to_path_buf())
                .with_read_ahead(ahead)
                .load()
                .unwrap()
                .unwrap()
                .serial
        };
        assert_eq!(reload(unchanged), 1);
        // Another run saved between the read-ahead and the lock: its state is the one loaded.
        state.serial = 2;
        backend.save(&state).unwrap();
        assert_eq!(reload(stale), 2);
        // One read from another file is not this backend's.
        let other = LocalBackend::new(dir.path().join("y.json"));
        state.serial = 5;
        other.save(&state).unwrap();
        assert_eq!(reload(ReadAhead::read(other.path().to_path_buf())), 2);
        assert!(ReadAhead::read(dir.path().join("missing.json")).is_none());
    }

    #[test]
    fn a_file_still_holds_its_bytes_only_if_every_byte_is_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        fs::write(&path, &bytes).unwrap();
        assert!(still_holds(&path, &bytes));
        let mut changed = bytes.clone();
        changed[150_000] ^= 1;
        assert!(!still_holds(&path, &changed));
        assert!(!still_holds(&path, &bytes[..199_999]));
        assert!(!still_holds(&dir.path().join("missing.json"), &bytes));
    }

    #[test]
    fn saves_are_atomic_private_and_keep_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        let backend = LocalBackend::new(dir.path().join("state/x.json"));
        let mut state = State::new("x");
        backend.save(&state).unwrap();
        state.serial = 1;
        backend.save(&state).unwrap();
        let mode = fs::metadata(backend.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(backend.load().unwrap().unwrap().serial, 1);
        let backup: State =
            serde_json::from_slice(&fs::read(backend.backup_path()).unwrap()).unwrap();
        assert_eq!(backup.serial, 0);
        let dir_mode = fs::metadata(dir.path().join("state"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
    }

    #[test]
    fn a_second_lock_fails_with_the_holder_and_drop_releases() {
        let dir = tempfile::tempdir().unwrap();
        let backend = LocalBackend::new(dir.path().join("x.json"));
        let guard = backend.lock("apply").unwrap();
        let err = backend.lock("plan").err().unwrap().to_string();
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        assert!(err.contains("(apply)"), "{err}");
        drop(guard);
        assert!(backend.lock("plan").is_ok());
    }

    #[test]
    fn corrupt_and_newer_state_are_told_apart() {
        let backup = Path::new("x.json.backup");
        let err = parse_state(b"{\"format_ver", "x.json", backup).unwrap_err();
        assert!(matches!(err, StateError::Corrupt { .. }));
        assert!(err.to_string().contains("x.json.backup"));
        let err = parse_state(br#"{"format_version": 99}"#, "x.json", backup).unwrap_err();
        assert!(matches!(err, StateError::TooNew { found: 99, .. }));
        // Bytes that are not text are parsed as bytes, and said to be damaged.
        let not_text = b"{\"format_version\": 1, \"lineage\": \"\xff\"}";
        let err = parse_state(not_text, "x.json", backup).unwrap_err();
        assert!(matches!(err, StateError::Corrupt { .. }), "{err}");
    }

    #[test]
    fn an_address_recorded_twice_is_refused() {
        let record = |address: &str, id: &str| {
            serde_json::json!({
                "address": address, "kind": "kms_key", "id": id, "region": "eu-west-1",
                "attributes": {}, "dependencies": [], "prevent_destroy": false
            })
        };
        let file = |resources: Vec<serde_json::Value>| {
            let mut state = serde_json::to_value(State::new("bp")).unwrap();
            state["resources"] = resources.into();
            serde_json::to_vec(&state).unwrap()
        };
        let backup = Path::new("x.json.backup");
        // Out of order, as a hand edit may leave it: found by address all the same.
        let distinct = file(vec![record("kms_key.b", "2"), record("kms_key.a", "1")]);
        let state = parse_state(&distinct, "x.json", backup).unwrap();
        let id = |address| state.get(address).map(|r| r.id.as_str());
        assert_eq!((id("kms_key.a"), id("kms_key.b")), (Some("1"), Some("2")));
        let twice = file(vec![
            record("kms_key.a", "1"),
            record("kms_key.b", "2"),
            record("kms_key.a", "3"),
        ]);
        let err = parse_state(&twice, "x.json", backup).unwrap_err();
        assert!(matches!(err, StateError::Corrupt { .. }), "{err}");
        assert!(
            err.to_string().contains("`kms_key.a` is recorded twice"),
            "{err}"
        );
    }
}
