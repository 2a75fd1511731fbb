//! Hardening findings as text: violations like compiler errors, waived findings beside them,
//! the rule list, one rule explained, and the audit's summary by framework.

use std::collections::BTreeSet;
use std::fmt::Write;

use super::{Color, Style};
use crate::policy::evaluate::{Evaluation, Finding};
use crate::policy::rules::RULES;
use crate::policy::{Level, Rule, rule};

fn color_of(level: Level) -> Color {
    match level {
        Level::Critical | Level::High => Color::Red,
        Level::Medium | Level::Low => Color::Yellow,
    }
}

/// One finding: `error[ID]` with where, what and how to fix it.
pub fn finding(out: &mut String, f: &Finding, style: Style) {
    let (tag, color) = match &f.waiver {
        Some(w) if !w.expired => ("waived", Color::Yellow),
        _ => ("error", color_of(f.level)),
    };
    let _ = writeln!(
        out,
        "{}: {} ({})",
        style.paint(color, &format!("{tag}[{}]", f.rule)),
        f.title,
        f.level.name()
    );
    if let Some(at) = &f.location {
        let _ = writeln!(out, "  --> {}:{}:{}", at.file, at.line, at.column);
    }
    let region = f
        .region
        .as_ref()
        .map(|r| format!(" (in {r})"))
        .unwrap_or_default();
    let _ = writeln!(out, "  {}{region}: {}", f.resource, f.message);
    match &f.waiver {
        Some(w) if w.expired => {
            let _ = writeln!(
                out,
                "  = the waiver expired on {} (\"{}\"): renew it or fix the resource",
                w.expires, w.reason
            );
        }
        Some(w) => {
            let _ = writeln!(out, "  = waived until {}: {}", w.expires, w.reason);
        }
        None => {
            if let Some(r) = rule(f.rule) {
                let _ = writeln!(out, "  = fix: {}", r.fix);
            }
        }
    }
}

/// Violations, then waived findings, then notes on waivers; empty when there is nothing.
pub fn evaluation(e: &Evaluation, style: Style) -> String {
    let mut out = String::new();
    for f in e.violations.iter().chain(&e.waived) {
        finding(&mut out, f, style);
    }
    for note in &e.notes {
        let _ = writeln!(out, "{} {note}", style.paint(Color::Yellow, "note:"));
    }
    out
}

/// The line that ends `check`.
pub fn summary(e: &Evaluation) -> String {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let n = e.violations.len();
    let waived = match e.waived.len() {
        0 => String::new(),
        w => format!(", {w} waived"),
    };
    match n {
        0 => format!("No violations of {} rules{waived}.", RULES.len()),
        _ => format!(
            "{n} violation{}{waived}: `apply` refuses this blueprint until each is fixed or waived.",
            plural(n)
        ),
    }
}

/// `rampart rules`: one line per rule.
pub fn list() -> String {
    let mut out = String::new();
    for r in RULES {
        let _ = writeln!(
            out,
            "{:<12} {:<8} {:<20} {}",
            r.id,
            r.level.name(),
            r.kinds.join(","),
            r.title
        );
    }
    let _ = writeln!(
        out,
        "\n{} rules. `rampart rules ID` explains one.",
        RULES.len()
    );
    out
}

/// `rampart rules ID`: everything about one rule.
pub fn explain(r: &Rule) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}: {}", r.id, r.title);
    let _ = writeln!(out, "severity: {}", r.level.name());
    let _ = writeln!(out, "applies to: {}", r.kinds.join(", "));
    let _ = writeln!(out, "\n{}\n", r.rationale);
    let _ = writeln!(out, "fix: {}", r.fix);
    let c = &r.controls;
    let rows = [
        ("seed checklist", c.seed),
        ("CIS AWS Foundations v3.0", c.cis),
        ("AWS FSBP", c.fsbp),
        ("frameworks", c.frameworks),
    ];
    let _ = writeln!(out, "\ncontrols:");
    for (name, ids) in rows.iter().filter(|(_, ids)| !ids.is_empty()) {
        let _ = writeln!(out, "  {name}: {}", ids.join("; "));
    }
    let _ = writeln!(
        out,
        "\nwaive it for one resource with:\n  [[waiver]]\n  rule = \"{}\"\n  resource = \"{}.NAME\"\n  reason = \"why the exception is accepted\"\n  expires = \"YYYY-MM-DD\"",
        r.id,
        r.kinds.first().copied().unwrap_or("KIND")
    );
    out
}

/// Passed and failed controls per framework, for the rules judged.
pub fn frameworks(
    findings: &[Finding],
    judged: &[&Rule],
) -> Vec<(&'static str, Vec<String>, Vec<String>)> {
    type Ids = fn(&Rule) -> &'static [&'static str];
    let frameworks: [(&str, Ids); 3] = [
        ("CIS AWS Foundations v3.0", |r| r.controls.cis),
        ("AWS FSBP", |r| r.controls.fsbp),
        ("Seed production checklist", |r| r.controls.seed),
    ];
    frameworks
        .iter()
        .map(|(name, ids)| {
            let all: BTreeSet<&str> = judged.iter().flat_map(|r| ids(r).iter().copied()).collect();
            let failed: BTreeSet<&str> = findings
                .iter()
                .filter_map(|f| rule(f.rule))
                .flat_map(|r| ids(r).iter().copied())
                .collect();
            let passed = all.difference(&failed).map(|s| s.to_string()).collect();
            (
                *name,
                passed,
                failed.into_iter().map(String::from).collect(),
            )
        })
        .collect()
}

/// The audit's table of passed and failed controls.
pub fn framework_table(rows: &[(&'static str, Vec<String>, Vec<String>)]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<28} {:>6} {:>6}  failed controls",
        "framework", "passed", "failed"
    );
    for (name, passed, failed) in rows {
        let _ = writeln!(
            out,
            "{:<28} {:>6} {:>6}  {}",
            name,
            passed.len(),
            failed.len(),
            failed.join(", ")
        );
    }
    out
}
