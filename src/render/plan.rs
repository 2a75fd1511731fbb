//! The human form of a plan: one block per changed resource, then the summary line.

use std::fmt::Write;

use serde_json::Value;

use super::{Color, Style};
use crate::plan::{Action, Change, Plan};

fn color_of(action: Action) -> Color {
    match action {
        Action::Import | Action::Create => Color::Green,
        Action::Update => Color::Yellow,
        Action::Replace | Action::Delete => Color::Red,
    }
}

/// A value as plans show it: strings quoted, documents and maps as compact JSON.
pub fn value(v: &Value) -> String {
    v.to_string()
}

/// The plan as text for stdout.
pub fn render(plan: &Plan, style: Style) -> String {
    let mut out = String::new();
    if let Some(e) = plan
        .policy
        .as_ref()
        .filter(|e| !e.violations.is_empty() || !e.waived.is_empty() || !e.notes.is_empty())
    {
        out.push_str("Hardening rules:\n");
        out.push_str(&super::policy::evaluation(e, style));
        out.push('\n');
    }
    for note in &plan.notes {
        let _ = writeln!(out, "{} {note}", style.paint(Color::Yellow, "note:"));
    }
    if !plan.notes.is_empty() {
        out.push('\n');
    }
    if !plan.refused.is_empty() {
        out.push_str("Protected, so not destroyed:\n");
        for r in &plan.refused {
            let _ = writeln!(out, "  {} {r}", style.paint(Color::Red, "refused:"));
        }
        out.push('\n');
    }
    if plan.changes.is_empty() {
        if plan.forget.is_empty() {
            out.push_str("No changes. The infrastructure matches the blueprint.\n");
        } else {
            out.push_str("No changes to resources; the state will drop what no longer exists.\n");
        }
        return out;
    }
    out.push_str("rampart will perform these actions:\n");
    let mut regions: Vec<&str> = plan.changes.iter().map(|c| c.region()).collect();
    regions.sort();
    regions.dedup();
    for region in &regions {
        // One region needs no headings; several are shown one after the other.
        if regions.len() > 1 {
            let _ = writeln!(
                out,
                "\n{}",
                style.paint(Color::Bold, &format!("Region {region}:"))
            );
        }
        for change in plan.changes.iter().filter(|c| c.region() == *region) {
            out.push('\n');
            block(&mut out, change, style);
        }
    }
    let s = &plan.summary;
    let imports = match s.import {
        0 => String::new(),
        n => format!("{n} to import, "),
    };
    let _ = writeln!(
        out,
        "\n{} {imports}{} to create, {} to update, {} to replace, {} to delete.",
        style.paint(Color::Bold, "Plan:"),
        s.create,
        s.update,
        s.replace,
        s.delete
    );
    let drifted = plan
        .changes
        .iter()
        .flat_map(|c| &c.attributes)
        .filter(|a| a.drift)
        .count();
    if drifted > 0 {
        let _ = writeln!(
            out,
            "{drifted} attribute{} drifted: changed outside rampart since the last apply, which heals {}.",
            if drifted == 1 { "" } else { "s" },
            if drifted == 1 { "it" } else { "them" }
        );
    }
    out
}

fn block(out: &mut String, change: &Change, style: Style) {
    let headline = match change.action {
        Action::Import if change.attributes.is_empty() => {
            "exists already and will be imported".to_string()
        }
        Action::Import => "exists already: it will be imported and updated to match".to_string(),
        Action::Create if change.prior.is_some() => {
            "was deleted outside rampart (drift) and will be created again".to_string()
        }
        Action::Create => "will be created".to_string(),
        Action::Update => "will be updated in place".to_string(),
        Action::Delete => "will be deleted".to_string(),
        Action::Replace => format!(
            "must be replaced (because {} cannot change in place)",
            change
                .replace_reasons()
                .iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let _ = writeln!(out, "  # {} {headline}", change.address);
    let id = change
        .id
        .as_ref()
        .map(|id| format!(" ({id})"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{:>3} {}{id}",
        style.paint(color_of(change.action), change.action.symbol()),
        style.paint(Color::Bold, &change.address)
    );
    let width = change
        .attributes
        .iter()
        .map(|a| a.name.len())
        .max()
        .unwrap_or(0);
    for a in &change.attributes {
        let after = if a.after_unknown {
            "(known after apply)".to_string()
        } else {
            value(&a.after)
        };
        let (symbol, text) = match (&a.before, change.action) {
            (None, _) => ("+", after),
            (Some(before), _) => ("~", format!("{} -> {after}", value(before))),
        };
        let mut marks = String::new();
        if a.drift {
            marks += &style.paint(Color::Red, " # drift: changed outside rampart");
        }
        if a.forces_replacement {
            marks += &style.paint(Color::Red, " # forces replacement");
        }
        let symbol = style.paint(
            if symbol == "+" {
                Color::Green
            } else {
                Color::Yellow
            },
            symbol,
        );
        let _ = writeln!(out, "      {symbol} {:<width$} = {text}{marks}", a.name);
    }
    if change.action == Action::Delete && change.kind == "kms_key" {
        let days = change
            .prior
            .as_ref()
            .and_then(|p| p.attributes.get("deletion_window_days"))
            .and_then(Value::as_i64)
            .unwrap_or(30);
        let _ = writeln!(
            out,
            "      (the key is scheduled for deletion in {days} days, not deleted at once)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{AttrChange, Summary};
    use serde_json::json;

    fn plan_with(changes: Vec<Change>) -> Plan {
        Plan {
            format_version: 1,
            blueprint: "t".into(),
            blueprint_path: "t.toml".into(),
            blueprint_sha256: String::new(),
            lineage: String::new(),
            serial: 0,
            destroy: false,
            summary: Summary {
                update: 1,
                ..Summary::default()
            },
            changes,
            forget: vec![],
            errors: vec![],
            refused: vec![],
            notes: vec![],
            policy: None,
        }
    }

    #[test]
    fn an_update_shows_old_and_new_values() {
        let plan = plan_with(vec![Change {
            address: "s3_bucket.raw".into(),
            kind: "s3_bucket".into(),
            action: Action::Update,
            id: Some("raw-bucket".into()),
            attributes: vec![
                AttrChange {
                    name: "versioning".into(),
                    before: Some(json!(true)),
                    after: json!(false),
                    after_unknown: false,
                    forces_replacement: false,
                    drift: false,
                },
                AttrChange {
                    name: "require_tls".into(),
                    before: Some(json!(false)),
                    after: json!(true),
                    after_unknown: false,
                    forces_replacement: false,
                    drift: true,
                },
            ],
            desired: None,
            prior: None,
        }]);
        let text = render(&plan, Style { color: false });
        assert!(text.contains("  ~ s3_bucket.raw (raw-bucket)\n"), "{text}");
        assert!(text.contains("~ versioning  = true -> false\n"), "{text}");
        assert!(
            text.contains("~ require_tls = false -> true # drift: changed outside rampart\n"),
            "{text}"
        );
        assert!(text.contains("Plan: 0 to create, 1 to update, 0 to replace, 0 to delete.\n"));
        assert!(text.ends_with("1 attribute drifted: changed outside rampart since the last apply, which heals it.\n"), "{text}");
    }

    #[test]
    fn no_changes_says_so() {
        let text = render(&plan_with(vec![]), Style { color: false });
        assert!(text.starts_with("No changes."));
    }
}
