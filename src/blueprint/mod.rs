//! Blueprints: TOML files parsed with spans into a validated model of desired resources.
//!
//! `parse` walks the TOML tree against each kind's schema and collects every problem with its
//! `file:line:column`; a blueprint that comes out of it has known kinds, typed values, defaults
//! filled in, references that point at resources of the right kind, and no cycles.

mod attrs;
pub mod diagnostic;
mod document;
mod parse;
pub mod schema;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub use attrs::{Attrs, Name};
pub use diagnostic::{Diagnostic, Position, SourceMap};
pub use parse::{check_region, parse, parse_with};

/// A validated blueprint.
#[derive(Debug, Clone)]
pub struct Blueprint {
    pub path: PathBuf,
    /// SHA-256 of the file's bytes, so a saved plan can tell whether the blueprint changed.
    pub source_sha256: String,
    pub name: String,
    pub region: String,
    pub account_id: Option<String>,
    pub regions: Vec<String>,
    pub tags: BTreeMap<String, String>,
    /// `[state]`: where the state lives.
    pub state: StateConfig,
    /// `[drift] ignore`: `KIND:PATTERN` of resources drift counts as ignored.
    pub drift_ignore: Vec<String>,
    /// `[[waiver]]`s of hardening rules.
    pub waivers: Vec<Waiver>,
    pub resources: Vec<Resource>,
    /// The file's text and line starts, for the positions of findings.
    pub source_map: SourceMap,
}

impl Resource {
    /// A desired attribute: computed, else written.
    pub fn attr(&self, name: &str) -> Option<&Value> {
        self.computed.get(name).or_else(|| self.attrs.get(name))
    }

    /// Where the resource lives: its own `region`, else `home`, the blueprint's.
    pub fn region_in<'r>(&'r self, home: &'r str) -> &'r str {
        self.region.as_deref().unwrap_or(home)
    }

    /// Every desired attribute, the computed ones over the written ones.
    pub fn desired(&self) -> Attrs {
        let mut attrs = self.attrs.clone();
        attrs.extend(self.computed.iter().map(|(k, v)| (k.clone(), v.clone())));
        attrs
    }
}

impl Blueprint {
    pub fn resource(&self, address: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.address == address)
    }
}

/// One resource the blueprint asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// `kind.name`, for example `s3_bucket.raw`.
    pub address: String,
    pub kind: &'static str,
    /// Desired attributes with defaults filled in; references hold the target's address.
    pub attrs: Attrs,
    /// What rampart adds on top of `attrs`, and wins over them: the tags (the blueprint's,
    /// the resource's own, and rampart's) and what `derive` makes from who refers to it.
    /// Worked out once, when the blueprint is parsed.
    pub computed: Attrs,
    /// Every resource this one needs first: its references and its `depends_on`.
    pub dependencies: Vec<String>,
    pub prevent_destroy: bool,
    /// The resource's own `region`, if it sets one; otherwise it lives in the home region.
    pub region: Option<String>,
    /// Where the resource and each field written for it are in the blueprint.
    pub positions: Positions,
}

/// Where (as byte offsets) a resource's header and the fields written for it are in its
/// blueprint; [`Blueprint::position`] turns one into a line and column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Positions {
    pub header: usize,
    pub fields: Vec<(&'static str, usize)>,
}

impl Positions {
    /// Where `field` is written, else (no field, or one left out) the resource's header.
    pub fn of(&self, field: Option<&str>) -> usize {
        field
            .and_then(|name| self.fields.iter().find(|(f, _)| *f == name))
            .map_or(self.header, |(_, at)| *at)
    }
}

/// Where a blueprint's state lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateConfig {
    /// A local file: `path`, else `state/<name>.json`.
    Local { path: Option<PathBuf> },
    /// An S3 object written with SSE-KMS, locked with a conditional write.
    S3 {
        bucket: String,
        key: String,
        /// The bucket's region; the home region unless said.
        region: Option<String>,
        kms_key: String,
        /// How long a lock holds without renewal.
        lock_lease_minutes: i64,
    },
}

/// An accepted exception to a hardening rule: why, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiver {
    pub rule: String,
    /// A resource address (for a per-region resource, its address without the region).
    pub resource: String,
    pub reason: String,
    /// The last day it covers.
    pub expires: chrono::NaiveDate,
    pub position: Position,
}

impl Blueprint {
    /// The line and column where `field` of `r` is written, else its header.
    pub fn position(&self, r: &Resource, field: Option<&str>) -> Position {
        self.source_map.position(r.positions.of(field))
    }

    /// Where a resource lives: its own `region`, else the home region.
    pub fn region_of<'r>(&'r self, r: &'r Resource) -> &'r str {
        r.region_in(&self.region)
    }
}

/// Reading a blueprint failed: either the file could not be read or it has problems.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read blueprint `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", render_diagnostics(.0))]
    Invalid(Vec<Diagnostic>),
}

fn render_diagnostics(diagnostics: &[Diagnostic]) -> String {
    let mut out: Vec<String> = diagnostics.iter().map(|d| d.to_string()).collect();
    out.push(format!(
        "blueprint has {} problem{}",
        diagnostics.len(),
        if diagnostics.len() == 1 { "" } else { "s" }
    ));
    out.join("\n\n")
}

/// Reads and validates a blueprint file.
pub fn load(path: &Path) -> Result<Blueprint, LoadError> {
    load_with(path, &mut |_, _| {})
}

/// [`load`], with [`parse_with`]'s early look at the name and the state configuration.
pub fn load_with(
    path: &Path,
    early: &mut dyn FnMut(&str, &StateConfig),
) -> Result<Blueprint, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_with(path, bytes, early).map_err(LoadError::Invalid)
}

/// Splits an address into kind and name.
pub fn split_address(address: &str) -> Option<(&str, &str)> {
    address.split_once('.')
}
