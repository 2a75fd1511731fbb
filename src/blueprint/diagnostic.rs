//! Blueprint diagnostics: what is wrong, where (`file:line:column`) and how to fix it.

use std::fmt;
use std::ops::{Deref, Range};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// A position in a blueprint file, 1-based as editors show it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    /// Converts a byte offset into a line and a column counted in characters. For many
    /// offsets into one text, [`Lines`] finds each without rescanning the text.
    pub fn of_offset(source: &str, offset: usize) -> Position {
        Lines::new(source).position(offset)
    }
}

/// Where each line of a text starts, so that an offset's position costs a binary search and
/// the length of its line, not a scan from the top (a blueprint has thousands of fields).
/// They are found on the first position asked for: a blueprint without problems needs none.
///
/// The text is borrowed while the blueprint is parsed (`Lines<&str>`) and shared with the
/// parsed blueprint afterwards ([`SourceMap`]); both see the same line starts, found once.
#[derive(Clone)]
pub struct Lines<T> {
    text: T,
    starts: Arc<OnceLock<Vec<usize>>>,
}

/// A blueprint's text and where its lines start, kept with the parsed blueprint: a position
/// is worked out only for what is reported, not for every field of every resource. The text
/// is the file's own buffer, shared rather than copied: a copy of a large blueprint is
/// megabytes of fresh memory, written at the end of the parse while nothing else runs.
pub type SourceMap = Lines<Arc<String>>;

impl<T> Lines<T>
where
    T: Deref,
    T::Target: AsRef<str>,
{
    pub fn new(text: T) -> Lines<T> {
        Lines {
            text,
            starts: Arc::default(),
        }
    }

    fn text(&self) -> &str {
        self.text.deref().as_ref()
    }

    /// The line and the column (in characters) of a byte offset.
    pub fn position(&self, offset: usize) -> Position {
        let text = self.text();
        let starts = self.starts.get_or_init(|| {
            std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        });
        position(text, starts, offset)
    }

    /// These lines over `text`, which must be this very text held another way (the buffer
    /// these lines borrow, now shared): the line starts found so far are kept.
    pub fn sharing<U>(&self, text: U) -> Lines<U>
    where
        U: Deref,
        U::Target: AsRef<str>,
    {
        debug_assert!(std::ptr::eq(text.deref().as_ref(), self.text()));
        Lines {
            text,
            starts: Arc::clone(&self.starts),
        }
    }
}

impl<T> fmt::Debug for Lines<T>
where
    T: Deref,
    T::Target: AsRef<str>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Lines({} bytes)", self.text().len())
    }
}

fn position(source: &str, starts: &[usize], offset: usize) -> Position {
    let offset = offset.min(source.len());
    // A span may end inside a multi-byte character of hostile input: step back to a boundary.
    let offset = (0..=offset)
        .rev()
        .find(|&o| source.is_char_boundary(o))
        .unwrap_or(0);
    let line = starts.partition_point(|&start| start <= offset);
    let start = starts[line - 1];
    let column = source[start..offset].chars().count() + 1;
    Position { line, column }
}

/// One problem found in a blueprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub position: Position,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "error: {}\n  --> {}:{}:{}",
            self.message,
            self.file.display(),
            self.position.line,
            self.position.column
        )?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  = hint: {hint}")?;
        }
        Ok(())
    }
}

/// Collects every problem of one blueprint, so that all are reported at once.
#[derive(Debug)]
pub struct Diagnostics<'a> {
    file: &'a Path,
    lines: Lines<&'a str>,
    items: Vec<Diagnostic>,
}

impl<'a> Diagnostics<'a> {
    pub fn new(file: &'a Path, source: &'a str) -> Self {
        Diagnostics {
            file,
            lines: Lines::new(source),
            items: Vec::new(),
        }
    }

    pub fn error(&mut self, span: &Range<usize>, message: impl Into<String>) {
        self.push(span, message.into(), None);
    }

    pub fn error_hint(
        &mut self,
        span: &Range<usize>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.push(span, message.into(), Some(hint.into()));
    }

    fn push(&mut self, span: &Range<usize>, message: String, hint: Option<String>) {
        self.items.push(Diagnostic {
            file: self.file.to_path_buf(),
            position: self.lines.position(span.start),
            message,
            hint,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The position of a byte offset of the blueprint.
    pub fn position(&self, offset: usize) -> Position {
        self.lines.position(offset)
    }

    /// The blueprint's text (`text`, the one these diagnostics are about) and line starts,
    /// for positions worked out later.
    pub fn source_map(&self, text: Arc<String>) -> SourceMap {
        self.lines.sharing(text)
    }

    pub fn into_vec(mut self) -> Vec<Diagnostic> {
        self.items
            .sort_by_key(|d| (d.position.line, d.position.column));
        self.items
    }
}

/// Suggests the closest of `candidates` to a misspelt `name`, if one is close enough.
pub fn did_you_mean<'c>(
    name: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score > 0.8)
        // Of equally close names the first in name order, whatever order they come in (a
        // hash map's differs from run to run).
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn of_equally_close_names_the_first_in_name_order_is_suggested() {
        let names = ["kms_key.date", "kms_key.data"];
        assert_eq!(did_you_mean("kms_key.dat", names), Some("kms_key.data"));
        assert_eq!(
            did_you_mean("kms_key.dat", names.into_iter().rev()),
            Some("kms_key.data")
        );
        assert_eq!(did_you_mean("kms_key.dat", ["s3_bucket.raw"]), None);
    }

    #[test]
    fn positions_count_lines_and_characters_from_one() {
        let src = "a = 1\nbé = 2\n";
        assert_eq!(Position::of_offset(src, 0), Position { line: 1, column: 1 });
        assert_eq!(Position::of_offset(src, 6), Position { line: 2, column: 1 });
        // "bé" is three bytes but two characters: the column after it is the third.
        assert_eq!(Position::of_offset(src, 9), Position { line: 2, column: 3 });
        // An offset inside a character or past the end never panics.
        assert_eq!(Position::of_offset(src, 8).line, 2);
        assert_eq!(Position::of_offset(src, 999).line, 3);
    }

    #[test]
    fn suggestions_only_for_close_names() {
        let fields = ["versioning", "name", "kms_key"];
        assert_eq!(did_you_mean("versionin", fields), Some("versioning"));
        assert_eq!(did_you_mean("kms", fields), Some("kms_key"));
        assert_eq!(did_you_mean("zzzz", fields), None);
    }
}
