//! `rampart force-unlock`: remove a lock left by a run that is gone.

use std::path::Path;

use super::{Exit, Global, session};

pub async fn run(global: &Global, path: &Path) -> anyhow::Result<Exit> {
    let bp = session::load_blueprint(global, path)?;
    let backend = session::backend(global, &bp).await?;
    match backend.force_unlock()? {
        Some(held) => println!(
            "Removed the lock of `{}` held by pid {} on host `{}` ({}) since {}.",
            backend.describe(),
            held.pid,
            held.host,
            held.operation,
            held.since
        ),
        None => println!("`{}` was not locked.", backend.describe()),
    }
    Ok(Exit::Success)
}
