//! What makes a container "the same": the config hash.
//!
//! The hash covers the normalised service definition, minus what needs no
//! new container (replica count, `depends_on`, profiles, pull policy,
//! build instructions, update/rollback settings), plus three things Compose
//! leaves out: the id of the image the reference resolves to now, the
//! container ids of the services whose namespaces or volumes it borrows
//! (so a sidecar follows its parent), and the digests of the secret and
//! config files it mounts. Each part is also kept in its own label so a
//! plan can say which one changed.

use std::collections::BTreeMap;

use schema::Service;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Everything besides the definition that goes into the hash.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashInputs {
    /// Id of the image the container runs.
    pub image_id: String,
    /// `field` (`network_mode`, `pid`, `ipc`, `volumes_from`) + `:` + the
    /// borrowed replica's container name -> its container id.
    pub parents: BTreeMap<String, String>,
    /// `secret:<name>` / `config:<name>` -> content digest.
    pub files: BTreeMap<String, String>,
}

/// The part of a service definition that defines its containers.
pub fn definition(svc: &Service) -> Value {
    let mut v = serde_json::to_value(svc).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        for key in ["scale", "depends_on", "profiles", "pull_policy", "build"] {
            map.remove(key);
        }
        if let Some(Value::Object(deploy)) = map.get_mut("deploy") {
            for key in ["replicas", "update_config", "rollback_config"] {
                deploy.remove(key);
            }
            if deploy.is_empty() {
                map.remove("deploy");
            }
        }
    }
    v
}

/// Does the definition recorded in a container's `io.stack.config` label
/// (`recorded`) say what `definition` says, field by field (key order and
/// spelling aside)?
pub fn runs_definition(recorded: Option<&String>, definition: &Value) -> bool {
    recorded
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
        .is_some_and(|old| changed_fields(&old, definition).is_empty())
}

/// The config hash of a container: hex SHA-256 over the definition and
/// the inputs, in a canonical (sorted-key) JSON encoding.
pub fn config_hash(definition: &Value, inputs: &HashInputs) -> String {
    let doc = serde_json::json!({ "definition": definition, "inputs": inputs });
    let bytes = serde_json::to_vec(&doc).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The dotted paths at which two definitions differ, e.g.
/// `environment.API_URL`, `command`, `ports`. Lists compare whole.
pub fn changed_fields(old: &Value, new: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(old, new, String::new(), &mut out);
    out
}

fn walk(old: &Value, new: &Value, path: String, out: &mut Vec<String>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let sub = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => walk(x, y, sub, out),
                    _ => out.push(sub),
                }
            }
        }
        (a, b) if a == b => {}
        _ => out.push(if path.is_empty() {
            "definition".into()
        } else {
            path
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replicas_and_dependencies_do_not_count() {
        let p = crate::testing::project(
            "services:\n  a:\n    image: busybox:1.36\n    deploy: {replicas: 3, update_config: {parallelism: 1}}\n    depends_on: [b]\n  b:\n    image: busybox:1.36\n",
        );
        let d = definition(&p.services["a"]);
        assert_eq!(d.get("deploy"), None);
        assert_eq!(d.get("depends_on"), None);
        let q = crate::testing::project(
            "services:\n  a:\n    image: busybox:1.36\n    deploy: {replicas: 1}\n",
        );
        let inputs = HashInputs::default();
        assert_eq!(
            config_hash(&d, &inputs),
            config_hash(&definition(&q.services["a"]), &inputs)
        );
    }

    #[test]
    fn inputs_change_the_hash() {
        let d = json!({"image": "busybox:1.36"});
        let a = HashInputs {
            image_id: "sha256:1".into(),
            ..Default::default()
        };
        let mut b = a.clone();
        b.parents
            .insert("network_mode:p-app-1".into(), "abc".into());
        assert_ne!(config_hash(&d, &a), config_hash(&d, &b));
        assert_eq!(config_hash(&d, &a), config_hash(&d, &a.clone()));
    }

    #[test]
    fn changed_fields_are_dotted_paths() {
        let old = json!({"environment": {"A": "1", "B": "2"}, "command": ["a"], "image": "x"});
        let new =
            json!({"environment": {"A": "9", "B": "2", "C": "3"}, "command": ["b"], "image": "x"});
        assert_eq!(
            changed_fields(&old, &new),
            vec!["command", "environment.A", "environment.C"]
        );
    }
}
