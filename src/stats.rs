//! What a run cost, for `--stats`: wall time per phase and the AWS calls it made.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::aws::traffic::{Count, Traffic};

/// Collected over one command.
#[derive(Debug, Default)]
pub struct Stats {
    phases: Mutex<Vec<(&'static str, Duration)>>,
    traffic: OnceLock<Arc<Traffic>>,
}

impl Stats {
    /// Adds the time since `since` to `phase`.
    pub fn phase(&self, phase: &'static str, since: Instant) {
        let took = since.elapsed();
        let mut phases = self.phases.lock().unwrap_or_else(|p| p.into_inner());
        match phases.iter_mut().find(|(name, _)| *name == phase) {
            Some((_, total)) => *total += took,
            None => phases.push((phase, took)),
        }
    }

    /// The bounds and counters every AWS client of this command shares; `parallelism` sets
    /// them the first time.
    pub fn traffic(&self, parallelism: usize) -> Arc<Traffic> {
        self.traffic
            .get_or_init(|| Traffic::new(parallelism))
            .clone()
    }

    pub fn report(&self) -> Report {
        let phases = self.phases.lock().unwrap_or_else(|p| p.into_inner());
        let traffic = self.traffic.get();
        let calls: Vec<Calls> = traffic
            .map(|t| t.counts())
            .unwrap_or_default()
            .into_iter()
            .map(|((service, operation), count)| Calls {
                service,
                operation,
                count,
            })
            .collect();
        let total = calls.iter().fold(Count::default(), |mut t, c| {
            t.calls += c.count.calls;
            t.retries += c.count.retries;
            t.throttled += c.count.throttled;
            t
        });
        Report {
            phases: phases
                .iter()
                .map(|(name, took)| Phase {
                    name,
                    seconds: took.as_secs_f64(),
                })
                .collect(),
            total,
            calls,
            slowed: traffic
                .map(|t| t.slowed())
                .unwrap_or_default()
                .into_iter()
                .map(|(service, region, lowest)| Slowed {
                    service,
                    region,
                    lowest,
                })
                .collect(),
        }
    }
}

/// `--stats=json`: one JSON object on the last line of stderr.
#[derive(Debug, Serialize)]
pub struct Report {
    pub phases: Vec<Phase>,
    pub total: Count,
    pub calls: Vec<Calls>,
    /// Services that throttled and the fewest calls in flight they were given.
    pub slowed: Vec<Slowed>,
}

#[derive(Debug, Serialize)]
pub struct Phase {
    pub name: &'static str,
    pub seconds: f64,
}

#[derive(Debug, Serialize)]
pub struct Calls {
    pub service: String,
    pub operation: String,
    #[serde(flatten)]
    pub count: Count,
}

#[derive(Debug, Serialize)]
pub struct Slowed {
    pub service: String,
    pub region: String,
    pub lowest: usize,
}
