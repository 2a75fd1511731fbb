//! rampart: provisions and guards a hardened AWS data platform from TOML blueprints.
//!
//! Code map (see ARCHITECTURE.md for the invariants):
//! - [`blueprint`]: TOML with spans -> validated model; diagnostics with `file:line:column`.
//! - [`graph`]: dependency cycles and the ready-queue walk.
//! - [`parallel`]: pure work over many items spread over the cores.
//! - [`resources`]: the resource-kind trait and one file per kind; the only SDK callers.
//! - [`aws`]: SDK configuration and shared clients; `aws::traffic` bounds and counts calls.
//! - [`plan`]: actions, attribute diff, the pure planner.
//! - [`apply`]: the executor and its progress reporter trait.
//! - [`drift`]: findings, severities, the drift report and the read-only IAM policy.
//! - [`policy`]: the hardening rules, one file each, their evaluation and SARIF output.
//! - [`state`]: the versioned state format and its backends.
//! - [`render`]: everything shown to users.
//! - [`stats`]: wall time per phase and AWS calls, for `--stats`.
//! - [`cli`]: the command line.

pub mod apply;
pub mod aws;
pub mod blueprint;
pub mod bootstrap;
pub mod cli;
pub mod drift;
pub mod graph;
#[cfg(test)]
mod hostile;
pub mod parallel;
pub mod plan;
pub mod policy;
pub mod render;
pub mod resources;
pub mod state;
pub mod stats;
