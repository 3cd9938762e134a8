//! A serde `Deserializer` over [`Node`] trees that keeps positions.
//!
//! Type errors come back with the span of the node that failed. Unknown
//! keys are different: instead of stopping at the first one (what
//! `deny_unknown_fields` does), [`NodeDeserializer::deserialize_struct`]
//! checks every key of the mapping against the struct's field list, records
//! each unknown one with a "did you mean" hint, and carries on, so a user
//! sees all of them at once. Keys starting with `x-` are extensions: kept in
//! the tree, ignored by the model.
//!
//! Plain scalars are typed on demand, leniently: after interpolation
//! `${PORT}` is text, so a number field accepts the text `"8080"`.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Error as _, IntoDeserializer, Visitor};

use crate::diag::{did_you_mean, Diagnostic};
use crate::yaml::{Node, Span, Value};

/// A deserialization failure, with the position of the offending node.
#[derive(Debug, Clone)]
pub struct DeError {
    /// Where the problem is (filled in by the innermost node that saw it).
    pub span: Option<Span>,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub hint: Option<String>,
}

impl DeError {
    fn at(mut self, span: &Span) -> Self {
        if self.span.is_none() {
            self.span = Some(span.clone());
        }
        self
    }

    /// Turn into a diagnostic.
    pub fn into_diagnostic(self) -> Diagnostic {
        let mut d = Diagnostic::error("invalid-value", self.span, self.message);
        d.hint = self.hint;
        d
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

/// Separates a message from its hint in `serde::de::Error::custom` text,
/// so visitors (which only have `custom`) can say what to do.
pub const HINT: &str = "\n= hint: ";

/// `message` with `hint` attached, for `E::custom` in visitors.
pub fn with_hint(message: impl fmt::Display, hint: impl fmt::Display) -> String {
    format!("{message}{HINT}{hint}")
}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        let text = msg.to_string();
        let (message, hint) = match text.split_once(HINT) {
            Some((m, h)) => (m.to_string(), Some(h.to_string())),
            None => (text, None),
        };
        DeError {
            span: None,
            message,
            hint,
        }
    }

    fn invalid_type(unexp: de::Unexpected, exp: &dyn de::Expected) -> Self {
        let found = match unexp {
            de::Unexpected::Str(s) => format!("the text \"{s}\""),
            de::Unexpected::Map => "a mapping".into(),
            de::Unexpected::Seq => "a list".into(),
            de::Unexpected::Unit | de::Unexpected::Option => "an empty value".into(),
            other => other.to_string(),
        };
        let mut e = DeError::custom(format!("expected {exp}, found {found}"));
        if let de::Unexpected::Str(s) = unexp {
            if exp.to_string().contains("list") {
                e.hint = Some(format!("write it as a list: `[{s}]`"));
            }
        }
        e
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        let mut e = DeError::custom(format!("unknown key `{field}`"));
        e.hint = Some(unknown_key_hint(field, expected));
        e
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let mut e = DeError::custom(format!("`{variant}` is not a valid value here"));
        e.hint = Some(match did_you_mean(variant, expected.iter().copied()) {
            Some(s) => format!("did you mean `{s}`? valid values: {}", expected.join(", ")),
            None => format!("valid values: {}", expected.join(", ")),
        });
        e
    }
}

/// How many unknown keys of one mapping get a did-you-mean hint.
const MAX_SUGGESTED: usize = 50;

fn unknown_key_hint(field: &str, expected: &[&str]) -> String {
    match did_you_mean(field, expected.iter().copied()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!(
            "remove it, or prefix it with `x-` to keep it as an extension field; known keys: {}",
            expected.join(", ")
        ),
    }
}

/// Deserialize `T` from `node`, returning the value and every unknown key
/// found along the way as diagnostics.
pub fn from_node<'de, T: de::Deserialize<'de>>(
    node: &'de Node,
) -> (Result<T, DeError>, Vec<Diagnostic>) {
    let unknown = RefCell::new(Vec::new());
    let result = T::deserialize(NodeDeserializer {
        node,
        unknown: &unknown,
    })
    .map_err(|e| e.at(&node.span));
    (result, unknown.into_inner())
}

/// The deserializer. Borrow a node and a sink for unknown-key findings.
pub struct NodeDeserializer<'a, 'u> {
    node: &'a Node,
    unknown: &'u RefCell<Vec<Diagnostic>>,
}

impl<'a, 'u> NodeDeserializer<'a, 'u> {
    fn text(&self) -> Result<&'a str, DeError> {
        match &self.node.value {
            Value::Scalar(s) => Ok(&s.text),
            _ => Err(DeError::custom(format!(
                "expected a single value, found {}",
                self.node.kind()
            ))
            .at(&self.node.span)),
        }
    }

    fn parse<T: std::str::FromStr>(&self, what: &str) -> Result<T, DeError> {
        let text = self.text()?;
        text.trim().parse().map_err(|_| {
            DeError::custom(format!("expected {what}, found \"{text}\"")).at(&self.node.span)
        })
    }

    fn seq_access(&self) -> Result<SeqAccess<'a, 'u>, DeError> {
        match &self.node.value {
            Value::Seq(items) => Ok(SeqAccess {
                iter: items.iter(),
                unknown: self.unknown,
            }),
            Value::Scalar(s) => Err(DeError {
                span: Some(self.node.span.clone()),
                message: format!("expected a list, found the text \"{}\"", s.text),
                hint: Some(format!("write it as a list: `[\"{}\"]`", s.text)),
            }),
            _ => Err(
                DeError::custom(format!("expected a list, found {}", self.node.kind()))
                    .at(&self.node.span),
            ),
        }
    }

    fn map_access(
        &self,
        fields: Option<&'static [&'static str]>,
    ) -> Result<MapAccess<'a, 'u>, DeError> {
        let Value::Map(map) = &self.node.value else {
            return Err(DeError::custom(format!(
                "expected a mapping of keys to values, found {}",
                self.node.kind()
            ))
            .at(&self.node.span));
        };
        let mut entries = Vec::with_capacity(map.len());
        let mut unknown_here = 0usize;
        for (key, entry) in map {
            if let Some(fields) = fields {
                if key.starts_with("x-") {
                    continue;
                }
                if !fields.contains(&key.as_str()) {
                    let mut d = Diagnostic::error(
                        "unknown-key",
                        Some(entry.key_span.clone()),
                        format!("unknown key `{key}`"),
                    );
                    // A did-you-mean costs a comparison with every field:
                    // a mapping of thousands of unknown keys (generated, or
                    // hostile) gets it for the first few only.
                    unknown_here += 1;
                    d.hint = Some(if unknown_here <= MAX_SUGGESTED {
                        unknown_key_hint(key, fields)
                    } else {
                        "remove it, or prefix it with `x-` to keep it as an extension field".into()
                    });
                    self.unknown.borrow_mut().push(d);
                    continue;
                }
            }
            entries.push((key.as_str(), entry));
        }
        Ok(MapAccess {
            iter: entries.into_iter(),
            value: None,
            unknown: self.unknown,
        })
    }
}

macro_rules! parse_number {
    ($($method:ident => $visit:ident : $ty:ty, $what:literal;)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            let v: $ty = self.parse($what)?;
            visitor.$visit(v).map_err(|e: DeError| e.at(&self.node.span))
        })*
    };
}

impl<'de, 'u> de::Deserializer<'de> for NodeDeserializer<'de, 'u> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let span = &self.node.span;
        let result = match &self.node.value {
            Value::Null => visitor.visit_unit(),
            Value::Scalar(s) if s.quoted => visitor.visit_borrowed_str(&s.text),
            Value::Scalar(s) => match s.text.as_str() {
                "true" | "True" | "TRUE" => visitor.visit_bool(true),
                "false" | "False" | "FALSE" => visitor.visit_bool(false),
                t => {
                    if let Ok(i) = t.parse::<i64>() {
                        visitor.visit_i64(i)
                    } else if let Some(f) = t.parse::<f64>().ok().filter(|f| f.is_finite()) {
                        visitor.visit_f64(f)
                    } else {
                        visitor.visit_borrowed_str(t)
                    }
                }
            },
            Value::Seq(_) => visitor.visit_seq(self.seq_access()?),
            Value::Map(_) => visitor.visit_map(self.map_access(None)?),
        };
        result.map_err(|e| e.at(span))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let b = match self.text()?.trim() {
            "true" | "True" | "TRUE" => true,
            "false" | "False" | "FALSE" => false,
            other => {
                return Err(DeError {
                    span: Some(self.node.span.clone()),
                    message: format!("expected true or false, found \"{other}\""),
                    hint: None,
                })
            }
        };
        visitor
            .visit_bool(b)
            .map_err(|e: DeError| e.at(&self.node.span))
    }

    parse_number! {
        deserialize_i8 => visit_i8: i8, "a whole number";
        deserialize_i16 => visit_i16: i16, "a whole number";
        deserialize_i32 => visit_i32: i32, "a whole number";
        deserialize_i64 => visit_i64: i64, "a whole number";
        deserialize_u8 => visit_u8: u8, "a whole number from 0 to 255";
        deserialize_u16 => visit_u16: u16, "a whole number from 0 to 65535";
        deserialize_u32 => visit_u32: u32, "a non-negative whole number";
        deserialize_u64 => visit_u64: u64, "a non-negative whole number";
        deserialize_f32 => visit_f32: f32, "a number";
        deserialize_f64 => visit_f64: f64, "a number";
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let text = self.text()?;
        visitor
            .visit_borrowed_str(text)
            .map_err(|e: DeError| e.at(&self.node.span))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.node.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let span = &self.node.span;
        visitor
            .visit_seq(self.seq_access()?)
            .map_err(|e| e.at(span))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let span = &self.node.span;
        visitor
            .visit_map(self.map_access(None)?)
            .map_err(|e| e.at(span))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let span = &self.node.span;
        visitor
            .visit_map(self.map_access(Some(fields))?)
            .map_err(|e| e.at(span))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let span = &self.node.span;
        let text = self.text()?;
        visitor
            .visit_enum(text.into_deserializer())
            .map_err(|e: DeError| e.at(span))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

struct SeqAccess<'a, 'u> {
    iter: std::slice::Iter<'a, Node>,
    unknown: &'u RefCell<Vec<Diagnostic>>,
}

impl<'de, 'u> de::SeqAccess<'de> for SeqAccess<'de, 'u> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.iter.next() {
            None => Ok(None),
            Some(node) => seed
                .deserialize(NodeDeserializer {
                    node,
                    unknown: self.unknown,
                })
                .map(Some)
                .map_err(|e| e.at(&node.span)),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct MapAccess<'a, 'u> {
    iter: std::vec::IntoIter<(&'a str, &'a crate::yaml::Entry)>,
    value: Option<&'a Node>,
    unknown: &'u RefCell<Vec<Diagnostic>>,
}

impl<'de, 'u> de::MapAccess<'de> for MapAccess<'de, 'u> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.iter.next() {
            None => Ok(None),
            Some((key, entry)) => {
                self.value = Some(&entry.value);
                seed.deserialize(de::value::BorrowedStrDeserializer::<DeError>::new(key))
                    .map(Some)
                    .map_err(|e| e.at(&entry.key_span))
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let node = self
            .value
            .take()
            .ok_or_else(|| DeError::custom("value requested before its key"))?;
        seed.deserialize(NodeDeserializer {
            node,
            unknown: self.unknown,
        })
        .map_err(|e| e.at(&node.span))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{parse, SourceFile};
    use serde::Deserialize;
    use std::sync::Arc;

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct Svc {
        image: Option<String>,
        replicas: Option<u32>,
        init: Option<bool>,
    }

    fn node(text: &str) -> Node {
        parse(Arc::new(SourceFile::new("t.yaml", text))).unwrap()
    }

    #[test]
    fn collects_every_unknown_key_with_hints() {
        let n = node("imgae: x\nreplicas: 2\nfoo: 1\nx-note: kept\n");
        let (svc, unknown) = from_node::<Svc>(&n);
        let svc = svc.unwrap();
        assert_eq!(svc.image, None);
        assert_eq!(svc.replicas, Some(2));
        assert_eq!(unknown.len(), 2);
        assert_eq!(unknown[0].hint.as_deref(), Some("did you mean `image`?"));
        assert_eq!(
            unknown[0].span.as_ref().map(|s| (s.line, s.col)),
            Some((1, 1))
        );
        assert_eq!(unknown[1].span.as_ref().map(|s| s.line), Some(3));
    }

    #[test]
    fn type_errors_point_at_the_value() {
        let n = node("image: x\nreplicas: lots\n");
        let (svc, _) = from_node::<Svc>(&n);
        let err = svc.unwrap_err();
        assert_eq!(err.span.as_ref().map(|s| (s.line, s.col)), Some((2, 11)));
        assert!(
            err.message.contains("non-negative whole number"),
            "{}",
            err.message
        );
    }

    #[test]
    fn quoted_numbers_and_booleans_are_accepted() {
        let n = node("replicas: \"3\"\ninit: \"true\"\n");
        let (svc, _) = from_node::<Svc>(&n);
        let svc = svc.unwrap();
        assert_eq!(svc.replicas, Some(3));
        assert_eq!(svc.init, Some(true));
    }
}
