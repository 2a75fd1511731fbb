//! `rampart audit`: every resource of the supported kinds in the given regions, managed or
//! not, and the account-wide settings, judged by the hardening rules. Read-only.

use std::borrow::Cow;

use futures::StreamExt;
use serde_json::{Value, json};

use super::{Exit, Format, Global};
use crate::aws::Aws;
use crate::blueprint::Attrs;
use crate::drift::Unreadable;
use crate::policy::evaluate::{self, Finding};
use crate::policy::rules::RULES;
use crate::policy::{Check, Mode, Subject, World, sarif};
use crate::render::{self, Style};
use crate::resources::{self, Ctx, Discovered, KINDS, ResourceKind};

pub struct Options {
    pub regions: Vec<String>,
    pub format: Format,
}

pub async fn run(global: &Global, options: &Options) -> anyhow::Result<Exit> {
    let regions: Vec<String> = match (&options.regions[..], &global.region) {
        ([], Some(region)) => vec![region.clone()],
        ([], None) => anyhow::bail!(
            "which regions should be audited?\n  = hint: give them, like `--regions eu-west-1,eu-central-1`"
        ),
        (given, _) => {
            let mut seen = std::collections::BTreeSet::new();
            given.iter().filter(|r| seen.insert(*r)).cloned().collect()
        }
    };
    let home = regions[0].clone();
    let aws = Aws::connect(&global.aws(&home)).await?;
    let account = aws.account_id().await?;

    let (subjects, mut unreadable) = read_everything(&aws, &regions, global.parallelism).await;
    let mut world = World {
        regions: regions.iter().cloned().collect(),
        ..World::default()
    };
    for s in &subjects {
        evaluate::observe(&mut world, s);
    }
    // Trails homed elsewhere (or in the organization's account) cover these regions too.
    match resources::trails_covering(&aws, &regions).await {
        Ok(trails) => world.trails.extend(trails),
        Err(f) => unreadable.push(Unreadable {
            address: "cloudtrail:*".into(),
            id: None,
            region: regions.join(","),
            error: format!("cannot list the trails that cover these regions: {f}"),
        }),
    }
    match resources::keys_pending_deletion(&aws, &regions).await {
        Ok(keys) => {
            world.keys_pending_deletion = keys.iter().map(|k| format!("kms_key:{}", k.id)).collect()
        }
        Err(f) => unreadable.push(Unreadable {
            address: "kms_key:*".into(),
            id: None,
            region: regions.join(","),
            error: format!("cannot list keys scheduled for deletion: {f}"),
        }),
    }
    let findings = evaluate::audit(&subjects, &world);
    let judged: Vec<&crate::policy::Rule> = RULES
        .iter()
        .copied()
        .filter(|r| {
            matches!(r.check, Check::Account { .. })
                || subjects.iter().any(|s| r.kinds.contains(&s.kind))
        })
        .collect();
    let table = render::policy::frameworks(&findings, &judged);
    match options.format {
        Format::Text => print!(
            "{}",
            text(
                &findings,
                &unreadable,
                &table,
                subjects.len(),
                Style::stdout(global.no_color)
            )
        ),
        Format::Json => {
            let frameworks: Vec<Value> = table
                .iter()
                .map(|(name, passed, failed)| {
                    json!({ "framework": name, "passed": passed, "failed": failed })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({
                    "format_version": 1,
                    "account_id": account,
                    "regions": regions,
                    "resources": subjects.len(),
                    "findings": findings,
                    "unreadable": unreadable,
                    "frameworks": frameworks,
                }))?
            );
        }
        Format::Sarif => {
            let all: Vec<&Finding> = findings.iter().collect();
            println!("{}", serde_json::to_string_pretty(&sarif::log(&all))?);
        }
    }
    Ok(if !unreadable.is_empty() {
        Exit::Error
    } else if !findings.is_empty() {
        Exit::Changes
    } else {
        Exit::Success
    })
}

fn text(
    findings: &[Finding],
    unreadable: &[Unreadable],
    table: &[(&'static str, Vec<String>, Vec<String>)],
    resources: usize,
    style: Style,
) -> String {
    let mut out = String::new();
    for f in findings {
        render::policy::finding(&mut out, f, style);
    }
    for u in unreadable {
        out.push_str(&format!("could not read {u} (in {})\n", u.region));
    }
    out.push('\n');
    out.push_str(&render::policy::framework_table(table));
    out.push_str(&match (findings.len(), unreadable.len()) {
        (_, n) if n > 0 => format!(
            "\nCould not tell: {n} could not be read; {} findings in {resources} resources.\n",
            findings.len()
        ),
        (0, _) => format!("\nNo findings in {resources} resources.\n"),
        (n, _) => format!("\n{n} findings in {resources} resources.\n"),
    });
    out
}

/// Lists and reads every resource of every kind; what cannot be read is reported, not skipped.
async fn read_everything(
    aws: &Aws,
    regions: &[String],
    parallelism: u16,
) -> (Vec<Subject<'static>>, Vec<Unreadable>) {
    let home = &regions[0];
    let mut unreadable = Vec::new();
    let listings = KINDS.iter().map(|kind| async move {
        let searched = match kind.global() {
            true => vec![home.clone()],
            false => regions.to_vec(),
        };
        (*kind, kind.discover(aws, &searched).await)
    });
    let mut found: Vec<(&'static dyn ResourceKind, Discovered)> = Vec::new();
    for (kind, listed) in futures::future::join_all(listings).await {
        match listed {
            Ok(list) => found.extend(list.into_iter().map(|d| (kind, d))),
            Err(f) => unreadable.push(Unreadable {
                address: format!("{}:*", kind.name()),
                id: None,
                region: regions.join(","),
                error: format!("cannot list them: {f}"),
            }),
        }
    }
    let base_dir = std::path::Path::new(".");
    let reads = found.into_iter().map(|(kind, d)| async move {
        let address = format!("{}:{}", kind.name(), d.id);
        // Every optional attribute counts as managed, so that every one is read.
        let everything: Attrs = kind
            .schema()
            .iter()
            .map(|f| (f.name.to_string(), Value::Null))
            .collect();
        let rec = d.recorded(kind.name(), &address);
        let ctx = Ctx {
            aws,
            region: &d.region,
            address: &address,
            base_dir,
            token: None,
        };
        let read = kind.read(&ctx, &rec, Some(&everything)).await;
        (kind, d, address, read)
    });
    let results: Vec<_> = futures::stream::iter(reads)
        .buffer_unordered(usize::from(parallelism))
        .collect()
        .await;
    let mut subjects = Vec::new();
    for (kind, d, address, read) in results {
        match read {
            Ok(Some(attrs)) => {
                let mut names = vec![Cow::Owned(d.id.clone())];
                names.extend(d.arn.clone().map(Cow::Owned));
                subjects.push(Subject {
                    kind: kind.name(),
                    resource: Cow::Owned(address),
                    names,
                    region: Cow::Owned(d.region),
                    attrs: Cow::Owned(attrs),
                    computed: Cow::Owned(Attrs::new()),
                    mode: Mode::Actual,
                });
            }
            Ok(None) => {}
            Err(f) => unreadable.push(Unreadable {
                address,
                id: Some(d.id),
                region: d.region,
                error: format!("cannot read it: {f}"),
            }),
        }
    }
    subjects.sort_by(|a, b| a.resource.cmp(&b.resource));
    unreadable.sort_by(|a, b| a.address.cmp(&b.address));
    (subjects, unreadable)
}
