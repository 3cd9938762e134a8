//! `stack rm [-f] [-s] [-v] [SERVICE...]`: remove stopped containers.

use std::process::ExitCode;
use std::time::Duration;

use app::containers::{RmRequest, Target};

use crate::progress::{Mode, Reporter};
use crate::project::ProjectArgs;

/// Arguments of `stack rm`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Do not ask for confirmation.
    #[arg(short, long)]
    force: bool,
    /// Stop running containers first.
    #[arg(short, long)]
    stop: bool,
    /// Remove their anonymous volumes too.
    #[arg(short, long)]
    volumes: bool,
    /// Seconds to wait for a container to stop before killing it (`-s`).
    #[arg(short, long, default_value_t = 10)]
    timeout: u64,
    /// Services (default: all).
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::completion::services))]
    services: Vec<String>,
}

/// Run `stack rm`.
pub async fn run(project: &ProjectArgs, args: &Args) -> anyhow::Result<ExitCode> {
    let session = project.session_or_named(&args.services).await?;
    let sink = Reporter::new(Mode::choose(false, false)).sink();
    let request = RmRequest {
        target: Target {
            services: args.services.clone(),
            index: None,
        },
        stop: args.stop,
        volumes: args.volumes,
        force: args.force,
        timeout: Duration::from_secs(args.timeout),
    };
    for name in app::containers::rm(&session, &request, &sink).await? {
        eprintln!(" Container {name}  Removed");
    }
    Ok(ExitCode::SUCCESS)
}
