//! `rampart force-unlock`: remove a lock left by a run that is gone.

use std::path::Path;

use super::{Exit, Global, session};

pub fn run(global: &Global, path: &Path) -> anyhow::Result<Exit> {
    let bp = session::load_blueprint(path)?;
    let backend = session::backend(global, &bp);
    match backend.force_unlock()? {
        Some(held) => println!(
            "Removed the lock of `{}` held by pid {} on host `{}` ({}) since {}.",
            backend.path().display(),
            held.pid,
            held.host,
            held.operation,
            held.since
        ),
        None => println!("`{}` was not locked.", backend.path().display()),
    }
    Ok(Exit::Success)
}
