//! Container output on the terminal: stdout to stdout and stderr to
//! stderr, each line prefixed with its container's name, padded to the
//! longest, in a colour of its own when colour is on (`--ansi`,
//! `NO_COLOR`, whether stdout is a terminal).

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

use reconciler::engine::LogLine;

const COLOURS: &[&str] = &["36", "33", "32", "35", "34", "96", "93", "92", "95", "94"];

/// `--ansi`: when to colour output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Ansi {
    /// On a terminal, unless `NO_COLOR` is set.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

static ANSI: OnceLock<Ansi> = OnceLock::new();

/// Set `--ansi` for the process (once, at start).
pub fn set_ansi(ansi: Ansi) {
    let _ = ANSI.set(ansi);
}

/// Whether output is coloured.
pub fn colour() -> bool {
    match ANSI.get().copied().unwrap_or_default() {
        Ansi::Always => true,
        Ansi::Never => false,
        Ansi::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

/// Prints chunks of output.
pub struct Printer {
    colour: bool,
    prefix: bool,
}

impl Printer {
    /// A printer with the process's colour setting; `prefix`: name each
    /// line's container.
    pub fn new(prefix: bool) -> Printer {
        Printer {
            colour: colour(),
            prefix,
        }
    }

    /// The same without colour (`--no-color`).
    pub fn without_colour(self) -> Printer {
        Printer {
            colour: false,
            ..self
        }
    }

    /// Print `chunk` of container `index` of `names`, a line at a time, to
    /// stdout or stderr as the container wrote it.
    pub fn print(
        &mut self,
        names: &[String],
        index: usize,
        chunk: &LogLine,
    ) -> std::io::Result<()> {
        let width = names.iter().map(String::len).max().unwrap_or(0);
        let name = names.get(index).map(String::as_str).unwrap_or_default();
        let prefix = match (self.prefix, self.colour) {
            (false, _) => String::new(),
            (true, true) => format!(
                "\x1b[{}m{name:<width$} |\x1b[0m ",
                COLOURS[index % COLOURS.len()]
            ),
            (true, false) => format!("{name:<width$} | "),
        };
        let mut out: Box<dyn Write> = if chunk.stderr {
            Box::new(std::io::stderr().lock())
        } else {
            Box::new(std::io::stdout().lock())
        };
        for line in chunk.text.lines() {
            writeln!(out, "{prefix}{line}")?;
        }
        out.flush()
    }
}
