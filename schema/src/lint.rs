//! Lessons from experience, as warnings: the file works, but it will hurt
//! later. `stack config` and `stack up` print them; `stack lint` lists them.

use crate::diag::Diagnostic;
use crate::locate::span_of;
use crate::model::{MountType, Project};
use crate::yaml::Node;

/// Environment keys that look like they hold a credential.
const SECRET_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "API_KEY",
    "APIKEY",
    "PRIVATE_KEY",
    "ACCESS_KEY",
];

/// Lint `project`; findings go to `diags` as warnings.
pub fn lint(project: &Project, tree: &Node, diags: &mut Vec<Diagnostic>) {
    for (name, svc) in &project.services {
        let at = |rest: &[&str]| {
            let mut p = vec!["services", name.as_str()];
            p.extend_from_slice(rest);
            span_of(tree, &p)
        };
        // An empty image is an error, reported by `values`.
        if let Some(image) = svc.image.as_ref().filter(|i| !i.trim().is_empty()) {
            if let Some(problem) = unpinned(image) {
                diags.push(
                    Diagnostic::warning("unpinned-image", at(&["image"]), format!("image `{image}` {problem}"))
                        .for_service(name)
                        .with_hint("pin a version tag (e.g. `busybox:1.36`) or a digest so every run gets the same image"),
                );
            }
        }
        for vol in svc.volumes.iter().flatten() {
            let is_socket = vol.kind == MountType::Bind
                && vol
                    .source
                    .as_deref()
                    .is_some_and(|s| s.ends_with("/docker.sock") || s.ends_with("/podman.sock"));
            if is_socket {
                diags.push(
                    Diagnostic::warning(
                        "engine-socket",
                        at(&["volumes"]),
                        format!("bind-mounts the engine socket {}", vol.source.as_deref().unwrap_or_default()),
                    )
                    .for_service(name)
                    .with_hint("whoever controls this container controls the host; mount it only into tools you trust, read-only where possible"),
                );
            }
        }
        if svc.privileged == Some(true) {
            diags.push(
                Diagnostic::warning(
                    "privileged",
                    at(&["privileged"]),
                    "runs privileged: full access to the host's devices and kernel",
                )
                .for_service(name)
                .with_hint("grant only what is needed with `cap_add` and `devices`"),
            );
        }
        for (key, value) in svc.environment.iter().flat_map(|e| e.0.iter()) {
            let upper = key.to_ascii_uppercase();
            let looks_secret = SECRET_WORDS.iter().any(|w| upper.contains(w));
            let has_value = value.as_deref().is_some_and(|v| !v.is_empty());
            // `*_FILE` variables point at a secret file: that is the good pattern.
            if looks_secret && has_value && !upper.ends_with("_FILE") {
                diags.push(
                    Diagnostic::warning(
                        "plain-secret",
                        at(&["environment", key]),
                        format!("`{key}` looks like a credential passed as a plain environment value"),
                    )
                    .for_service(name)
                    .with_hint("use `secrets:` (mounted under /run/secrets) and point the app at the file, e.g. with a `_FILE` variable"),
                );
            }
        }
    }
}

/// Why an image reference is not pinned, if it is not.
fn unpinned(image: &str) -> Option<&'static str> {
    if image.contains('@') {
        return None;
    }
    // The tag follows the last `:` after the last `/` (a registry may have a port).
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        None => Some("has no tag, so it means `:latest`"),
        Some((_, "latest")) => Some("uses the `latest` tag"),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::unpinned;

    #[test]
    fn image_pinning() {
        assert!(unpinned("busybox").is_some());
        assert!(unpinned("busybox:latest").is_some());
        assert!(unpinned("registry:5000/app").is_some());
        assert!(unpinned("registry:5000/app:1.2").is_none());
        assert!(unpinned("busybox@sha256:abc").is_none());
    }
}
