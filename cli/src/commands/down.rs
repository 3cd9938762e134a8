//! `stack down`: remove the project's containers and networks; its named
//! volumes only with `-v`. External networks and volumes are never
//! touched.

use std::process::ExitCode;
use std::time::Duration;

use app::down::{DownRequest, RemoveImages};

use crate::progress::{Mode, Reporter};
use crate::project::ProjectArgs;

/// Arguments of `stack down`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also remove the stack's named volumes (their data is lost).
    #[arg(short, long)]
    volumes: bool,
    /// Also remove the containers of services the stack file no longer
    /// has (kept by default, with a warning, as Compose keeps them).
    #[arg(long)]
    remove_orphans: bool,
    /// Seconds to wait for containers to stop before killing them
    /// (default: each service's `stop_grace_period`, else 10).
    #[arg(short, long)]
    timeout: Option<u64>,
    /// Print nothing but errors.
    #[arg(short, long)]
    quiet: bool,
    /// Also remove images: `local` (built for a service with no `image:`)
    /// or `all`.
    #[arg(long, value_enum, value_name = "TYPE")]
    rmi: Option<Rmi>,
    /// Only these services' containers (networks and volumes stay).
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::completion::services))]
    services: Vec<String>,
}

/// `--rmi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Rmi {
    /// Images built for services without an `image:` name.
    Local,
    /// Every image the services use.
    All,
}

/// Run `stack down`.
pub async fn run(project: &ProjectArgs, args: &Args) -> anyhow::Result<ExitCode> {
    let session = project.session_or_named(&[]).await?;
    let sink = Reporter::new(Mode::choose(args.quiet, false)).sink();
    let request = DownRequest {
        services: args.services.clone(),
        volumes: args.volumes,
        timeout: args.timeout.map(Duration::from_secs),
        images: match args.rmi {
            None => RemoveImages::None,
            Some(Rmi::Local) => RemoveImages::Local,
            Some(Rmi::All) => RemoveImages::All,
        },
        remove_orphans: args.remove_orphans
            || crate::settings::flag(&["STACK_REMOVE_ORPHANS", "COMPOSE_REMOVE_ORPHANS"]),
    };
    app::down::run(&session, &request, &sink).await?;
    Ok(ExitCode::SUCCESS)
}
