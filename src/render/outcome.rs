//! The closing summary of an apply or destroy.

use std::fmt::Write;

use super::{Color, Style};
use crate::apply::Outcome;
use crate::plan::Action;

pub fn render(outcome: &Outcome, style: Style, verb: &str) -> String {
    let count = |a: Action| outcome.done.iter().filter(|(_, x)| *x == a).count();
    let imports = match count(Action::Import) {
        0 => String::new(),
        n => format!("{n} imported, "),
    };
    let counts = format!(
        "{imports}{} created, {} updated, {} replaced, {} deleted",
        count(Action::Create),
        count(Action::Update),
        count(Action::Replace),
        count(Action::Delete)
    );
    let mut out = String::new();
    if outcome.ok() {
        let _ = writeln!(
            out,
            "{} {counts}.",
            style.paint(Color::Green, &format!("{verb} complete:"))
        );
        return out;
    }
    let _ = writeln!(
        out,
        "{} {counts}.",
        style.paint(Color::Red, &format!("{verb} incomplete:"))
    );
    for (address, error) in &outcome.failed {
        let _ = writeln!(out, "  failed:      {address}: {error}");
    }
    for (address, because) in &outcome.skipped {
        let _ = writeln!(out, "  skipped:     {address} (waits for `{because}`)");
    }
    for address in &outcome.not_started {
        let _ = writeln!(out, "  not started: {address}");
    }
    if let Some(fatal) = &outcome.fatal {
        let _ = writeln!(out, "  {fatal}");
    }
    let _ = writeln!(
        out,
        "Everything that succeeded is recorded in the state; run `rampart plan` to see what is left."
    );
    out
}
