//! `rampart plan`: refresh, diff, show; optionally save the plan for `apply --plan`.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::session::{Session, load_for_session};
use super::{Exit, Global};
use crate::plan::{Mode, Plan};
use crate::render::{self, Style};
use crate::state::local::write_atomic;

/// What `plan` was asked for.
pub struct Options {
    pub out: Option<PathBuf>,
    pub json: bool,
    pub detailed_exitcode: bool,
    /// Read AWS first (`--refresh=false` trusts the state instead).
    pub refresh: bool,
}

pub async fn run(global: &Global, path: &Path, options: &Options) -> anyhow::Result<Exit> {
    let loaded = load_for_session(global, path)?;
    let session = Session::open(global, loaded, "plan").await?;
    let mut plan = if options.refresh {
        session.plan(Mode::Apply).await?
    } else {
        session.plan_recorded(Mode::Apply).await?
    };
    // A saved plan must find its blueprint again from wherever it is applied.
    plan.blueprint_path = std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string();
    show(&plan, options.json, global.no_color)?;
    if !plan.errors.is_empty() {
        return Ok(Exit::Error);
    }
    if let Some(out) = &options.out {
        let mut bytes = serde_json::to_vec_pretty(&plan).context("serialising the plan")?;
        bytes.push(b'\n');
        write_atomic(out, &bytes)
            .with_context(|| format!("cannot write the plan to `{}`", out.display()))?;
        eprintln!(
            "Saved the plan to `{}`; apply exactly this plan with `rampart apply --plan {}`.",
            out.display(),
            out.display()
        );
    }
    Ok(if options.detailed_exitcode && plan.has_changes() {
        Exit::Changes
    } else {
        Exit::Success
    })
}

/// Prints a plan on stdout (text or JSON) and its errors on stderr.
pub fn show(plan: &Plan, json: bool, no_color: bool) -> anyhow::Result<()> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(plan).context("serialising the plan")?
        );
    } else {
        print!("{}", render::plan::render(plan, Style::stdout(no_color)));
    }
    let style = Style::stderr(no_color);
    for e in &plan.errors {
        eprintln!("{} {e}", style.paint(render::Color::Red, "error:"));
    }
    if !plan.errors.is_empty() {
        eprintln!("The plan cannot be applied; nothing was changed.");
    }
    Ok(())
}
