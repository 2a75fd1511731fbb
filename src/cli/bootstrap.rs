//! `rampart bootstrap`: a new account's secure baseline and its S3 state backend, in one
//! idempotent command that resumes where it stopped.
//!
//! The baseline is an ordinary blueprint (`DIR/ALIAS-baseline.toml`), state backend included.
//! The first run applies it with a local state, then moves that state into the bucket it
//! made and points the blueprint at it; every later run is a plain apply against S3.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};

use super::interrupt::Interrupts;
use super::session::{Session, load_blueprint};
use super::{Exit, Global, apply, state};
use crate::aws::Aws;
use crate::blueprint::StateConfig;
use crate::bootstrap::Baseline;
use crate::plan::Mode;
use crate::resources;
use crate::state::local::{LocalBackend, write_atomic};
use crate::state::s3::{Location, S3Backend, lease_of};

pub struct Options {
    pub name: String,
    pub region: String,
    pub regions: Vec<String>,
    pub account_id: Option<String>,
    pub role_arn: Option<String>,
    pub log_retention_days: i64,
    pub dir: PathBuf,
}

fn step(n: usize, what: &str) {
    eprintln!("[{n}/4] {what}");
}

/// An alias names buckets and aliases: lowercase letters, digits and `-`, short enough that
/// `ALIAS-rampart-state-ACCOUNT` is a valid bucket name.
fn check_alias(alias: &str) -> anyhow::Result<()> {
    let ok = (2..=30).contains(&alias.len())
        && alias.starts_with(|c: char| c.is_ascii_lowercase())
        && !alias.ends_with('-')
        && alias
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok {
        bail!(
            "`{alias}` cannot name the account's buckets\n  = hint: 2 to 30 lowercase letters, digits and `-`, starting with a letter, like `acme-prod`"
        );
    }
    Ok(())
}

pub async fn run(
    global: &Global,
    interrupts: &Arc<Interrupts>,
    options: &Options,
) -> anyhow::Result<Exit> {
    // Until the apply starts, nothing changes: Ctrl-C stops at once.
    let Some(prepared) = interrupts
        .until_interrupted(prepare(global, options))
        .await?
    else {
        return Ok(Exit::Interrupted);
    };
    let Prepared {
        global,
        baseline,
        path,
        local_state,
        state_key,
        changes,
        account,
    } = prepared;
    if changes {
        let applied = apply::run(&global, interrupts, Some(&path), None, true).await?;
        if applied != Exit::Success {
            eprintln!("Bootstrap stopped; run it again to resume where it stopped.");
            return Ok(applied);
        }
    }

    step(4, "keep the state in S3");
    if state_key.is_none() {
        let moved = interrupts
            .until_interrupted(move_state(&global, &baseline, &path, &local_state))
            .await?;
        if moved.is_none() {
            return Ok(Exit::Interrupted);
        }
    }
    let done = if changes {
        "its baseline is in place"
    } else {
        "it has its baseline already: nothing changed"
    };
    println!(
        "Account {account}: {done}. Blueprint `{}`, state `s3://{}/{}`.",
        path.display(),
        baseline.state_bucket(),
        baseline.state_key()
    );
    Ok(Exit::Success)
}

/// What the steps before the apply settled.
struct Prepared {
    global: Global,
    baseline: Baseline,
    path: PathBuf,
    local_state: String,
    state_key: Option<String>,
    changes: bool,
    account: String,
}

async fn prepare(global: &Global, options: &Options) -> anyhow::Result<Prepared> {
    check_alias(&options.name)?;
    let mut global = global.clone();
    // Every call from here on, the applies included, goes through the assumed role.
    global.role_arn = options.role_arn.clone().or(global.role_arn);
    global.region = None;
    global.state = None;

    step(1, "identify the account");
    let aws = Aws::connect(&global.aws(&options.region)).await?;
    let account = aws.account_id().await?;
    let caller = aws.caller_arn().await?;
    if let Some(wanted) = options.account_id.as_deref().filter(|w| *w != account) {
        bail!(
            "refusing to bootstrap account {account}: `--account-id` says {wanted}\n  = hint: use credentials (or `--role-arn`) for account {wanted}"
        );
    }
    eprintln!("      account {account}, as {caller}");

    step(2, "look for what the account has already");
    let regions = match options.regions.is_empty() {
        true => vec![options.region.clone()],
        false => options.regions.clone(),
    };
    let path = options.dir.join(format!("{}-baseline.toml", options.name));
    let earlier = match path.exists() {
        true => Some(load_blueprint(&global, &path)?),
        false => None,
    };
    // Without the blueprint (another checkout, another machine), a finished first run is
    // known by its state in S3: its key, and the trail it settled on.
    let backend = S3Backend::new(
        aws.s3(&options.region),
        Location {
            bucket: Baseline::state_bucket_of(&options.name, &account),
            key: Baseline::state_key_of(&options.name),
            region: options.region.clone(),
            kms_key: String::new(),
            lease: lease_of(60),
            owner: Some(account.clone()),
        },
    );
    let recovered = match earlier {
        Some(_) => None,
        None => match backend.state_kms_key()? {
            Some(key) => {
                let trail = crate::state::Backend::load(&backend)?
                    .and_then(|st| st.get("cloudtrail.account").map(|r| r.id.clone()));
                Some((key, trail))
            }
            None => None,
        },
    };
    // The trail an earlier run settled on, else one the account has, else a new one.
    let settled = earlier
        .as_ref()
        .and_then(|bp| bp.resource("cloudtrail.account"))
        .and_then(|r| r.attrs.get("name"))
        .and_then(|v| v.as_str())
        .map(String::from)
        .or_else(|| recovered.as_ref().and_then(|(_, trail)| trail.clone()));
    let trail = match settled {
        Some(name) => name,
        None => existing_trail(&aws, &options.region, &account)
            .await?
            .unwrap_or_else(|| format!("{}-account-trail", options.name)),
    };
    let baseline = Baseline {
        alias: options.name.clone(),
        account: account.clone(),
        home: options.region.clone(),
        regions,
        log_retention_days: options.log_retention_days,
        trail,
    };
    eprintln!("      trail `{}`", baseline.trail);
    let local_state = format!("state/{}.json", baseline.blueprint_name());
    // What an earlier run wrote tells where the state is: still local, or in S3 already.
    let state_key = match earlier.map(|bp| bp.state) {
        Some(StateConfig::S3 { kms_key, .. }) => Some(kms_key),
        _ => recovered.map(|(key, _)| key),
    };
    let text = baseline.blueprint(state_key.as_deref(), &local_state);
    match std::fs::read_to_string(&path) {
        Ok(existing) if existing == text => {}
        Ok(_) => bail!(
            "`{}` exists and differs from the baseline bootstrap writes\n  = hint: it is an ordinary blueprint now: change it and run `rampart apply`, or move it away to bootstrap again",
            path.display()
        ),
        Err(_) => {
            std::fs::create_dir_all(&options.dir)
                .with_context(|| format!("cannot create `{}`", options.dir.display()))?;
            write_atomic(&path, text.as_bytes())
                .with_context(|| format!("cannot write `{}`", path.display()))?;
            eprintln!("      wrote `{}`", path.display());
        }
    }

    step(3, "apply the baseline");
    let changes = {
        let session = Session::open(&global, load_blueprint(&global, &path)?, "bootstrap").await?;
        session.plan(Mode::Apply).await?.has_changes()
    };
    Ok(Prepared {
        global,
        baseline,
        path,
        local_state,
        state_key,
        changes,
        account,
    })
}

/// Moves the first run's local state into the bucket it made, and points the blueprint there.
async fn move_state(
    global: &Global,
    baseline: &Baseline,
    path: &std::path::Path,
    local_state: &str,
) -> anyhow::Result<()> {
    let local = LocalBackend::new(PathBuf::from(local_state));
    let recorded = crate::state::Backend::load(&local)?
        .context("the baseline was applied but its state is missing")?;
    let key = recorded
        .get("kms_key.state")
        .and_then(|r| r.arn.clone())
        .context("the state key is not in the state")?;
    let to = format!("s3://{}/{}", baseline.state_bucket(), baseline.state_key());
    state::migrate(global, path, &to, Some(&key), Some(&baseline.home)).await?;
    write_atomic(path, baseline.blueprint(Some(&key), local_state).as_bytes())
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    for file in [local_state.to_string(), format!("{local_state}.backup")] {
        let _ = std::fs::remove_file(file);
    }
    Ok(())
}

/// A trail the account has in its home region, to adopt rather than make a second. An
/// organization's trail (another account's) is not this account's to change.
async fn existing_trail(aws: &Aws, home: &str, account: &str) -> anyhow::Result<Option<String>> {
    let kind = resources::kind("cloudtrail").context("cloudtrail is a kind")?;
    let mut trails = kind
        .discover(aws, &[home.to_string()])
        .await
        .map_err(|f| anyhow::anyhow!("cannot list the account's trails: {f}"))?;
    trails.retain(|t| {
        t.arn
            .as_deref()
            .is_none_or(|arn| arn.contains(&format!(":{account}:trail/")))
    });
    trails.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(trails.into_iter().next().map(|t| t.id))
}
