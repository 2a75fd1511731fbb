//! Ctrl-C before anything changed: the command stops at once and cleanly, so its lock is
//! released. During apply the executor's stop flag takes over (see `apply.rs`).

use std::future::Future;

use super::Exit;

/// Runs `work` unless Ctrl-C comes first; `None` means it was interrupted (and dropped, which
/// releases whatever it held, the state lock included).
pub async fn until_interrupted<T>(
    work: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<Option<T>> {
    tokio::select! {
        result = work => result.map(Some),
        _ = tokio::signal::ctrl_c() => {
            eprintln!("\nInterrupted before any change; nothing was changed.");
            Ok(None)
        }
    }
}

/// The exit of a command interrupted before it changed anything.
pub fn interrupted() -> Exit {
    Exit::Interrupted
}
