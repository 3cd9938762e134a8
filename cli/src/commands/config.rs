//! `stack config`: the resolved stack, in the shape `docker compose config`
//! prints, with keys sorted so outputs can be diffed.

use std::process::ExitCode;

use schema::interpolate::Step;

use clap::ValueEnum;

use crate::project::ProjectArgs;

/// Output format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// YAML (default).
    Yaml,
    /// JSON.
    Json,
}

/// Arguments of `stack config`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value = "yaml")]
    format: Format,
    /// Only validate: print nothing, exit 0 when the stack is valid.
    #[arg(short, long)]
    quiet: bool,
    /// List the enabled services, one per line.
    #[arg(long = "services")]
    list_services: bool,
    /// List the named volumes.
    #[arg(long = "volumes")]
    list_volumes: bool,
    /// List the networks.
    #[arg(long = "networks")]
    list_networks: bool,
    /// List every profile the file names.
    #[arg(long = "profiles")]
    list_profiles: bool,
    /// List the images the services run (one per service, as `up` names
    /// them: `<project>-<service>` for one that only builds).
    #[arg(long = "images")]
    list_images: bool,
    /// Also print networks and volumes no service uses.
    #[arg(long)]
    all_resources: bool,
    /// List the variables the files refer to, with whether they are
    /// required and their default and alternate values.
    #[arg(long = "variables")]
    list_variables: bool,
    /// Print the environment interpolation sees (`.env` under the shell).
    #[arg(long = "environment")]
    list_environment: bool,
    /// Print `SERVICE HASH` for these services (`*`: all, comma-separated
    /// otherwise): the hash of the definition `stack up` compares.
    #[arg(long, value_name = "SERVICES")]
    hash: Option<String>,
    /// Pin every image to the digest its registry serves
    /// (`image@sha256:...`), with the logins of `stack login`.
    #[arg(long)]
    resolve_image_digests: bool,
    /// Print an override file that pins each service's image to its
    /// digest, and nothing else (`-f compose.yaml -f lock.yaml`).
    #[arg(long)]
    lock_image_digests: bool,
    /// Write to this file instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<std::path::PathBuf>,
    /// Print values with variables as written, not interpolated (as
    /// Compose: every profile's services and every resource, too).
    #[arg(long)]
    no_interpolate: bool,
    /// Leave out what normalising adds: resource names, the default
    /// network, implied dependencies, the default Dockerfile.
    #[arg(long)]
    no_normalize: bool,
    /// Services to enable explicitly (whatever their profiles).
    service: Vec<String>,
}

/// Run `stack config`.
pub fn run(project: &ProjectArgs, args: &Args) -> anyhow::Result<ExitCode> {
    let loaded = project.load_with(&args.service, |opts| {
        opts.no_normalize = args.no_normalize;
        opts.no_interpolate = args.no_interpolate;
        if args.no_interpolate {
            opts.stack.profiles = vec!["*".into()];
        }
    })?;
    if args.quiet {
        return Ok(ExitCode::SUCCESS);
    }
    let mut p = loaded.project.clone();
    if !args.all_resources && !args.no_interpolate {
        drop_unused(&mut p);
    }
    if args.resolve_image_digests || args.lock_image_digests {
        pin_digests(&mut p)?;
    }
    if args.lock_image_digests {
        p = images_only(&p);
    }
    let p = &p;
    let names = |keys: Vec<&String>| {
        keys.into_iter()
            .map(|k| format!("{k}\n"))
            .collect::<String>()
    };
    let text = if args.list_services {
        names(p.services.keys().collect())
    } else if args.list_volumes {
        names(p.volumes.keys().collect())
    } else if args.list_networks {
        names(p.networks.keys().collect())
    } else if args.list_profiles {
        names(loaded.all_profiles.iter().collect())
    } else if args.list_variables {
        variables(&loaded)
    } else if args.list_environment {
        loaded
            .environment
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect()
    } else if let Some(which) = &args.hash {
        let wanted: Vec<&str> = which.split(',').map(str::trim).collect();
        p.services
            .iter()
            .filter(|(name, _)| wanted.contains(&"*") || wanted.contains(&name.as_str()))
            .map(|(name, svc)| {
                let definition = planner::hash::definition(svc);
                let hash = planner::hash::config_hash(&definition, &Default::default());
                format!("{name} {hash}\n")
            })
            .collect()
    } else if args.list_images {
        let images: Vec<String> = p
            .services
            .iter()
            .map(|(name, svc)| p.image_of(name, svc))
            .collect();
        names(images.iter().collect())
    } else {
        // Through serde_json::Value so every mapping comes out sorted, with
        // literal `$` escaped so the output loads back as it is.
        let mut value = serde_json::to_value(p)?;
        if args.no_interpolate {
            restore_written(&mut value, &loaded.written);
        } else {
            escape_dollars(&mut value);
        }
        match args.format {
            Format::Json => serde_json::to_string_pretty(&value)? + "\n",
            Format::Yaml => serde_yaml::to_string(&value)?,
        }
    };
    match &args.output {
        Some(path) => std::fs::write(path, text)?,
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Put back, in the printed model, the values that held variables as
/// they were written (`--no-interpolate`). A value is found by its path in
/// the files; where the model has expanded a short form there (a port
/// `"${PORT}:80"` into a mapping), the short form comes back whole, as
/// Compose, which cannot expand it, prints it. `KEY=${VALUE}` in a list
/// the model holds as a mapping (`environment`, `labels`) is put back
/// under its key.
fn restore_written(model: &mut serde_json::Value, written: &[(Vec<Step>, String)]) {
    for (path, raw) in written {
        restore(model, path, raw);
    }
}

/// Put `raw` at `path` under `node`, if the model has that place.
fn restore(node: &mut serde_json::Value, path: &[Step], raw: &str) {
    use serde_json::Value;
    let Some((step, rest)) = path.split_first() else {
        return;
    };
    match (step, node) {
        (Step::Key(k), Value::Object(map)) => match map.get_mut(k) {
            Some(child) if rest.is_empty() => *child = Value::String(raw.to_string()),
            Some(child) => restore(child, rest, raw),
            None => {}
        },
        (Step::Index(i), Value::Array(items)) => match items.get_mut(*i) {
            Some(child) if rest.is_empty() => *child = Value::String(raw.to_string()),
            Some(child) => restore(child, rest, raw),
            None => {}
        },
        (Step::Index(_), Value::Object(map)) if rest.is_empty() => {
            if let Some((key, value)) = raw.split_once('=') {
                if let Some(child) = map.get_mut(key) {
                    *child = Value::String(value.to_string());
                }
            }
        }
        _ => {}
    }
}

/// Ask the registries for the digests (the one engine round trip of
/// `config`, on a runtime of its own: loading stays synchronous).
fn pin_digests(project: &mut schema::Project) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let engine = app::session::connect().await?;
        app::images::pin_digests(engine.as_ref(), project).await?;
        Ok(())
    })
}

/// Only the services' images, as Compose's `--lock-image-digests` prints
/// them: an override file that pins them.
fn images_only(project: &schema::Project) -> schema::Project {
    let mut lock = schema::Project {
        name: project.name.clone(),
        ..Default::default()
    };
    for (name, svc) in &project.services {
        lock.services.insert(
            name.clone(),
            schema::Service {
                image: svc.image.clone(),
                ..Default::default()
            },
        );
    }
    lock
}

/// The variables the stack files refer to, as `docker compose config
/// --variables` lists them: a table of name, required, default, alternate.
fn variables(loaded: &schema::Loaded) -> String {
    // In the order they first appear in the files (Compose lists them in
    // no fixed order).
    let mut seen: Vec<schema::interpolate::Reference> = Vec::new();
    for file in &loaded.files {
        let text = schema::read::Source::read(&loaded.sources, file).unwrap_or_default();
        for r in schema::interpolate::references(&text) {
            match seen.iter_mut().find(|s| s.name == r.name) {
                Some(entry) => {
                    entry.required |= r.required;
                    entry.default = entry.default.take().or(r.default);
                    entry.alternate = entry.alternate.take().or(r.alternate);
                }
                None => seen.push(r),
            }
        }
    }
    let rows: Vec<[String; 4]> = seen
        .into_iter()
        .map(|r| {
            [
                r.name,
                r.required.to_string(),
                r.default.unwrap_or_default(),
                r.alternate.unwrap_or_default(),
            ]
        })
        .collect();
    let header = ["NAME", "REQUIRED", "DEFAULT VALUE", "ALTERNATE VALUE"].map(String::from);
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            std::iter::once(&header)
                .chain(&rows)
                .map(|r| r[i].len())
                .max()
                .unwrap_or(0)
        })
        .collect();
    std::iter::once(&header)
        .chain(&rows)
        .map(|r| {
            let cells: Vec<String> = (0..4)
                .map(|i| format!("{:<w$}", r[i], w = widths[i]))
                .collect();
            cells.join("   ").trim_end().to_string() + "\n"
        })
        .collect()
}

/// Leave out networks and volumes no service uses, as `docker compose
/// config` does.
fn drop_unused(p: &mut schema::Project) {
    let used_networks: std::collections::BTreeSet<String> = p
        .services
        .values()
        .flat_map(|s| s.networks.iter().flatten().map(|(k, _)| k.clone()))
        .collect();
    let used_volumes: std::collections::BTreeSet<String> = p
        .services
        .values()
        .flat_map(|s| s.volumes.iter().flatten())
        .filter(|v| v.kind == schema::MountType::Volume)
        .filter_map(|v| v.source.clone())
        .collect();
    p.networks.retain(|k, _| used_networks.contains(k));
    p.volumes.retain(|k, _| used_volumes.contains(k));
}

/// `$` -> `$$` in every string value, as `docker compose config` prints.
fn escape_dollars(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) if s.contains('$') => *s = s.replace('$', "$$"),
        serde_json::Value::Array(items) => items.iter_mut().for_each(escape_dollars),
        serde_json::Value::Object(map) => map.values_mut().for_each(escape_dollars),
        _ => {}
    }
}
