//! The `rampart` binary: parse arguments, run the command, map the result to an exit code.

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use rampart::blueprint::LoadError;
use rampart::cli::{self, Cli, Exit};

// Planning a large blueprint is mostly small allocations (attribute trees, names); mimalloc
// makes them about twice as fast as the system allocator (bench/results.md). Its v2 line
// (the `v2` feature): at 10 003 resources the planning path's peak RSS is about a sixth lower
// than with v3, and memory touched for the first time is much of its cost.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    init_logging();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Usage errors are errors (1): exit 2 means "changes present" in rampart.
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ExitCode::SUCCESS,
                _ => ExitCode::from(Exit::Error as u8),
            };
        }
    };
    match cli::run(cli) {
        Ok(exit) => ExitCode::from(exit as u8),
        Err(err) => {
            match err.downcast_ref::<LoadError>() {
                Some(LoadError::Invalid(_)) => eprintln!("{err}"),
                _ => eprintln!("error: {err:#}"),
            }
            ExitCode::from(Exit::Error as u8)
        }
    }
}

/// Diagnostics go to stderr only when `RAMPART_LOG` asks (e.g. `RAMPART_LOG=debug`). The SDK's
/// own logs stay at `warn` unless named explicitly, because its debug output is noisy.
fn init_logging() {
    let Ok(level) = std::env::var("RAMPART_LOG") else {
        return;
    };
    let directive = if level.contains('=') {
        level
    } else {
        format!("warn,rampart={level}")
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&directive)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
