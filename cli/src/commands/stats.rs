//! `stack stats [SERVICE...]`: what each running container uses, as
//! `docker compose stats` shows it; refreshed until Ctrl-C, or once with
//! `--no-stream`.

use std::process::ExitCode;

use app::containers::Target;
use reconciler::engine::ContainerStats;
use serde_json::{Map, Value};

use crate::listing::{self, Format};
use crate::project::ProjectArgs;
use crate::signals::cancel_on_signal;

/// Arguments of `stack stats`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print one sample and return.
    #[arg(long)]
    no_stream: bool,
    /// Do not cut the container ids.
    #[arg(long)]
    no_trunc: bool,
    /// `table`, `json` (one object per line), or a template.
    #[arg(long, default_value = "table")]
    format: Format,
    /// Services (default: all).
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::completion::services))]
    services: Vec<String>,
}

/// Run `stack stats`.
pub async fn run(project: &ProjectArgs, args: &Args) -> anyhow::Result<ExitCode> {
    let session = project.session_or_named(&args.services).await?;
    let cancel = cancel_on_signal(false)?;
    let target = Target {
        services: args.services.clone(),
        index: None,
    };
    loop {
        let sampled = tokio::select! {
            s = app::containers::stats(&session, &target) => s?,
            () = cancel.cancelled() => return Ok(ExitCode::SUCCESS),
        };
        let objects: Vec<Map<String, Value>> = sampled
            .iter()
            .map(|(name, id, s)| object(name, id, s, args.no_trunc))
            .collect();
        let shown = match &args.format {
            Format::Json => objects
                .into_iter()
                .map(|o| format!("{}\n", Value::Object(o)))
                .collect(),
            Format::Template(t) => listing::template(t, &objects),
            Format::Table => table(&objects),
        };
        if !args.no_stream && args.format == Format::Table {
            // Redrawn in place, as the docker CLI does.
            print!("\x1b[2J\x1b[H");
        }
        print!("{shown}");
        if args.no_stream {
            return Ok(ExitCode::SUCCESS);
        }
    }
}

fn table(objects: &[Map<String, Value>]) -> String {
    let keys = [
        "ID", "Name", "CPUPerc", "MemUsage", "MemPerc", "NetIO", "BlockIO", "PIDs",
    ];
    let cells: Vec<Vec<String>> = objects
        .iter()
        .map(|o| {
            keys.iter()
                .map(|k| {
                    o.get(*k)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                })
                .collect()
        })
        .collect();
    listing::columns(
        &[
            "CONTAINER ID",
            "NAME",
            "CPU %",
            "MEM USAGE / LIMIT",
            "MEM %",
            "NET I/O",
            "BLOCK I/O",
            "PIDS",
        ],
        &cells,
    )
}

/// What `docker stats --format json` prints of one container.
fn object(name: &str, id: &str, s: &ContainerStats, full: bool) -> Map<String, Value> {
    let id: String = if full {
        id.to_string()
    } else {
        id.chars().take(12).collect()
    };
    let memory_percent = if s.memory_limit > 0 {
        s.memory as f64 / s.memory_limit as f64 * 100.0
    } else {
        0.0
    };
    [
        (
            "BlockIO",
            format!(
                "{} / {}",
                listing::size(s.block_io.0),
                listing::size(s.block_io.1)
            ),
        ),
        ("CPUPerc", format!("{:.2}%", s.cpu_percent)),
        ("Container", id.clone()),
        ("ID", id),
        ("MemPerc", format!("{memory_percent:.2}%")),
        (
            "MemUsage",
            format!(
                "{} / {}",
                binary_size(s.memory),
                binary_size(s.memory_limit)
            ),
        ),
        ("Name", name.to_string()),
        (
            "NetIO",
            format!(
                "{} / {}",
                listing::size(s.net_io.0),
                listing::size(s.net_io.1)
            ),
        ),
        ("PIDs", s.pids.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), Value::String(v)))
    .collect()
}

/// Memory as the docker CLI prints it: binary units (`356KiB`, `23.47GiB`).
fn binary_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::binary_size;

    #[test]
    fn memory_reads_in_binary_units() {
        assert_eq!(binary_size(364_544), "356KiB");
        assert_eq!(binary_size(25_200_000_000), "23.47GiB");
        assert_eq!(binary_size(0), "0B");
    }
}
