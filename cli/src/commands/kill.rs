//! `stack kill [-s SIGNAL] [SERVICE...]`: signal the running containers.

use std::process::ExitCode;

use app::containers::Target;

use crate::project::ProjectArgs;

/// Arguments of `stack kill`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The signal to send (`SIGKILL`, `HUP`, `15`...).
    #[arg(short, long, default_value = "SIGKILL")]
    signal: String,
    /// Services (default: all).
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::completion::services))]
    services: Vec<String>,
}

/// Run `stack kill`.
pub async fn run(project: &ProjectArgs, args: &Args) -> anyhow::Result<ExitCode> {
    let session = project.session_or_named(&args.services).await?;
    let target = Target {
        services: args.services.clone(),
        index: None,
    };
    for name in app::containers::kill(&session, &target, &args.signal).await? {
        eprintln!(" Container {name}  Killed");
    }
    Ok(ExitCode::SUCCESS)
}
