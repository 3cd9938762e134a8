//! `stack pause` / `stack unpause [SERVICE...]`: freeze or thaw the
//! processes of the services' containers.

use std::process::ExitCode;

use app::containers::Target;

use crate::project::ProjectArgs;

/// Arguments of `stack pause` and `stack unpause`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Services (default: all).
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::completion::services))]
    services: Vec<String>,
}

/// Run `stack pause` (`paused`) or `stack unpause`.
pub async fn run(project: &ProjectArgs, args: &Args, paused: bool) -> anyhow::Result<ExitCode> {
    let session = project.session_or_named(&args.services).await?;
    let target = Target {
        services: args.services.clone(),
        index: None,
    };
    let done = if paused { "Paused" } else { "Unpaused" };
    for name in app::containers::pause(&session, &target, paused).await? {
        eprintln!(" Container {name}  {done}");
    }
    Ok(ExitCode::SUCCESS)
}
