//! Container output on the terminal: each line prefixed with its
//! container's name, padded to the longest, in a colour of its own when
//! stdout is a terminal.

use std::io::{IsTerminal, Write};

use reconciler::engine::LogLine;

const COLOURS: &[&str] = &["36", "33", "32", "35", "34", "96", "93", "92", "95", "94"];

/// Prints chunks of output.
pub struct Printer {
    colour: bool,
    stdout: std::io::Stdout,
}

impl Printer {
    /// A printer to stdout.
    pub fn new() -> Printer {
        Printer {
            colour: std::io::stdout().is_terminal(),
            stdout: std::io::stdout(),
        }
    }

    /// Print `chunk` of container `index` of `names`, a line at a time.
    pub fn print(
        &mut self,
        names: &[String],
        index: usize,
        chunk: &LogLine,
    ) -> std::io::Result<()> {
        let width = names.iter().map(String::len).max().unwrap_or(0);
        let name = names.get(index).map(String::as_str).unwrap_or_default();
        let prefix = if self.colour {
            format!(
                "\x1b[{}m{name:<width$} |\x1b[0m ",
                COLOURS[index % COLOURS.len()]
            )
        } else {
            format!("{name:<width$} | ")
        };
        let mut out = self.stdout.lock();
        for line in chunk.text.lines() {
            writeln!(out, "{prefix}{line}")?;
        }
        out.flush()
    }
}
