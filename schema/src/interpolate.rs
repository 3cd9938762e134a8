//! Variable interpolation, as Compose does it.
//!
//! `$VAR`, `${VAR}`, `${VAR:-default}` (unset or empty), `${VAR-default}`
//! (unset), `${VAR:?message}` / `${VAR?message}` (required),
//! `${VAR:+alt}` / `${VAR+alt}` (alternative when set), `$$` for a literal
//! `$`. Defaults and alternatives may themselves contain variables.

use crate::diag::Diagnostic;
use crate::yaml::{Node, Value};

/// Something that knows variable values.
pub trait Lookup {
    /// The value of `name`, if set.
    fn get(&self, name: &str) -> Option<&str>;
}

impl Lookup for std::collections::BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<&str> {
        std::collections::BTreeMap::get(self, name).map(String::as_str)
    }
}

/// What interpolating one string produced besides the result.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    /// The string with every variable replaced.
    pub text: String,
    /// Variables used without a default that were not set.
    pub unset: Vec<String>,
}

/// Why a string could not be interpolated.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum InterpolateError {
    /// `${VAR:?msg}` with VAR missing.
    #[error("required variable {name} is missing a value: {message}")]
    Required {
        /// Variable name.
        name: String,
        /// The file's own message.
        message: String,
    },
    /// `${` without a matching `}` or with an invalid name.
    #[error("invalid interpolation `{0}`")]
    Syntax(String),
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Interpolate one string.
pub fn interpolate(input: &str, vars: &dyn Lookup) -> Result<Outcome, InterpolateError> {
    let mut out = Outcome::default();
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        out.text.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let mut chars = after.chars();
        match chars.next() {
            Some('$') => {
                out.text.push('$');
                rest = &after[1..];
            }
            Some('{') => {
                let body_start = 1;
                let end = matching_brace(after)
                    .ok_or_else(|| InterpolateError::Syntax(format!("${}", truncate(after))))?;
                let body = &after[body_start..end];
                substitute(body, vars, &mut out)?;
                rest = &after[end + 1..];
            }
            Some(c) if is_name_start(c) => {
                let len = after
                    .find(|c: char| !is_name_char(c))
                    .unwrap_or(after.len());
                let name = &after[..len];
                match vars.get(name) {
                    Some(v) => out.text.push_str(v),
                    None => out.unset.push(name.to_string()),
                }
                rest = &after[len..];
            }
            _ => {
                // A lone `$` (e.g. `cost: 5$`) stays as written.
                out.text.push('$');
                rest = after;
            }
        }
    }
    out.text.push_str(rest);
    Ok(out)
}

/// A variable a text refers to, as `config --variables` lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reference {
    /// Its name.
    pub name: String,
    /// `${NAME?...}` / `${NAME:?...}`: it must be set.
    pub required: bool,
    /// `${NAME-default}` / `${NAME:-default}`.
    pub default: Option<String>,
    /// `${NAME+alternate}` / `${NAME:+alternate}`.
    pub alternate: Option<String>,
}

/// The variables `text` refers to, in order (nested defaults included),
/// without evaluating anything.
pub fn references(text: &str) -> Vec<Reference> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        let after = &rest[pos + 1..];
        match after.chars().next() {
            Some('$') => rest = &after[1..],
            Some('{') => {
                let Some(end) = matching_brace(after) else {
                    break;
                };
                let body = &after[1..end];
                let name_len = body.find(|c: char| !is_name_char(c)).unwrap_or(body.len());
                let (name, op) = body.split_at(name_len);
                let arg = op.trim_start_matches(':').get(1..).unwrap_or_default();
                let mut r = Reference {
                    name: name.to_string(),
                    ..Default::default()
                };
                match op.trim_start_matches(':').chars().next() {
                    Some('-') => r.default = Some(arg.to_string()),
                    Some('+') => r.alternate = Some(arg.to_string()),
                    Some('?') => r.required = true,
                    _ => {}
                }
                if !name.is_empty() {
                    out.push(r);
                }
                out.extend(references(arg));
                rest = &after[end + 1..];
            }
            Some(c) if is_name_start(c) => {
                let len = after
                    .find(|c: char| !is_name_char(c))
                    .unwrap_or(after.len());
                out.push(Reference {
                    name: after[..len].to_string(),
                    ..Default::default()
                });
                rest = &after[len..];
            }
            _ => rest = after,
        }
    }
    out
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(30) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Index of the `}` closing the `{` at index 0, honouring nesting.
fn matching_brace(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn substitute(body: &str, vars: &dyn Lookup, out: &mut Outcome) -> Result<(), InterpolateError> {
    let name_len = body.find(|c: char| !is_name_char(c)).unwrap_or(body.len());
    let name = &body[..name_len];
    if name.is_empty() || !name.starts_with(is_name_start) {
        return Err(InterpolateError::Syntax(format!("${{{body}}}")));
    }
    let op = &body[name_len..];
    let value = vars.get(name);
    let nested = |text: &str, out: &mut Outcome| -> Result<String, InterpolateError> {
        let inner = interpolate(text, vars)?;
        out.unset.extend(inner.unset);
        Ok(inner.text)
    };
    let (operator, arg) = if op.is_empty() {
        ("", "")
    } else if let Some(kind) = ["-", "?", "+"].iter().find(|k| op.starts_with(**k)) {
        (*kind, &op[1..])
    } else if let Some(kind) = [":-", ":?", ":+"].iter().find(|k| op.starts_with(**k)) {
        (*kind, &op[2..])
    } else {
        return Err(InterpolateError::Syntax(format!("${{{body}}}")));
    };
    let set = value.is_some();
    let non_empty = value.is_some_and(|v| !v.is_empty());
    match operator {
        "" => match value {
            Some(v) => out.text.push_str(v),
            None => out.unset.push(name.to_string()),
        },
        ":-" | "-" => {
            let use_value = if operator == ":-" { non_empty } else { set };
            if use_value {
                out.text.push_str(value.unwrap_or_default());
            } else {
                let d = nested(arg, out)?;
                out.text.push_str(&d);
            }
        }
        ":?" | "?" => {
            let ok = if operator == ":?" { non_empty } else { set };
            if ok {
                out.text.push_str(value.unwrap_or_default());
            } else {
                let message = nested(arg, out)?;
                return Err(InterpolateError::Required {
                    name: name.to_string(),
                    message,
                });
            }
        }
        _ => {
            // ":+" and "+": the alternative when set.
            let use_alt = if operator == ":+" { non_empty } else { set };
            if use_alt {
                let a = nested(arg, out)?;
                out.text.push_str(&a);
            }
        }
    }
    Ok(())
}

/// Interpolate every scalar value of a tree (keys stay as written).
///
/// Errors and warnings become diagnostics at the scalar's position; a
/// variable that is unset is warned about once per tree.
pub fn interpolate_tree(node: &mut Node, vars: &dyn Lookup, diags: &mut Vec<Diagnostic>) {
    let mut warned = std::collections::BTreeSet::new();
    walk(node, vars, Some(diags), &mut warned);
}

/// As [`interpolate_tree`], reporting nothing: for a tree that is printed
/// as written (`config --no-interpolate`), so what cannot be interpolated
/// (a required variable unset) is kept as written.
pub fn interpolate_tree_quietly(node: &mut Node, vars: &dyn Lookup) {
    let mut warned = std::collections::BTreeSet::new();
    walk(node, vars, None, &mut warned);
}

fn walk(
    node: &mut Node,
    vars: &dyn Lookup,
    mut diags: Option<&mut Vec<Diagnostic>>,
    warned: &mut std::collections::BTreeSet<String>,
) {
    match &mut node.value {
        Value::Scalar(s) if s.text.contains('$') => match interpolate(&s.text, vars) {
            Ok(o) => {
                let written = std::mem::replace(&mut s.text, o.text);
                if s.text != written {
                    s.raw = Some(written);
                }
                let Some(diags) = diags else { return };
                // An interpolated plain scalar is typed like the result text.
                for name in o.unset {
                    if warned.insert(name.clone()) {
                        diags.push(
                            Diagnostic::warning(
                                "unset-variable",
                                Some(node.span.clone()),
                                format!("the variable {name} is not set; using an empty string"),
                            )
                            .with_hint(format!(
                                "set {name} in the environment or in .env, or write ${{{name}:-default}}"
                            )),
                        );
                    }
                }
            }
            Err(e) => {
                let Some(diags) = diags else {
                    s.raw = Some(s.text.clone());
                    return;
                };
                let hint = match &e {
                    InterpolateError::Required { name, .. } => {
                        format!("set {name} in the environment or in the project's .env file")
                    }
                    InterpolateError::Syntax(_) => {
                        "write ${NAME}, ${NAME:-default}, or $$ for a literal dollar sign".into()
                    }
                };
                diags.push(
                    Diagnostic::error("interpolation", Some(node.span.clone()), e.to_string())
                        .with_hint(hint),
                );
            }
        },
        Value::Seq(items) => {
            for item in items {
                walk(item, vars, diags.as_deref_mut(), warned);
            }
        }
        Value::Map(map) => {
            for entry in map.values_mut() {
                walk(&mut entry.value, vars, diags.as_deref_mut(), warned);
            }
        }
        _ => {}
    }
}

/// One step of a path into a tree: a mapping's key or a sequence's index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// Every scalar of `node` whose text interpolation changed, with its path
/// and its text as written.
pub fn written_texts(node: &Node) -> Vec<(Vec<Step>, String)> {
    fn collect(node: &Node, path: &mut Vec<Step>, out: &mut Vec<(Vec<Step>, String)>) {
        match &node.value {
            Value::Scalar(s) => {
                if let Some(raw) = &s.raw {
                    out.push((path.clone(), raw.clone()));
                }
            }
            Value::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(Step::Index(i));
                    collect(item, path, out);
                    path.pop();
                }
            }
            Value::Map(map) => {
                for (key, entry) in map.iter() {
                    path.push(Step::Key(key.clone()));
                    collect(&entry.value, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    collect(node, &mut Vec::new(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_listed_with_their_defaults() {
        let refs = references("${TAG:-2.4} $$NOT ${PASS:?set it} $HOME ${OPT:+on} ${A:-${B}}");
        let names: Vec<&str> = refs.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, vec!["TAG", "PASS", "HOME", "OPT", "A", "B"]);
        assert_eq!(refs[0].default.as_deref(), Some("2.4"));
        assert!(refs[1].required);
        assert_eq!(refs[3].alternate.as_deref(), Some("on"));
    }
    use std::collections::BTreeMap;

    fn vars() -> BTreeMap<String, String> {
        [("SET", "value"), ("EMPTY", ""), ("PORT", "8080")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn i(s: &str) -> String {
        interpolate(s, &vars()).unwrap().text
    }

    #[test]
    fn plain_forms() {
        assert_eq!(i("$SET"), "value");
        assert_eq!(i("${SET}"), "value");
        assert_eq!(i("a-${PORT}-b"), "a-8080-b");
        assert_eq!(i("$SET.x"), "value.x");
        assert_eq!(i("$$SET"), "$SET");
        assert_eq!(i("cost 5$"), "cost 5$");
        assert_eq!(i("$1"), "$1");
    }

    #[test]
    fn unset_without_default_is_reported() {
        let o = interpolate("x${NOPE}y$ALSO", &vars()).unwrap();
        assert_eq!(o.text, "xy");
        assert_eq!(o.unset, vec!["NOPE", "ALSO"]);
    }

    #[test]
    fn defaults() {
        assert_eq!(i("${NOPE:-d}"), "d");
        assert_eq!(i("${EMPTY:-d}"), "d");
        assert_eq!(i("${SET:-d}"), "value");
        assert_eq!(i("${NOPE-d}"), "d");
        assert_eq!(i("${EMPTY-d}"), "");
        assert_eq!(i("${NOPE:-${PORT}}"), "8080");
        assert_eq!(i("${NOPE:-}"), "");
    }

    #[test]
    fn alternatives() {
        assert_eq!(i("${SET:+alt}"), "alt");
        assert_eq!(i("${EMPTY:+alt}"), "");
        assert_eq!(i("${EMPTY+alt}"), "alt");
        assert_eq!(i("${NOPE+alt}"), "");
        assert_eq!(i("${SET+${PORT}}"), "8080");
    }

    #[test]
    fn required() {
        assert_eq!(i("${SET:?boom}"), "value");
        assert_eq!(i("${EMPTY?boom}"), "");
        let e = interpolate("${EMPTY:?must be set}", &vars()).unwrap_err();
        assert_eq!(
            e,
            InterpolateError::Required {
                name: "EMPTY".into(),
                message: "must be set".into()
            }
        );
        assert!(interpolate("${NOPE?x}", &vars()).is_err());
    }

    #[test]
    fn syntax_errors() {
        assert!(matches!(
            interpolate("${", &vars()),
            Err(InterpolateError::Syntax(_))
        ));
        assert!(matches!(
            interpolate("${A B}", &vars()),
            Err(InterpolateError::Syntax(_))
        ));
        assert!(matches!(
            interpolate("${}", &vars()),
            Err(InterpolateError::Syntax(_))
        ));
        assert!(matches!(
            interpolate("${1A}", &vars()),
            Err(InterpolateError::Syntax(_))
        ));
    }

    #[test]
    fn quiet_interpolation_keeps_what_was_written_where_values_changed() {
        let text = "services:\n  web:\n    image: busybox:${TAG:-1.36}\n    ports: [\"${PORT}:80\", \"9000:90\"]\n    command: [\"${MISSING:?needed}\"]\n";
        let file = std::sync::Arc::new(crate::yaml::SourceFile::new("stack.yaml", text));
        let mut tree = crate::yaml::parse(file).expect("parses");
        interpolate_tree_quietly(&mut tree, &vars());
        let key = |k: &str| Step::Key(k.into());
        assert_eq!(
            written_texts(&tree),
            [
                (
                    vec![key("services"), key("web"), key("image")],
                    "busybox:${TAG:-1.36}".to_string()
                ),
                (
                    vec![key("services"), key("web"), key("ports"), Step::Index(0)],
                    "${PORT}:80".to_string()
                ),
                (
                    vec![key("services"), key("web"), key("command"), Step::Index(0)],
                    "${MISSING:?needed}".to_string()
                ),
            ]
        );
    }
}
