//! Fill in what a stack file leaves implicit, the way Compose does, so the
//! model says everything the engine will be asked for. In two parts, as
//! Compose's `config --no-normalize` tells them apart:
//! [`normalize`] resolves (`env_file` contents merged into `environment`,
//! secret and config targets, our `nfs:` volume shorthand expanded into
//! the local driver's options); [`fill_defaults`] adds what Compose's
//! normalisation adds (resource names `<project>_<name>`, the `default`
//! network, implied `depends_on` for links and borrowed namespaces and
//! volumes, the default `Dockerfile`).

use std::collections::BTreeMap;

use crate::diag::Diagnostic;
use crate::dotenv;
use crate::locate::span_of;
use crate::model::{DependsOn, Network, Project, Volume};
use crate::yaml::Node;

/// Normalise `project` in place; `vars` are the project's variables.
pub fn normalize(
    project: &mut Project,
    vars: &BTreeMap<String, String>,
    tree: &Node,
    source: &dyn crate::read::Source,
    diags: &mut Vec<Diagnostic>,
) {
    for (svc_name, svc) in project.services.iter_mut() {
        merge_env_files(svc_name, svc, vars, tree, source, diags);
        merge_label_files(svc_name, svc, tree, source, diags);
        normalize_plugin_fields(svc);
        if let Some(env) = svc.environment.as_mut() {
            for (key, value) in env.0.iter_mut() {
                if value.is_none() {
                    *value = vars.get(key).cloned();
                }
            }
        }
        for secret in svc.secrets.iter_mut().flatten() {
            // A relative target stays relative, as Compose prints it; the
            // engine mounts it under /run/secrets.
            if secret.target.is_none() {
                secret.target = Some(format!("/run/secrets/{}", secret.source));
            }
        }
        for config in svc.configs.iter_mut().flatten() {
            if config.target.is_none() {
                config.target = Some(format!("/{}", config.source));
            }
        }
    }
    for vol in project.volumes.values_mut() {
        expand_nfs(vol);
    }
}

/// Add what Compose's normalisation adds: the `default` network, the
/// dependencies links and borrowed namespaces imply, the default
/// `Dockerfile`, and resource names. Skipped for `config --no-normalize`
/// only: everything that runs a stack needs it.
pub fn fill_defaults(project: &mut Project) {
    let name = project.project_name().to_string();
    for svc in project.services.values_mut() {
        if let Some(b) = svc.build.as_mut() {
            if b.dockerfile_inline.is_none() {
                b.dockerfile.get_or_insert_with(|| "Dockerfile".into());
            }
        }
        let uses_own_network = svc.network_mode.is_none();
        if uses_own_network && svc.networks.is_none() {
            svc.networks = Some(BTreeMap::from([("default".to_string(), None)]));
        }
        let borrowed: Vec<(&'static str, String)> = svc
            .borrowed_services()
            .into_iter()
            .map(|(field, s)| (field, s.to_string()))
            .collect();
        // A link is a dependency (started first), as in Compose.
        let linked: Vec<String> = svc
            .links
            .iter()
            .flatten()
            .map(|l| l.split(':').next().unwrap_or(l).to_string())
            .collect();
        for target in linked {
            // Compose restarts a linking container with what it links to.
            svc.depends_on
                .get_or_insert_with(BTreeMap::new)
                .entry(target)
                .or_insert_with(DependsOn::started)
                .restart = true;
        }
        for (field, parent) in borrowed {
            let deps = svc.depends_on.get_or_insert_with(BTreeMap::new);
            let entry = deps.entry(parent).or_insert_with(DependsOn::started);
            // A namespace dies with its owner: restart with it.
            if field == "network_mode" {
                entry.restart = true;
            }
        }
    }
    let wants_default = project.services.values().any(|s| {
        s.networks
            .as_ref()
            .is_some_and(|n| n.contains_key("default"))
    });
    if wants_default && !project.networks.contains_key("default") {
        project
            .networks
            .insert("default".into(), Network::default());
    }
    for (key, net) in project.networks.iter_mut() {
        if net.name.is_none() {
            net.name = Some(if net.external {
                key.clone()
            } else {
                format!("{name}_{key}")
            });
        }
        if net.ipam.is_none() && !net.external {
            net.ipam = Some(Default::default());
        }
    }
    for (key, vol) in project.volumes.iter_mut() {
        if vol.name.is_none() {
            vol.name = Some(if vol.external {
                key.clone()
            } else {
                format!("{name}_{key}")
            });
        }
    }
    for (key, obj) in project.secrets.iter_mut().chain(project.configs.iter_mut()) {
        if obj.name.is_none() {
            obj.name = Some(if obj.external {
                key.clone()
            } else {
                format!("{name}_{key}")
            });
        }
    }
}

/// The forms Compose prints for fields `stack` keeps but does not run:
/// `models: [a]` is `models: {a: null}`, and a provider's option values
/// are lists.
fn normalize_plugin_fields(svc: &mut crate::model::Service) {
    use serde_json::Value as J;
    if let Some(J::Array(names)) = &svc.models {
        let map = names
            .iter()
            .filter_map(|n| n.as_str().map(|n| (n.to_string(), J::Null)))
            .collect();
        svc.models = Some(J::Object(map));
    }
    if let Some(J::Object(options)) = svc.provider.as_mut().and_then(|p| p.get_mut("options")) {
        for value in options.values_mut() {
            if !value.is_array() {
                *value = J::Array(vec![value.take()]);
            }
        }
    }
}

/// Read each `label_file` and put its labels under `labels` (labels
/// written in `labels` win, later files win over earlier ones), as Compose
/// does.
fn merge_label_files(
    svc_name: &str,
    svc: &mut crate::model::Service,
    tree: &Node,
    source: &dyn crate::read::Source,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(files) = svc.label_file.take() else {
        return;
    };
    let mut merged = BTreeMap::new();
    for file in &files {
        let span = || span_of(tree, &["services", svc_name, "label_file"]);
        let parsed = source
            .read(std::path::Path::new(file))
            .map_err(|e| format!("cannot read label_file {file}: {e}"))
            .and_then(|text| {
                dotenv::parse(&text, &BTreeMap::new()).map_err(|e| format!("{file}: {e}"))
            });
        match parsed {
            Ok(labels) => merged.extend(labels),
            Err(message) => diags.push(
                Diagnostic::error("label-file", span(), message)
                    .for_service(svc_name)
                    .with_hint("label files hold KEY=VALUE lines"),
            ),
        }
    }
    let labels = svc.labels.get_or_insert_with(Default::default);
    for (k, v) in merged {
        labels.entry(k).or_insert(v);
    }
}

/// An env file's variables, in its `format` (`raw`, or dotenv by default).
fn parse_env_file(
    text: &str,
    format: Option<&str>,
    vars: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, dotenv::EnvFileError> {
    match format {
        Some("raw") => dotenv::parse_raw(text),
        _ => dotenv::parse(text, vars),
    }
}

/// Read each `env_file` and put its variables under `environment` (values
/// written in `environment` win, later files win over earlier ones).
fn merge_env_files(
    svc_name: &str,
    svc: &mut crate::model::Service,
    vars: &BTreeMap<String, String>,
    tree: &Node,
    source: &dyn crate::read::Source,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(files) = svc.env_file.take() else {
        return;
    };
    let mut from_files = BTreeMap::new();
    for file in &files {
        let span = || span_of(tree, &["services", svc_name, "env_file"]);
        match source.read(std::path::Path::new(&file.path)) {
            Ok(text) => match parse_env_file(&text, file.format.as_deref(), vars) {
                Ok(v) => from_files.extend(v.into_iter().map(|(k, v)| (k, Some(v)))),
                Err(e) => diags.push(
                    Diagnostic::error("env-file", span(), format!("{}: {e}", file.path))
                        .for_service(svc_name)
                        .with_hint("env files hold KEY=VALUE lines; quote values with spaces or #"),
                ),
            },
            Err(e) if !file.required && crate::read::is_not_found(&e) => {}
            Err(e) => diags.push(
                Diagnostic::error(
                    "env-file",
                    span(),
                    format!("cannot read env_file {}: {e}", file.path),
                )
                .for_service(svc_name)
                .with_hint(
                    "create the file, fix the path, or mark it optional with `required: false`",
                ),
            ),
        }
    }
    let env = svc.environment.get_or_insert_with(Default::default);
    for (k, v) in from_files {
        env.0.entry(k).or_insert(v);
    }
}

/// `nfs: {server, path, options}` -> `driver: local` with `type=nfs`,
/// `o=addr=<server>,<options>`, `device=:<path>`.
fn expand_nfs(vol: &mut Volume) {
    let Some(nfs) = vol.nfs.take() else { return };
    let mut o = vec![format!("addr={}", nfs.server)];
    o.extend(nfs.options);
    vol.driver.get_or_insert_with(|| "local".into());
    let opts = vol.driver_opts.get_or_insert_with(Default::default);
    opts.insert("type".into(), "nfs".into());
    opts.insert("o".into(), o.join(","));
    let device = if nfs.path.starts_with(':') {
        nfs.path
    } else {
        format!(":{}", nfs.path)
    };
    opts.insert("device".into(), device);
}
