//! `stack start`, `stop`, `restart`: act on existing containers of the
//! named services (all when none are named), in dependency order.

use std::process::ExitCode;
use std::time::Duration;

use app::lifecycle::Verb;

use crate::progress::{Mode, Reporter};
use crate::project::ProjectArgs;

/// Arguments of `start` / `stop` / `restart`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seconds to wait for a container to stop before killing it.
    #[arg(short, long, default_value_t = 10)]
    timeout: u64,
    /// Services (default: all).
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::completion::services))]
    services: Vec<String>,
}

/// Run `stack start|stop|restart`.
pub async fn run(project: &ProjectArgs, args: &Args, verb: Verb) -> anyhow::Result<ExitCode> {
    let session = project.session_or_named(&args.services).await?;
    let sink = Reporter::new(Mode::choose(false, false)).sink();
    let timeout = Duration::from_secs(args.timeout);
    app::lifecycle::run(&session, &args.services, verb, timeout, &sink).await?;
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `restart`.
#[derive(Debug, clap::Args)]
pub struct RestartArgs {
    #[command(flatten)]
    args: Args,
    /// Not the services that depend on these with `restart: true`.
    #[arg(long)]
    no_deps: bool,
}

/// Run `stack restart`.
pub async fn restart(project: &ProjectArgs, args: &RestartArgs) -> anyhow::Result<ExitCode> {
    let verb = if args.no_deps {
        Verb::RestartAlone
    } else {
        Verb::Restart
    };
    run(project, &args.args, verb).await
}
