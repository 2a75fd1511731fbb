//! `rampart validate`: parse and check a blueprint; never touches AWS.

use std::path::Path;

use super::{Exit, Global, session};
use crate::policy::evaluate;
use crate::render::{self, Style};

pub fn run(global: &Global, path: &Path) -> anyhow::Result<Exit> {
    let bp = session::load_blueprint(global, path)?;
    let judged = evaluate::check_blueprint(&bp, evaluate::today());
    if !judged.is_clean() {
        eprint!(
            "{}",
            render::policy::evaluation(&judged, Style::stderr(global.no_color))
        );
        eprintln!("{}", render::policy::summary(&judged));
        return Ok(Exit::Error);
    }
    print!(
        "{}",
        render::policy::evaluation(&judged, Style::stdout(global.no_color))
    );
    println!(
        "`{}` is valid: blueprint `{}`, {} resource{}.",
        path.display(),
        bp.name,
        bp.resources.len(),
        if bp.resources.len() == 1 { "" } else { "s" }
    );
    Ok(Exit::Success)
}
