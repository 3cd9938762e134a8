//! `stack ps`: the project's containers, as `docker compose ps` lists
//! them (running ones unless `-a`; `--format json` prints one object per
//! line with Compose's keys), plus the namespaces a sidecar shares.

use std::process::ExitCode;

use app::inspect::{PsRequest, Row};
use serde_json::{Map, Value};

use crate::listing::{self, Format};
use crate::project::ProjectArgs;

/// Arguments of `stack ps`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Show stopped containers too.
    #[arg(short, long)]
    all: bool,
    /// Only the container ids.
    #[arg(short, long)]
    quiet: bool,
    /// Only the service names.
    #[arg(long)]
    services: bool,
    /// Only containers in this state (`running`, `exited`, `paused`,
    /// `created`, `restarting`, `removing`, `dead`); repeatable.
    #[arg(long, value_name = "STATE")]
    status: Vec<String>,
    /// Filter by a property: `status=STATE`.
    #[arg(long, value_name = "KEY=VALUE")]
    filter: Vec<String>,
    /// `table`, `json` (one object per line), or a template such as
    /// `{{.Name}}\t{{.State}}`.
    #[arg(long, default_value = "table")]
    format: Format,
    /// Do not cut the command column.
    #[arg(long)]
    no_trunc: bool,
    /// Only these services.
    #[arg(value_name = "SERVICE", add = clap_complete::engine::ArgValueCompleter::new(crate::completion::services))]
    names: Vec<String>,
}

/// Run `stack ps`.
pub async fn run(project: &ProjectArgs, args: &Args) -> anyhow::Result<ExitCode> {
    let mut status = args.status.clone();
    for f in &args.filter {
        match f.split_once('=') {
            Some(("status", state)) => status.push(state.to_string()),
            _ => anyhow::bail!("unsupported filter `{f}`: `ps --filter` knows `status=STATE`"),
        }
    }
    let session = project.session_or_named(&[]).await?;
    let request = PsRequest {
        services: args.names.clone(),
        all: args.all,
        status,
    };
    let rows = app::inspect::ps(&session, &request).await?;
    if args.quiet {
        for r in &rows {
            println!("{}", r.listing.observed.id);
        }
    } else if args.services {
        let mut services: Vec<&str> = rows.iter().map(Row::service).collect();
        services.dedup();
        for s in services {
            println!("{s}");
        }
    } else {
        print!("{}", render(&rows, &args.format, args.no_trunc));
    }
    Ok(ExitCode::SUCCESS)
}

fn render(rows: &[Row], format: &Format, full: bool) -> String {
    match format {
        Format::Json => rows
            .iter()
            .map(|r| format!("{}\n", Value::Object(object(r, full))))
            .collect(),
        Format::Template(t) => {
            let objects: Vec<Map<String, Value>> = rows.iter().map(|r| object(r, full)).collect();
            listing::template(t, &objects)
        }
        Format::Table => {
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    let mut ports = listing::ports(&r.listing.ports);
                    if !r.shares.is_empty() {
                        if !ports.is_empty() {
                            ports.push_str("; ");
                        }
                        ports.push_str(&format!("shares {}", r.shares.join(", ")));
                    }
                    vec![
                        r.name().to_string(),
                        r.listing.image.clone(),
                        listing::command(&r.listing.command, full),
                        r.service().to_string(),
                        listing::running_for(r.listing.created),
                        r.listing.status.clone(),
                        ports,
                    ]
                })
                .collect();
            listing::columns(
                &[
                    "NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS",
                ],
                &cells,
            )
        }
    }
}

/// What `docker compose ps --format json` prints of a container.
fn object(r: &Row, full: bool) -> Map<String, Value> {
    let l = &r.listing;
    let id: String = l.observed.id.chars().take(12).collect();
    let local_volumes = l.mounts.iter().filter(|m| !m.starts_with('/')).count();
    let fields: [(&str, Value); 20] = [
        ("Command", listing::command(&l.command, full).into()),
        ("CreatedAt", listing::created_at(l.created).into()),
        ("ExitCode", r.exit_code().into()),
        ("Health", r.health().into()),
        ("ID", id.into()),
        ("Image", l.image.clone().into()),
        ("Labels", listing::labels(&l.observed.labels).into()),
        ("LocalVolumes", local_volumes.to_string().into()),
        ("Mounts", l.mounts.join(",").into()),
        ("Name", r.name().into()),
        ("Names", r.name().into()),
        ("Networks", l.networks.join(",").into()),
        ("Ports", listing::ports(&l.ports).into()),
        ("Project", r.project.clone().into()),
        ("Publishers", listing::publishers(&l.ports)),
        ("RunningFor", listing::running_for(l.created).into()),
        ("Service", r.service().into()),
        ("Size", "0B".into()),
        ("State", l.state.clone().into()),
        ("Status", l.status.clone().into()),
    ];
    fields
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}
