//! Running the rules: subjects from a blueprint (or from AWS, built by `audit`), findings with
//! their blueprint locations, and waivers.

use std::borrow::Cow;
use std::collections::BTreeSet;

use chrono::NaiveDate;
use foldhash::{HashMap, HashMapExt};
use serde::Serialize;
use serde_json::Value;

use super::rules::RULES;
use super::{Breach, Check, Level, Mode, Rule, Subject, World};
use crate::blueprint::{Blueprint, Waiver};

/// Where in the blueprint a finding is, 1-based.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

/// A waiver that covers a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waived {
    pub reason: String,
    pub expires: String,
    /// An expired waiver covers nothing: the finding is a violation again.
    pub expired: bool,
}

/// One broken rule on one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub level: Level,
    pub title: &'static str,
    /// The address, or `KIND:ID` for a resource found in AWS, or `account`.
    pub resource: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiver: Option<Waived>,
}

/// What the rules say about a blueprint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Evaluation {
    /// Broken rules with no valid waiver: they stop `apply`.
    pub violations: Vec<Finding>,
    /// Broken rules a valid waiver covers: listed in every plan, never hidden.
    pub waived: Vec<Finding>,
    /// Waivers that cover nothing.
    pub notes: Vec<String>,
}

impl Evaluation {
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }
}

/// The address without a per-region suffix: `guardduty_detector.main[eu-west-1]` is
/// `guardduty_detector.main` in the blueprint.
pub fn base_address(address: &str) -> &str {
    address.split_once('[').map_or(address, |(base, _)| base)
}

/// The blueprint's resources as rules see them, and what the blueprint tells about the rest.
pub fn desired(bp: &Blueprint) -> (Vec<Subject<'_>>, World) {
    let mut world = World::default();
    // Regional baselines go to the blueprint's `regions`, else to its home region.
    if bp.regions.is_empty() {
        world.regions.insert(bp.region.clone());
    } else {
        world.regions.extend(bp.regions.iter().cloned());
    }
    // Sized once: 10 000 subjects are megabytes, and each doubling is fresh memory.
    let mut subjects = Vec::with_capacity(bp.resources.len());
    for r in &bp.resources {
        // The address and at most two names: sized once, not grown.
        let mut names = Vec::with_capacity(3);
        names.push(Cow::Borrowed(r.address.as_str()));
        names.extend(
            ["name", "identifier"]
                .iter()
                .filter_map(|f| r.attr(f).and_then(Value::as_str).map(Cow::Borrowed)),
        );
        let subject = Subject {
            kind: r.kind,
            resource: Cow::Borrowed(&r.address),
            names,
            region: Cow::Borrowed(bp.region_of(r)),
            attrs: Cow::Borrowed(&r.attrs),
            computed: Cow::Borrowed(&r.computed),
            mode: Mode::Desired,
        };
        observe(&mut world, &subject);
        subjects.push(subject);
    }
    (subjects, world)
}

/// Adds what one resource tells about the account: trails, what they log, detectors.
pub fn observe(world: &mut World, s: &Subject) {
    match s.kind {
        "s3_bucket" => {
            if let Some(Value::String(target)) = s.attr("access_logs") {
                world.log_targets.insert(target.clone());
            }
        }
        "cloudtrail" => {
            world.has_trail = true;
            if let Some(Value::String(bucket)) = s.attr("bucket") {
                world.trail_buckets.insert(bucket.clone());
            }
            if let Some(Value::Array(buckets)) = s.attr("data_events") {
                world
                    .data_events
                    .extend(buckets.iter().filter_map(Value::as_str).map(String::from));
            }
            let complete = s.is("multi_region", true)
                && s.is("logging", true)
                && !s.is("management_events", false);
            world.trails.push((s.resource.to_string(), complete));
        }
        "guardduty_detector" => world.detectors.push((
            s.resource.to_string(),
            s.region.to_string(),
            s.is("enabled", true),
        )),
        _ => {}
    }
}

/// Every breach of every rule: (rule, resource, region, breach).
pub fn judge(
    subjects: &[Subject],
    world: &World,
    mode: Mode,
) -> Vec<(&'static Rule, String, Option<String>, Breach)> {
    let mut out = Vec::new();
    // Each rule looks at a few kinds: their subjects are listed once, not searched per rule.
    let mut by_kind: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, s) in subjects.iter().enumerate() {
        by_kind.entry(s.kind).or_default().push(i);
    }
    for rule in RULES {
        match rule.check {
            Check::Resource(check) => {
                let mut concerned: Vec<usize> = rule
                    .kinds
                    .iter()
                    .filter_map(|k| by_kind.get(k))
                    .flatten()
                    .copied()
                    .collect();
                // In the subjects' order, as when they were filtered.
                if rule.kinds.len() > 1 {
                    concerned.sort_unstable();
                    concerned.dedup();
                }
                for s in concerned.into_iter().map(|i| &subjects[i]) {
                    if let Some(breach) = check(s, world) {
                        out.push((
                            *rule,
                            s.resource.to_string(),
                            Some(s.region.to_string()),
                            breach,
                        ));
                    }
                }
            }
            Check::Account { check, audit_only } => {
                // A blueprint without resources of the rule's kinds may rely on another one.
                let concerned = rule.kinds.iter().any(|k| by_kind.contains_key(k));
                if mode == Mode::Desired && (audit_only || !concerned) {
                    continue;
                }
                for (resource, breach) in check(world) {
                    let resource = resource.unwrap_or_else(|| "account".to_string());
                    out.push((*rule, resource, None, breach));
                }
            }
        }
    }
    out
}

/// The rules on a blueprint, with locations and its waivers as of `today`.
pub fn check_blueprint(bp: &Blueprint, today: NaiveDate) -> Evaluation {
    let (subjects, world) = desired(bp);
    let mut evaluation = Evaluation::default();
    let mut seen = BTreeSet::new();
    let mut used = vec![false; bp.waivers.len()];
    for (rule, resource, region, breach) in judge(&subjects, &world, Mode::Desired) {
        let base = base_address(&resource).to_string();
        // One blueprint resource per region is one finding, not one per region.
        if !seen.insert((rule.id, base.clone(), breach.field, breach.message.clone())) {
            continue;
        }
        let location = bp.resource(&resource).map(|r| {
            let at = bp.position(r, breach.field);
            Location {
                file: bp.path.display().to_string(),
                line: at.line,
                column: at.column,
            }
        });
        // A renewed waiver wins over the expired one it replaces.
        let covers = |w: &&Waiver| w.rule == rule.id && w.resource == base;
        let waiver = bp
            .waivers
            .iter()
            .position(|w| covers(&w) && w.expires >= today)
            .or_else(|| bp.waivers.iter().position(|w| covers(&w)));
        let mut finding = Finding {
            rule: rule.id,
            level: rule.level,
            title: rule.title,
            resource: base,
            region,
            field: breach.field,
            message: breach.message,
            location,
            waiver: None,
        };
        match waiver {
            Some(i) => {
                used[i] = true;
                let w = &bp.waivers[i];
                let expired = w.expires < today;
                finding.waiver = Some(Waived {
                    reason: w.reason.clone(),
                    expires: w.expires.to_string(),
                    expired,
                });
                if expired {
                    evaluation.violations.push(finding);
                } else {
                    evaluation.waived.push(finding);
                }
            }
            None => evaluation.violations.push(finding),
        }
    }
    for (w, used) in bp.waivers.iter().zip(used) {
        if !used {
            evaluation.notes.push(format!(
                "the waiver of {} for `{}` ({}:{}) covers no finding; remove it",
                w.rule, w.resource, w.position.line, w.position.column
            ));
        }
    }
    evaluation
}

/// The rules on what AWS holds (`audit`): no locations, no waivers.
pub fn audit(subjects: &[Subject], world: &World) -> Vec<Finding> {
    judge(subjects, world, Mode::Actual)
        .into_iter()
        .map(|(rule, resource, region, breach)| Finding {
            rule: rule.id,
            level: rule.level,
            title: rule.title,
            resource,
            region,
            field: breach.field,
            message: breach.message,
            location: None,
            waiver: None,
        })
        .collect()
}

/// Today in UTC: waivers expire at the end of their day.
pub fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixtures::blueprint;

    const BP: &str = r#"
[blueprint]
name = "t"
region = "eu-west-1"

[kms_key.data]
alias = "alias/data"
rotation = false
"#;

    fn waiver(expires: &str) -> String {
        format!(
            "\n[[waiver]]\nrule = \"RMP-KMS-001\"\nresource = \"kms_key.data\"\nreason = \"r\"\nexpires = \"{expires}\"\n"
        )
    }

    fn day(d: &str) -> NaiveDate {
        NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_violation_is_located_at_its_field() {
        let e = check_blueprint(&blueprint(BP), day("2026-12-01"));
        assert_eq!(e.violations.len(), 1);
        let at = e.violations[0].location.as_ref().unwrap();
        assert_eq!((at.line, at.column), (8, 12));
    }

    #[test]
    fn a_waiver_holds_through_its_last_day_and_a_renewal_beats_the_expired_one() {
        let bp = blueprint(&format!("{BP}{}", waiver("2026-12-01")));
        assert_eq!(check_blueprint(&bp, day("2026-12-01")).waived.len(), 1);
        let expired = check_blueprint(&bp, day("2026-12-02"));
        assert_eq!(expired.violations.len(), 1);
        assert!(expired.violations[0].waiver.as_ref().unwrap().expired);

        let renewed = blueprint(&format!(
            "{BP}{}{}",
            waiver("2026-01-31"),
            waiver("2027-06-30")
        ));
        let e = check_blueprint(&renewed, day("2026-12-02"));
        assert!(e.is_clean(), "{e:?}");
        assert_eq!(e.waived[0].waiver.as_ref().unwrap().expires, "2027-06-30");
    }

    #[test]
    fn a_waiver_names_a_known_rule_and_a_resource_without_its_region() {
        let unknown = BP.to_string() + &waiver("2027-01-01").replace("RMP-KMS-001", "RMP-KMS-01");
        let err = crate::blueprint::parse(std::path::Path::new("t.toml"), unknown.as_bytes())
            .unwrap_err();
        assert!(err[0].message.contains("unknown rule"), "{err:?}");
        let regional = BP.to_string()
            + &waiver("2027-01-01").replace("kms_key.data", "kms_key.data[eu-west-1]");
        let err = crate::blueprint::parse(std::path::Path::new("t.toml"), regional.as_bytes())
            .unwrap_err();
        assert!(err[0].message.contains("without its region"), "{err:?}");
    }
}
