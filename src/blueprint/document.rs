//! Parses a blueprint's TOML text into the spanned tree the walker reads.
//!
//! A large file is parsed in two halves on two threads, split before a line that starts a
//! table, and the halves are merged as one parse would have built the tree. Whenever the
//! split could make a difference (a syntax error in either half, which is what a split inside
//! a multi-line string, array or inline table gives, or a key of both halves that is not a
//! table the second half only adds tables to), the whole file is parsed again in one piece:
//! the tree and every error are always those of one parse.

use toml::Spanned;
use toml::de::{DeTable, DeValue, Error};

use crate::parallel;

/// Smaller files parse in one piece: the second thread would cost more than it saves.
pub(super) const SPLIT_FROM_BYTES: usize = 128 * 1024;

/// Whether `source` is worth work on a second thread: large, with a second core to use.
pub(super) fn is_large(source: &str) -> bool {
    source.len() >= SPLIT_FROM_BYTES && parallel::cores() > 1
}

/// The tree of `source` and its syntax errors. `scratch` holds the second half's copy of the
/// text, which the tree may borrow from.
pub(super) fn parse<'i>(
    source: &'i str,
    scratch: &'i mut String,
) -> (Spanned<DeTable<'i>>, Vec<Error>) {
    let halves = match split_point(source) {
        Some(at) if is_large(source) => in_halves(source, at, scratch),
        _ => None,
    };
    match halves {
        Some(root) => (root, Vec::new()),
        None => DeTable::parse_recoverable(source),
    }
}

/// The tree of `source` parsed in two halves, the second from `at`, unless the split could
/// change it.
fn in_halves<'i>(
    source: &'i str,
    at: usize,
    scratch: &'i mut String,
) -> Option<Spanned<DeTable<'i>>> {
    // The second half's copy has the first half blanked, so that its spans are the file's.
    scratch.clear();
    scratch.extend(std::iter::repeat_n(' ', at));
    scratch.push_str(&source[at..]);
    let second: &'i String = scratch;
    let ((mut root, first_errors), second) = std::thread::scope(|s| {
        let second = s.spawn(|| DeTable::parse_recoverable(second));
        let first = DeTable::parse_recoverable(&source[..at]);
        (first, second.join())
    });
    let (rest, second_errors) = second.ok()?;
    if !first_errors.is_empty() || !second_errors.is_empty() {
        return None;
    }
    merge(root.get_mut(), rest.into_inner(), source).ok()?;
    Some(root)
}

/// Where the second half starts: the first line at or after the middle that begins with `[`.
/// Such a line may sit inside a multi-line string or array; then the first half does not
/// parse and [`parse`] falls back to one piece.
fn split_point(source: &str) -> Option<usize> {
    let mid = source.len() / 2;
    source.as_bytes()[mid..]
        .windows(2)
        .position(|w| w == b"\n[")
        .map(|i| mid + i + 1)
}

/// A merge the split could get wrong: the caller parses the file in one piece instead.
struct Conflict;

/// Adds the second half's tables to the first's. The second half starts with a table header,
/// so everything in it at the root is a table made by a header: either written out (its span
/// starts at the `[` of `[name]` or `[[name]]`) or implied by a longer header's path. An
/// implied table may extend one the first half has, as one parse would allow (any table but
/// an inline one); any other key both halves hold is a conflict, whether one parse would
/// report it (a table defined twice) or accept it (an array of tables continued).
fn merge<'i>(into: &mut DeTable<'i>, from: DeTable<'i>, source: &str) -> Result<(), Conflict> {
    for (key, value) in from {
        let Some(existing) = into.get_mut(&key) else {
            into.insert(key, value);
            continue;
        };
        let written_out =
            |v: &Spanned<DeValue>| source.as_bytes().get(v.span().start) == Some(&b'[');
        let inline = source.as_bytes().get(existing.span().start) == Some(&b'{');
        if written_out(&value) || inline {
            return Err(Conflict);
        }
        match (existing.get_mut(), value.into_inner()) {
            (DeValue::Table(have), DeValue::Table(more)) => merge(have, more, source)?,
            _ => return Err(Conflict),
        }
    }
    Ok(())
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

    fn one_piece(source: &str) -> (String, Vec<String>) {
        let (root, errors) = DeTable::parse_recoverable(source);
        (
            format!("{root:?}"),
            errors.iter().map(|e| e.to_string()).collect(),
        )
    }

    /// The tree of the split parse, if it does not fall back to one piece.
    fn halves(source: &str) -> Option<String> {
        let at = split_point(source)?;
        in_halves(source, at, &mut String::new()).map(|root| format!("{root:?}"))
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
            let (tree, errors) = one_piece(source);
            assert!(errors.is_empty());
            assert_eq!(halves(source), Some(tree));
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
