//! Ctrl-C for a whole command, from one listener, so that no interrupt falls between phases.
//!
//! Before anything changed, the first Ctrl-C stops the command at once and cleanly (dropping
//! the session releases the state lock). During apply it asks the executor to stop starting
//! work; a second Ctrl-C exits at once, releasing the lock by hand.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use super::Exit;
use crate::state::LockHandle;

/// Counts interrupts and wakes whoever waits for one.
#[derive(Default)]
pub struct Interrupts {
    count: AtomicUsize,
    notify: Notify,
    /// Set while apply executes: the first interrupt then only asks it to stop.
    executing: AtomicBool,
    /// Released before a hard exit, which skips destructors.
    lock: Mutex<Option<LockHandle>>,
}

impl Interrupts {
    /// Starts listening; call once, inside the runtime, before any phase that may be stopped.
    pub fn listen() -> Arc<Interrupts> {
        let interrupts = Arc::new(Interrupts::default());
        let shared = interrupts.clone();
        tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                let n = shared.count.fetch_add(1, Ordering::SeqCst) + 1;
                shared.notify.notify_waiters();
                if shared.executing.load(Ordering::SeqCst) {
                    if n == 1 {
                        eprintln!(
                            "\nInterrupted: finishing the calls in flight and saving the state. Press Ctrl-C again to exit at once."
                        );
                    } else {
                        // Calls in flight are abandoned; the next plan reads back what they did.
                        if let Some(lock) = shared.lock.lock().ok().and_then(|l| l.clone()) {
                            lock.release();
                        }
                        std::process::exit(Exit::Interrupted as i32);
                    }
                }
            }
        });
        interrupts
    }

    pub fn happened(&self) -> bool {
        self.count.load(Ordering::SeqCst) > 0
    }

    async fn first(&self) {
        loop {
            let notified = self.notify.notified();
            if self.happened() {
                return;
            }
            notified.await;
        }
    }

    /// Runs `work` unless an interrupt comes first (or came already); `None` means it was
    /// interrupted and dropped, which releases whatever it held, the state lock included.
    pub async fn until_interrupted<T>(
        &self,
        work: impl Future<Output = anyhow::Result<T>>,
    ) -> anyhow::Result<Option<T>> {
        tokio::select! {
            biased;
            _ = self.first() => {
                eprintln!("\nInterrupted before any change; nothing was changed.");
                Ok(None)
            }
            result = work => result.map(Some),
        }
    }

    /// From here on an interrupt stops the executor instead of the command.
    pub fn executing(&self, lock: Option<LockHandle>) {
        if let Ok(mut l) = self.lock.lock() {
            *l = lock;
        }
        self.executing.store(true, Ordering::SeqCst);
    }

    /// The flag the executor polls.
    pub fn stop_flag(self: &Arc<Self>) -> StopFlag {
        StopFlag(self.clone())
    }
}

/// Whether the executor should stop starting work.
pub struct StopFlag(Arc<Interrupts>);

impl crate::apply::Stop for StopFlag {
    fn requested(&self) -> bool {
        self.0.happened()
    }
}
