//! Walks the spanned TOML tree against the schemas and builds a [`Blueprint`].

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use foldhash::{HashMap, HashMapExt};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use super::document::{self, Entry, Item, Node, Table};
use super::schema::{Default, Field, Type};
use super::{Attrs, Blueprint, Positions, Resource, StateConfig, Waiver, split_address};
use crate::graph;
use crate::parallel;
use crate::policy::evaluate::base_address;
use crate::resources;

const SECTIONS: [&str; 5] = ["blueprint", "tags", "state", "drift", "waiver"];

const BLUEPRINT_FIELDS: &[Field] = &[
    Field::optional(
        "name",
        Type::Str(Some(check_blueprint_name)),
        "names the blueprint and its state",
    )
    .required(),
    Field::optional("region", Type::Str(Some(check_region)), "home region").required(),
    Field::optional(
        "account_id",
        Type::Str(Some(check_account_id)),
        "the only AWS account apply may touch",
    ),
    Field::optional(
        "regions",
        Type::StrList(Some(check_region)),
        "regions of regional baselines",
    ),
];

const STATE_FIELDS: &[Field] = &[
    Field::optional(
        "backend",
        Type::Str(Some(check_backend)),
        "`local` (a file) or `s3` (an object)",
    )
    .default(Default::Str("local")),
    Field::optional(
        "path",
        Type::Str(None),
        "local: the state file, relative to the current directory",
    ),
    Field::optional("bucket", Type::Str(None), "s3: the state bucket"),
    Field::optional("key", Type::Str(None), "s3: the state object's key"),
    Field::optional(
        "region",
        Type::Str(Some(check_region)),
        "s3: the bucket's region; left out, the home region",
    ),
    Field::optional(
        "kms_key",
        Type::Str(None),
        "s3: the KMS key (ARN, id or alias) the state is encrypted with",
    ),
    Field::optional(
        "lock_lease_minutes",
        Type::Int { min: 1, max: 1440 },
        "s3: how long a lock holds without renewal",
    )
    .default(Default::Int(60)),
];

fn check_backend(name: &str) -> Result<(), String> {
    match name {
        "local" | "s3" => Ok(()),
        _ => Err("the backends are `local` and `s3`".into()),
    }
}

const DRIFT_FIELDS: &[Field] = &[Field::optional(
    "ignore",
    Type::StrList(Some(check_ignore_pattern)),
    "`KIND:PATTERN` of resources drift does not report (counted as ignored)",
)];

const WAIVER_FIELDS: &[Field] = &[
    Field::optional("rule", Type::Str(None), "the rule id, e.g. `RMP-S3-001`").required(),
    Field::optional(
        "resource",
        Type::Str(None),
        "the address it waives the rule for",
    )
    .required(),
    Field::optional(
        "reason",
        Type::Str(Some(check_reason)),
        "why the exception is accepted",
    )
    .required(),
    Field::optional(
        "expires",
        Type::Str(Some(check_date)),
        "the last day it holds, `YYYY-MM-DD`",
    )
    .required(),
];

/// Fields every resource takes besides those of its kind.
const META_FIELDS: &[Field] = &[
    Field::optional(
        "depends_on",
        Type::RefList(None),
        "resources to create before this one",
    ),
    Field::optional(
        "prevent_destroy",
        Type::Bool,
        "refuse any plan that deletes it",
    )
    .default(Default::Bool(false)),
    Field::optional(
        "region",
        Type::Str(Some(check_region)),
        "where it lives; left out, the home region",
    ),
];

/// A reference found while walking, checked once every resource is known.
struct RefSite {
    from: String,
    field: String,
    target: String,
    kind: Option<&'static str>,
    span: Range<usize>,
}

/// What walking the tree found, before the checks across resources.
struct Sections {
    header: Attrs,
    tags: BTreeMap<String, String>,
    state: StateConfig,
    drift_ignore: Vec<String>,
    waivers: Vec<(Waiver, Range<usize>)>,
    resources: Vec<(Resource, Written)>,
}

struct Walker<'a> {
    diags: Diagnostics<'a>,
    refs: Vec<RefSite>,
}

/// Parses and validates a blueprint. `bytes` is the file's content; `path` names it in errors.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Blueprint, Vec<Diagnostic>> {
    parse_with(path, bytes.to_vec(), &mut |_, _| {})
}

/// [`parse`], telling `early` the blueprint's name and state configuration as soon as they
/// are read, before its resources are walked (so that the state can be read meanwhile). It is
/// not told if either is wrong, and the blueprint may still prove invalid after it is told.
pub fn parse_with(
    path: &Path,
    bytes: Vec<u8>,
    early: &mut dyn FnMut(&str, &StateConfig),
) -> Result<Blueprint, Vec<Diagnostic>> {
    // The blueprint keeps this very buffer for its positions.
    let text = match String::from_utf8(bytes) {
        Ok(text) => Arc::new(text),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let valid = String::from_utf8_lossy(&e.as_bytes()[..at]).into_owned();
            let mut diags = Diagnostics::new(path, &valid);
            diags.error_hint(
                &(at..at),
                "the blueprint is not valid UTF-8 text",
                "a blueprint is a TOML file; check that the right file was given",
            );
            return Err(diags.into_vec());
        }
    };
    let source = text.as_str();
    let mut w = Walker {
        diags: Diagnostics::new(path, source),
        refs: Vec::new(),
    };
    // Recovering parse: every syntax error of the file at once, not only the first.
    let (root, syntax) = document::parse(source);
    if !syntax.is_empty() {
        let mut seen = Vec::new();
        for e in syntax {
            let span = e.span().unwrap_or(0..0);
            if seen.contains(&span.start) {
                continue;
            }
            seen.push(span.start);
            w.diags.error_hint(
                &span,
                format!("invalid TOML: {}", e.message().trim_end()),
                "fix the TOML syntax at this position",
            );
        }
        return Err(w.diags.into_vec());
    }
    let sections = w.sections(root, early);
    let bp = sections.and_then(|sections| w.finish(path, &text, sections));
    if w.diags.is_empty()
        && let Some(bp) = bp
    {
        return Ok(bp);
    }
    Err(w.diags.into_vec())
}

impl Walker<'_> {
    /// Walks the tree's sections and resources, telling `early` the name and state first.
    fn sections(
        &mut self,
        root: Table,
        early: &mut dyn FnMut(&str, &StateConfig),
    ) -> Option<Sections> {
        let mut header = None;
        let mut tags = BTreeMap::new();
        let mut state = StateConfig::Local { path: None };
        let mut drift_ignore = Vec::new();
        let mut waivers = Vec::new();
        let mut resources = Vec::new();

        // The header and the state first, wherever they are written, for `early`.
        if let Some(value) = root.get("blueprint") {
            header = self.table(BLUEPRINT_FIELDS, value, "[blueprint]");
        }
        if let Some(value) = root.get("state")
            && let Some(t) = self.table(STATE_FIELDS, value, "[state]")
        {
            state = self.state_config(&t, value.span.clone());
        }
        if self.diags.is_empty()
            && let Some(name) = header.as_ref().and_then(|h| h.get("name")?.as_str())
        {
            early(name, &state);
        }
        let has_header = root.get("blueprint").is_some();
        // The tree is taken apart as it is walked: each resource's part is freed once its
        // attributes are made, and what comes next reuses that memory instead of fresh
        // pages (at 10 000 resources, about 12 MB less committed than freeing the tree on a
        // thread of its own afterwards, and no slower).
        for Entry { key, node: value } in root {
            let name = key.name.as_ref();
            match name {
                "blueprint" | "state" => {}
                "tags" => {
                    if let Some(t) = self.convert(&Type::StrMap, &value, "[tags]", "tags") {
                        tags = string_map(&t);
                        self.check_tags(&tags, value.span.clone());
                    }
                }
                "waiver" => waivers = self.waivers(&value),
                "drift" => {
                    if let Some(t) = self.table(DRIFT_FIELDS, &value, "[drift]") {
                        drift_ignore = t
                            .get("ignore")
                            .and_then(Value::as_array)
                            .map(|a| {
                                a.iter()
                                    .filter_map(Value::as_str)
                                    .map(String::from)
                                    .collect()
                            })
                            .unwrap_or_default();
                    }
                }
                _ => match resources::kind(name) {
                    Some(kind) => self.resources_of(kind, value, &mut resources),
                    None => {
                        let candidates = SECTIONS.iter().copied().chain(resources::kind_names());
                        let hint = match did_you_mean(name, candidates) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => format!(
                                "known sections: {}; resource kinds: {}",
                                SECTIONS.join(", "),
                                resources::kind_names().collect::<Vec<_>>().join(", ")
                            ),
                        };
                        self.diags.error_hint(
                            &key.span,
                            format!("unknown section or resource kind `{name}`"),
                            hint,
                        );
                    }
                },
            }
        }

        let header = match header {
            Some(h) => h,
            None => {
                if !has_header {
                    self.diags.error_hint(
                        &(0..0),
                        "missing `[blueprint]` section",
                        "start the file with `[blueprint]`, `name = \"...\"` and `region = \"...\"`",
                    );
                }
                return None;
            }
        };
        Some(Sections {
            header,
            tags,
            state,
            drift_ignore,
            waivers,
            resources,
        })
    }

    /// The checks across resources, and the blueprint if they pass.
    fn finish(&mut self, path: &Path, text: &Arc<String>, sections: Sections) -> Option<Blueprint> {
        let source = text.as_str();
        let header = &sections.header;
        let home = header.get("region").and_then(Value::as_str).unwrap_or("");
        let regions: Vec<String> = header
            .get("regions")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        let mut resources = expand_per_region(sections.resources, home, &regions);
        let base_dir = path.parent().unwrap_or(Path::new("."));
        for (r, written) in &mut resources {
            let Some(kind) = resources::kind(r.kind) else {
                continue;
            };
            for (field, message, hint) in kind.prepare(&mut r.attrs, base_dir) {
                self.diags.error_hint(
                    &written.of(field),
                    format!("`{field}` in `{}`: {message}", r.address),
                    hint,
                );
            }
        }
        let (mut resources, written): (Vec<Resource>, Vec<Written>) = resources.into_iter().unzip();
        let positions = parallel::map(&written, |w| Positions {
            header: w.header.start,
            fields: w
                .fields
                .iter()
                .map(|(field, span)| (*field, span.start))
                .collect(),
        });
        for (r, positions) in resources.iter_mut().zip(positions) {
            r.positions = positions;
        }
        let name = header.get("name").and_then(Value::as_str).unwrap_or("");
        // The cycle check and the file's digest need nothing the other checks find: for a
        // large file they run on a thread beside them.
        let ((cycle, source_sha256), computed) = parallel::join(
            document::is_large(source),
            || {
                let cycle = graph::find_cycle(
                    resources
                        .iter()
                        .map(|r| (r.address.as_str(), r.dependencies.as_slice())),
                );
                (cycle, hex::encode(Sha256::digest(source.as_bytes())))
            },
            || {
                let (waivers, tags) = (&sections.waivers, &sections.tags);
                self.across(waivers, &resources, &written, home, tags, name)
            },
        );
        for (r, computed) in resources.iter_mut().zip(computed) {
            r.computed = computed;
        }
        if let Some(cycle) = cycle {
            let span = resources
                .iter()
                .position(|r| r.address == cycle[0])
                .map_or(0..0, |i| written[i].header.clone());
            self.diags.error_hint(
                &span,
                format!("dependency cycle: {}", cycle.join(" -> ")),
                "remove one of these references or `depends_on` entries",
            );
        }

        Some(Blueprint {
            path: path.to_path_buf(),
            source_sha256,
            name: header.get("name")?.as_str()?.to_string(),
            region: header.get("region")?.as_str()?.to_string(),
            account_id: header
                .get("account_id")
                .and_then(Value::as_str)
                .map(String::from),
            regions,
            tags: sections.tags,
            state: sections.state,
            drift_ignore: sections.drift_ignore,
            waivers: sections.waivers.into_iter().map(|(w, _)| w).collect(),
            resources,
            source_map: self.diags.source_map(Arc::clone(text)),
        })
    }

    /// The `[state]` table as a backend: each backend's fields, and only those.
    fn state_config(&mut self, t: &Attrs, span: Range<usize>) -> StateConfig {
        let text = |f: &str| t.get(f).and_then(Value::as_str).map(String::from);
        let s3_only = ["bucket", "key", "region", "kms_key"];
        if text("backend").as_deref() != Some("s3") {
            for f in s3_only.iter().filter(|f| t.contains_key(f)) {
                self.diags.error_hint(
                    &span,
                    format!("`{f}` in `[state]` is for the s3 backend"),
                    "add `backend = \"s3\"`, or remove it",
                );
            }
            return StateConfig::Local {
                path: text("path").map(PathBuf::from),
            };
        }
        if t.contains_key("path") {
            self.diags.error_hint(
                &span,
                "`path` in `[state]` is for the local backend",
                "an s3 state is named by `bucket` and `key`",
            );
        }
        for f in ["bucket", "key", "kms_key"] {
            if !t.contains_key(f) {
                self.diags.error_hint(
                    &span,
                    format!("the s3 state backend needs `{f}`"),
                    "`rampart bootstrap` creates a state bucket and key and writes them here",
                );
            }
        }
        StateConfig::S3 {
            bucket: text("bucket").unwrap_or_default(),
            key: text("key").unwrap_or_default(),
            region: text("region"),
            kms_key: text("kms_key").unwrap_or_default(),
            lock_lease_minutes: t
                .get("lock_lease_minutes")
                .and_then(Value::as_i64)
                .unwrap_or(60),
        }
    }

    /// `[[waiver]]` tables, each with where it is written.
    fn waivers(&mut self, value: &Node) -> Vec<(Waiver, Range<usize>)> {
        let Item::Array(items) = &value.item else {
            self.diags.error_hint(
                &value.span,
                "`waiver` must be an array of tables",
                "write each waiver as `[[waiver]]` with `rule`, `resource`, `reason` and `expires`",
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items.iter() {
            let Some(t) = self.table(WAIVER_FIELDS, item, "[[waiver]]") else {
                continue;
            };
            let text = |f: &str| t.get(f).and_then(Value::as_str).unwrap_or("").to_string();
            let Ok(expires) = chrono::NaiveDate::parse_from_str(&text("expires"), "%Y-%m-%d")
            else {
                continue;
            };
            out.push((
                Waiver {
                    rule: text("rule"),
                    resource: text("resource"),
                    reason: text("reason"),
                    expires,
                    position: self.diags.position(item.span.clone().start),
                },
                item.span.clone(),
            ));
        }
        out
    }

    /// Each waiver names a rule that exists and a resource of the blueprint it applies to.
    fn check_waivers(&mut self, waivers: &[(Waiver, Range<usize>)], resources: &[Resource]) {
        for (w, span) in waivers {
            let Some(rule) = crate::policy::rule(&w.rule) else {
                let ids = crate::policy::rules::RULES.iter().map(|r| r.id);
                let hint = match did_you_mean(&w.rule, ids) {
                    Some(s) => format!("did you mean `{s}`? `rampart rules` lists them"),
                    None => "`rampart rules` lists the rule ids".to_string(),
                };
                self.diags
                    .error_hint(span, format!("waiver of unknown rule `{}`", w.rule), hint);
                continue;
            };
            let target = resources
                .iter()
                .find(|r| r.address == w.resource || base_address(&r.address) == w.resource);
            if w.resource.contains('[') {
                self.diags.error_hint(
                    span,
                    format!(
                        "waiver for `{}`: name the resource without its region",
                        w.resource
                    ),
                    format!(
                        "write `resource = \"{}\"`: a waiver covers every region",
                        base_address(&w.resource)
                    ),
                );
                continue;
            }
            // A waiver of a resource the blueprint no longer has covers nothing: the
            // evaluation notes it, so that removing a resource needs no second edit.
            if let Some(r) = target.filter(|r| !rule.kinds.contains(&r.kind)) {
                self.diags.error_hint(
                    span,
                    format!(
                        "{} does not apply to `{}` (a {})",
                        rule.id, w.resource, r.kind
                    ),
                    format!("{} applies to {}", rule.id, rule.kinds.join(", ")),
                );
            }
        }
    }

    fn resources_of(
        &mut self,
        kind: &'static dyn resources::ResourceKind,
        value: Node,
        out: &mut Vec<(Resource, Written)>,
    ) {
        let Item::Table(table) = value.item else {
            self.diags.error_hint(
                &value.span,
                format!("`{}` must hold tables of resources", kind.name()),
                format!("write each resource as `[{}.NAME]`", kind.name()),
            );
            return;
        };
        out.reserve(table.len());
        let fields: Vec<Field> = kind.schema().iter().chain(META_FIELDS).copied().collect();
        let references: Vec<&Field> = kind.schema().iter().filter(|f| f.ty.resolves()).collect();
        for Entry { key, node: body } in table {
            let name = key.name.as_ref();
            // Joined by hand: `format!` costs ten times as much, 10 000 times for a large file.
            let address = [kind.name(), ".", name].concat();
            if let Err(why) = check_resource_name(name) {
                self.diags.error_hint(
                    &key.span,
                    format!("invalid resource name `{name}`: {why}"),
                    "use lowercase letters, digits, `_` and `-`, starting with a letter",
                );
                continue;
            }
            let mut written = Written {
                header: key.span.clone(),
                fields: Vec::new(),
            };
            let Some(mut attrs) = self.table_at(&fields, &body, &address, &mut written.fields)
            else {
                continue;
            };
            if let Some(Value::Object(own)) = attrs.get("tags") {
                for (k, v) in own {
                    if let Err(why) = check_tag(k, v.as_str().unwrap_or("")) {
                        self.diags.error(
                            &written.of("tags"),
                            format!("tag `{k}` of `{address}`: {why}"),
                        );
                    }
                }
            }
            let region = attrs
                .remove("region")
                .and_then(|v| v.as_str().map(String::from));
            let prevent_destroy = attrs
                .remove("prevent_destroy")
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            let mut dependencies: Vec<String> = Vec::new();
            if let Some(Value::Array(list)) = attrs.remove("depends_on") {
                dependencies.extend(list.iter().filter_map(Value::as_str).map(String::from));
            }
            for field in &references {
                if let Some(value) = attrs.get(field.name) {
                    let targets = field.ty.targets(value).iter().filter_map(Value::as_str);
                    dependencies.extend(targets.map(String::from));
                }
            }
            dependencies.sort();
            dependencies.dedup();
            out.push((
                Resource {
                    address,
                    kind: kind.name(),
                    attrs,
                    computed: Attrs::new(),
                    dependencies,
                    prevent_destroy,
                    region,
                    positions: Positions::default(),
                },
                written,
            ));
        }
    }

    /// Walks a table against `fields`: unknown fields, missing required ones, defaults.
    ///
    /// A table with bad fields still yields what could be read, so that references to its
    /// resource resolve and one mistake is not reported again at every reference.
    fn table(&mut self, fields: &[Field], value: &Node, ctx: &str) -> Option<Attrs> {
        self.table_at(fields, value, ctx, &mut Vec::new())
    }

    /// [`Walker::table`], adding to `spans` where each of the fields is written.
    fn table_at(
        &mut self,
        fields: &[Field],
        value: &Node,
        ctx: &str,
        spans: &mut Vec<(&'static str, Range<usize>)>,
    ) -> Option<Attrs> {
        let Item::Table(table) = &value.item else {
            self.diags.error(
                &value.span,
                format!("`{ctx}` must be a table, found {}", describe(&value.item)),
            );
            return None;
        };
        // Collected first and sorted once: a table's entries come in key order, the
        // defaults after them.
        let mut attrs = Vec::with_capacity(fields.len());
        // Fields written but invalid are reported once, for what is wrong, not as missing.
        let mut present = vec![false; fields.len()];
        for (key, v) in table.iter() {
            let name = key.name.as_ref();
            let found = fields.iter().position(|f| f.name == name);
            if let Some(i) = found {
                present[i] = true;
                spans.push((fields[i].name, v.span.clone()));
            }
            match found.map(|i| &fields[i]).filter(|f| !f.computed) {
                Some(field) => {
                    if let Some(val) = self.convert(&field.ty, v, ctx, name) {
                        attrs.push((field.name, val));
                    }
                }
                None => {
                    let settable = || fields.iter().filter(|f| !f.computed).map(|f| f.name);
                    let hint = match did_you_mean(name, settable()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None if fields.iter().any(|f| f.name == name) => {
                            format!("`{name}` is derived by rampart and cannot be set")
                        }
                        None => format!(
                            "`{ctx}` takes: {}",
                            settable().collect::<Vec<_>>().join(", ")
                        ),
                    };
                    self.diags.error_hint(
                        &key.span,
                        format!("unknown field `{name}` in `{ctx}`"),
                        hint,
                    );
                }
            }
        }
        for (field, _) in fields.iter().zip(present).filter(|(_, present)| !present) {
            if field.required {
                self.diags.error_hint(
                    &value.span,
                    format!("`{ctx}` is missing the required field `{}`", field.name),
                    format!("add `{} = ...` ({})", field.name, field.doc),
                );
            } else if let Some(default) = field.default.value() {
                attrs.push((field.name, default));
            }
        }
        Some(attrs.into_iter().collect())
    }

    /// Converts one TOML value to the field's type, reporting a mismatch.
    fn convert(&mut self, ty: &Type, value: &Node, ctx: &str, name: &str) -> Option<Value> {
        let span = value.span.clone();
        let mismatch = |w: &mut Self| {
            w.diags.error_hint(
                &span,
                format!(
                    "`{name}` in `{ctx}` must be {}, found {}",
                    ty.describe(),
                    describe(&value.item)
                ),
                ty.example(name),
            );
            None
        };
        match (ty, &value.item) {
            (Type::Bool, Item::Boolean(b)) => Some(Value::Bool(*b)),
            (Type::Int { min, max }, Item::Integer { digits, radix }) => {
                match i64::from_str_radix(digits, *radix) {
                    Ok(n) if (*min..=*max).contains(&n) => Some(Value::from(n)),
                    _ => {
                        self.diags.error_hint(
                            &span,
                            format!("`{name}` in `{ctx}` is out of range"),
                            format!("use an integer from {min} to {max}"),
                        );
                        None
                    }
                }
            }
            (Type::Str(check), Item::String(s)) => {
                if let Some(Err(why)) = check.map(|c| c(s)) {
                    self.diags
                        .error(&span, format!("`{name}` in `{ctx}`: {why} (got `{s}`)"));
                    return None;
                }
                Some(Value::String(s.to_string()))
            }
            (Type::Json, Item::String(s)) => match serde_json::from_str::<Value>(s) {
                Ok(doc @ Value::Object(_)) => Some(doc),
                Ok(_) => {
                    self.diags
                        .error(&span, format!("`{name}` in `{ctx}` must be a JSON object"));
                    None
                }
                Err(e) => {
                    self.diags.error_hint(
                        &span,
                        format!("`{name}` in `{ctx}` is not valid JSON: {e}"),
                        "write the document in a TOML multi-line literal string ('''...''')",
                    );
                    None
                }
            },
            (Type::Ref(kind), Item::String(s)) => {
                self.refs.push(RefSite {
                    from: ctx.to_string(),
                    field: name.to_string(),
                    target: s.to_string(),
                    kind: Some(kind),
                    span,
                });
                Some(Value::String(s.to_string()))
            }
            (Type::RefList(kind), Item::Array(items)) => {
                let mut out = Vec::new();
                for item in items.iter() {
                    match &item.item {
                        Item::String(s) => {
                            self.refs.push(RefSite {
                                from: ctx.to_string(),
                                field: name.to_string(),
                                target: s.to_string(),
                                kind: *kind,
                                span: item.span.clone(),
                            });
                            out.push(Value::String(s.to_string()));
                        }
                        other => {
                            self.diags.error(
                                &item.span,
                                format!(
                                    "`{name}` in `{ctx}` must list addresses as strings, found {}",
                                    describe(other)
                                ),
                            );
                            return None;
                        }
                    }
                }
                Some(Value::Array(out))
            }
            (Type::StrList(check), Item::Array(items)) => {
                let mut out = Vec::new();
                for item in items.iter() {
                    let Item::String(s) = &item.item else {
                        self.diags.error(
                            &item.span,
                            format!(
                                "`{name}` in `{ctx}` must be a list of strings, found {}",
                                describe(&item.item)
                            ),
                        );
                        return None;
                    };
                    if let Some(Err(why)) = check.map(|c| c(s)) {
                        self.diags.error(
                            &item.span,
                            format!("`{name}` in `{ctx}`: {why} (got `{s}`)"),
                        );
                        return None;
                    }
                    out.push(Value::String(s.to_string()));
                }
                Some(Value::Array(out))
            }
            (Type::StrMap, Item::Table(t)) => {
                let mut out = serde_json::Map::new();
                for (k, v) in t.iter() {
                    let Item::String(s) = &v.item else {
                        self.diags.error(
                            &v.span,
                            format!(
                                "`{}` in `{ctx}` must be a string, found {}",
                                k.name,
                                describe(&v.item)
                            ),
                        );
                        return None;
                    };
                    out.insert(k.name.to_string(), Value::String(s.to_string()));
                }
                Some(Value::Object(out))
            }
            (Type::PolicyMap, Item::Table(t)) => {
                let mut out = serde_json::Map::new();
                for (k, v) in t.iter() {
                    let doc = match &v.item {
                        Item::String(s) => serde_json::from_str::<Value>(s).ok(),
                        other => toml_to_json(other),
                    };
                    match doc {
                        Some(doc @ Value::Object(_)) => {
                            out.insert(k.name.to_string(), doc);
                        }
                        _ => {
                            self.diags.error_hint(
                                &v.span,
                                format!("policy `{}` in `{ctx}` is not a JSON object", k.name),
                                "write the document as JSON in a '''...''' string, or as a TOML table",
                            );
                            return None;
                        }
                    }
                }
                Some(Value::Object(out))
            }
            (Type::Table(fields), Item::Table(_)) => self
                .table(fields, value, &format!("{ctx}.{name}"))
                .map(|attrs| {
                    Value::Object(attrs.into_iter().map(|(k, v)| (k.into(), v)).collect())
                }),
            _ => mismatch(self),
        }
    }

    fn check_references(&mut self, resources: &[Resource]) {
        let known: HashMap<&str, &str> = resources
            .iter()
            .map(|r| (r.address.as_str(), r.kind))
            .collect();
        for site in std::mem::take(&mut self.refs) {
            let Some((kind, _)) = split_address(&site.target) else {
                self.diags.error_hint(
                    &site.span,
                    format!(
                        "`{}` in `{}` is not a resource address: `{}`",
                        site.field, site.from, site.target
                    ),
                    "write an address as `kind.name`, for example \"kms_key.data\"",
                );
                continue;
            };
            match known.get(site.target.as_str()) {
                None => {
                    let hint = match did_you_mean(&site.target, known.keys().copied()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "declare the resource, or fix the address".to_string(),
                    };
                    self.diags.error_hint(
                        &site.span,
                        format!(
                            "`{}` in `{}` refers to `{}`, which the blueprint does not declare",
                            site.field, site.from, site.target
                        ),
                        hint,
                    );
                }
                Some(actual) => {
                    if let Some(expected) = site.kind
                        && *actual != expected
                    {
                        self.diags.error_hint(
                            &site.span,
                            format!(
                                "`{}` in `{}` must refer to a {expected}, but `{}` is a {kind}",
                                site.field, site.from, site.target
                            ),
                            format!("use the address of a {expected}, like \"{expected}.NAME\""),
                        );
                    }
                    if site.target == site.from {
                        self.diags.error(
                            &site.span,
                            format!("`{}` in `{}` refers to itself", site.field, site.from),
                        );
                    }
                }
            }
        }
    }

    /// The checks across resources, and for a blueprint without errors each resource's
    /// computed attributes.
    fn across(
        &mut self,
        waivers: &[(Waiver, Range<usize>)],
        resources: &[Resource],
        written: &[Written],
        home: &str,
        tags: &BTreeMap<String, String>,
        name: &str,
    ) -> Vec<Attrs> {
        // The index of who refers to whom needs none of the checks: for a long list it is
        // built on a second thread while they run.
        let (referrers, ()) = parallel::join(
            parallel::splits(resources.len()),
            || resources::Referrers::index(resources),
            || {
                self.check_waivers(waivers, resources);
                self.check_references(resources);
                self.check_regions(resources, written, home);
                self.check_unique(resources, written);
            },
        );
        let found = parallel::map(resources, |r| {
            resources::kind(r.kind)
                .map(|kind| kind.validate(r, &referrers))
                .unwrap_or_default()
        });
        for ((r, w), found) in resources.iter().zip(written).zip(found) {
            for (field, message, hint) in found {
                self.diags.error_hint(
                    &w.of(field),
                    format!("`{}` in `{}`: {message}", field, r.address),
                    hint,
                );
            }
        }
        // Only a valid blueprint is planned: only its attributes are worth deriving.
        if !self.diags.is_empty() {
            return Vec::new();
        }
        let tags: serde_json::Map<String, Value> = tags
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        parallel::map(resources, |r| computed(&tags, name, &referrers, r))
    }

    /// A reference between regional resources stays in one region (a bucket's key, its log
    /// target, a database's key): AWS refuses the rest. IAM is global, and CloudTrail may
    /// deliver to a bucket elsewhere.
    fn check_regions(&mut self, resources: &[Resource], written: &[Written], home: &str) {
        let by_address: HashMap<&str, &Resource> =
            resources.iter().map(|r| (r.address.as_str(), r)).collect();
        for (r, w) in resources.iter().zip(written) {
            let Some(kind) = resources::kind(r.kind).filter(|k| !k.global()) else {
                continue;
            };
            // Only reference fields are looked up: a resource's other attributes are most of
            // them, and this runs for every resource.
            let references = kind
                .schema()
                .iter()
                .filter(|f| f.ty.resolves() && !(r.kind == "cloudtrail" && f.name == "bucket"));
            for field in references {
                let Some(value) = r.attrs.get(field.name) else {
                    continue;
                };
                for t in field.ty.targets(value).iter().filter_map(Value::as_str) {
                    let Some(target) = by_address.get(t) else {
                        continue;
                    };
                    if resources::kind(target.kind).is_some_and(|k| k.global()) {
                        continue;
                    }
                    let (here, there) = (r.region_in(home), target.region_in(home));
                    if here != there {
                        self.diags.error_hint(
                            &w.of(field.name),
                            format!(
                                "`{}` in `{}` ({here}) refers to `{t}` in {there}; AWS needs both in one region",
                                field.name, r.address
                            ),
                            "give both the same `region`",
                        );
                    }
                }
            }
        }
    }

    /// Values marked unique (bucket names, aliases) may appear only once per kind.
    fn check_unique(&mut self, resources: &[Resource], written: &[Written]) {
        let mut seen: HashMap<(&str, &str, Cow<str>), &str> = HashMap::new();
        for (r, w) in resources.iter().zip(written) {
            let Some(kind) = resources::kind(r.kind) else {
                continue;
            };
            for field in kind.schema().iter().filter(|f| f.unique) {
                let Some(value) = r.attrs.get(field.name) else {
                    continue;
                };
                // Unique fields are strings: only another type's value is written out.
                let text = match value {
                    Value::String(s) => Cow::Borrowed(s.as_str()),
                    other => Cow::Owned(other.to_string()),
                };
                let key = (r.kind, field.name, text);
                if let Some(first) = seen.get(&key) {
                    self.diags.error_hint(
                        &w.of(field.name),
                        format!(
                            "`{}` of `{}` is {value}, the same as `{first}`",
                            field.name, r.address
                        ),
                        format!("each {} needs its own `{}`", r.kind, field.name),
                    );
                } else {
                    seen.insert(key, &r.address);
                }
            }
        }
    }

    fn check_tags(&mut self, tags: &BTreeMap<String, String>, span: Range<usize>) {
        for (k, v) in tags {
            if let Err(why) = check_tag(k, v) {
                self.diags.error(&span, format!("tag `{k}`: {why}"));
            }
        }
    }
}

/// Where a resource's header and each of its fields are written (byte spans), kept beside
/// it while walking, for errors; the resource keeps where each starts, for findings.
#[derive(Clone)]
struct Written {
    header: Range<usize>,
    fields: Vec<(&'static str, Range<usize>)>,
}

impl Written {
    /// Where `field` is written, else the resource's header.
    fn of(&self, field: &str) -> Range<usize> {
        self.fields
            .iter()
            .find(|(f, _)| *f == field)
            .map_or_else(|| self.header.clone(), |(_, span)| span.clone())
    }
}

/// What rampart adds to a resource's written attributes: its tags (over `tags`, the
/// blueprint's, made into values once) and derived ones.
fn computed(
    tags: &serde_json::Map<String, Value>,
    blueprint: &str,
    referrers: &resources::Referrers,
    r: &Resource,
) -> Attrs {
    let mut computed = Attrs::new();
    let Some(kind) = resources::kind(r.kind) else {
        return computed;
    };
    if kind.schema().iter().any(|f| f.name == "tags") {
        let mut all = tags.clone();
        if let Some(Value::Object(own)) = r.attrs.get("tags") {
            all.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        all.insert("rampart:blueprint".into(), Value::String(blueprint.into()));
        all.insert("rampart:address".into(), Value::String(r.address.clone()));
        computed.insert("tags", Value::Object(all));
    }
    computed.extend(kind.derive(&r.address, referrers));
    computed
}

/// Turns each resource of a per-region kind into one instance per region, addressed
/// `kind.name[region]`: its own `regions`, else the blueprint's, else the home region.
fn expand_per_region(
    resources: Vec<(Resource, Written)>,
    home: &str,
    regions: &[String],
) -> Vec<(Resource, Written)> {
    let mut out = Vec::with_capacity(resources.len());
    for (mut r, written) in resources {
        if !resources::kind(r.kind).is_some_and(|k| k.per_region()) {
            out.push((r, written));
            continue;
        }
        let own: Vec<String> = match r.attrs.remove("regions") {
            Some(Value::Array(list)) => list
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect(),
            _ => Vec::new(),
        };
        let mut list = if !own.is_empty() {
            own
        } else if !regions.is_empty() {
            regions.to_vec()
        } else {
            vec![home.to_string()]
        };
        list.sort();
        list.dedup();
        for region in list {
            out.push((
                Resource {
                    address: format!("{}[{region}]", r.address),
                    region: Some(region),
                    ..r.clone()
                },
                written.clone(),
            ));
        }
    }
    out
}

/// A TOML value as JSON (for documents written as TOML tables); `None` for a date-time,
/// which JSON documents have no use for.
fn toml_to_json(value: &Item) -> Option<Value> {
    Some(match value {
        Item::String(s) => Value::String(s.to_string()),
        Item::Integer { digits, radix } => Value::from(i64::from_str_radix(digits, *radix).ok()?),
        Item::Float(f) => Value::from(f.parse::<f64>().ok()?),
        Item::Boolean(b) => Value::Bool(*b),
        Item::Datetime => return None,
        Item::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| toml_to_json(&i.item))
                .collect::<Option<Vec<_>>>()?,
        ),
        // Inserted one by one: collecting a map sorts and bulk-builds it, which costs a small
        // table (a policy statement, a condition) several times as much.
        Item::Table(t) => {
            let mut map = serde_json::Map::new();
            for (k, v) in t.iter() {
                map.insert(k.name.to_string(), toml_to_json(&v.item)?);
            }
            Value::Object(map)
        }
    })
}

/// Names a TOML value's type for error messages.
fn describe(value: &Item) -> &'static str {
    match value {
        Item::String(_) => "a string",
        Item::Integer { .. } => "an integer",
        Item::Float(_) => "a float",
        Item::Boolean(_) => "a boolean",
        Item::Datetime => "a date-time",
        Item::Array(_) => "an array",
        Item::Table(_) => "a table",
    }
}

fn string_map(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// Tag rules of AWS, plus the `rampart:` prefix rampart keeps for itself.
pub fn check_tag(key: &str, value: &str) -> Result<(), String> {
    if key.is_empty() || key.chars().count() > 128 {
        return Err("a tag key has 1 to 128 characters".into());
    }
    if value.chars().count() > 256 {
        return Err("a tag value has at most 256 characters".into());
    }
    if key.starts_with("aws:") {
        return Err("the `aws:` prefix is reserved by AWS".into());
    }
    if key.starts_with("rampart:") {
        return Err("the `rampart:` prefix is reserved for rampart's own tags".into());
    }
    Ok(())
}

fn check_resource_name(name: &str) -> Result<(), &'static str> {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_lowercase() => {}
        _ => return Err("it must start with a lowercase letter"),
    }
    if name.len() > 64 {
        return Err("it has more than 64 characters");
    }
    if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-') {
        return Err("it may hold only lowercase letters, digits, `_` and `-`");
    }
    Ok(())
}

fn check_blueprint_name(name: &str) -> Result<(), String> {
    // The name becomes a file name under `state/`, so it must be safe as one.
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err("a blueprint name has 1 to 64 letters, digits, `-` or `_`, starting with a letter or digit".into())
    }
}

/// An AWS region name such as `eu-west-1` or `us-gov-west-1`.
pub fn check_region(region: &str) -> Result<(), String> {
    let parts: Vec<&str> = region.split('-').collect();
    let ok = parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty();
    if ok {
        Ok(())
    } else {
        Err("not an AWS region name like `eu-west-1`".into())
    }
}

/// `KIND:PATTERN`: a known kind and a glob (`*`, `?`, `[...]`) over physical names.
fn check_ignore_pattern(pattern: &str) -> Result<(), String> {
    let Some((kind, glob)) = pattern.split_once(':') else {
        return Err("write `KIND:PATTERN`, like `s3_bucket:cdk-*`".into());
    };
    if resources::kind(kind).is_none() {
        return Err(format!(
            "`{kind}` is not a resource kind; kinds are {}",
            resources::kind_names().collect::<Vec<_>>().join(", ")
        ));
    }
    glob::Pattern::new(glob)
        .map(|_| ())
        .map_err(|e| format!("`{glob}` is not a valid pattern: {e}"))
}

fn check_reason(reason: &str) -> Result<(), String> {
    match reason.trim().len() {
        0 => Err("say why the exception is accepted".into()),
        _ => Ok(()),
    }
}

fn check_date(date: &str) -> Result<(), String> {
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map(|_| ())
        .map_err(|_| format!("`{date}` is not a date like `2027-03-31`"))
}

fn check_account_id(id: &str) -> Result<(), String> {
    if id.len() == 12 && id.chars().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err("an AWS account id is 12 digits, written as a string".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(src: &str) -> Vec<String> {
        match parse(Path::new("bp.toml"), src.as_bytes()) {
            Ok(_) => Vec::new(),
            Err(d) => d.iter().map(|d| d.to_string()).collect(),
        }
    }

    const HEAD: &str = "[blueprint]\nname = \"t\"\nregion = \"eu-west-1\"\n";

    #[test]
    fn a_minimal_blueprint_parses_with_secure_defaults() {
        let src = format!(
            "{HEAD}[kms_key.data]\n[s3_bucket.raw]\nname = \"raw-bucket\"\nkms_key = \"kms_key.data\"\n"
        );
        let bp = parse(Path::new("bp.toml"), src.as_bytes()).unwrap();
        let bucket = bp.resource("s3_bucket.raw").unwrap();
        assert_eq!(bucket.attrs.get("versioning"), Some(&Value::Bool(true)));
        assert_eq!(
            bucket.attrs.get("block_public_access"),
            Some(&Value::Bool(true))
        );
        assert_eq!(bucket.attrs.get("require_tls"), Some(&Value::Bool(true)));
        assert_eq!(bucket.dependencies, vec!["kms_key.data".to_string()]);
        let key = bp.resource("kms_key.data").unwrap();
        assert_eq!(key.attrs.get("rotation"), Some(&Value::Bool(true)));
        assert_eq!(
            key.attrs.get("rotation_period_days"),
            Some(&Value::from(365))
        );
    }

    #[test]
    fn a_large_blueprint_reports_its_problems_where_they_are() {
        // Large enough to be parsed in halves and checked on several threads.
        let mut src = String::from(HEAD);
        for i in 0..5000 {
            src.push_str(&format!(
                "[kms_key.k{i}]\ndescription = \"key {i} of a large blueprint, to fill the file\"\n"
            ));
            if i == 100 || i == 4900 {
                src.push_str("rotation_period_days = 5\n");
            }
        }
        src.push_str("[s3_bucket.b]\nname = \"b-bucket\"\nkms_key = \"kms_key.k5000\"\n");
        assert!(src.len() >= document::SPLIT_FROM_BYTES);
        let line = |needle: &str| src[..src.find(needle).unwrap_or(0)].lines().count() + 1;
        let errs = errors(&src);
        assert_eq!(errs.len(), 3, "{errs:#?}");
        let k100 = line("[kms_key.k100]\n") + 2;
        let k4900 = line("[kms_key.k4900]\n") + 2;
        let bucket = line("[s3_bucket.b]") + 2;
        assert!(errs[0].contains(&format!("bp.toml:{k100}:24")), "{errs:#?}");
        assert!(
            errs[1].contains(&format!("bp.toml:{k4900}:24")),
            "{errs:#?}"
        );
        assert!(
            errs[2].contains(&format!("bp.toml:{bucket}:11")),
            "{errs:#?}"
        );
        // Without the errors, it parses, with every resource's tags worked out.
        let fixed = src
            .replace("rotation_period_days = 5\n", "")
            .replace("kms_key.k5000", "kms_key.k0");
        let bp = parse(Path::new("bp.toml"), fixed.as_bytes()).unwrap();
        assert_eq!(bp.resources.len(), 5001);
        assert!(bp.resources.iter().all(|r| r.computed.contains_key("tags")));
    }

    #[test]
    fn every_problem_is_reported_with_its_position() {
        let src = format!(
            "{HEAD}[s3_bucket.raw]\nname = \"raw-bucket\"\nversionin = true\nkms_key = \"kms_key.nope\"\n[kms_key.a]\nrotation_period_days = 5\n"
        );
        let errs = errors(&src);
        assert_eq!(errs.len(), 3, "{errs:#?}");
        assert!(errs[0].contains("unknown field `versionin`") && errs[0].contains("bp.toml:6:1"));
        assert!(errs[0].contains("did you mean `versioning`?"));
        assert!(errs[1].contains("`kms_key.nope`") && errs[1].contains("bp.toml:7:11"));
        assert!(errs[2].contains("out of range") && errs[2].contains("90 to 2560"));
    }

    #[test]
    fn wrong_kind_of_reference_is_an_error() {
        let src = format!(
            "{HEAD}[s3_bucket.logs]\nname = \"logs-bucket\"\n[s3_bucket.raw]\nname = \"raw-bucket\"\nkms_key = \"s3_bucket.logs\"\n"
        );
        let errs = errors(&src);
        assert!(
            errs.iter().any(|e| e.contains("must refer to a kms_key")),
            "{errs:#?}"
        );
    }

    #[test]
    fn cycles_are_reported_with_their_path() {
        let src = format!(
            "{HEAD}[kms_key.a]\ndepends_on = [\"kms_key.b\"]\n[kms_key.b]\ndepends_on = [\"kms_key.a\"]\n"
        );
        let errs = errors(&src);
        assert!(
            errs.iter()
                .any(|e| e.contains("dependency cycle: kms_key.a -> kms_key.b -> kms_key.a")),
            "{errs:#?}"
        );
    }

    #[test]
    fn broken_toml_and_bad_bytes_are_errors_not_panics() {
        assert!(errors("[blueprint\nname=")[0].contains("invalid TOML"));
        let bad = parse(Path::new("x.toml"), b"[blueprint]\nname = \"\xff\"");
        assert!(bad.unwrap_err()[0].message.contains("UTF-8"));
        assert!(errors("")[0].contains("missing `[blueprint]`"));
        assert!(errors("blueprint = 3")[0].contains("must be a table"));
    }

    #[test]
    fn a_required_field_with_a_bad_value_is_one_error_not_two() {
        let src = format!(
            "{HEAD}[s3_bucket.a]\nname = \"a-bucket\"\nobject_lock = {{ mode = \"COMPLIANCE\", retention_days = \"x\" }}\n"
        );
        let errs = errors(&src);
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert!(errs[0].contains("`retention_days`") && errs[0].contains("must be an integer"));
    }

    #[test]
    fn all_syntax_errors_are_reported_and_type_errors_carry_a_hint() {
        let errs = errors(&format!("{HEAD}a = = 1\nb = [\n"));
        assert!(errs.len() >= 2, "{errs:#?}");
        let errs = errors(&format!(
            "{HEAD}[s3_bucket.a]\nname = \"a-bucket\"\nversioning = \"yes\"\n"
        ));
        assert!(
            errs[0].contains("hint: write `versioning = true` or `versioning = false`"),
            "{errs:#?}"
        );
    }

    #[test]
    fn a_resource_may_not_set_reserved_tags() {
        let errs = errors(&format!(
            "{HEAD}[kms_key.k]\ntags = {{ \"rampart:address\" = \"x\" }}\n"
        ));
        assert!(
            errs.iter().any(|e| e.contains("reserved for rampart")),
            "{errs:#?}"
        );
    }

    #[test]
    fn references_across_regions_are_refused() {
        let src = format!(
            "{HEAD}[kms_key.k]\n[s3_bucket.far]\nname = \"far-bucket\"\nregion = \"eu-central-1\"\nkms_key = \"kms_key.k\"\n"
        );
        let errs = errors(&src);
        assert!(
            errs.iter()
                .any(|e| e.contains("refers to `kms_key.k` in eu-west-1")),
            "{errs:#?}"
        );
        let same = format!(
            "{HEAD}[kms_key.k]\nregion = \"eu-central-1\"\n[s3_bucket.far]\nname = \"far-bucket\"\nregion = \"eu-central-1\"\nkms_key = \"kms_key.k\"\n"
        );
        assert!(errors(&same).is_empty());
    }

    #[test]
    fn a_trail_delivers_anywhere_but_logs_data_events_of_its_own_region_only() {
        let trail = |data_events: &str| {
            format!(
                "{HEAD}[kms_key.k]\n[s3_bucket.logs]\nname = \"logs-bucket\"\nregion = \"eu-central-1\"\n\
                 [s3_bucket.far]\nname = \"far-bucket\"\nregion = \"eu-central-1\"\n\
                 [cloudtrail.t]\nname = \"audit-trail\"\nbucket = \"s3_bucket.logs\"\nkms_key = \"kms_key.k\"\n\
                 data_events = [{data_events}]\n"
            )
        };
        let errs = errors(&trail(""));
        assert!(errs.is_empty(), "{errs:#?}");
        let errs = errors(&trail("\"s3_bucket.far\""));
        assert!(
            errs.iter()
                .any(|e| e.contains("`data_events` in `cloudtrail.t` (eu-west-1) refers to `s3_bucket.far` in eu-central-1")),
            "{errs:#?}"
        );
    }

    #[test]
    fn duplicate_bucket_names_are_refused() {
        let src = format!(
            "{HEAD}[s3_bucket.a]\nname = \"same-bucket\"\n[s3_bucket.b]\nname = \"same-bucket\"\n"
        );
        assert!(
            errors(&src)
                .iter()
                .any(|e| e.contains("the same as `s3_bucket.a`"))
        );
    }

    #[test]
    fn regions_and_names_follow_aws_rules() {
        assert!(check_region("eu-west-1").is_ok());
        assert!(check_region("us-gov-west-1").is_ok());
        assert!(check_region("europe").is_err());
        assert!(check_region("EU-west-1").is_err());
        assert!(check_blueprint_name("../etc").is_err());
        assert!(check_tag("rampart:address", "x").is_err());
    }
}
