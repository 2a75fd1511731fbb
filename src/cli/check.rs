//! `rampart check` (the hardening rules on a blueprint, without AWS) and `rampart rules`.

use std::path::Path;

use anyhow::bail;
use serde_json::json;

use super::{Exit, Format, Global, session};
use crate::blueprint::diagnostic::did_you_mean;
use crate::policy::evaluate::{self, Evaluation, Finding};
use crate::policy::rules::RULES;
use crate::policy::{rule, sarif};
use crate::render::{self, Style};

/// The findings of an evaluation in one of the three formats, on stdout.
pub fn print(e: &Evaluation, blueprint: &str, format: Format, style: Style) -> anyhow::Result<()> {
    match format {
        Format::Text => {
            print!("{}", render::policy::evaluation(e, style));
            println!("{}", render::policy::summary(e));
        }
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "format_version": 1,
                "blueprint": blueprint,
                "rules": RULES.len(),
                "violations": e.violations,
                "waived": e.waived,
                "notes": e.notes,
            }))?
        ),
        Format::Sarif => {
            let all: Vec<&Finding> = e.violations.iter().chain(&e.waived).collect();
            println!("{}", serde_json::to_string_pretty(&sarif::log(&all))?);
        }
    }
    Ok(())
}

pub fn run(global: &Global, path: &Path, format: Format) -> anyhow::Result<Exit> {
    let bp = session::load_blueprint(global, path)?;
    let e = evaluate::check_blueprint(&bp, evaluate::today());
    print(&e, &bp.name, format, Style::stdout(global.no_color))?;
    Ok(match e.is_clean() {
        true => Exit::Success,
        false => Exit::Changes,
    })
}

pub fn rules(id: Option<&str>, json: bool) -> anyhow::Result<Exit> {
    let Some(id) = id else {
        if json {
            let all: Vec<_> = RULES.iter().map(|r| rule_json(r)).collect();
            println!("{}", serde_json::to_string_pretty(&all)?);
        } else {
            print!("{}", render::policy::list());
        }
        return Ok(Exit::Success);
    };
    let Some(r) = rule(&id.to_ascii_uppercase()) else {
        let hint = did_you_mean(id, RULES.iter().map(|r| r.id))
            .map(|s| format!("did you mean `{s}`?"))
            .unwrap_or_else(|| "`rampart rules` lists them".into());
        bail!("there is no rule `{id}`\n  = hint: {hint}");
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&rule_json(r))?);
    } else {
        print!("{}", render::policy::explain(r));
    }
    Ok(Exit::Success)
}

fn rule_json(r: &crate::policy::Rule) -> serde_json::Value {
    json!({
        "id": r.id,
        "title": r.title,
        "severity": r.level,
        "kinds": r.kinds,
        "rationale": r.rationale,
        "fix": r.fix,
        "controls": r.controls,
        "audit_only": matches!(r.check, crate::policy::Check::Account { audit_only: true, .. }),
    })
}
