//! Relative paths in a stack file are relative to the project directory
//! (for `-f` files) or to the file that wrote them (for `extends` and
//! `include`). This pass makes them absolute on the tree, before files are
//! merged, so a value keeps the meaning it had where it was written.

use std::path::{Component, Path, PathBuf};

use crate::yaml::{Node, Value};

/// Make relative paths in a stack-file tree absolute against `base`;
/// `home` expands a leading `~`.
pub fn resolve(root: &mut Node, base: &Path, home: Option<&Path>) {
    let abs = |p: &str| absolute(p, base, home);
    if let Some(services) = root.as_map_mut().and_then(|m| m.get_mut("services")) {
        for svc in services
            .value
            .as_map_mut()
            .into_iter()
            .flat_map(|m| m.values_mut())
        {
            let Some(svc) = svc.value.as_map_mut() else {
                continue;
            };
            if let Some(b) = svc.get_mut("build") {
                match &mut b.value.value {
                    Value::Scalar(s) if !is_remote(&s.text) => s.text = abs(&s.text),
                    Value::Map(m) => {
                        if let Some(Value::Scalar(s)) =
                            m.get_mut("context").map(|c| &mut c.value.value)
                        {
                            if !is_remote(&s.text) {
                                s.text = abs(&s.text);
                            }
                        }
                    }
                    _ => {}
                }
            }
            if let Some(e) = svc.get_mut("env_file") {
                rewrite_paths(&mut e.value, "path", &abs);
            }
            if let Some(e) = svc.get_mut("label_file") {
                rewrite_paths(&mut e.value, "path", &abs);
            }
            // `develop.watch[].path`, as Compose resolves it.
            if let Some(watch) = svc
                .get_mut("develop")
                .and_then(|d| d.value.as_map_mut())
                .and_then(|d| d.get_mut("watch"))
            {
                rewrite_paths(&mut watch.value, "path", &abs);
            }
            if let Some(ext) = svc.get_mut("extends").and_then(|e| e.value.as_map_mut()) {
                if let Some(Value::Scalar(s)) = ext.get_mut("file").map(|f| &mut f.value.value) {
                    s.text = abs(&s.text);
                }
            }
            if let Some(vols) = svc.get_mut("volumes") {
                for v in vols.value.as_seq_mut().into_iter().flatten() {
                    resolve_volume(v, &abs);
                }
            }
        }
    }
    for kind in ["secrets", "configs"] {
        let Some(objects) = root.as_map_mut().and_then(|m| m.get_mut(kind)) else {
            continue;
        };
        for obj in objects
            .value
            .as_map_mut()
            .into_iter()
            .flat_map(|m| m.values_mut())
        {
            if let Some(Value::Scalar(s)) = obj
                .value
                .as_map_mut()
                .and_then(|m| m.get_mut("file"))
                .map(|f| &mut f.value.value)
            {
                s.text = abs(&s.text);
            }
        }
    }
}

fn is_remote(context: &str) -> bool {
    context.contains("://") || context.starts_with("git@") || context.starts_with("github.com/")
}

/// A string, a list of strings, or a list of mappings with `key`.
fn rewrite_paths(node: &mut Node, key: &str, abs: &dyn Fn(&str) -> String) {
    match &mut node.value {
        Value::Scalar(s) => s.text = abs(&s.text),
        Value::Seq(items) => {
            for item in items {
                match &mut item.value {
                    Value::Scalar(s) => s.text = abs(&s.text),
                    Value::Map(m) => {
                        if let Some(Value::Scalar(s)) = m.get_mut(key).map(|e| &mut e.value.value) {
                            s.text = abs(&s.text);
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

fn resolve_volume(v: &mut Node, abs: &dyn Fn(&str) -> String) {
    match &mut v.value {
        Value::Scalar(s) => {
            if let Some((source, rest)) = s.text.split_once(':') {
                if crate::model::volumes::is_host_path(source) {
                    s.text = format!("{}:{rest}", abs(source));
                }
            }
        }
        Value::Map(m) => {
            let is_bind = m.get("type").and_then(|t| t.value.as_str()) == Some("bind");
            if is_bind {
                if let Some(Value::Scalar(s)) = m.get_mut("source").map(|e| &mut e.value.value) {
                    s.text = abs(&s.text);
                }
            }
        }
        _ => {}
    }
}

/// `p` made absolute against `base`, `~` expanded, `.` and `..` folded
/// lexically (the path need not exist).
pub fn absolute(p: &str, base: &Path, home: Option<&Path>) -> String {
    // Already absolute: kept as written (a trailing `/` included), as
    // Compose keeps it.
    if p.starts_with('/') {
        return p.to_string();
    }
    let path = if p == "~" || p.starts_with("~/") {
        match home {
            Some(h) => h.join(p.trim_start_matches('~').trim_start_matches('/')),
            None => PathBuf::from(p),
        }
    } else {
        base.join(p)
    };
    normalize(&path).to_string_lossy().into_owned()
}

/// Fold `.` and `..` without touching the filesystem.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_paths() {
        let base = Path::new("/proj");
        assert_eq!(absolute("./src", base, None), "/proj/src");
        assert_eq!(absolute("../x/./y", base, None), "/x/y");
        assert_eq!(absolute("/abs", base, None), "/abs");
        assert_eq!(
            absolute("~/data", base, Some(Path::new("/home/me"))),
            "/home/me/data"
        );
        assert_eq!(absolute(".", base, None), "/proj");
    }
}
