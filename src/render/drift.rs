//! The human form of a drift report: findings grouped by severity, then one summary line.

use std::fmt::Write;

use super::plan::value;
use super::{Color, Style};
use crate::drift::{Finding, Report, Severity, Status};

fn color_of(severity: Severity) -> Color {
    match severity {
        Severity::Critical | Severity::Deleted => Color::Red,
        Severity::Warning => Color::Yellow,
    }
}

pub fn render(report: &Report, style: Style) -> String {
    let mut out = String::new();
    for note in &report.notes {
        let _ = writeln!(out, "{} {note}", style.paint(Color::Yellow, "note:"));
    }
    if let Some(error) = &report.error {
        let _ = writeln!(out, "{} {error}", style.paint(Color::Red, "error:"));
    }
    for severity in [Severity::Critical, Severity::Deleted, Severity::Warning] {
        let group: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.severity == severity)
            .collect();
        if group.is_empty() {
            continue;
        }
        let title = format!("{} ({}):", severity.title(), group.len());
        let _ = writeln!(out, "{}", style.paint(color_of(severity), &title));
        let mut last: Option<&str> = None;
        for f in group {
            let headline = |out: &mut String| {
                let id =
                    f.id.as_ref()
                        .map(|id| format!(" ({id})"))
                        .unwrap_or_default();
                let _ = write!(
                    out,
                    "  {}{id} in {}",
                    style.paint(Color::Bold, &f.address),
                    f.region
                );
            };
            match &f.attribute {
                None => {
                    headline(&mut out);
                    let _ = writeln!(out, ": {}", f.message);
                    last = None;
                }
                Some(attribute) => {
                    if last != Some(f.address.as_str()) {
                        headline(&mut out);
                        out.push('\n');
                    }
                    let expected = match (&f.expected, f.expected_unknown) {
                        (_, true) => "(known after apply)".to_string(),
                        (Some(v), false) => value(v),
                        (None, false) => "null".to_string(),
                    };
                    let actual = f.actual.as_ref().map(value).unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "      {attribute}: expected {expected}, actual {actual} ({})",
                        f.message
                    );
                    last = Some(f.address.as_str());
                }
            }
        }
    }
    if !report.unmanaged.is_empty() {
        let title = format!("Unmanaged ({}):", report.unmanaged.len());
        let _ = writeln!(out, "{}", style.paint(Color::Yellow, &title));
        for u in &report.unmanaged {
            let whose = match &u.tagged_address {
                Some(address) => format!(
                    "tagged as `{address}` of this blueprint but not in its state (left behind?)"
                ),
                None => "managed by no blueprint".to_string(),
            };
            let _ = writeln!(
                out,
                "  {} {} in {}: {whose}",
                u.kind,
                style.paint(Color::Bold, &u.id),
                u.region
            );
            if u.problems.is_empty() {
                let _ = writeln!(out, "      no hardening problems found");
            }
            for p in &u.problems {
                let _ = writeln!(out, "      {p}");
            }
        }
    }
    if !report.ignored.is_empty() {
        let _ = writeln!(out, "Ignored ({}):", report.ignored.len());
        for i in &report.ignored {
            let what = match i.address.as_deref() {
                Some(address) => format!("{address} ({})", i.id),
                None => format!("{} {}", i.kind, i.id),
            };
            let _ = writeln!(out, "  {what} in {}, by `{}`", i.region, i.pattern);
        }
    }
    if !report.unreadable.is_empty() {
        let title = format!("Could not read ({}):", report.unreadable.len());
        let _ = writeln!(out, "{}", style.paint(Color::Red, &title));
        for u in &report.unreadable {
            let _ = writeln!(out, "  {u} (in {})", u.region);
        }
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(&summary(report, style));
    out.push('\n');
    out
}

fn summary(report: &Report, style: Style) -> String {
    let s = &report.summary;
    let ignored = match s.ignored {
        0 => String::new(),
        n => format!("; {n} ignored"),
    };
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    match report.status {
        Status::InSync => format!(
            "{} {} resource{} match the blueprint{ignored}.",
            style.paint(Color::Green, "In sync:"),
            s.resources,
            plural(s.resources)
        ),
        Status::Drift => {
            let counts: Vec<String> = [
                (s.critical, "critical"),
                (s.deleted, "deleted"),
                (s.warning, "warning"),
                (s.unmanaged, "unmanaged"),
            ]
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}"))
            .collect();
            format!(
                "{} {} in {} resource{} checked{ignored}. `rampart plan` shows the fix; `rampart apply` heals managed resources.",
                style.paint(Color::Red, "Drift:"),
                counts.join(", "),
                s.resources,
                plural(s.resources)
            )
        }
        Status::Error if report.error.is_some() => format!(
            "{} nothing could be read, so drift is unknown.",
            style.paint(Color::Red, "Could not tell:")
        ),
        Status::Error => format!(
            "{} {} could not be read, so drift is unknown ({} finding{} among the rest{ignored}).",
            style.paint(Color::Red, "Could not tell:"),
            match s.unreadable {
                1 => "1 resource".to_string(),
                n => format!("{n} resources"),
            },
            report.findings.len() + report.unmanaged.len(),
            plural(report.findings.len() + report.unmanaged.len())
        ),
    }
}
