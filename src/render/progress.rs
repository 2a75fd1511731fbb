//! Progress of an apply on stderr: indicatif bars on a terminal, plain lines elsewhere (CI
//! logs), nothing at all when asked.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Color, Style};
use crate::apply::Reporter;
use crate::plan::Action;

fn doing(action: Action) -> &'static str {
    match action {
        Action::Import => "importing",
        Action::Create => "creating",
        Action::Update => "updating",
        Action::Replace => "replacing",
        Action::Delete => "deleting",
    }
}

fn done_line(style: Style, address: &str, action: Action, elapsed: Duration) -> String {
    format!(
        "{address}: {} after {:.1}s",
        style.paint(Color::Green, action.verb()),
        elapsed.as_secs_f64()
    )
}

fn failed_line(style: Style, address: &str, action: Action, error: &str) -> String {
    format!(
        "{address}: {} while {}: {error}",
        style.paint(Color::Red, "failed"),
        doing(action)
    )
}

/// One line per event, for logs and non-terminals.
pub struct Lines {
    pub style: Style,
}

impl Reporter for Lines {
    fn begin(&self, _total: usize) {}
    fn started(&self, address: &str, action: Action) {
        eprintln!("{address}: {}...", doing(action));
    }
    fn finished(&self, address: &str, action: Action, elapsed: Duration) {
        eprintln!("{}", done_line(self.style, address, action, elapsed));
    }
    fn failed(&self, address: &str, action: Action, error: &str) {
        eprintln!("{}", failed_line(self.style, address, action, error));
    }
    fn skipped(&self, address: &str, waited_for: &str) {
        eprintln!("{address}: skipped, because `{waited_for}` failed");
    }
    fn end(&self) {}
}

/// Says nothing: `--no-progress` on a terminal still gets the summary, not the stream.
pub struct Quiet;

impl Reporter for Quiet {
    fn begin(&self, _total: usize) {}
    fn started(&self, _address: &str, _action: Action) {}
    fn finished(&self, _address: &str, _action: Action, _elapsed: Duration) {}
    fn failed(&self, _address: &str, _action: Action, _error: &str) {}
    fn skipped(&self, _address: &str, _waited_for: &str) {}
    fn end(&self) {}
}

/// An overall bar with a spinner per resource in flight.
pub struct Bars {
    style: Style,
    multi: MultiProgress,
    total: ProgressBar,
    spinners: Mutex<HashMap<String, ProgressBar>>,
}

impl Bars {
    pub fn new(style: Style) -> Bars {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let total = multi.add(ProgressBar::new(0));
        total.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} changes  {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Bars {
            style,
            multi,
            total,
            spinners: Mutex::new(HashMap::new()),
        }
    }

    fn finish(&self, address: &str, line: String) {
        let spinner = self
            .spinners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(address);
        if let Some(s) = spinner {
            s.finish_and_clear();
            self.multi.remove(&s);
        }
        let _ = self.multi.println(line);
        self.total.inc(1);
    }
}

impl Reporter for Bars {
    fn begin(&self, total: usize) {
        self.total.set_length(total as u64);
    }
    fn started(&self, address: &str, action: Action) {
        let s = self.multi.add(ProgressBar::new_spinner());
        s.set_style(
            ProgressStyle::with_template("  {spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        s.set_message(format!("{address}: {}", doing(action)));
        s.enable_steady_tick(Duration::from_millis(120));
        self.spinners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(address.to_string(), s);
    }
    fn finished(&self, address: &str, action: Action, elapsed: Duration) {
        self.finish(address, done_line(self.style, address, action, elapsed));
    }
    fn failed(&self, address: &str, action: Action, error: &str) {
        self.finish(address, failed_line(self.style, address, action, error));
    }
    fn skipped(&self, address: &str, waited_for: &str) {
        let _ = self
            .multi
            .println(format!("{address}: skipped, because `{waited_for}` failed"));
        self.total.inc(1);
    }
    fn end(&self) {
        self.total.finish_and_clear();
    }
}
