//! Diagnostics: what is wrong, where, for which service, and what to do.
//!
//! Every problem the loader finds becomes a [`Diagnostic`]. Loading goes on
//! after an error where it can, so a user sees every mistake in a file at
//! once instead of fixing them one run at a time.

use std::fmt::{self, Write as _};

use crate::yaml::Span;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The file cannot be used as it is.
    Error,
    /// The file works, but experience says it will hurt later.
    Warning,
}

/// One finding about a stack file.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Where in which file, when known.
    pub span: Option<Span>,
    /// The service the finding is about, when there is one.
    pub service: Option<String>,
    /// What is wrong, in one sentence.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// A stable short code, e.g. `unknown-key`, for tests and filtering.
    pub code: &'static str,
}

impl Diagnostic {
    /// A new error.
    pub fn error(code: &'static str, span: Option<Span>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            span,
            service: None,
            message: message.into(),
            hint: None,
            code,
        }
    }

    /// A new warning.
    pub fn warning(code: &'static str, span: Option<Span>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, span, message)
        }
    }

    /// Add a hint telling the user what to do.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Name the service this finding is about.
    pub fn for_service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Render like cargo: a headline, the location, the source line with a
    /// caret under the column, and the hint.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = write!(out, "{level}[{}]: ", self.code);
        if let Some(service) = &self.service {
            let _ = write!(out, "service `{service}`: ");
        }
        let _ = writeln!(out, "{}", self.message);
        if let Some(span) = &self.span {
            let _ = writeln!(out, "  --> {span}");
            if let Some(line) = span.file.line_text(span.line) {
                let (text, col) = excerpt(line, span.col);
                let gutter = span.line.to_string().len();
                let _ = writeln!(out, "{:gutter$} |", "");
                let _ = writeln!(out, "{} | {}", span.line, text);
                // Columns count characters; keep tabs so the caret lines up.
                let pad: String = text
                    .chars()
                    .take(col.saturating_sub(1))
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                let _ = writeln!(out, "{:gutter$} | {pad}^", "");
            }
        }
        if let Some(hint) = &self.hint {
            let _ = writeln!(out, "  = help: {hint}");
        }
        out
    }
}

/// How many characters of a line a diagnostic quotes.
const EXCERPT_CHARS: usize = 100;

/// The part of `line` around 1-based column `col` that fits in
/// [`EXCERPT_CHARS`], with `...` where it was cut, and the column in it.
fn excerpt(line: &str, col: usize) -> (String, usize) {
    let count = line.chars().count();
    if count <= EXCERPT_CHARS {
        return (line.to_string(), col);
    }
    let start = col
        .saturating_sub(1 + EXCERPT_CHARS / 2)
        .min(count - EXCERPT_CHARS);
    let body: String = line.chars().skip(start).take(EXCERPT_CHARS).collect();
    let (head, shift) = if start > 0 { ("...", 3) } else { ("", 0) };
    let tail = if start + EXCERPT_CHARS < count {
        "..."
    } else {
        ""
    };
    (format!("{head}{body}{tail}"), col - start + shift)
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

/// The findings of a load that failed: at least one is an error.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", render_all(.0))]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Only the errors.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.is_error())
    }
}

/// Render findings one after another, errors first, each in file order.
pub fn render_all(diags: &[Diagnostic]) -> String {
    let mut sorted: Vec<&Diagnostic> = diags.iter().collect();
    sorted.sort_by_key(|d| {
        (
            d.severity,
            d.span
                .as_ref()
                .map(|s| (s.file.path.clone(), s.line, s.col)),
        )
    });
    let mut out = String::new();
    for d in sorted {
        out.push_str(&d.render());
        out.push('\n');
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    let _ = write!(out, "{errors} error(s), {warnings} warning(s)");
    out
}

/// The closest of `candidates` to `word`, if it is close enough to be a
/// plausible typo. Used for "did you mean" hints.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_around_the_column() {
        let line = format!("{}X{}", "a".repeat(5000), "b".repeat(5000));
        let (text, col) = excerpt(&line, 5001);
        assert!(text.len() < 120, "{}", text.len());
        assert_eq!(text.chars().nth(col - 1), Some('X'));
        assert!(text.starts_with("...") && text.ends_with("..."));
        assert_eq!(excerpt("short", 3), ("short".to_string(), 3));
    }
    use crate::yaml::SourceFile;
    use std::sync::Arc;

    #[test]
    fn renders_line_and_caret() {
        let file = Arc::new(SourceFile::new(
            "stack.yaml",
            "services:\n  web:\n    imgae: x\n",
        ));
        let d = Diagnostic::error(
            "unknown-key",
            Some(Span {
                file,
                line: 3,
                col: 5,
            }),
            "unknown key `imgae`",
        )
        .with_hint("did you mean `image`?")
        .for_service("web");
        let text = d.render();
        assert!(text.contains("error[unknown-key]: service `web`: unknown key `imgae`"));
        assert!(text.contains("--> stack.yaml:3:5"));
        assert!(text.contains("3 |     imgae: x\n  |     ^"), "{text}");
        assert!(text.contains("= help: did you mean `image`?"));
    }

    #[test]
    fn suggests_close_words_only() {
        assert_eq!(did_you_mean("imgae", ["image", "ports"]), Some("image"));
        assert_eq!(did_you_mean("zzz", ["image", "ports"]), None);
    }
}
