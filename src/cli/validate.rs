//! `rampart validate`: parse and check a blueprint; never touches AWS.

use std::path::Path;

use super::{Exit, Global, session};

pub fn run(_global: &Global, path: &Path) -> anyhow::Result<Exit> {
    let bp = session::load_blueprint(path)?;
    println!(
        "`{}` is valid: blueprint `{}`, {} resource{}.",
        path.display(),
        bp.name,
        bp.resources.len(),
        if bp.resources.len() == 1 { "" } else { "s" }
    );
    Ok(Exit::Success)
}
