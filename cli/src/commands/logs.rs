//! `stack logs`: the output of the project's containers, multiplexed, each
//! line prefixed with its container name in a colour of its own.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use futures::stream::{select_all, StreamExt};
use reconciler::engine::LogOptions;
use reconciler::Engine;
use tokio_util::sync::CancellationToken;

use crate::project::ProjectArgs;
use crate::session::{cancel_on_ctrl_c, Session};

/// Arguments of `stack logs`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Keep following new output.
    #[arg(short, long)]
    follow: bool,
    /// Only the last N lines of each container.
    #[arg(short = 'n', long)]
    tail: Option<usize>,
    /// Show the engine's timestamps.
    #[arg(short, long)]
    timestamps: bool,
    /// Services to show (default: all).
    services: Vec<String>,
}

const COLOURS: &[&str] = &["36", "33", "32", "35", "34", "96", "93", "92", "95", "94"];

/// Print the logs of the containers of `services` (all when empty) until
/// they end, or, when following, until `cancel`.
pub async fn follow_services(
    engine: Arc<dyn Engine>,
    project: &str,
    services: &[String],
    timestamps: bool,
    tail: Option<usize>,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    stream_logs(
        engine,
        project,
        services,
        LogOptions {
            follow: true,
            tail,
            timestamps,
        },
        cancel,
    )
    .await
}

async fn stream_logs(
    engine: Arc<dyn Engine>,
    project: &str,
    services: &[String],
    options: LogOptions,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let mut containers = engine.list_containers(project).await?;
    containers.retain(|c| services.is_empty() || services.contains(&c.service));
    containers.sort_by(|a, b| a.name.cmp(&b.name));
    let width = containers.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let colour = std::io::stdout().is_terminal();
    let streams = containers.iter().enumerate().map(|(i, c)| {
        let prefix = if colour {
            format!(
                "\x1b[{}m{:<width$} |\x1b[0m ",
                COLOURS[i % COLOURS.len()],
                c.name
            )
        } else {
            format!("{:<width$} | ", c.name)
        };
        engine
            .logs(&c.id, options.clone())
            .map(move |chunk| (prefix.clone(), chunk))
    });
    let mut merged = select_all(streams);
    let mut stdout = std::io::stdout();
    loop {
        let next = tokio::select! {
            n = merged.next() => n,
            _ = cancel.cancelled() => None,
        };
        let Some((prefix, chunk)) = next else { break };
        let text = chunk?.text;
        for line in text.lines() {
            writeln!(stdout, "{prefix}{line}")?;
        }
        stdout.flush()?;
    }
    Ok(())
}

/// Run `stack logs`.
pub async fn run(project: &ProjectArgs, args: &Args) -> anyhow::Result<ExitCode> {
    let Some(session) = Session::open(project, &[]).await? else {
        return Ok(ExitCode::FAILURE);
    };
    let cancel = cancel_on_ctrl_c();
    let options = LogOptions {
        follow: args.follow,
        tail: args.tail,
        timestamps: args.timestamps,
    };
    stream_logs(
        session.engine.clone(),
        &session.name(),
        &args.services,
        options,
        cancel,
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}
