//! Values of single fields that would be refused later, by the engine or
//! by `stack` halfway through a run: checked at load, with the position
//! in the file and what is allowed.

use crate::diag::Diagnostic;
use crate::locate::span_of;
use crate::model::{Project, Service};
use crate::yaml::Node;

struct Checker<'a> {
    tree: &'a Node,
    diags: &'a mut Vec<Diagnostic>,
    service: &'a str,
}

impl Checker<'_> {
    fn refuse(&mut self, path: &[&str], message: String, hint: String) {
        let mut full = vec!["services", self.service];
        full.extend_from_slice(path);
        self.diags.push(
            Diagnostic::error("invalid-value", span_of(self.tree, &full), message)
                .for_service(self.service)
                .with_hint(hint),
        );
    }
}

/// `[a-zA-Z0-9][a-zA-Z0-9_.-]+`, what the engine takes as a container name.
fn is_container_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// `80`, `80/udp`, `3000-3005`, `3000-3005/tcp`, each port 1 to 65535.
fn is_expose(text: &str) -> bool {
    let ports = text.split_once('/').map_or(text, |(p, proto)| {
        if matches!(proto, "tcp" | "udp" | "sctp") {
            p
        } else {
            ""
        }
    });
    let port = |p: &str| p.parse::<u16>().is_ok_and(|n| n > 0);
    match ports.split_once('-') {
        Some((a, b)) => port(a) && port(b),
        None => port(ports),
    }
}

fn service(svc: &Service, c: &mut Checker<'_>) {
    if svc.image.as_deref().is_some_and(|i| i.trim().is_empty()) {
        c.refuse(
            &["image"],
            "`image` is empty".into(),
            "name an image (e.g. `busybox:1.36`), or remove `image:` and give a `build:`".into(),
        );
    }
    if let (Some(platform), Some(platforms)) = (
        &svc.platform,
        svc.build.as_ref().and_then(|b| b.platforms.as_ref()),
    ) {
        if !platforms.contains(platform) {
            c.refuse(
                &["build", "platforms"],
                format!("`build.platforms` does not include the service's `platform: {platform}`"),
                format!("add {platform} to build.platforms, or change `platform`"),
            );
        }
    }
    if let Some(name) = &svc.container_name {
        if !is_container_name(name) {
            c.refuse(
                &["container_name"],
                format!("`container_name: {name}` is not a valid container name"),
                "use letters, digits, `_`, `.` and `-`, starting with a letter or digit".into(),
            );
        }
    }
    for (key, value) in svc.environment.iter().flat_map(|e| e.0.iter()) {
        if key.contains('\0') || value.as_deref().is_some_and(|v| v.contains('\0')) {
            c.refuse(
                &["environment", key],
                format!(
                    "environment variable `{}` contains a NUL byte",
                    key.escape_default()
                ),
                "the engine passes variables as C strings: remove the \\0".into(),
            );
        }
    }
    for (i, port) in svc.expose.iter().flat_map(|e| e.0.iter()).enumerate() {
        if !is_expose(port) {
            c.refuse(
                &["expose", &i.to_string()],
                format!("`expose: {port}` is not a port"),
                "write a port from 1 to 65535, a range (`3000-3005`), optionally with `/tcp` or `/udp`".into(),
            );
        }
    }
}

/// Check every service's single-field values.
pub fn check(project: &Project, tree: &Node, diags: &mut Vec<Diagnostic>) {
    for (name, svc) in &project.services {
        let mut c = Checker {
            tree,
            diags: &mut *diags,
            service: name,
        };
        service(svc, &mut c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_names_and_exposed_ports() {
        assert!(is_container_name("web-1.prod_a"));
        assert!(!is_container_name("bad name!"));
        assert!(!is_container_name("-x"));
        assert!(is_expose("80") && is_expose("53/udp") && is_expose("3000-3005/tcp"));
        assert!(!is_expose("99999") && !is_expose("0") && !is_expose("80/http"));
    }
}
