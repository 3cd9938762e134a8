//! `stack pull` and `stack build`.

use std::process::ExitCode;

use crate::progress::{Mode, Reporter};
use crate::project::ProjectArgs;

/// Arguments of `pull` / `build`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Services (default: all).
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::completion::services))]
    services: Vec<String>,
}

/// Pull (`build == false`) or build the images of the services.
pub async fn run(project: &ProjectArgs, args: &Args, build: bool) -> anyhow::Result<ExitCode> {
    let session = project.session(&args.services).await?;
    let sink = Reporter::new(Mode::Plain);
    if !app::images::run(&session, &args.services, build, &sink).await? {
        println!("No service builds an image.");
    }
    Ok(ExitCode::SUCCESS)
}
