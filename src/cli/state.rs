//! `rampart state migrate|pull|push`: move a blueprint's state between backends, and get it out
//! or put it back by hand for recovery, never losing its lineage or serial.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;

use super::session::{backend, load_blueprint};
use super::{Exit, Global};
use crate::aws::Aws;
use crate::state::local::{LocalBackend, parse_state, write_atomic};
use crate::state::s3::{Location, S3Backend, lease_of};
use crate::state::{Backend, State};

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Move the state to another backend, keeping its lineage and serial
    Migrate {
        blueprint: PathBuf,
        /// Where to: `s3://BUCKET/KEY`, or a local file path
        #[arg(long, value_name = "DESTINATION")]
        to: String,
        /// For an s3 destination: the KMS key (ARN, id or alias) the state is encrypted with
        #[arg(long, value_name = "KEY")]
        kms_key: Option<String>,
        /// For an s3 destination: the bucket's region (default: the blueprint's)
        #[arg(long, value_name = "REGION", value_parser = super::drift::parse_region)]
        bucket_region: Option<String>,
    },
    /// Print the state (or write it to FILE), for inspection or recovery
    Pull {
        blueprint: PathBuf,
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Replace the state with FILE, which must have the same lineage and no older serial
    Push { blueprint: PathBuf, file: PathBuf },
}

pub async fn run(global: &Global, command: &StateCommand) -> anyhow::Result<Exit> {
    match command {
        StateCommand::Migrate {
            blueprint,
            to,
            kms_key,
            bucket_region,
        } => {
            migrate(
                global,
                blueprint,
                to,
                kms_key.as_deref(),
                bucket_region.as_deref(),
            )
            .await
        }
        StateCommand::Pull { blueprint, out } => pull(global, blueprint, out.as_deref()).await,
        StateCommand::Push { blueprint, file } => push(global, blueprint, file).await,
    }
}

/// The backend `--to` names.
async fn destination(
    global: &Global,
    to: &str,
    kms_key: Option<&str>,
    region: &str,
) -> anyhow::Result<Box<dyn Backend>> {
    let Some(rest) = to.strip_prefix("s3://") else {
        return Ok(Box::new(LocalBackend::new(PathBuf::from(to))));
    };
    let Some((bucket, key)) = rest
        .split_once('/')
        .filter(|(b, k)| !b.is_empty() && !k.is_empty())
    else {
        bail!("`{to}` is not `s3://BUCKET/KEY`");
    };
    let kms_key =
        kms_key.context("an s3 state is written with SSE-KMS: give its key with `--kms-key`")?;
    let aws = Aws::connect(&global.aws(region)).await?;
    Ok(Box::new(S3Backend::new(
        aws.s3(region),
        Location {
            bucket: bucket.to_string(),
            key: key.to_string(),
            region: region.to_string(),
            kms_key: kms_key.to_string(),
            lease: lease_of(60),
            owner: None,
        },
    )))
}

/// Refuses to replace `existing` with `incoming` unless it is the same history, not older.
fn check_successor(existing: &State, incoming: &State, at: &str) -> anyhow::Result<()> {
    if existing.lineage != incoming.lineage {
        bail!(
            "`{at}` holds another state (lineage {}, not {})\n  = hint: nothing was changed; choose an empty destination",
            existing.lineage,
            incoming.lineage
        );
    }
    if existing.serial > incoming.serial {
        bail!(
            "`{at}` holds a newer state (serial {}, this one is {})\n  = hint: nothing was changed; pull the newer one first",
            existing.serial,
            incoming.serial
        );
    }
    Ok(())
}

pub async fn migrate(
    global: &Global,
    path: &Path,
    to: &str,
    kms_key: Option<&str>,
    region: Option<&str>,
) -> anyhow::Result<Exit> {
    let bp = load_blueprint(global, path)?;
    let from = backend(global, &bp).await?;
    let _from_lock = from.lock("state migrate")?;
    let Some(state) = from.load()? else {
        bail!("there is no state at `{}` to migrate", from.describe());
    };
    let into = destination(global, to, kms_key, region.unwrap_or(&bp.region)).await?;
    if into.describe() == from.describe() {
        bail!("the state is at `{to}` already");
    }
    let _into_lock = into.lock("state migrate")?;
    if let Some(existing) = into.load()? {
        check_successor(&existing, &state, &into.describe())?;
    }
    into.save(&state)?;
    println!(
        "Copied the state of `{}` (lineage {}, serial {}) from `{}` to `{}`.",
        bp.name,
        state.lineage,
        state.serial,
        from.describe(),
        into.describe()
    );
    println!(
        "Point the blueprint's `[state]` at it now; `{}` is left as it was until you delete it.",
        from.describe()
    );
    Ok(Exit::Success)
}

async fn pull(global: &Global, path: &Path, out: Option<&Path>) -> anyhow::Result<Exit> {
    let bp = load_blueprint(global, path)?;
    let from = backend(global, &bp).await?;
    let Some(state) = from.load()? else {
        bail!("there is no state at `{}`", from.describe());
    };
    let mut bytes = serde_json::to_vec_pretty(&state)?;
    bytes.push(b'\n');
    match out {
        Some(out) => {
            write_atomic(out, &bytes)
                .with_context(|| format!("cannot write `{}`", out.display()))?;
            eprintln!(
                "Wrote the state (serial {}) to `{}`.",
                state.serial,
                out.display()
            );
        }
        None => print!("{}", String::from_utf8_lossy(&bytes)),
    }
    Ok(Exit::Success)
}

async fn push(global: &Global, path: &Path, file: &Path) -> anyhow::Result<Exit> {
    let bp = load_blueprint(global, path)?;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read `{}`", file.display()))?;
    let mut incoming = parse_state(&bytes, &file.display().to_string(), file)?;
    if incoming.blueprint != bp.name {
        bail!(
            "`{}` is the state of blueprint `{}`, not `{}`",
            file.display(),
            incoming.blueprint,
            bp.name
        );
    }
    let into = backend(global, &bp).await?;
    let _lock = into.lock("state push")?;
    if let Some(existing) = into.load()? {
        check_successor(&existing, &incoming, &into.describe())?;
        if existing.serial == incoming.serial && existing != incoming {
            bail!(
                "`{}` has serial {} like `{}`, but other content\n  = hint: nothing was changed; pull the current state and start from it",
                file.display(),
                incoming.serial,
                into.describe()
            );
        }
        // What is pushed becomes the newest state.
        incoming.serial = incoming.serial.max(existing.serial + 1);
    }
    into.save(&incoming)?;
    println!(
        "Pushed `{}` to `{}` (serial {}).",
        file.display(),
        into.describe(),
        incoming.serial
    );
    Ok(Exit::Success)
}
