//! The executor: runs a plan in dependency order, independent resources in parallel, saving
//! the state after every successful step.

pub mod reporter;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Mutex;
use std::time::Instant;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde_json::Value;

use crate::aws::Aws;
use crate::blueprint::Attrs;
use crate::blueprint::schema::Type;
use crate::graph::Walk;
use crate::plan::{Action, Change, Desired, Plan};
use crate::resources::{self, Ctx, Failure, ResourceKind};
use crate::state::{Backend, Pending, Recorded, State};
pub use reporter::Reporter;

/// How a run ended.
#[derive(Debug, Default)]
pub struct Outcome {
    pub done: Vec<(String, Action)>,
    /// Address and what went wrong, with the AWS error message.
    pub failed: Vec<(String, String)>,
    /// Address and the failed resource it waited for.
    pub skipped: Vec<(String, String)>,
    /// Changes never started because the run was stopped.
    pub not_started: Vec<String>,
    /// A state save failed: the run stopped at once.
    pub fatal: Option<String>,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.failed.is_empty()
            && self.skipped.is_empty()
            && self.not_started.is_empty()
            && self.fatal.is_none()
    }
}

/// What the executor works with.
pub struct Executor<'a> {
    pub aws: &'a Aws,
    pub backend: &'a dyn Backend,
    pub parallelism: usize,
    pub reporter: &'a dyn Reporter,
    /// Asked (after Ctrl-C) whether to stop starting new work; calls in flight finish and
    /// are recorded.
    pub stop: &'a dyn Stop,
    /// The blueprint's directory, where relative paths (Lambda code) start.
    pub base_dir: &'a std::path::Path,
}

/// Tells the executor to stop starting new work.
pub trait Stop: Send + Sync {
    fn requested(&self) -> bool;
}

/// Error of one change: what failed, with the resource's address added by the caller.
enum StepError {
    Aws(Failure),
    Save(String),
}

impl From<Failure> for StepError {
    fn from(f: Failure) -> Self {
        StepError::Aws(f)
    }
}

impl Executor<'_> {
    /// Applies `plan` to `state`, returning the new state and the outcome.
    pub async fn run(&self, plan: &Plan, state: State) -> (State, Outcome) {
        let state = Mutex::new(state);
        let mut outcome = Outcome::default();
        {
            let mut st = lock(&state);
            let before = st.resources.len();
            st.resources.retain(|r| !plan.forget.contains(&r.address));
            if st.resources.len() != before
                && let Err(e) = self.save(&mut st)
            {
                outcome.fatal = Some(e);
                return (st.clone(), outcome);
            }
        }
        let changes: BTreeMap<&str, &Change> = plan
            .changes
            .iter()
            .map(|c| (c.address.as_str(), c))
            .collect();
        let mut walk = Walk::new(edges(plan));
        let mut queue = VecDeque::new();
        let mut inflight = FuturesUnordered::new();
        self.reporter.begin(plan.changes.len());
        loop {
            // After Ctrl-C or a failed save nothing new starts: calls in flight finish.
            let halted = outcome.fatal.is_some() || self.stop.requested();
            if !halted {
                queue.extend(walk.take_ready());
            }
            while !halted && inflight.len() < self.parallelism.max(1) {
                let Some(address) = queue.pop_front() else {
                    break;
                };
                let Some(change) = changes.get(address.as_str()).copied() else {
                    continue;
                };
                self.reporter.started(&change.address, change.action);
                tracing::debug!(address = %change.address, action = ?change.action, "starting");
                let state = &state;
                inflight.push(async move {
                    let started = Instant::now();
                    let result = self.step(change, state).await;
                    (change, started, result)
                });
            }
            let Some((change, started, result)) = inflight.next().await else {
                break;
            };
            match result {
                Ok(()) => {
                    self.reporter
                        .finished(&change.address, change.action, started.elapsed());
                    outcome.done.push((change.address.clone(), change.action));
                    walk.done(&change.address);
                }
                Err(err) => {
                    let message = match err {
                        StepError::Aws(f) => f.to_string(),
                        StepError::Save(e) => {
                            outcome.fatal = Some(e.clone());
                            e
                        }
                    };
                    self.reporter
                        .failed(&change.address, change.action, &message);
                    outcome.failed.push((change.address.clone(), message));
                    for s in walk.failed(&change.address) {
                        self.reporter.skipped(&s, &change.address);
                        outcome.skipped.push((s, change.address.clone()));
                    }
                }
            }
        }
        outcome.not_started = queue.into_iter().chain(walk.not_started()).collect();
        outcome.not_started.sort();
        self.reporter.end();
        (lock(&state).clone(), outcome)
    }

    async fn step(&self, change: &Change, state: &Mutex<State>) -> Result<(), StepError> {
        let kind = resources::kind(&change.kind).ok_or_else(|| {
            Failure::new(
                "plan",
                format!("unknown resource kind `{}` in the plan", change.kind),
            )
        })?;
        if matches!(change.action, Action::Delete | Action::Replace)
            && let Some(prior) = &change.prior
        {
            let ctx = self.ctx(&prior.region, &change.address);
            kind.delete(&ctx, prior).await?;
            self.record(state, |st| {
                st.remove(&change.address);
            })?;
        }
        let Some(desired) = &change.desired else {
            return Ok(());
        };
        let resolved = resolve_references(kind, desired, &lock(state))?;
        match change.action {
            Action::Create | Action::Replace => {
                if change.action == Action::Create && change.prior.is_some() {
                    // The recorded resource vanished outside rampart: forget it first.
                    self.record(state, |st| {
                        st.remove(&change.address);
                    })?;
                }
                // A create an interrupted run began is repeated with its token: if AWS made
                // it but does not show it yet, the repeat returns it instead of a second one.
                let token = lock(state)
                    .pending
                    .iter()
                    .find(|p| p.address == change.address && !p.token.is_empty())
                    .map(|p| p.token.clone())
                    .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
                let ctx = Ctx {
                    token: Some(&token),
                    ..self.ctx(&desired.region, &change.address)
                };
                // Journal first: if this run dies inside the call, the next refresh looks
                // for what it may have made instead of making a second one.
                self.record(state, |st| {
                    st.pending.retain(|p| p.address != change.address);
                    st.pending.push(Pending {
                        address: change.address.clone(),
                        kind: change.kind.clone(),
                        region: desired.region.clone(),
                        since: chrono::Utc::now()
                            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        token: token.clone(),
                    });
                })?;
                let created = match kind.create(&ctx, &resolved).await {
                    Ok(created) => created,
                    Err(f) => {
                        // AWS answered no: nothing was made, and the journal entry goes.
                        // Without an answer, it stays for the next refresh to look.
                        if !f.ambiguous {
                            self.record(state, |st| {
                                st.pending.retain(|p| p.address != change.address);
                            })?;
                        }
                        return Err(f.into());
                    }
                };
                let mut rec = Recorded {
                    address: change.address.clone(),
                    kind: change.kind.clone(),
                    id: created.id,
                    arn: created.arn,
                    region: desired.region.clone(),
                    attributes: resolved
                        .iter()
                        .filter(|(k, _)| created.set.contains(&k.as_str()))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                    dependencies: desired.dependencies.clone(),
                    prevent_destroy: desired.prevent_destroy,
                };
                self.record(state, |st| {
                    st.upsert(rec.clone());
                    st.pending.retain(|p| p.address != change.address);
                })?;
                let rest: Vec<String> = kind
                    .schema()
                    .iter()
                    .filter(|f| resolved.contains_key(f.name) && !created.set.contains(&f.name))
                    .map(|f| f.name.to_string())
                    .collect();
                kind.update(&ctx, &rec, &Attrs::new(), &resolved, &rest)
                    .await?;
                rec.attributes = resolved;
                self.record(state, |st| st.upsert(rec))?;
            }
            Action::Import | Action::Update => {
                if change.action == Action::Import
                    && let Some(found) = &change.prior
                {
                    // Recorded first, as found: from here on it is managed, whatever fails.
                    self.record(state, |st| {
                        st.upsert(found.clone());
                        st.pending.retain(|p| p.address != change.address);
                    })?;
                }
                let Some(prior) = lock(state).get(&change.address).cloned() else {
                    return Err(Failure::new(
                        "plan",
                        "the resource is not in the state any more; run plan again",
                    )
                    .into());
                };
                // An update acts where the resource is; a region change is a replacement.
                let ctx = self.ctx(&prior.region, &change.address);
                let names: Vec<String> = change.attributes.iter().map(|a| a.name.clone()).collect();
                let before: Attrs = change
                    .attributes
                    .iter()
                    .map(|a| (a.name.clone(), a.before.clone().unwrap_or(Value::Null)))
                    .collect();
                kind.update(&ctx, &prior, &before, &resolved, &names)
                    .await?;
                let mut rec = prior;
                for name in &names {
                    // An attribute the blueprint no longer sets was unset: stop recording it.
                    match resolved.get(name) {
                        Some(v) => rec.attributes.insert(name.clone(), v.clone()),
                        None => rec.attributes.remove(name),
                    };
                }
                rec.dependencies = desired.dependencies.clone();
                rec.prevent_destroy = desired.prevent_destroy;
                self.record(state, |st| st.upsert(rec))?;
            }
            Action::Delete => {}
        }
        Ok(())
    }

    fn ctx<'c>(&'c self, region: &'c str, address: &'c str) -> Ctx<'c> {
        Ctx {
            aws: self.aws,
            region,
            address,
            base_dir: self.base_dir,
            token: None,
        }
    }

    /// Changes the state and saves it at once, so a crash after this point loses nothing.
    fn record(
        &self,
        state: &Mutex<State>,
        change: impl FnOnce(&mut State),
    ) -> Result<(), StepError> {
        let mut st = lock(state);
        change(&mut st);
        self.save(&mut st).map_err(StepError::Save)
    }

    fn save(&self, st: &mut State) -> Result<(), String> {
        st.serial += 1;
        tracing::debug!(state = %self.backend.describe(), serial = st.serial, "saving state");
        self.backend
            .save(st)
            .map_err(|e| format!("saving the state failed, so the run stopped: {e}"))
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Replaces references (addresses) with the physical values of their targets in the state.
fn resolve_references(
    kind: &dyn ResourceKind,
    desired: &Desired,
    state: &State,
) -> Result<Attrs, Failure> {
    let one = |field: &str, target: &str| -> Result<Value, Failure> {
        let rec = state.get(target).ok_or_else(|| {
            Failure::new(
                "resolve",
                format!("`{field}` refers to `{target}`, which is not in the state"),
            )
        })?;
        Ok(resources::kind(&rec.kind)
            .map(|k| k.reference(rec))
            .unwrap_or(Value::Null))
    };
    let mut attrs = desired.attributes.clone();
    for field in kind.schema() {
        let resolved = match (field.ty, attrs.get(field.name)) {
            (Type::Ref(_), Some(Value::String(target))) => one(field.name, target)?,
            (Type::RefList(Some(_)), Some(Value::Array(targets))) => Value::Array(
                targets
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|t| one(field.name, t))
                    .collect::<Result<_, _>>()?,
            ),
            _ => continue,
        };
        attrs.insert(field.name, resolved);
    }
    Ok(attrs)
}

/// Which changes wait for which: creates and updates after what they depend on; a delete
/// after every change of a resource that depended on the deleted one.
fn edges(plan: &Plan) -> BTreeMap<String, BTreeSet<String>> {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for c in &plan.changes {
        let entry = edges.entry(c.address.clone()).or_default();
        if let Some(d) = &c.desired {
            entry.extend(d.dependencies.iter().cloned());
        }
    }
    for c in &plan.changes {
        if c.action != Action::Delete {
            continue;
        }
        let dependents = plan.changes.iter().filter(|other| {
            other
                .prior
                .as_ref()
                .is_some_and(|p| p.dependencies.contains(&c.address))
        });
        let waits: Vec<String> = dependents.map(|o| o.address.clone()).collect();
        edges.entry(c.address.clone()).or_default().extend(waits);
    }
    edges
}
