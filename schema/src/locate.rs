//! Find where in the files a part of the model was written.
//!
//! The typed model has no positions; the merged tree has them. Semantic
//! checks name a path (`services.web.depends_on.db`) and get back the most
//! precise span the tree has for it: the key or list item itself when it
//! exists, else its nearest written ancestor.

use crate::yaml::{Node, Span, Value};

/// Span of the node at `path` in `tree`, or of its deepest existing ancestor.
pub fn span_of(tree: &Node, path: &[&str]) -> Option<Span> {
    let mut node = tree;
    let mut best = tree.span.clone();
    for seg in path {
        match &node.value {
            Value::Map(m) => match m.get(*seg) {
                Some(entry) => {
                    best = entry.key_span.clone();
                    node = &entry.value;
                }
                None => break,
            },
            Value::Seq(items) => {
                let hit = seg
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| items.get(i))
                    .or_else(|| items.iter().find(|i| item_matches(i, seg)));
                match hit {
                    Some(item) => {
                        best = item.span.clone();
                        node = item;
                    }
                    None => break,
                }
            }
            _ => break,
        }
    }
    Some(best)
}

/// Span of the value (not the key) at `path`, when it exists.
pub fn value_span(tree: &Node, path: &[&str]) -> Option<Span> {
    let mut node = tree;
    for seg in path {
        node = match &node.value {
            Value::Map(m) => &m.get(*seg)?.value,
            Value::Seq(items) => seg
                .parse::<usize>()
                .ok()
                .and_then(|i| items.get(i))
                .or_else(|| items.iter().find(|i| item_matches(i, seg)))?,
            _ => return None,
        };
    }
    Some(node.span.clone())
}

/// A list item written as `seg`, `seg=...`, or with `seg` (or a range
/// starting with it) as one of its `:`-separated parts (`8080:80`,
/// `127.0.0.1:8080-8082:80`, `db:ro`).
fn item_matches(item: &Node, seg: &str) -> bool {
    let Some(t) = item.as_str() else { return false };
    t == seg
        || t.strip_prefix(seg)
            .is_some_and(|rest| rest.starts_with('='))
        || t.split(':').any(|part| {
            part == seg
                || part
                    .strip_prefix(seg)
                    .is_some_and(|rest| rest.starts_with('-'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{parse, SourceFile};
    use std::sync::Arc;

    #[test]
    fn finds_keys_items_and_ancestors() {
        let t = parse(Arc::new(SourceFile::new(
            "t.yaml",
            "services:\n  web:\n    depends_on: [db, cache]\n    environment:\n      A: 1\n",
        )))
        .unwrap();
        let s = span_of(&t, &["services", "web", "depends_on", "cache"]).unwrap();
        assert_eq!((s.line, s.col), (3, 22));
        let s = span_of(&t, &["services", "web", "environment", "A"]).unwrap();
        assert_eq!((s.line, s.col), (5, 7));
        let s = span_of(&t, &["services", "web", "ports"]).unwrap();
        assert_eq!((s.line, s.col), (2, 3));
        assert!(value_span(&t, &["services", "web", "ports"]).is_none());
    }
}
