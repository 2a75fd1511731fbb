//! What plan, apply and destroy share: blueprint, state backend and lock, AWS clients,
//! refresh and planning.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use futures::StreamExt;

use super::Global;
use crate::aws::{self, Aws};
use crate::blueprint::{self, Blueprint};
use crate::plan::{self, Action, Mode, Plan, Refreshed};
use crate::resources::{self, Ctx};
use crate::state::local::{LocalBackend, LockGuard, LockHandle};
use crate::state::{Backend, Recorded, State, StateError};

pub fn load_blueprint(path: &Path) -> anyhow::Result<Blueprint> {
    Ok(blueprint::load(path)?)
}

/// `--state`, else `[state] path`, else `state/<name>.json`, relative to the current directory.
pub fn state_path(global: &Global, bp: &Blueprint) -> PathBuf {
    global
        .state
        .clone()
        .or_else(|| bp.state_path.clone())
        .unwrap_or_else(|| PathBuf::from("state").join(format!("{}.json", bp.name)))
}

pub fn backend(global: &Global, bp: &Blueprint) -> LocalBackend {
    LocalBackend::new(state_path(global, bp))
}

/// An open, locked state and AWS access for one blueprint.
pub struct Session {
    pub bp: Blueprint,
    pub backend: LocalBackend,
    pub state: State,
    pub aws: Aws,
    pub parallelism: usize,
    _lock: LockGuard,
}

impl Session {
    pub async fn open(global: &Global, bp: Blueprint, operation: &str) -> anyhow::Result<Session> {
        let mut bp = bp;
        if let Some(region) = &global.region {
            bp.region = region.clone();
        }
        let backend = backend(global, &bp);
        let lock = backend.lock(operation)?;
        let state = match backend.load()? {
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
        let aws = Aws::connect(&aws::Options {
            region: bp.region.clone(),
            profile: global.profile.clone(),
        })
        .await?;
        aws.check_account(bp.account_id.as_deref()).await?;
        Ok(Session {
            bp,
            backend,
            state,
            aws,
            parallelism: usize::from(global.parallelism),
            _lock: lock,
        })
    }

    /// The blueprint's directory, where its relative paths start.
    pub fn base_dir(&self) -> &Path {
        self.bp
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
    }

    pub fn lock_handle(&self) -> LockHandle {
        self._lock.handle()
    }

    /// Reads the actual state of every recorded resource, concurrently.
    pub async fn refresh(&self) -> anyhow::Result<HashMap<String, Refreshed>> {
        let reads = self.state.resources.iter().map(|rec| async move {
            let kind = resources::kind(&rec.kind).with_context(|| {
                format!(
                    "the state records `{}` of kind `{}`, which this rampart does not know",
                    rec.address, rec.kind
                )
            })?;
            let ctx = Ctx {
                aws: &self.aws,
                region: &rec.region,
                address: &rec.address,
                base_dir: self.base_dir(),
            };
            let desired = self.bp.resource(&rec.address).map(|r| &r.attrs);
            let started = std::time::Instant::now();
            let found = kind.read(&ctx, rec, desired).await.map_err(|f| {
                anyhow::anyhow!("cannot read `{}` (`{}`): {f}", rec.address, rec.id)
            })?;
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
            anyhow::Ok((rec.address.clone(), found))
        });
        let results: Vec<_> = futures::stream::iter(reads)
            .buffer_unordered(self.parallelism)
            .collect()
            .await;
        let mut actual = HashMap::new();
        let mut failures = Vec::new();
        for r in results {
            match r {
                Ok((address, found)) => {
                    actual.insert(address, found);
                }
                Err(e) => failures.push(format!("{e:#}")),
            }
        }
        failures.extend(self.find_existing(&mut actual).await);
        if !failures.is_empty() {
            failures.sort();
            bail!(
                "refresh failed, so no plan can be made:\n  {}",
                failures.join("\n  ")
            );
        }
        Ok(actual)
    }

    /// For desired resources with no live recorded instance, asks kinds that adopt (one
    /// GuardDuty detector per region) whether one exists already; returns what failed.
    async fn find_existing(&self, actual: &mut HashMap<String, Refreshed>) -> Vec<String> {
        let mut failures = Vec::new();
        for r in &self.bp.resources {
            let live = matches!(actual.get(&r.address), Some(Refreshed::Exists(_)));
            let Some(kind) = resources::kind(r.kind).filter(|_| !live) else {
                continue;
            };
            let region = self.bp.region_of(r);
            let ctx = Ctx {
                aws: &self.aws,
                region: &region,
                address: &r.address,
                base_dir: self.base_dir(),
            };
            let found = match kind.find_existing(&ctx).await {
                Ok(Some(id)) => id,
                Ok(None) => continue,
                Err(f) => {
                    failures.push(format!("cannot look for an existing `{}`: {f}", r.address));
                    continue;
                }
            };
            let mut rec = Recorded {
                address: r.address.clone(),
                kind: r.kind.to_string(),
                id: found,
                arn: None,
                region: region.clone(),
                attributes: Default::default(),
                dependencies: r.dependencies.clone(),
                prevent_destroy: r.prevent_destroy,
            };
            match kind.read(&ctx, &rec, Some(&r.attrs)).await {
                Ok(Some(attrs)) => {
                    let owner = attrs
                        .get("tags")
                        .and_then(|t| t.get("rampart:blueprint"))
                        .and_then(|v| v.as_str());
                    if let Some(owner) = owner.filter(|o| *o != self.bp.name) {
                        failures.push(format!(
                            "`{}`: the existing `{}` in {region} is managed by blueprint `{owner}`; one blueprint must own it",
                            r.address, rec.id
                        ));
                        continue;
                    }
                    rec.attributes = attrs.clone();
                    actual.insert(r.address.clone(), Refreshed::Found(Box::new(rec), attrs));
                }
                Ok(None) => {}
                Err(f) => failures.push(format!("cannot read the existing `{}`: {f}", r.address)),
            }
        }
        failures
    }

    /// Refreshes, plans, and asks AWS whether anything planned for deletion cannot go.
    pub async fn plan(&self, mode: Mode) -> anyhow::Result<Plan> {
        let actual = self.refresh().await?;
        let mut plan = plan::plan(&self.bp, &self.state, &actual, mode);
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
                aws: &self.aws,
                region: &prior.region,
                address: &prior.address,
                base_dir: self.base_dir(),
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
