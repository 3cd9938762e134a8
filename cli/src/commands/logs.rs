//! `stack logs`: the output of the project's containers, multiplexed, each
//! line prefixed with its container name.

use std::process::ExitCode;

use app::logs::Logs;
use reconciler::engine::LogOptions;

use crate::output::Printer;
use crate::project::ProjectArgs;
use crate::signals::cancel_on_signal;

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

/// Run `stack logs`.
pub async fn run(project: &ProjectArgs, args: &Args) -> anyhow::Result<ExitCode> {
    let session = project.session_or_named(&[]).await?;
    let cancel = cancel_on_signal(false)?;
    let options = LogOptions {
        follow: args.follow,
        tail: args.tail,
        timestamps: args.timestamps,
    };
    let mut logs = Logs::open(&session, &args.services, options).await?;
    let mut printer = Printer::new();
    while let Some(chunk) = logs.next(&cancel).await {
        let (index, line) = chunk?;
        printer.print(&logs.containers, index, &line)?;
    }
    Ok(ExitCode::SUCCESS)
}
