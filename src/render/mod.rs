//! Everything users see: plans, progress, summaries, diagnostics. Only this module (and the
//! CLI's prompt) writes to the terminal.

pub mod drift;
pub mod outcome;
pub mod plan;
pub mod policy;
pub mod progress;
pub mod stats;

use std::io::IsTerminal;

/// Whether to colour output: never with `--no-color`, `NO_COLOR` or a non-terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub fn detect(no_color: bool, stream_is_terminal: bool) -> Style {
        let env_off = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            color: !no_color && !env_off && stream_is_terminal,
        }
    }

    pub fn stdout(no_color: bool) -> Style {
        Style::detect(no_color, std::io::stdout().is_terminal())
    }

    pub fn stderr(no_color: bool) -> Style {
        Style::detect(no_color, std::io::stderr().is_terminal())
    }

    pub fn paint(&self, code: Color, text: &str) -> String {
        if self.color {
            format!("\x1b[{}m{text}\x1b[0m", code as u8)
        } else {
            text.to_string()
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Color {
    Red = 31,
    Green = 32,
    Yellow = 33,
    Bold = 1,
}
