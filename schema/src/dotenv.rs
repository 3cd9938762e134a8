//! `.env` and `env_file` files: `KEY=VALUE` lines, as Compose reads them.
//!
//! Blank lines and `#` comments are skipped; `export KEY=VALUE` is
//! accepted; single-quoted values are literal; double-quoted values know
//! `\n`, `\t`, `\"` and `\\`; unquoted values end at ` #`. Unquoted and
//! double-quoted values are interpolated with what is known so far.

use std::collections::BTreeMap;

use crate::interpolate::{interpolate, Lookup};

/// A problem on one line of an env file.
#[derive(Debug, PartialEq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct EnvFileError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

struct Layered<'a> {
    own: &'a BTreeMap<String, String>,
    outer: &'a dyn Lookup,
}

impl Lookup for Layered<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.outer
            .get(name)
            .or_else(|| self.own.get(name).map(String::as_str))
    }
}

/// Parse an env file of `format: raw`: every `KEY=VALUE` line as written,
/// quotes, `$` and `#` included; blank lines and lines starting with `#`
/// are skipped.
pub fn parse_raw(text: &str) -> Result<BTreeMap<String, String>, EnvFileError> {
    let mut vars = BTreeMap::new();
    for (idx, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(EnvFileError {
                line: idx + 1,
                message: format!("`{line}` is not KEY=VALUE"),
            });
        };
        vars.insert(key.trim().to_string(), value.to_string());
    }
    Ok(vars)
}

/// Parse env-file text. `outer` supplies variables for interpolation
/// (the shell's environment, which wins over the file's own earlier lines).
pub fn parse(text: &str, outer: &dyn Lookup) -> Result<BTreeMap<String, String>, EnvFileError> {
    let mut vars = BTreeMap::new();
    let mut lines = text.lines().enumerate();
    while let Some((idx, raw)) = lines.next() {
        let line_no = idx + 1;
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            // A bare name in an env file means "unset"; Compose skips it.
            if line
                .trim()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                continue;
            }
            return Err(EnvFileError {
                line: line_no,
                message: format!("expected KEY=VALUE, found `{}`", line.trim()),
            });
        };
        let key = key.trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(EnvFileError {
                line: line_no,
                message: format!("`{key}` is not a variable name"),
            });
        }
        let value = value.trim_start();
        let parsed = if let Some(body) = value.strip_prefix('\'') {
            let mut full = body.to_string();
            // Single-quoted values may span lines.
            while !full.contains('\'') {
                match lines.next() {
                    Some((_, next)) => {
                        full.push('\n');
                        full.push_str(next);
                    }
                    None => {
                        return Err(EnvFileError {
                            line: line_no,
                            message: "a single quote is never closed".into(),
                        })
                    }
                }
            }
            full[..full.find('\'').unwrap_or(full.len())].to_string()
        } else if let Some(body) = value.strip_prefix('"') {
            let mut full = body.to_string();
            while closing_double_quote(&full).is_none() {
                match lines.next() {
                    Some((_, next)) => {
                        full.push('\n');
                        full.push_str(next);
                    }
                    None => {
                        return Err(EnvFileError {
                            line: line_no,
                            message: "a double quote is never closed".into(),
                        })
                    }
                }
            }
            let end = closing_double_quote(&full).unwrap_or(full.len());
            let unescaped = unescape(&full[..end]);
            expand(&unescaped, &vars, outer, line_no)?
        } else {
            let v = match value.find(" #") {
                Some(i) => &value[..i],
                None => value,
            };
            expand(v.trim_end(), &vars, outer, line_no)?
        };
        vars.insert(key.to_string(), parsed);
    }
    Ok(vars)
}

fn closing_double_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

fn expand(
    value: &str,
    own: &BTreeMap<String, String>,
    outer: &dyn Lookup,
    line: usize,
) -> Result<String, EnvFileError> {
    let layered = Layered { own, outer };
    interpolate(value, &layered)
        .map(|o| o.text)
        .map_err(|e| EnvFileError {
            line,
            message: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_values_are_taken_as_written() {
        let vars = parse_raw("# note\nA=\"quoted\" $HOME # not a comment\n\nB=x=y\n").unwrap();
        assert_eq!(vars["A"], "\"quoted\" $HOME # not a comment");
        assert_eq!(vars["B"], "x=y");
        assert_eq!(parse_raw("oops\n").unwrap_err().line, 1);
    }

    fn p(text: &str) -> BTreeMap<String, String> {
        parse(text, &BTreeMap::new()).unwrap()
    }

    #[test]
    fn basic_lines() {
        let v = p("# comment\nA=1\nexport B=two words # note\n\nC=\nD='lit $A'\nE=\"x\\ny $A\"\nF=${A}0\n");
        assert_eq!(v["A"], "1");
        assert_eq!(v["B"], "two words");
        assert_eq!(v["C"], "");
        assert_eq!(v["D"], "lit $A");
        assert_eq!(v["E"], "x\ny 1");
        assert_eq!(v["F"], "10");
    }

    #[test]
    fn multiline_quotes() {
        let v = p("K=\"line1\nline2\"\nN=1\n");
        assert_eq!(v["K"], "line1\nline2");
        assert_eq!(v["N"], "1");
    }

    #[test]
    fn shell_environment_wins_in_interpolation() {
        let outer: BTreeMap<String, String> = [("A".to_string(), "shell".to_string())].into();
        let v = parse("A=file\nB=$A\n", &outer).unwrap();
        assert_eq!(v["B"], "shell");
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("A=1\nnot a line\n", &BTreeMap::new()).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(parse("A=\"open\n", &BTreeMap::new()).is_err());
    }
}
