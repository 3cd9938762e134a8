//! Profiles: which services a run enables.
//!
//! A service without `profiles` is always enabled; one with profiles is
//! enabled when one of them is active (`--profile`, `STACK_PROFILES` or
//! `COMPOSE_PROFILES`; `*` activates all). A service named on the command
//! line is enabled whatever its profiles, and so are the services it
//! depends on, transitively. Disabled services are dropped from the model.

use std::collections::{BTreeMap, BTreeSet};

use crate::diag::{did_you_mean, Diagnostic};
use crate::locate::span_of;
use crate::model::Project;
use crate::yaml::Node;

/// Every profile any service names.
pub fn all(project: &Project) -> BTreeSet<String> {
    project
        .services
        .values()
        .flat_map(|s| s.profiles.iter().flat_map(|p| p.0.iter().cloned()))
        .collect()
}

/// Profiles activated: those `given` (`--profile`) and those the
/// environment names.
pub fn active(given: &[String], vars: &BTreeMap<String, String>) -> BTreeSet<String> {
    let from_env = ["STACK_PROFILES", "COMPOSE_PROFILES"]
        .iter()
        .filter_map(|k| vars.get(*k))
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned);
    given.iter().cloned().chain(from_env).collect()
}

/// Drop the services the active profiles and named services do not enable.
pub fn select(
    project: &mut Project,
    active: &BTreeSet<String>,
    named: &[String],
    tree: &Node,
    diags: &mut Vec<Diagnostic>,
) {
    let all_active = active.contains("*");
    let mut enabled: BTreeSet<String> = project
        .services
        .iter()
        .filter(|(_, s)| match &s.profiles {
            None => true,
            Some(p) if p.0.is_empty() => true,
            Some(p) => all_active || p.0.iter().any(|x| active.contains(x)),
        })
        .map(|(n, _)| n.clone())
        .collect();

    // Named services and everything they depend on.
    let mut queue: Vec<String> = Vec::new();
    for name in named {
        if project.services.contains_key(name) {
            queue.push(name.clone());
        } else {
            let mut d = Diagnostic::error(
                "no-such-service",
                None,
                format!("no service named `{name}` in the stack"),
            );
            d.hint = Some(
                match did_you_mean(name, project.services.keys().map(String::as_str)) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!(
                        "services are: {}",
                        project
                            .services
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                },
            );
            diags.push(d);
        }
    }
    while let Some(name) = queue.pop() {
        enabled.insert(name.clone());
        let deps = project
            .services
            .get(&name)
            .and_then(|s| s.depends_on.as_ref());
        for dep in deps.into_iter().flat_map(|d| d.keys()) {
            if project.services.contains_key(dep) && !enabled.contains(dep) {
                queue.push(dep.clone());
            }
        }
    }

    // An enabled service that needs a disabled one.
    for (name, svc) in &project.services {
        if !enabled.contains(name) {
            continue;
        }
        for (dep, cond) in svc.depends_on.iter().flatten() {
            let Some(dep_svc) = project.services.get(dep) else {
                continue;
            };
            if enabled.contains(dep) || !cond.required {
                continue;
            }
            let profiles = dep_svc
                .profiles
                .as_ref()
                .map(|p| p.0.join(", "))
                .unwrap_or_default();
            diags.push(
                Diagnostic::error(
                    "disabled-dependency",
                    span_of(tree, &["services", name, "depends_on", dep]),
                    format!(
                        "depends on `{dep}`, which is only enabled with the profile(s) {profiles}"
                    ),
                )
                .for_service(name)
                .with_hint(format!(
                    "activate it with --profile {}, or mark the dependency `required: false`",
                    dep_svc
                        .profiles
                        .as_ref()
                        .and_then(|p| p.0.first())
                        .cloned()
                        .unwrap_or_default()
                )),
            );
        }
    }

    project.disabled_services = (project.services.keys())
        .filter(|name| !enabled.contains(*name))
        .cloned()
        .collect();
    project.services.retain(|name, _| enabled.contains(name));
    for svc in project.services.values_mut() {
        if let Some(deps) = svc.depends_on.as_mut() {
            deps.retain(|dep, _| enabled.contains(dep) || !is_known(dep, tree));
        }
    }
    let default_used = project.services.values().any(|s| {
        s.networks
            .as_ref()
            .is_some_and(|n| n.contains_key("default"))
    });
    let default_declared = tree
        .get("networks")
        .and_then(|n| n.get("default"))
        .is_some();
    if !default_used && !default_declared {
        project.networks.remove("default");
    }
}

/// Whether the file defines a service of this name (enabled or not).
fn is_known(name: &str, tree: &Node) -> bool {
    tree.get("services").and_then(|s| s.get(name)).is_some()
}
