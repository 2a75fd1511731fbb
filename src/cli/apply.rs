//! `rampart apply` and `rampart destroy`: plan, confirm, execute, summarise.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};

use super::interrupt::Interrupts;
use super::plan::show;
use super::session::{Session, load_blueprint, load_for_session};
use super::{Exit, Global};
use crate::apply::{Executor, Reporter};
use crate::plan::{self, Mode, Plan};
use crate::policy::evaluate;
use crate::render::{self, Style, progress};

pub async fn run(
    global: &Global,
    interrupts: &Arc<Interrupts>,
    blueprint: Option<&Path>,
    plan_file: Option<&Path>,
    auto_approve: bool,
) -> anyhow::Result<Exit> {
    if let Some(plan_file) = plan_file {
        let opened = interrupts
            .until_interrupted(open_saved(global, plan_file))
            .await?;
        let Some((session, saved)) = opened else {
            return Ok(Exit::Interrupted);
        };
        eprintln!("Applying the saved plan `{}`.", plan_file.display());
        return execute(global, interrupts, session, saved, true, "Apply").await;
    }
    let path = blueprint.context("apply needs a blueprint or `--plan PLANFILE`")?;
    prepare_and_execute(global, interrupts, path, Mode::Apply, auto_approve).await
}

pub async fn destroy(
    global: &Global,
    interrupts: &Arc<Interrupts>,
    path: &Path,
    auto_approve: bool,
) -> anyhow::Result<Exit> {
    prepare_and_execute(global, interrupts, path, Mode::Destroy, auto_approve).await
}

async fn prepare_and_execute(
    global: &Global,
    interrupts: &Arc<Interrupts>,
    path: &Path,
    mode: Mode,
    auto_approve: bool,
) -> anyhow::Result<Exit> {
    let (operation, verb) = match mode {
        Mode::Apply => ("apply", "Apply"),
        Mode::Destroy => ("destroy", "Destroy"),
    };
    let loaded = load_for_session(global, path)?;
    if mode == Mode::Apply && !refuse_violations(global, &loaded.bp) {
        return Ok(Exit::Error);
    }
    let prepared = interrupts
        .until_interrupted(async {
            let session = Session::open(global, loaded, operation).await?;
            let plan = session.plan(mode).await?;
            anyhow::Ok((session, plan))
        })
        .await?;
    let Some((session, plan)) = prepared else {
        return Ok(Exit::Interrupted);
    };
    execute(global, interrupts, session, plan, auto_approve, verb).await
}

/// Loads a saved plan and opens its state, refusing it unless nothing changed since.
async fn open_saved(global: &Global, plan_file: &Path) -> anyhow::Result<(Session, Plan)> {
    let bytes = std::fs::read(plan_file)
        .with_context(|| format!("cannot read the plan `{}`", plan_file.display()))?;
    let saved: Plan = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "`{}` is not a rampart plan file (or is damaged)",
            plan_file.display()
        )
    })?;
    if saved.format_version != plan::FORMAT_VERSION {
        bail!(
            "plan `{}` has format version {}, but this rampart applies version {}\n  = hint: make the plan again with this rampart",
            plan_file.display(),
            saved.format_version,
            plan::FORMAT_VERSION
        );
    }
    let bp = load_blueprint(global, Path::new(&saved.blueprint_path))?;
    // A waiver may have expired since the plan was made.
    if !refuse_violations(global, &bp) {
        bail!("refusing the saved plan: the blueprint breaks hardening rules");
    }
    if bp.source_sha256 != saved.blueprint_sha256 {
        bail!(
            "refusing the saved plan: the blueprint `{}` changed since the plan was made\n  = hint: run `rampart plan` again",
            saved.blueprint_path
        );
    }
    let mut session = Session::open(global, bp, "apply").await?;
    if session.state.serial == 0 && session.state.resources.is_empty() && saved.serial == 0 {
        // No state was saved yet when the plan was made: it starts the plan's lineage.
        session.state.lineage = saved.lineage.clone();
    }
    if session.state.lineage != saved.lineage {
        bail!(
            "refusing the saved plan: it was made for another state (lineage {}, this state has {})\n  = hint: run `rampart plan` again",
            saved.lineage,
            session.state.lineage
        );
    }
    if session.state.serial != saved.serial {
        bail!(
            "refusing the saved plan: the state changed since the plan was made (plan at serial {}, state now at serial {})\n  = hint: run `rampart plan` again",
            saved.serial,
            session.state.serial
        );
    }
    Ok((session, saved))
}

async fn execute(
    global: &Global,
    interrupts: &Arc<Interrupts>,
    session: Session,
    plan: Plan,
    auto_approve: bool,
    verb: &str,
) -> anyhow::Result<Exit> {
    show(&plan, false, global.no_color)?;
    if !plan.errors.is_empty() {
        return Ok(Exit::Error);
    }
    let mut state = session.state.clone();
    // A destroy that had to leave protected resources has not done all it was asked.
    let refused = if plan.refused.is_empty() {
        Exit::Success
    } else {
        Exit::Error
    };
    if !plan.has_changes() {
        if state.sync_meta(&session.bp) {
            state.serial += 1;
            session.backend.save(&state)?;
        }
        report_refused(&plan, Style::stderr(global.no_color));
        return Ok(refused);
    }
    if !auto_approve {
        let Some(yes) = interrupts.until_interrupted(confirm(verb)).await? else {
            return Ok(Exit::Interrupted);
        };
        if !yes {
            eprintln!("{verb} cancelled; nothing was changed.");
            return Ok(Exit::Error);
        }
    }

    interrupts.executing(session.lock_handle());
    let stop = interrupts.stop_flag();
    let style = Style::stderr(global.no_color);
    let reporter: Box<dyn Reporter> = if global.no_progress {
        Box::new(progress::Quiet)
    } else if std::io::stderr().is_terminal() {
        Box::new(progress::Bars::new(style))
    } else {
        Box::new(progress::Lines { style })
    };
    let executor = Executor {
        aws: session.aws().await?,
        backend: &*session.backend,
        parallelism: session.parallelism,
        reporter: reporter.as_ref(),
        stop: &stop,
        base_dir: session.base_dir(),
    };
    let started = std::time::Instant::now();
    let (mut state, outcome) = executor.run(&plan, state).await;
    session.stats.phase("apply", started);
    if outcome.fatal.is_none() && state.sync_meta(&session.bp) {
        state.serial += 1;
        session.backend.save(&state)?;
    }
    eprint!("{}", render::outcome::render(&outcome, style, verb));
    report_refused(&plan, style);
    Ok(if interrupts.happened() {
        Exit::Interrupted
    } else if outcome.ok() {
        refused
    } else {
        Exit::Error
    })
}

/// Repeats at the end, on stderr, what a destroy left because it is protected.
fn report_refused(plan: &Plan, style: Style) {
    for r in &plan.refused {
        eprintln!("{} {r}", style.paint(render::Color::Red, "refused:"));
    }
}

/// Asks for `yes` on the terminal; anything else, or no input at all, is a no.
async fn confirm(verb: &str) -> anyhow::Result<bool> {
    eprint!(
        "\n{verb} will change real infrastructure as planned above.\nDo you want to perform these actions? Only `yes` is accepted: "
    );
    std::io::stderr().flush().ok();
    // A plain thread, not the runtime's blocking pool: an interrupted prompt leaves the read
    // behind, and the runtime must not wait for it on the way out.
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut answer = String::new();
        let read = std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map(|_| answer);
        let _ = tx.send(read);
    });
    let answer = rx
        .await
        .context("cannot read the answer from standard input")?
        .context("cannot read the answer from standard input")?;
    Ok(answer.trim() == "yes")
}

/// Judges the blueprint before anything is read or changed; prints the violations and
/// returns false if there are any.
fn refuse_violations(global: &Global, bp: &crate::blueprint::Blueprint) -> bool {
    let judged = evaluate::check_blueprint(bp, evaluate::today());
    if judged.is_clean() {
        return true;
    }
    eprint!(
        "{}",
        render::policy::evaluation(&judged, Style::stderr(global.no_color))
    );
    eprintln!(
        "Apply refused: {} hardening-rule violation{}; nothing was changed.",
        judged.violations.len(),
        if judged.violations.len() == 1 {
            ""
        } else {
            "s"
        }
    );
    false
}
