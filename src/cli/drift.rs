//! `rampart drift`: one read-only refresh, compared with the blueprint and the state, reported
//! for schedulers (exit 0 in sync, 2 drift, 1 could not tell).

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;

use anyhow::Context;
use futures::StreamExt;

use super::session::{Refresh, Session, backend, load_blueprint, with_region};
use super::{Exit, Global};
use crate::aws::Aws;
use crate::blueprint::Blueprint;
use crate::drift::{self, Header, IgnoreList, Report, Status, Unmanaged, Unreadable};
use crate::plan::{self, Mode, Refreshed};
use crate::render::{self, Style};
use crate::resources::{self, Ctx, Discovered, ResourceKind};
use crate::state::State;
use crate::state::local::write_atomic;

/// What `rampart drift` was asked for.
pub struct Options {
    pub blueprint: PathBuf,
    pub json: bool,
    pub output: Option<PathBuf>,
    pub unmanaged: bool,
    pub regions: Vec<String>,
    pub print_iam_policy: bool,
}

pub async fn run(global: &Global, options: &Options) -> anyhow::Result<Exit> {
    let bp = with_region(global, load_blueprint(global, &options.blueprint)?);
    if options.print_iam_policy {
        let state = backend(global, &bp)
            .await?
            .load()?
            .unwrap_or_else(|| State::new(&bp.name));
        let policy = drift::iam_policy::policy(&bp, &state, options.unmanaged);
        println!("{}", serde_json::to_string_pretty(&policy)?);
        return Ok(Exit::Success);
    }
    let report = match Session::open_read_only(global, bp.clone()).await {
        Ok(session) => check(&session, options).await,
        Err(e) => Report::failed(
            header(&bp, options, scope(&bp, options), None),
            format!("{e:#}"),
        ),
    };
    if let Some(out) = &options.output {
        let mut bytes = serde_json::to_vec_pretty(&report).context("serialising the report")?;
        bytes.push(b'\n');
        write_atomic(out, &bytes)
            .with_context(|| format!("cannot write the drift report to `{}`", out.display()))?;
    }
    if options.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!(
            "{}",
            render::drift::render(&report, Style::stdout(global.no_color))
        );
    }
    Ok(match report.status {
        Status::InSync => Exit::Success,
        Status::Drift => Exit::Changes,
        Status::Error => Exit::Error,
    })
}

/// The regions drift reads: `--regions`, else every region the blueprint or its state uses.
fn scope(bp: &Blueprint, options: &Options) -> BTreeSet<String> {
    if !options.regions.is_empty() {
        return options.regions.iter().cloned().collect();
    }
    let mut regions: BTreeSet<String> = bp.regions.iter().cloned().collect();
    regions.insert(bp.region.clone());
    regions.extend(bp.resources.iter().map(|r| bp.region_of(r).to_string()));
    regions
}

fn header(
    bp: &Blueprint,
    options: &Options,
    regions: BTreeSet<String>,
    account_id: Option<String>,
) -> Header {
    Header {
        blueprint: bp.name.clone(),
        blueprint_path: bp.path.display().to_string(),
        generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        account_id,
        regions: regions.into_iter().collect(),
        unmanaged_checked: options.unmanaged,
        resources: 0,
        notes: Vec::new(),
    }
}

async fn check(session: &Session, options: &Options) -> Report {
    let bp = &session.bp;
    let mut regions = scope(bp, options);
    regions.extend(
        session
            .state
            .resources
            .iter()
            .filter(|_| options.regions.is_empty())
            .map(|r| r.region.clone()),
    );
    let connected = async {
        let aws = session.aws().await?;
        anyhow::Ok((aws, aws.account_id().await?))
    };
    let (aws, account) = match connected.await {
        Ok(connected) => connected,
        Err(e) => return Report::failed(header(bp, options, regions, None), e.to_string()),
    };
    let mut header = header(bp, options, regions.clone(), Some(account));
    let in_scope = |region: &str| regions.contains(region);

    let Refresh {
        mut actual,
        mut unreadable,
    } = session.read(aws, in_scope).await;
    // What could not be read is taken as recorded: its dependents must not look changed.
    for u in &unreadable {
        if let Some(rec) = session.state.get(&u.address) {
            actual.insert(u.address.clone(), Refreshed::Exists(rec.attributes.clone()));
        }
    }
    let started = std::time::Instant::now();
    let plan = plan::plan(bp, &session.state, &actual, Mode::Apply);
    session.stats.phase("diff", started);
    let not_read: HashSet<&str> = unreadable.iter().map(|u| u.address.as_str()).collect();
    let findings = drift::findings(&plan, |c| {
        in_scope(c.region()) && !not_read.contains(c.address.as_str())
    });
    let mut compared: HashSet<&str> = bp
        .resources
        .iter()
        .filter(|r| in_scope(bp.region_of(r)))
        .map(|r| r.address.as_str())
        .collect();
    compared.extend(
        session
            .state
            .resources
            .iter()
            .filter(|r| in_scope(&r.region))
            .map(|r| r.address.as_str()),
    );
    header.resources = compared.len();
    if let Ok(Some(lock)) = session.backend.read_lock() {
        header.notes.push(format!(
            "the state is locked ({lock}): changes in progress may show as drift"
        ));
    }

    let mut unmanaged = Vec::new();
    if options.unmanaged {
        let (found, failed) = unmanaged_resources(session, aws, &regions, &actual).await;
        unmanaged = found;
        unreadable.extend(failed);
    }
    Report::new(header, findings, unmanaged, unreadable, &IgnoreList::of(bp))
}

/// Lists every resource of the blueprint's kinds in `regions`, keeps those no blueprint
/// manages, and reads their hardening problems.
async fn unmanaged_resources(
    session: &Session,
    aws: &Aws,
    regions: &BTreeSet<String>,
    actual: &std::collections::HashMap<String, Refreshed>,
) -> (Vec<Unmanaged>, Vec<Unreadable>) {
    let bp = &session.bp;
    let mut kinds: Vec<&'static dyn ResourceKind> = bp
        .resources
        .iter()
        .filter_map(|r| resources::kind(r.kind))
        .collect();
    kinds.sort_by_key(|k| k.name());
    kinds.dedup_by_key(|k| k.name());
    // What this blueprint manages: recorded, or found to adopt.
    let mut known: HashSet<(String, String)> = session
        .state
        .resources
        .iter()
        .map(|r| (r.kind.clone(), r.id.clone()))
        .collect();
    known.extend(actual.values().filter_map(|a| match a {
        Refreshed::Found(rec, _) => Some((rec.kind.clone(), rec.id.clone())),
        _ => None,
    }));

    let mut failed = Vec::new();
    let mut candidates: Vec<(&'static dyn ResourceKind, Discovered)> = Vec::new();
    let all: Vec<String> = regions.iter().cloned().collect();
    let listings = kinds.into_iter().filter_map(|kind| {
        let searched = match kind.global() {
            true if regions.contains(&bp.region) => vec![bp.region.clone()],
            true => return None,
            false => all.clone(),
        };
        Some(async move {
            let found = kind.discover(aws, &searched).await;
            (kind, searched, found)
        })
    });
    for (kind, searched, found) in futures::future::join_all(listings).await {
        match found {
            Ok(found) => candidates.extend(
                found
                    .into_iter()
                    .filter(|d| !known.contains(&(kind.name().to_string(), d.id.clone())))
                    .map(|d| (kind, d)),
            ),
            Err(f) => failed.push(Unreadable {
                address: format!("{}:*", kind.name()),
                id: None,
                region: searched.join(","),
                error: format!("cannot list them: {f}"),
            }),
        }
    }

    let reads = candidates.into_iter().map(|(kind, d)| async move {
        let address = format!("{}:{}", kind.name(), d.id);
        let rec = d.recorded(kind.name(), &address);
        let ctx = Ctx {
            aws,
            region: &d.region,
            address: &address,
            base_dir: session.base_dir(),
            token: None,
        };
        (
            kind,
            d.clone(),
            address.clone(),
            kind.read(&ctx, &rec, None).await,
        )
    });
    let results: Vec<_> = futures::stream::iter(reads)
        .buffer_unordered(session.parallelism)
        .collect()
        .await;
    let mut found = Vec::new();
    for (kind, d, address, read) in results {
        let attrs = match read {
            Ok(Some(attrs)) => attrs,
            // Gone between listing and reading.
            Ok(None) => continue,
            Err(f) => {
                failed.push(Unreadable {
                    address,
                    id: Some(d.id),
                    region: d.region,
                    error: format!("cannot read it: {f}"),
                });
                continue;
            }
        };
        let tagged_address = match resources::tag(&attrs, "rampart:blueprint") {
            // Another blueprint's: managed, just not by this one.
            Some(owner) if owner != bp.name => continue,
            Some(_) => resources::tag(&attrs, "rampart:address").map(String::from),
            None => None,
        };
        found.push(Unmanaged {
            kind: kind.name().to_string(),
            problems: drift::problems(kind, &attrs),
            id: d.id,
            arn: d.arn,
            region: d.region,
            tagged_address,
        });
    }
    (found, failed)
}

/// `--regions` values: region names, checked before anything runs.
pub fn parse_region(value: &str) -> Result<String, String> {
    crate::blueprint::check_region(value).map(|()| value.to_string())
}
