//! What plan, apply and destroy share: blueprint, state backend and lock, AWS clients,
//! refresh and planning.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::bail;
use futures::StreamExt;

use super::Global;
use crate::aws::Aws;
use crate::blueprint::StateConfig;
use crate::blueprint::{self, Blueprint, Resource};
use crate::drift::Unreadable;
use crate::plan::{self, Action, Mode, Plan, Refreshed};
use crate::policy::evaluate::{self, Finding};
use crate::resources::{self, Ctx};
use crate::state::local::{LocalBackend, ReadAhead};
use crate::state::s3::{Location, S3Backend, lease_of};
use crate::state::{Backend, Recorded, State, StateError};
use crate::state::{LockGuard, LockHandle};

pub fn load_blueprint(global: &Global, path: &Path) -> anyhow::Result<Blueprint> {
    let started = std::time::Instant::now();
    let bp = blueprint::load(path)?;
    global.collected.phase("parse", started);
    Ok(bp)
}

/// A blueprint, and its local state file as read while the blueprint was walked.
pub struct Loaded {
    pub bp: Blueprint,
    ahead: Option<ReadAhead>,
}

impl From<Blueprint> for Loaded {
    fn from(bp: Blueprint) -> Loaded {
        Loaded { bp, ahead: None }
    }
}

/// [`load_blueprint`] for a command that opens the state next: a local state file is read
/// and parsed on a second thread while the blueprint's resources are walked, so the `parse`
/// phase includes it and the load under the lock only checks that the file is unchanged.
pub fn load_for_session(global: &Global, path: &Path) -> anyhow::Result<Loaded> {
    let started = std::time::Instant::now();
    let (bp, ahead) = std::thread::scope(|s| {
        let mut reading = None;
        let bp = blueprint::load_with(path, &mut |name, config| {
            if global.state.is_some() || matches!(config, StateConfig::Local { .. }) {
                let file = state_file(global, name, config);
                reading = Some(s.spawn(move || ReadAhead::read(file)));
            }
        });
        (bp, reading.and_then(|r| r.join().ok().flatten()))
    });
    global.collected.phase("parse", started);
    Ok(Loaded { bp: bp?, ahead })
}

/// A local state's file, for the blueprint `name` with the state `config`: `--state`, else
/// `[state] path`, else `state/<name>.json`, relative to the current directory.
fn state_file(global: &Global, name: &str, config: &StateConfig) -> PathBuf {
    let configured = match config {
        StateConfig::Local { path } => path.clone(),
        StateConfig::S3 { .. } => None,
    };
    global
        .state
        .clone()
        .or(configured)
        .unwrap_or_else(|| PathBuf::from("state").join(format!("{name}.json")))
}

/// The blueprint with `--region` as its home region, if given.
pub fn with_region(global: &Global, mut bp: Blueprint) -> Blueprint {
    if let Some(region) = &global.region {
        bp.region = region.clone();
    }
    bp
}

/// The blueprint's state backend: `--state PATH` (a local file) overrides `[state]`.
pub async fn backend(global: &Global, bp: &Blueprint) -> anyhow::Result<Box<dyn Backend>> {
    backend_with(global, bp, None).await
}

/// [`backend`], handing a local one the state as read ahead.
async fn backend_with(
    global: &Global,
    bp: &Blueprint,
    ahead: Option<ReadAhead>,
) -> anyhow::Result<Box<dyn Backend>> {
    match (&bp.state, &global.state) {
        (
            StateConfig::S3 {
                bucket,
                key,
                region,
                kms_key,
                lock_lease_minutes,
            },
            None,
        ) => {
            let region = region.clone().unwrap_or_else(|| bp.region.clone());
            let aws = Aws::connect(&global.aws(&region)).await?;
            Ok(Box::new(S3Backend::new(
                aws.s3(&region),
                Location {
                    bucket: bucket.clone(),
                    key: key.clone(),
                    region,
                    kms_key: kms_key.clone(),
                    lease: lease_of(*lock_lease_minutes),
                    owner: bp.account_id.clone(),
                },
            )))
        }
        _ => Ok(Box::new(
            LocalBackend::new(state_file(global, &bp.name, &bp.state)).with_read_ahead(ahead),
        )),
    }
}

/// An open state and AWS access for one blueprint; locked unless opened read-only.
pub struct Session {
    pub bp: Blueprint,
    pub backend: Box<dyn Backend>,
    pub state: State,
    /// Built when first needed: a plan that reads nothing (`--refresh=false`) and deletes
    /// nothing never loads credentials or the system's certificates.
    aws: tokio::sync::OnceCell<Aws>,
    aws_options: crate::aws::Options,
    pub parallelism: usize,
    /// Where phases are timed for `--stats`.
    pub stats: std::sync::Arc<crate::stats::Stats>,
    lock: Option<LockGuard>,
}

/// What refresh read: the actual state of each resource, and what it could not read.
pub struct Refresh {
    pub actual: HashMap<String, Refreshed>,
    pub unreadable: Vec<Unreadable>,
}

impl Drop for Session {
    /// A session lasts as long as its command, and the process ends with it: the blueprint's
    /// and the state's resources are left for the system to take back with the process, at
    /// once, instead of being freed one allocation at a time (for 10 000 resources, more time
    /// than the diff). The lock is released as usual, after this.
    fn drop(&mut self) {
        std::mem::forget(std::mem::take(&mut self.bp.resources));
        std::mem::forget(std::mem::take(&mut self.state.resources));
    }
}

impl Session {
    /// Opens the state under its lock, for commands that may write it.
    pub async fn open(
        global: &Global,
        loaded: impl Into<Loaded>,
        operation: &str,
    ) -> anyhow::Result<Session> {
        let Loaded { bp, ahead } = loaded.into();
        let backend = backend_with(global, &bp, ahead).await?;
        let lock = backend.lock(operation)?;
        Session::connect(global, bp, backend, Some(lock)).await
    }

    /// Opens the state without taking the lock, for commands that only read (drift, which
    /// must run with read-only credentials and beside a running apply). Everything such a
    /// command does reads AWS, so its access is set up at once.
    pub async fn open_read_only(global: &Global, bp: Blueprint) -> anyhow::Result<Session> {
        let backend = backend(global, &bp).await?;
        let session = Session::connect(global, bp, backend, None).await?;
        session.aws().await?;
        Ok(session)
    }

    async fn connect(
        global: &Global,
        bp: Blueprint,
        backend: Box<dyn Backend>,
        lock: Option<LockGuard>,
    ) -> anyhow::Result<Session> {
        let bp = with_region(global, bp);
        let started = std::time::Instant::now();
        let loaded = backend.load()?;
        global.collected.phase("state", started);
        let state = match loaded {
            Some(s) if s.blueprint != bp.name => {
                return Err(StateError::WrongBlueprint {
                    path: backend.describe(),
                    found: s.blueprint,
                    expected: bp.name.clone(),
                }
                .into());
            }
            Some(s) => s,
            None => State::new(&bp.name),
        };
        let session = Session {
            aws: tokio::sync::OnceCell::new(),
            aws_options: global.aws(&bp.region),
            bp,
            backend,
            state,
            parallelism: usize::from(global.parallelism),
            stats: global.collected.clone(),
            lock,
        };
        // A blueprint pinned to an account is never planned against another, reading AWS
        // or not.
        if let Some(expected) = session.bp.account_id.as_deref() {
            session.aws().await?.check_account(Some(expected)).await?;
        }
        Ok(session)
    }

    /// AWS access, set up on first use.
    pub async fn aws(&self) -> anyhow::Result<&Aws> {
        Ok(self
            .aws
            .get_or_try_init(|| Aws::connect(&self.aws_options))
            .await?)
    }

    /// The blueprint's directory, where its relative paths start.
    pub fn base_dir(&self) -> &Path {
        self.bp
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
    }

    /// Resources read at once: more than calls in flight, so that while one waits for its
    /// first answer (does it exist?), others' calls keep every slot of `aws::traffic` busy.
    fn reads_at_once(&self) -> usize {
        self.parallelism * 4
    }

    pub fn lock_handle(&self) -> Option<LockHandle> {
        self.lock.as_ref().map(LockGuard::handle)
    }

    /// Reads the actual state of every recorded resource, concurrently; fails if any read did.
    pub async fn refresh(&self) -> anyhow::Result<HashMap<String, Refreshed>> {
        let refresh = self.read(self.aws().await?, |_| true).await;
        if !refresh.unreadable.is_empty() {
            let lines: Vec<String> = refresh.unreadable.iter().map(|u| u.to_string()).collect();
            bail!(
                "refresh failed, so no plan can be made:\n  {}",
                lines.join("\n  ")
            );
        }
        Ok(refresh.actual)
    }

    /// Reads the actual state of the recorded and desired resources in the regions `selected`
    /// accepts, concurrently. Resources of other regions are taken as recorded.
    pub async fn read(&self, aws: &Aws, selected: impl Fn(&str) -> bool) -> Refresh {
        let started = std::time::Instant::now();
        let selected = &selected;
        let reads = self.state.resources.iter().map(|rec| async move {
            if !selected(&rec.region) {
                return Ok((
                    rec.address.clone(),
                    Refreshed::Exists(rec.attributes.clone()),
                ));
            }
            let unreadable = |error: String| Unreadable {
                address: rec.address.clone(),
                id: Some(rec.id.clone()),
                region: rec.region.clone(),
                error,
            };
            let Some(kind) = resources::kind(&rec.kind) else {
                return Err(unreadable(format!(
                    "the state records kind `{}`, which this rampart does not know",
                    rec.kind
                )));
            };
            let ctx = Ctx {
                aws,
                region: &rec.region,
                address: &rec.address,
                base_dir: self.base_dir(),
                token: None,
            };
            let desired = self.bp.resource(&rec.address).map(|r| &r.attrs);
            let started = std::time::Instant::now();
            let found = kind
                .read(&ctx, rec, desired)
                .await
                .map_err(|f| unreadable(format!("cannot read it: {f}")))?;
            tracing::debug!(
                address = %rec.address,
                id = %rec.id,
                exists = found.is_some(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "refreshed"
            );
            let found = match found {
                Some(attrs) => Refreshed::Exists(attrs),
                None => Refreshed::Gone,
            };
            Ok((rec.address.clone(), found))
        });
        let results: Vec<_> = futures::stream::iter(reads)
            .buffer_unordered(self.reads_at_once())
            .collect()
            .await;
        let mut actual = HashMap::new();
        let mut unreadable = Vec::new();
        for r in results {
            match r {
                Ok((address, found)) => {
                    actual.insert(address, found);
                }
                Err(e) => unreadable.push(e),
            }
        }
        unreadable.extend(self.find_existing(aws, &mut actual, selected).await);
        unreadable.sort_by(|a, b| a.address.cmp(&b.address));
        self.stats.phase("refresh", started);
        Refresh { actual, unreadable }
    }

    /// For desired resources with no live recorded instance, asks kinds that adopt (one
    /// GuardDuty detector per region) whether one exists already; returns what failed.
    async fn find_existing(
        &self,
        aws: &Aws,
        actual: &mut HashMap<String, Refreshed>,
        selected: &impl Fn(&str) -> bool,
    ) -> Vec<Unreadable> {
        let candidates = self.bp.resources.iter().filter(|r| {
            !matches!(actual.get(&r.address), Some(Refreshed::Exists(_)))
                && selected(self.bp.region_of(r))
        });
        // Independent lookups, concurrently, as refresh reads.
        let looked: Vec<_> = futures::stream::iter(candidates.map(|r| self.adopt(aws, r)))
            .buffer_unordered(self.reads_at_once())
            .collect()
            .await;
        let mut failures = Vec::new();
        for result in looked {
            match result {
                Ok(Some((address, found))) => {
                    actual.insert(address, found);
                }
                Ok(None) => {}
                Err(e) => failures.push(e),
            }
        }
        failures
    }

    /// What AWS holds for a desired resource with no live record: the one instance AWS
    /// allows, or what an interrupted create made, read as found.
    async fn adopt(
        &self,
        aws: &Aws,
        r: &Resource,
    ) -> Result<Option<(String, Refreshed)>, Unreadable> {
        let Some(kind) = resources::kind(r.kind) else {
            return Ok(None);
        };
        let region = self.bp.region_of(r);
        let failure = |error: String| Unreadable {
            address: r.address.clone(),
            id: None,
            region: region.to_string(),
            error,
        };
        let ctx = Ctx {
            aws,
            region,
            address: &r.address,
            base_dir: self.base_dir(),
            token: None,
        };
        let found = match kind.find_existing(&ctx, &r.attrs).await {
            Ok(Some(found)) => found,
            // A create the last run began and may have finished unrecorded.
            Ok(None) if self.state.is_pending(&r.address) => {
                match resources::find_created(kind, &ctx, &r.attrs, &self.bp.name).await {
                    Ok(Some(found)) => found,
                    Ok(None) => return Ok(None),
                    Err(f) => {
                        return Err(failure(format!(
                            "cannot look for what the interrupted run made: {f}"
                        )));
                    }
                }
            }
            Ok(None) => return Ok(None),
            Err(f) => return Err(failure(format!("cannot look for an existing one: {f}"))),
        };
        let (found, arn) = found;
        let mut rec = Recorded {
            address: r.address.clone(),
            kind: r.kind.to_string(),
            id: found,
            arn,
            region: region.to_string(),
            attributes: Default::default(),
            dependencies: r.dependencies.clone(),
            prevent_destroy: r.prevent_destroy,
        };
        match kind.read(&ctx, &rec, Some(&r.attrs)).await {
            Ok(Some(attrs)) => {
                let owner = resources::tag(&attrs, "rampart:blueprint");
                if let Some(owner) = owner.filter(|o| *o != self.bp.name) {
                    return Err(failure(format!(
                        "the existing `{}` in {region} is managed by blueprint `{owner}`; one blueprint must own it",
                        rec.id
                    )));
                }
                rec.attributes = attrs.clone();
                Ok(Some((
                    r.address.clone(),
                    Refreshed::Found(Box::new(rec), attrs),
                )))
            }
            Ok(None) => Ok(None),
            Err(f) => Err(failure(format!("cannot read the existing one: {f}"))),
        }
    }

    /// Refreshes, plans, and asks AWS whether anything planned for deletion cannot go.
    pub async fn plan(&self, mode: Mode) -> anyhow::Result<Plan> {
        let actual = self.refresh().await?;
        self.plan_against(mode, &actual).await
    }

    /// Plans as if AWS held exactly what the state records, reading nothing (`plan
    /// --refresh=false`): the planning path alone, blind to drift.
    pub async fn plan_recorded(&self, mode: Mode) -> anyhow::Result<Plan> {
        self.plan_against(mode, &HashMap::new()).await
    }

    async fn plan_against(
        &self,
        mode: Mode,
        actual: &HashMap<String, Refreshed>,
    ) -> anyhow::Result<Plan> {
        let started = std::time::Instant::now();
        // Destroying is always allowed; building is judged by the hardening rules, on a
        // thread of its own beside the planner: neither needs the other.
        let (mut plan, judged) = std::thread::scope(|s| {
            let judging = (mode == Mode::Apply)
                .then(|| s.spawn(|| evaluate::check_blueprint(&self.bp, evaluate::today())));
            let plan = plan::plan(&self.bp, &self.state, actual, mode);
            (plan, judging.map(|j| j.join()))
        });
        if let Some(judged) = judged {
            let judged =
                judged.map_err(|_| anyhow::anyhow!("judging the blueprint failed unexpectedly"))?;
            plan.errors.extend(judged.violations.iter().map(violation));
            plan.policy = Some(judged);
        }
        self.stats.phase("diff", started);
        tracing::debug!(
            create = plan.summary.create,
            update = plan.summary.update,
            replace = plan.summary.replace,
            delete = plan.summary.delete,
            "planned"
        );
        let mut blocked = Vec::new();
        for change in &plan.changes {
            let (Action::Delete | Action::Replace, Some(prior)) = (change.action, &change.prior)
            else {
                continue;
            };
            let Some(kind) = resources::kind(&prior.kind) else {
                continue;
            };
            let ctx = Ctx {
                aws: self.aws().await?,
                region: &prior.region,
                address: &prior.address,
                base_dir: self.base_dir(),
                token: None,
            };
            let check = kind
                .deletion_check(&ctx, prior)
                .await
                .map_err(|f| anyhow::anyhow!("cannot check `{}`: {f}", prior.address))?;
            if let Some(why) = check.blocker {
                blocked.push((
                    change.address.clone(),
                    format!(
                        "`{}` cannot be deleted: {why}\n  = hint: keep it in the blueprint until then",
                        change.address
                    ),
                ));
            }
            if let Some(warning) = check.warning {
                plan.notes.push(format!("`{}`: {warning}", change.address));
            }
        }
        for (address, why) in blocked {
            plan.protect(&address, why);
        }
        Ok(plan)
    }
}

/// A rule violation as one plan error line.
pub fn violation(f: &Finding) -> String {
    let at = f
        .location
        .as_ref()
        .map(|l| format!(" ({}:{}:{})", l.file, l.line, l.column))
        .unwrap_or_default();
    format!(
        "{} `{}` breaks {}: {}{at}\n  = hint: fix it, or waive it with a `[[waiver]]` that says why and until when",
        f.rule, f.resource, f.title, f.message
    )
}
