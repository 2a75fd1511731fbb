//! Parses a blueprint's TOML text into the spanned tree the walker reads.
//!
//! The tree is built from `toml_parser`'s events ([`build`]); a file that builder leaves to
//! toml (a syntax error, a key defined twice, the rarer TOML constructs) is parsed by toml,
//! whose tree is converted and whose errors are reported.
//!
//! A large file is parsed in two halves on two threads, split before a line that starts a
//! table, and the halves are merged as one parse would have built the tree. Whenever the
//! split could make a difference (either half not parsing, which is what a split inside a
//! multi-line string, array or inline table gives, or a key of both halves that is not a
//! table the second half only adds tables to), the whole file is parsed again in one piece.

mod build;

use std::borrow::Cow;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue, Error};

use crate::parallel;

/// A value and where it is written.
#[derive(Debug, PartialEq)]
pub(super) struct Node<'i> {
    pub span: Range<usize>,
    pub item: Item<'i>,
}

#[derive(Debug, PartialEq)]
pub(super) enum Item<'i> {
    String(Cow<'i, str>),
    /// The digits, without `_` or a radix prefix.
    Integer {
        digits: Cow<'i, str>,
        radix: u32,
    },
    Float(Cow<'i, str>),
    Boolean(bool),
    Datetime,
    Array(Vec<Node<'i>>),
    Table(Table<'i>),
}

/// A table's entries, in key order (as toml's ordered map holds them).
#[derive(Debug, PartialEq)]
pub(super) struct Table<'i> {
    entries: Vec<Entry<'i>>,
}

/// The entries, in key order, each freed when its taker is done with it.
impl<'i> IntoIterator for Table<'i> {
    type Item = Entry<'i>;
    type IntoIter = std::vec::IntoIter<Entry<'i>>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

#[derive(Debug, PartialEq)]
pub(super) struct Entry<'i> {
    pub key: Key<'i>,
    pub node: Node<'i>,
}

#[derive(Debug, PartialEq)]
pub(super) struct Key<'i> {
    pub name: Cow<'i, str>,
    pub span: Range<usize>,
}

impl<'i> Table<'i> {
    fn sorted(mut entries: Vec<Entry<'i>>) -> Self {
        entries.sort_unstable_by(|a, b| a.key.name.cmp(&b.key.name));
        Table { entries }
    }

    pub fn get(&self, name: &str) -> Option<&Node<'i>> {
        let at = self
            .entries
            .binary_search_by(|e| e.key.name.as_ref().cmp(name))
            .ok()?;
        Some(&self.entries[at].node)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Key<'i>, &Node<'i>)> {
        self.entries.iter().map(|e| (&e.key, &e.node))
    }
}

/// Smaller files parse in one piece: the second thread would cost more than it saves.
pub(super) const SPLIT_FROM_BYTES: usize = 128 * 1024;

/// Whether `source` is worth work on a second thread: large, with a second core to use.
pub(super) fn is_large(source: &str) -> bool {
    source.len() >= SPLIT_FROM_BYTES && parallel::cores() > 1
}

/// The tree of `source` and its syntax errors.
pub(super) fn parse(source: &str) -> (Table<'_>, Vec<Error>) {
    let halves = match split_point(source) {
        Some(at) if is_large(source) => in_halves(source, at),
        _ => None,
    };
    if let Some(root) = halves.or_else(|| build::build(source, 0..source.len())) {
        return (root, Vec::new());
    }
    let (root, errors) = DeTable::parse_recoverable(source);
    (from_toml_table(root.into_inner()), errors)
}

/// toml's tree as this module's.
fn from_toml(value: Spanned<DeValue<'_>>) -> Node<'_> {
    let span = value.span();
    let item = match value.into_inner() {
        DeValue::String(s) => Item::String(s),
        DeValue::Integer(i) => Item::Integer {
            radix: i.radix(),
            digits: Cow::Owned(i.as_str().to_string()),
        },
        DeValue::Float(f) => Item::Float(Cow::Owned(f.as_str().to_string())),
        DeValue::Boolean(b) => Item::Boolean(b),
        DeValue::Datetime(_) => Item::Datetime,
        DeValue::Array(items) => Item::Array(items.into_iter().map(from_toml).collect()),
        DeValue::Table(t) => Item::Table(from_toml_table(t)),
    };
    Node { span, item }
}

fn from_toml_table(table: DeTable<'_>) -> Table<'_> {
    Table {
        entries: table
            .into_iter()
            .map(|(k, v)| Entry {
                key: Key {
                    span: k.span(),
                    name: k.into_inner(),
                },
                node: from_toml(v),
            })
            .collect(),
    }
}

/// The tree of `source` parsed in two halves, the second from `at`, unless the split could
/// change it.
fn in_halves(source: &str, at: usize) -> Option<Table<'_>> {
    let (first, second) = std::thread::scope(|s| {
        let second = s.spawn(|| build::build(source, at..source.len()));
        let first = build::build(source, 0..at);
        (first, second.join())
    });
    let (mut root, rest) = (first?, second.ok()??);
    merge(&mut root, rest, source).ok()?;
    Some(root)
}

/// Where the second half starts: the first line at or after the middle that begins with `[`.
/// Such a line may sit inside a multi-line string or array; then the first half does not
/// parse and [`parse`] falls back to one piece.
fn split_point(source: &str) -> Option<usize> {
    let at = build::chunk_end(source, source.len() / 2, source.len());
    (at < source.len()).then_some(at)
}

/// A merge the split could get wrong: the caller parses the file in one piece instead.
struct Conflict;

/// Adds the second half's tables to the first's. The second half starts with a table header,
/// so everything in it at the root is a table made by a header: either written out (its span
/// starts at the `[` of `[name]` or `[[name]]`) or implied by a longer header's path. An
/// implied table may extend one the first half has, as one parse would allow (any table but
/// an inline one); any other key both halves hold is a conflict, whether one parse would
/// report it (a table defined twice) or accept it (an array of tables continued).
fn merge<'i>(into: &mut Table<'i>, from: Table<'i>, source: &str) -> Result<(), Conflict> {
    // Both lists are in key order: one pass side by side, not a search and a sort.
    let mut have = std::mem::take(&mut into.entries).into_iter().peekable();
    let mut merged = Vec::with_capacity(have.len() + from.entries.len());
    for entry in from.entries {
        merged.extend(std::iter::from_fn(|| {
            have.next_if(|e| e.key.name < entry.key.name)
        }));
        let Some(mut existing) = have.next_if(|e| e.key.name == entry.key.name) else {
            merged.push(entry);
            continue;
        };
        let written_out = source.as_bytes().get(entry.node.span.start) == Some(&b'[');
        let inline = source.as_bytes().get(existing.node.span.start) == Some(&b'{');
        if written_out || inline {
            return Err(Conflict);
        }
        match (&mut existing.node.item, entry.node.item) {
            (Item::Table(have), Item::Table(more)) => merge(have, more, source)?,
            _ => return Err(Conflict),
        }
        merged.push(existing);
    }
    merged.extend(have);
    into.entries = merged;
    Ok(())
}

/// toml's tree of `source`, as this module's, and its errors.
#[cfg(test)]
fn toml_tree(source: &str) -> (Table<'_>, Vec<String>) {
    let (root, errors) = DeTable::parse_recoverable(source);
    (
        from_toml_table(root.into_inner()),
        errors.iter().map(|e| e.to_string()).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file past the split size: `body` between two runs of filler tables, so that the
    /// split falls inside `body` or next to it.
    fn large(body: &str) -> String {
        let filler = |from: usize| {
            (from..from + 4000)
                .map(|i| format!("[t.f{i}]\nvalue = \"{i:0>60}\"\n"))
                .collect::<String>()
        };
        format!("{}{body}{}", filler(0), filler(4000))
    }

    /// The tree of the split parse, if it does not fall back to one piece.
    fn halves(source: &str) -> Option<Table<'_>> {
        in_halves(source, split_point(source)?)
    }

    #[test]
    fn a_split_parse_gives_the_tree_of_one_parse() {
        let non_ascii: String = (0..100)
            .map(|i| format!("[n.x{i}]\nv = \"grüße ✓ {i}\"\n"))
            .collect();
        let merged = [
            large(""),
            large("").replace('\n', "\r\n"),
            large(&non_ascii),
            // Tables that the two halves both extend, with explicit and implied parents.
            format!("[r]\nx = 1\n{}[r.s.deep]\ny = 2\n", large("")),
            format!("[u.a.b]\nx = 1\n{}[u.a.c]\ny = 2\n", large("")),
            // A table made by dotted keys at the root, given a sub-table by a header.
            format!("d.x = 1\n{}[d.y]\nz = 2\n", large("")),
        ];
        for source in &merged {
            let (tree, errors) = toml_tree(source);
            assert!(errors.is_empty());
            assert_eq!(halves(source), Some(tree));
            let (parsed, errors) = parse(source);
            assert!(errors.is_empty());
            assert_eq!(parsed, toml_tree(source).0);
        }
    }

    #[test]
    fn whatever_a_split_could_change_is_parsed_in_one_piece() {
        // Long enough to hold the middle of the file.
        let policy = format!("[r.p]\ndoc = '''\n{}'''\n", "[not a header]\n".repeat(5000));
        let array = format!("[r.a]\nlist = [\n{}]\n", "[1, 2],\n".repeat(5000));
        let inline = format!("[r.i]\nt = {{ k = [\n{}] }}\n", "[1],\n".repeat(5000));
        let cases = [
            // A line that starts with `[` inside a string, an array, an inline table.
            large(&policy),
            large(&array),
            large(&inline),
            // Defined twice, one in each half: one parse reports it.
            format!("[dup]\nx = 1\n{}[dup]\ny = 2\n", large("")),
            format!("{}[t.f1]\nagain = true\n", large("")),
            // A table written out after its sub-table: one parse allows it.
            format!("[a.b]\nx = 1\n{}[a]\ny = 2\n", large("")),
            // An inline table the second half would extend.
            format!("inline = {{ a = 1 }}\n{}[inline.b]\nc = 2\n", large("")),
            // An array of tables continued, or its last table extended, in the second half.
            format!("[[w]]\nn = 1\n{}[[w]]\nn = 2\n", large("")),
            format!("[[w]]\nn = 1\n{}[w.x]\nm = 2\n", large("")),
            // A syntax error in each half.
            format!("bad = \n{}", large("")),
            format!("{}bad = \n", large("")),
        ];
        for source in &cases {
            assert!(split_point(source).is_some());
            assert_eq!(halves(source), None);
            // In one piece, the tree and the errors are toml's.
            let (tree, errors) = parse(source);
            let (want, want_errors) = toml_tree(source);
            assert_eq!(tree, want);
            let errors: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            assert_eq!(errors, want_errors);
        }
    }

    #[test]
    fn the_split_falls_before_a_line_that_starts_a_table() {
        let source = large("");
        let at = split_point(&source).unwrap_or(0);
        assert!(at >= source.len() / 2);
        assert!(source[at..].starts_with("[t.f"));
        assert_eq!(split_point("[a]\nb = 1\n"), None);
        assert!(!is_large("[a]\nb = 1\n"));
    }
}
