//! The "either form" values of the Compose format, each normalised to one
//! shape: a string or a list of strings, a list of `K=V` or a mapping, a
//! command as a string or a list.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

/// A scalar read as text whatever it looks like (`80`, `true`, `1.5`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a single value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
        }
        d.deserialize_str(V)
    }
}

/// A string or a list of strings, always serialized as a list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Strings(pub Vec<String>);

impl<'de> Deserialize<'de> for Strings {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Strings;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Strings, E> {
                Ok(Strings(vec![v.to_owned()]))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Strings, E> {
                Ok(Strings(vec![v.to_string()]))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Strings, E> {
                Ok(Strings(vec![v.to_string()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strings, A::Error> {
                let mut out = Vec::new();
                while let Some(Text(s)) = seq.next_element()? {
                    out.push(s);
                }
                Ok(Strings(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// A command: a list as is, or a string split like a POSIX shell would.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Command(pub Vec<String>);

impl<'de> Deserialize<'de> for Command {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Command;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a command as a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Command, E> {
                shlex::split(v).map(Command).ok_or_else(|| {
                    E::custom(crate::de::with_hint(
                        format!("cannot split the command `{v}` into words: a quote is not closed"),
                        "close the quote, or write the command as a list: [\"sh\", \"-c\", \"...\"]",
                    ))
                })
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Command, A::Error> {
                Strings::deserialize(de::value::SeqAccessDeserializer::new(seq))
                    .map(|s| Command(s.0))
            }
        }
        d.deserialize_any(V)
    }
}

/// A list of `KEY=VALUE` strings or a mapping, normalised to a sorted
/// mapping. `KEY` alone (no `=`) or `KEY:` with no value maps to `None`:
/// for `environment` that means "take it from the shell".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Dict(pub BTreeMap<String, Option<String>>);

impl<'de> Deserialize<'de> for Dict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Dict;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping or a list of KEY=VALUE strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Dict, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(Text(item)) = seq.next_element()? {
                    match item.split_once('=') {
                        Some((k, v)) => out.insert(k.to_owned(), Some(v.to_owned())),
                        None => out.insert(item, None),
                    };
                }
                Ok(Dict(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Dict, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((k, v)) = map.next_entry::<String, Option<Text>>()? {
                    out.insert(k, v.map(|t| t.0));
                }
                Ok(Dict(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// A mapping whose values are all given, as labels and options are.
pub type StringMap = BTreeMap<String, String>;

/// Deserialize a [`Dict`] whose values must all be present into a
/// [`StringMap`] (`labels`, `sysctls`, `build.args` with values...). A key
/// without value maps to the empty string, as Compose does for labels.
pub fn string_map<'de, D: Deserializer<'de>>(d: D) -> Result<Option<StringMap>, D::Error> {
    let dict = Option::<Dict>::deserialize(d)?;
    Ok(dict.map(|d| {
        d.0.into_iter()
            .map(|(k, v)| (k, v.unwrap_or_default()))
            .collect()
    }))
}

/// `extra_hosts` as a list of `host=ip` (Compose's output form), from
/// `host:ip`, `host=ip` or a mapping.
pub fn extra_hosts<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of host:address strings or a mapping")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            let mut out = Vec::new();
            while let Some(Text(item)) = seq.next_element()? {
                // `host=ip` first: IPv6 addresses contain colons.
                let pair = item.split_once('=').or_else(|| item.split_once(':'));
                match pair {
                    Some((h, ip)) => out.push(format!("{h}={ip}")),
                    None => return Err(de::Error::custom(format!("`{item}` is not host:address"))),
                }
            }
            Ok(out)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<String>, A::Error> {
            let mut out = Vec::new();
            while let Some((k, Text(v))) = map.next_entry::<String, Text>()? {
                out.push(format!("{k}={v}"));
            }
            Ok(out)
        }
    }
    // Sorted, as Compose prints them; order does not matter in /etc/hosts
    // for distinct names.
    let mut hosts = d.deserialize_any(V)?;
    hosts.sort();
    Ok(Some(hosts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::de::from_node;
    use crate::yaml::{parse, SourceFile};
    use std::sync::Arc;

    fn load<T: for<'de> Deserialize<'de>>(text: &str) -> T {
        let node = parse(Arc::new(SourceFile::new("t.yaml", text))).unwrap();
        from_node::<T>(&node).0.unwrap()
    }

    #[test]
    fn dict_from_list_and_map() {
        let a: Dict = load("[A=1, B, C=x=y]");
        assert_eq!(a.0["A"].as_deref(), Some("1"));
        assert_eq!(a.0["B"], None);
        assert_eq!(a.0["C"].as_deref(), Some("x=y"));
        let b: Dict = load("{A: 1, B: , C: true}");
        assert_eq!(b.0["A"].as_deref(), Some("1"));
        assert_eq!(b.0["B"], None);
        assert_eq!(b.0["C"].as_deref(), Some("true"));
    }

    #[test]
    fn command_string_is_shell_split() {
        let c: Command = load("sh -c \"echo 'hi there'\"");
        assert_eq!(c.0, vec!["sh", "-c", "echo 'hi there'"]);
        let l: Command = load("[echo, '1']");
        assert_eq!(l.0, vec!["echo", "1"]);
    }

    #[test]
    fn strings_from_scalar_or_list() {
        let a: Strings = load("81");
        assert_eq!(a.0, vec!["81"]);
        let b: Strings = load("[81, '82']");
        assert_eq!(b.0, vec!["81", "82"]);
    }
}
