//! SARIF 2.1.0 for code-scanning upload: every rule's metadata, and each finding located at
//! its blueprint file, line and column (or, from `audit`, at the resource it is about).

use serde_json::{Value, json};

use super::evaluate::Finding;
use super::rules::RULES;
use super::{Level, Rule};

fn sarif_level(level: Level) -> &'static str {
    match level {
        Level::Critical | Level::High => "error",
        Level::Medium => "warning",
        Level::Low => "note",
    }
}

/// GitHub code scanning ranks security results by this score (0-10).
fn security_severity(level: Level) -> &'static str {
    match level {
        Level::Critical => "9.5",
        Level::High => "8.0",
        Level::Medium => "5.5",
        Level::Low => "3.0",
    }
}

fn rule_entry(rule: &Rule) -> Value {
    let c = &rule.controls;
    let mut tags: Vec<String> = vec!["security".into()];
    tags.extend(c.cis.iter().map(|x| format!("CIS {x}")));
    tags.extend(c.fsbp.iter().map(|x| format!("FSBP {x}")));
    tags.extend(c.frameworks.iter().map(|x| x.to_string()));
    json!({
        "id": rule.id,
        "name": rule.title,
        "shortDescription": { "text": rule.title },
        "fullDescription": { "text": rule.rationale },
        "help": { "text": rule.fix },
        "defaultConfiguration": { "level": sarif_level(rule.level) },
        "properties": {
            "tags": tags,
            "security-severity": security_severity(rule.level),
            "kinds": rule.kinds,
            "seed": c.seed,
        },
    })
}

/// The blueprint's path as a SARIF URI: relative to the current directory (the checkout, in
/// CI), forward slashes, percent-encoded.
fn uri(file: &str) -> String {
    let path = std::path::Path::new(file);
    let relative = std::env::current_dir()
        .ok()
        .and_then(|cwd| {
            path.strip_prefix(cwd)
                .ok()
                .map(std::path::Path::to_path_buf)
        })
        .unwrap_or_else(|| path.to_path_buf());
    let text = relative.to_string_lossy().replace('\\', "/");
    let text = text.strip_prefix("./").unwrap_or(&text);
    percent_encoding::utf8_percent_encode(text, URI_UNSAFE).to_string()
}

/// What a path segment may not hold unescaped in a URI reference (`/` stays a separator).
const URI_UNSAFE: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// The SARIF log of `findings`; `waived` ones carry an accepted suppression.
pub fn log(findings: &[&Finding]) -> Value {
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let index = RULES.iter().position(|r| r.id == f.rule);
            let location = match &f.location {
                Some(at) => json!({
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri(&at.file), "uriBaseId": "%SRCROOT%" },
                        "region": { "startLine": at.line, "startColumn": at.column },
                    },
                    "logicalLocations": [{ "name": f.resource, "kind": "resource" }],
                }),
                None => json!({
                    "logicalLocations": [{ "name": f.resource, "kind": "resource" }],
                }),
            };
            let mut result = json!({
                "ruleId": f.rule,
                "ruleIndex": index,
                "level": sarif_level(f.level),
                "message": { "text": format!("{}: {}", f.resource, f.message) },
                "locations": [location],
            });
            if let Some(w) = f.waiver.as_ref().filter(|w| !w.expired) {
                result["suppressions"] = json!([{
                    "kind": "inSource",
                    "status": "accepted",
                    "justification": format!("{} (until {})", w.reason, w.expires),
                }]);
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "rampart",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": RULES.iter().map(|r| rule_entry(r)).collect::<Vec<_>>(),
                },
            },
            "results": results,
            // Columns count characters, as editors show them.
            "columnKind": "unicodeCodePoints",
        }],
    })
}
