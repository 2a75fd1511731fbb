//! The executor's view of progress; `render::progress` draws it, tests can record it.

use std::time::Duration;

use crate::plan::Action;

/// Receives the executor's progress; engine code never touches the terminal itself.
pub trait Reporter: Send + Sync {
    fn begin(&self, total: usize);
    fn started(&self, address: &str, action: Action);
    fn finished(&self, address: &str, action: Action, elapsed: Duration);
    fn failed(&self, address: &str, action: Action, error: &str);
    fn skipped(&self, address: &str, waited_for: &str);
    fn end(&self);
}
