//! A YAML document tree that remembers where every node came from.
//!
//! `serde_yaml` does not expose node positions, and every diagnostic we emit
//! must name a file, line and column. So the loader parses with the
//! `yaml-rust2` event parser into [`Node`]s that carry a [`Span`], resolves
//! anchors, aliases and `<<` merge keys itself, and refuses documents whose
//! aliases would expand beyond [`MAX_EXPANDED_BYTES`] (a "billion laughs"
//! alias bomb, counted in the memory its nodes and text take) before any
//! memory is spent on the expansion, and documents nested deeper than
//! [`MAX_DEPTH`] (which later passes, and dropping the tree, walk
//! recursively).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// How much memory one document may expand to once aliases are resolved:
/// [`NODE_BYTES`] per node plus its text.
///
/// A 1,000-service stack file takes about 10 MiB; an alias bomb reaches
/// gigabytes from a few kilobytes, with many small nodes or a few long
/// strings. The check runs before each alias is copied, so a bomb is
/// refused in microseconds.
pub const MAX_EXPANDED_BYTES: usize = 64 * 1024 * 1024;

/// What one node costs in memory, roughly (the node, its span, its slot in
/// the parent), for [`MAX_EXPANDED_BYTES`].
pub const NODE_BYTES: usize = 128;

/// How deeply nodes may nest, aliases included. Real stack files nest a
/// handful of levels.
pub const MAX_DEPTH: usize = 128;

/// A source file the loader read, kept so diagnostics can quote its lines.
#[derive(Debug)]
pub struct SourceFile {
    /// Path as given (or resolved) by the loader.
    pub path: PathBuf,
    /// Full text of the file.
    pub text: String,
    /// Where each line starts, so quoting a line costs nothing however
    /// many diagnostics a file has.
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// A file read from `path`.
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> SourceFile {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            path: path.into(),
            text,
            line_starts,
        }
    }

    /// The text of 1-based line `line`, without its newline.
    pub fn line_text(&self, line: usize) -> Option<&str> {
        let start = *self.line_starts.get(line.checked_sub(1)?)?;
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |next| next - 1);
        let text = self.text.get(start..end.max(start))?;
        Some(text.strip_suffix('\r').unwrap_or(text))
    }
}

/// Where a node starts: a file and a 1-based line and column.
#[derive(Clone)]
pub struct Span {
    /// The file the node was read from.
    pub file: Arc<SourceFile>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
}

impl Span {
    /// The path of the file this span points into.
    pub fn path(&self) -> &Path {
        &self.file.path
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.path.display(), self.line, self.col)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Compose's merge tags for override files: `!reset` drops the inherited
/// value, `!override` replaces it instead of merging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeTag {
    /// `!reset`: remove the value inherited from earlier files.
    Reset,
    /// `!override`: replace the inherited value wholesale.
    Override,
}

/// A scalar as written: its text and whether it was quoted.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    /// The scalar's text after YAML unescaping.
    pub text: String,
    /// Quoted and block scalars are always strings; plain ones may be
    /// numbers or booleans.
    pub quoted: bool,
    /// The text as written, when interpolation changed it (what `config
    /// --no-interpolate` prints).
    pub raw: Option<String>,
}

/// A mapping entry: the key's position and the value.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Where the key was written.
    pub key_span: Span,
    /// The value.
    pub value: Node,
}

/// An ordered YAML mapping with string keys.
pub type Mapping = IndexMap<String, Entry>;

/// The shape of a node.
#[derive(Debug, Clone)]
pub enum Value {
    /// `~`, `null` or an empty value.
    Null,
    /// Any other scalar.
    Scalar(Scalar),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping.
    Map(Mapping),
}

/// A YAML node with its position.
#[derive(Debug, Clone)]
pub struct Node {
    /// What the node holds.
    pub value: Value,
    /// Where it starts.
    pub span: Span,
    /// A Compose merge tag, if the node carried one.
    pub tag: Option<MergeTag>,
}

impl Node {
    /// A new node without a merge tag.
    pub fn new(value: Value, span: Span) -> Self {
        Node {
            value,
            span,
            tag: None,
        }
    }

    /// A string scalar at `span`.
    pub fn string(text: impl Into<String>, span: Span) -> Self {
        Node::new(
            Value::Scalar(Scalar {
                text: text.into(),
                quoted: true,
                raw: None,
            }),
            span,
        )
    }

    /// The mapping, if this node is one.
    pub fn as_map(&self) -> Option<&Mapping> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The mapping, mutably, if this node is one.
    pub fn as_map_mut(&mut self) -> Option<&mut Mapping> {
        match &mut self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The sequence, if this node is one.
    pub fn as_seq(&self) -> Option<&Vec<Node>> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The sequence, mutably, if this node is one.
    pub fn as_seq_mut(&mut self) -> Option<&mut Vec<Node>> {
        match &mut self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The scalar text, if this node is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s) => Some(&s.text),
            _ => None,
        }
    }

    /// Value of `key` when this node is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.get(key).map(|e| &e.value)
    }

    /// A short word for the node's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Scalar(_) => "a scalar",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// Roughly the memory this subtree takes, in bytes, and how deep it
    /// nests (a scalar is 1).
    fn weight(&self) -> (usize, usize) {
        match &self.value {
            Value::Null => (NODE_BYTES, 1),
            Value::Scalar(s) => (NODE_BYTES + s.text.len(), 1),
            Value::Seq(items) => items
                .iter()
                .map(Node::weight)
                .fold((NODE_BYTES, 1), |(b, d), (ib, id)| {
                    (b.saturating_add(ib), d.max(id + 1))
                }),
            Value::Map(m) => m.iter().fold((NODE_BYTES, 1), |(b, d), (k, e)| {
                let (eb, ed) = e.value.weight();
                (b.saturating_add(NODE_BYTES + k.len() + eb), d.max(ed + 1))
            }),
        }
    }
}

/// Why a document could not be turned into a tree.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// Where the problem is.
    pub span: Span,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

/// Parse `file` into a tree. An empty document yields `Value::Null`.
pub fn parse(file: Arc<SourceFile>) -> Result<Node, ParseError> {
    let mut builder = Builder {
        file: file.clone(),
        stack: Vec::new(),
        anchors: Default::default(),
        root: None,
        expanded: 0,
        error: None,
        documents: 0,
    };
    // Events one at a time: the parser's own `load` recurses once per
    // nesting level, and a hostile file nests thousands deep.
    let mut parser = Parser::new_from_str(&file.text);
    loop {
        let (event, mark) = parser.next_token().map_err(|e| ParseError {
            span: span_at(&file, e.marker()),
            message: format!("invalid YAML: {}", e.info()),
            hint: Some("check indentation and quoting around this point".into()),
        })?;
        let end = event == Event::StreamEnd;
        builder.on_event(event, mark);
        if end || builder.error.is_some() {
            break;
        }
    }
    if let Some(err) = builder.error {
        return Err(err);
    }
    Ok(builder.root.unwrap_or_else(|| {
        Node::new(
            Value::Null,
            Span {
                file,
                line: 1,
                col: 1,
            },
        )
    }))
}

fn text_len(value: &Value) -> usize {
    match value {
        Value::Scalar(s) => s.text.len(),
        _ => 0,
    }
}

fn span_at(file: &Arc<SourceFile>, m: &Marker) -> Span {
    Span {
        file: file.clone(),
        line: m.line().max(1),
        col: m.col() + 1,
    }
}

enum Frame {
    Seq {
        node: Node,
        anchor: usize,
    },
    Map {
        node: Node,
        anchor: usize,
        pending_key: Option<Node>,
        merges: Vec<Node>,
    },
}

struct Builder {
    file: Arc<SourceFile>,
    stack: Vec<Frame>,
    /// Anchored nodes with their [`Node::weight`].
    anchors: std::collections::HashMap<usize, (Node, (usize, usize))>,
    root: Option<Node>,
    /// Bytes the document takes so far, aliases expanded.
    expanded: usize,
    error: Option<ParseError>,
    documents: usize,
}

impl Builder {
    /// Refuse to open a collection deeper than [`MAX_DEPTH`].
    fn deep(&mut self, span: &Span, extra: usize) -> bool {
        if self.stack.len() + extra <= MAX_DEPTH {
            return false;
        }
        self.fail(
            span.clone(),
            format!("values here are nested more than {MAX_DEPTH} levels deep"),
            Some("a stack file nests a few levels; this looks generated or hostile".into()),
        );
        true
    }

    fn fail(&mut self, span: Span, message: String, hint: Option<String>) {
        if self.error.is_none() {
            self.error = Some(ParseError {
                span,
                message,
                hint,
            });
        }
    }

    fn merge_tag(tag: &Option<Tag>) -> Option<MergeTag> {
        match tag.as_ref().map(|t| t.suffix.as_str()) {
            Some("reset") => Some(MergeTag::Reset),
            Some("override") => Some(MergeTag::Override),
            _ => None,
        }
    }

    /// Attach a finished node to its parent (or make it the root).
    fn push_value(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            let weight = node.weight();
            self.anchors.insert(anchor, (node.clone(), weight));
        }
        match self.stack.last_mut() {
            None => {
                self.documents += 1;
                if self.documents > 1 {
                    let span = node.span.clone();
                    self.fail(
                        span,
                        "a stack file holds one YAML document, this is a second one".into(),
                        Some(
                            "split the documents into separate files and pass each with -f".into(),
                        ),
                    );
                } else {
                    self.root = Some(node);
                }
            }
            Some(Frame::Seq { node: seq, .. }) => {
                if let Value::Seq(items) = &mut seq.value {
                    items.push(node);
                }
            }
            Some(Frame::Map {
                node: map,
                pending_key,
                merges,
                ..
            }) => match pending_key.take() {
                None => *pending_key = Some(node),
                Some(key) => {
                    let is_merge =
                        matches!(&key.value, Value::Scalar(s) if s.text == "<<" && !s.quoted);
                    if is_merge {
                        merges.push(node);
                        return;
                    }
                    let key_text = match &key.value {
                        Value::Scalar(s) => s.text.clone(),
                        Value::Null => String::new(),
                        _ => {
                            let span = key.span.clone();
                            self.fail(
                                span,
                                format!(
                                    "a mapping key must be a plain value, found {}",
                                    key.kind()
                                ),
                                None,
                            );
                            return;
                        }
                    };
                    let Value::Map(entries) = &mut map.value else {
                        return;
                    };
                    if let Some(previous) = entries.get(&key_text) {
                        let first = previous.key_span.line;
                        let span = key.span.clone();
                        self.fail(
                            span,
                            format!("key `{key_text}` is already defined on line {first}"),
                            Some("remove one of the two, or merge them into one".into()),
                        );
                        return;
                    }
                    entries.insert(
                        key_text,
                        Entry {
                            key_span: key.span,
                            value: node,
                        },
                    );
                }
            },
        }
    }

    /// Apply `<<` merge keys: entries from the merged mappings fill in keys
    /// the mapping does not define itself; earlier merge sources win.
    fn apply_merges(&mut self, map: &mut Node, merges: Vec<Node>) {
        let mut sources = Vec::new();
        for m in merges {
            match m.value {
                Value::Map(_) => sources.push(m),
                Value::Seq(items) => {
                    for item in items {
                        if matches!(item.value, Value::Map(_)) {
                            sources.push(item);
                        } else {
                            let kind = item.kind();
                            self.fail(
                                item.span,
                                format!("`<<` merges mappings, this item is {kind}"),
                                None,
                            );
                        }
                    }
                }
                _ => {
                    let kind = m.kind();
                    self.fail(
                        m.span,
                        format!("`<<` merges mappings, this value is {kind}"),
                        Some("write `<<: *anchor` where the anchor names a mapping".into()),
                    );
                }
            }
        }
        let Value::Map(entries) = &mut map.value else {
            return;
        };
        for source in sources {
            if let Value::Map(src) = source.value {
                for (k, e) in src {
                    entries.entry(k).or_insert(e);
                }
            }
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let span = span_at(&self.file, &mark);
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let quoted = style != TScalarStyle::Plain;
                let value =
                    if !quoted && matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL") {
                        Value::Null
                    } else {
                        Value::Scalar(Scalar {
                            text,
                            quoted,
                            raw: None,
                        })
                    };
                self.expanded += NODE_BYTES + text_len(&value);
                let mut node = Node::new(value, span);
                node.tag = Self::merge_tag(&tag);
                self.push_value(node, anchor);
            }
            Event::SequenceStart(anchor, tag) => {
                if self.deep(&span, 1) {
                    return;
                }
                let mut node = Node::new(Value::Seq(Vec::new()), span);
                node.tag = Self::merge_tag(&tag);
                self.stack.push(Frame::Seq { node, anchor });
            }
            Event::MappingStart(anchor, tag) => {
                if self.deep(&span, 1) {
                    return;
                }
                let mut node = Node::new(Value::Map(Mapping::new()), span);
                node.tag = Self::merge_tag(&tag);
                self.stack.push(Frame::Map {
                    node,
                    anchor,
                    pending_key: None,
                    merges: Vec::new(),
                });
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq { node, anchor }) = self.stack.pop() {
                    self.expanded += NODE_BYTES;
                    self.push_value(node, anchor);
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map {
                    mut node,
                    anchor,
                    merges,
                    ..
                }) = self.stack.pop()
                {
                    if !merges.is_empty() {
                        self.apply_merges(&mut node, merges);
                    }
                    // The parser marks a block mapping at its first `:`;
                    // the first key is where a reader sees it start.
                    if let Some(first) = node.as_map().and_then(|m| m.values().next()) {
                        let k = &first.key_span;
                        if k.line == node.span.line && k.col < node.span.col {
                            node.span = k.clone();
                        }
                    }
                    self.expanded += NODE_BYTES;
                    self.push_value(node, anchor);
                }
            }
            Event::Alias(id) => {
                let Some(&(bytes, depth)) = self.anchors.get(&id).map(|(_, w)| w) else {
                    self.fail(span, "alias to an unknown anchor".into(), None);
                    return;
                };
                if self.deep(&span, depth) {
                    return;
                }
                self.expanded = self.expanded.saturating_add(bytes);
                if self.expanded > MAX_EXPANDED_BYTES {
                    self.fail(
                        span,
                        format!(
                            "aliases in this document expand to more than {} MiB",
                            MAX_EXPANDED_BYTES / (1024 * 1024)
                        ),
                        Some(
                            "this looks like an alias bomb; reduce nested aliases of aliases"
                                .into(),
                        ),
                    );
                    return;
                }
                let Some((target, _)) = self.anchors.get(&id) else {
                    return;
                };
                let mut node = target.clone();
                // The alias sits here; nested nodes keep the anchor's spans.
                node.span = span;
                self.push_value(node, 0);
            }
            Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd
            | Event::Nothing => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Node, ParseError> {
        parse(Arc::new(SourceFile::new("t.yaml", text)))
    }

    #[test]
    fn spans_are_one_based() {
        let n = parse_str("a:\n  b: 1\n").unwrap();
        let b = n.get("a").unwrap().as_map().unwrap().get("b").unwrap();
        assert_eq!((b.key_span.line, b.key_span.col), (2, 3));
        assert_eq!((b.value.span.line, b.value.span.col), (2, 6));
    }

    #[test]
    fn merge_keys_fill_missing_entries_only() {
        let n = parse_str("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n").unwrap();
        let c = n.get("c").unwrap();
        assert_eq!(c.get("x").unwrap().as_str(), Some("1"));
        assert_eq!(c.get("y").unwrap().as_str(), Some("3"));
    }

    #[test]
    fn merge_key_accepts_a_list_of_mappings() {
        let n = parse_str("a: &a {x: 1}\nb: &b {x: 2, z: 3}\nc:\n  <<: [*a, *b]\n").unwrap();
        let c = n.get("c").unwrap();
        assert_eq!(c.get("x").unwrap().as_str(), Some("1"));
        assert_eq!(c.get("z").unwrap().as_str(), Some("3"));
    }

    #[test]
    fn duplicate_keys_are_refused_with_both_lines() {
        let err = parse_str("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.span.line, 3);
        assert!(err.message.contains("line 1"), "{}", err.message);
    }

    #[test]
    fn alias_bomb_is_refused_quickly() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            doc.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let err = parse_str(&doc).unwrap_err();
        assert!(err.message.contains("expand"), "{}", err.message);
    }

    #[test]
    fn merge_tags_are_kept() {
        let n = parse_str("ports: !reset []\nimage: !override x\n").unwrap();
        assert_eq!(n.get("ports").unwrap().tag, Some(MergeTag::Reset));
        assert_eq!(n.get("image").unwrap().tag, Some(MergeTag::Override));
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let err = parse_str("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.span.line >= 1);
        assert!(err.message.starts_with("invalid YAML"));
    }
}
