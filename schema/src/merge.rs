//! Merging stack files (`-f a.yaml -f b.yaml`) and `extends`, with
//! Compose's override rules.
//!
//! Mappings merge key by key; scalars are replaced; lists depend on the
//! field: `command`, `entrypoint`, `healthcheck.test` and `profiles` are
//! replaced, `environment`, `labels` and friends merge by key (whatever
//! form each file used), `volumes` merge by container path, `secrets` and
//! `configs` by source, `ports` and other lists append without duplicates.
//! `!reset` removes an inherited value and `!override` replaces it whole.
//!
//! Merging works on [`Node`] trees, so every value keeps the position of
//! the file that last set it.

use crate::yaml::{Entry, Mapping, MergeTag, Node, Value};

/// Service keys written as a list of `KEY=VALUE` or a mapping.
const DICT_KEYS: &[&str] = &[
    "environment",
    "labels",
    "annotations",
    "sysctls",
    "extra_hosts",
];

/// Service keys whose list replaces the inherited one.
const REPLACED_KEYS: &[&str] = &["command", "entrypoint", "profiles"];

/// Merge two whole stack-file trees; `over` wins.
pub fn merge_files(base: Node, over: Node) -> Node {
    merge_with(base, over, &|key, base, over| match key {
        "services" => merge_with(base, over, &|_, b, o| merge_service(b, o)),
        _ => plain(key, base, over),
    })
}

/// Merge two service definitions; `over` wins.
pub fn merge_service(base: Node, over: Node) -> Node {
    let base = normalize_service(base);
    let over = normalize_service(over);
    merge_with(base, over, &service_field)
}

fn service_field(key: &str, base: Node, over: Node) -> Node {
    match key {
        k if REPLACED_KEYS.contains(&k) => over,
        "healthcheck" => merge_with(base, over, &|k, b, o| {
            if k == "test" {
                o
            } else {
                plain(k, b, o)
            }
        }),
        "logging" => {
            let driver = |n: &Node| n.get("driver").and_then(Node::as_str).map(str::to_owned);
            match (driver(&base), driver(&over)) {
                (Some(a), Some(b)) if a != b => over,
                _ => plain(key, base, over),
            }
        }
        "volumes" => merge_list_by(base, over, volume_target),
        "secrets" | "configs" => merge_list_by(base, over, file_ref_source),
        _ => plain(key, base, over),
    }
}

/// The default rule for a field: mappings merge, lists append, scalars
/// are replaced.
fn plain(_key: &str, base: Node, over: Node) -> Node {
    merge_with(base, over, &plain)
}

/// Merge two nodes; `rule` decides how each entry of two mappings merges.
fn merge_with(base: Node, over: Node, rule: &dyn Fn(&str, Node, Node) -> Node) -> Node {
    if over.tag == Some(MergeTag::Override) {
        return over;
    }
    match (base.value, over.value) {
        (Value::Map(b), Value::Map(o)) => {
            let mut out = b;
            for (key, entry) in o {
                if entry.value.tag == Some(MergeTag::Reset) {
                    out.shift_remove(&key);
                    continue;
                }
                let merged = match out.shift_remove(&key) {
                    Some(existing) => Entry {
                        key_span: entry.key_span,
                        value: rule(&key, existing.value, entry.value),
                    },
                    None => entry,
                };
                out.insert(key, merged);
            }
            Node::new(Value::Map(out), over.span)
        }
        (Value::Seq(b), Value::Seq(o)) => {
            let mut out = b;
            for item in o {
                if !out.iter().any(|x| same(x, &item)) {
                    out.push(item);
                }
            }
            Node::new(Value::Seq(out), over.span)
        }
        (_, value) => Node {
            value,
            span: over.span,
            tag: None,
        },
    }
}

/// Lists merged by a key: an item of `over` replaces the item of `base`
/// with the same key; new keys are appended.
fn merge_list_by(base: Node, over: Node, key: fn(&Node) -> Option<String>) -> Node {
    let replace = over.tag == Some(MergeTag::Override);
    match (base.value, over.value) {
        (Value::Seq(mut out), Value::Seq(items)) if !replace => {
            for item in items {
                match key(&item)
                    .and_then(|k| out.iter().position(|x| key(x).as_deref() == Some(&k)))
                {
                    Some(i) => out[i] = item,
                    None => out.push(item),
                }
            }
            Node::new(Value::Seq(out), over.span)
        }
        (_, value) => Node {
            value,
            span: over.span,
            tag: None,
        },
    }
}

fn volume_target(n: &Node) -> Option<String> {
    match &n.value {
        Value::Scalar(s) => crate::model::volumes::parse_short(&s.text)
            .ok()
            .map(|v| v.target),
        Value::Map(_) => n.get("target").and_then(Node::as_str).map(str::to_owned),
        _ => None,
    }
}

fn file_ref_source(n: &Node) -> Option<String> {
    match &n.value {
        Value::Scalar(s) => Some(s.text.clone()),
        Value::Map(_) => n.get("source").and_then(Node::as_str).map(str::to_owned),
        _ => None,
    }
}

/// Structural equality, ignoring positions.
fn same(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Null, Value::Null) => true,
        (Value::Scalar(x), Value::Scalar(y)) => x.text == y.text,
        (Value::Seq(x), Value::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, e)| y.get(k).is_some_and(|f| same(&e.value, &f.value)))
        }
        _ => false,
    }
}

/// Bring the either-form fields of a service to their mapping form so
/// files written in different forms merge by key.
fn normalize_service(mut node: Node) -> Node {
    let Some(map) = node.as_map_mut() else {
        return node;
    };
    for key in DICT_KEYS {
        if let Some(e) = map.get_mut(*key) {
            let sep = if *key == "extra_hosts" {
                &['=', ':'][..]
            } else {
                &['='][..]
            };
            list_to_map(&mut e.value, sep);
        }
    }
    for key in ["depends_on", "networks"] {
        if let Some(e) = map.get_mut(key) {
            list_to_map(&mut e.value, &[]);
        }
    }
    if let Some(e) = map.get_mut("build") {
        if let Value::Scalar(_) = &e.value.value {
            let span = e.value.span.clone();
            let mut m = Mapping::new();
            m.insert(
                "context".into(),
                Entry {
                    key_span: span.clone(),
                    value: e.value.clone(),
                },
            );
            e.value = Node::new(Value::Map(m), span);
        }
        if let Some(args) = e.value.as_map_mut().and_then(|b| b.get_mut("args")) {
            list_to_map(&mut args.value, &['=']);
        }
    }
    node
}

/// `[A=1, B]` -> `{A: "1", B: null}`; with no separators, `[a, b]` ->
/// `{a: null, b: null}`. Mappings are left alone.
fn list_to_map(node: &mut Node, separators: &[char]) {
    let Value::Seq(items) = &node.value else {
        return;
    };
    let mut map = Mapping::new();
    for item in items {
        let Value::Scalar(s) = &item.value else {
            // Leave malformed lists for the typed pass to report.
            return;
        };
        let split = separators.iter().find_map(|sep| s.text.split_once(*sep));
        let (key, value) = match split {
            Some((k, v)) => (k.to_string(), Node::string(v, item.span.clone())),
            None => (s.text.clone(), Node::new(Value::Null, item.span.clone())),
        };
        map.insert(
            key,
            Entry {
                key_span: item.span.clone(),
                value,
            },
        );
    }
    node.value = Value::Map(map);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{parse, SourceFile};
    use std::sync::Arc;

    fn node(text: &str) -> Node {
        parse(Arc::new(SourceFile::new("t.yaml", text))).unwrap()
    }

    fn svc(base: &str, over: &str) -> Node {
        merge_service(node(base), node(over))
    }

    fn texts(n: &Node) -> Vec<String> {
        n.as_seq()
            .unwrap()
            .iter()
            .map(|i| i.as_str().unwrap_or("<map>").to_string())
            .collect()
    }

    #[test]
    fn scalars_are_replaced_and_maps_merged() {
        let m = svc(
            "image: a\nhealthcheck: {interval: 5s, retries: 3}",
            "image: b\nhealthcheck: {retries: 5}",
        );
        assert_eq!(m.get("image").unwrap().as_str(), Some("b"));
        let h = m.get("healthcheck").unwrap();
        assert_eq!(h.get("interval").unwrap().as_str(), Some("5s"));
        assert_eq!(h.get("retries").unwrap().as_str(), Some("5"));
    }

    #[test]
    fn command_is_replaced_not_appended() {
        let m = svc("command: [a, b]", "command: [c]");
        assert_eq!(texts(m.get("command").unwrap()), vec!["c"]);
        let m = svc(
            "healthcheck: {test: [CMD, a]}",
            "healthcheck: {test: [CMD, b]}",
        );
        assert_eq!(
            texts(m.get("healthcheck").unwrap().get("test").unwrap()),
            vec!["CMD", "b"]
        );
    }

    #[test]
    fn environment_merges_across_forms() {
        let m = svc("environment: [A=1, B=2]", "environment: {B: 3, C: 4}");
        let env = m.get("environment").unwrap();
        assert_eq!(env.get("A").unwrap().as_str(), Some("1"));
        assert_eq!(env.get("B").unwrap().as_str(), Some("3"));
        assert_eq!(env.get("C").unwrap().as_str(), Some("4"));
    }

    #[test]
    fn volumes_merge_by_target() {
        let m = svc(
            "volumes: [a:/data, /cache]",
            "volumes: ['b:/data:ro', {type: tmpfs, target: /tmp}]",
        );
        let v = m.get("volumes").unwrap().as_seq().unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].as_str(), Some("b:/data:ro"));
    }

    #[test]
    fn ports_append_without_duplicates() {
        let m = svc(
            "ports: ['80:80', '443:443']",
            "ports: ['80:80', '8080:8080']",
        );
        assert_eq!(
            texts(m.get("ports").unwrap()),
            vec!["80:80", "443:443", "8080:8080"]
        );
    }

    #[test]
    fn depends_on_and_networks_merge_across_forms() {
        let m = svc(
            "depends_on: [db]\nnetworks: [front]",
            "depends_on: {cache: {condition: service_healthy}}\nnetworks: {back: {}}",
        );
        let d = m.get("depends_on").unwrap().as_map().unwrap();
        assert!(d.contains_key("db") && d.contains_key("cache"));
        let n = m.get("networks").unwrap().as_map().unwrap();
        assert!(n.contains_key("front") && n.contains_key("back"));
    }

    #[test]
    fn reset_and_override_tags() {
        let m = svc(
            "ports: ['80:80']\nenvironment: {A: 1, B: 2}",
            "ports: !reset []\nenvironment: !override {C: 3}",
        );
        assert!(m.get("ports").is_none());
        let env = m.get("environment").unwrap().as_map().unwrap();
        assert_eq!(env.keys().collect::<Vec<_>>(), vec!["C"]);
    }

    #[test]
    fn logging_with_another_driver_is_replaced() {
        let m = svc(
            "logging: {driver: syslog, options: {a: 1}}",
            "logging: {driver: json-file, options: {b: 2}}",
        );
        let opts = m
            .get("logging")
            .unwrap()
            .get("options")
            .unwrap()
            .as_map()
            .unwrap();
        assert_eq!(opts.keys().collect::<Vec<_>>(), vec!["b"]);
        let m = svc(
            "logging: {driver: syslog, options: {a: 1}}",
            "logging: {options: {b: 2}}",
        );
        let opts = m
            .get("logging")
            .unwrap()
            .get("options")
            .unwrap()
            .as_map()
            .unwrap();
        assert_eq!(opts.len(), 2);
    }

    #[test]
    fn whole_files_merge_services_by_name() {
        let m = merge_files(
            node("services:\n  web: {image: a, environment: [A=1]}\n  db: {image: d}\n"),
            node("services:\n  web: {environment: [B=2]}\n  cache: {image: c}\n"),
        );
        let s = m.get("services").unwrap().as_map().unwrap();
        assert_eq!(s.len(), 3);
        let env = s["web"].value.get("environment").unwrap().as_map().unwrap();
        assert_eq!(env.len(), 2);
    }
}
