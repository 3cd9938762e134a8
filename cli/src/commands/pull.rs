//! `stack pull` and `stack build` (`--push`).

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

/// Arguments of `build`.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    #[command(flatten)]
    images: Args,
    /// Push the images built to their registries (as `stack push`).
    #[arg(long)]
    push: bool,
}

/// Pull the images of the services.
pub async fn pull(project: &ProjectArgs, args: &Args) -> anyhow::Result<ExitCode> {
    let session = project.session(&args.services).await?;
    let sink = Reporter::new(Mode::Plain);
    app::images::run(&session, &args.services, false, &sink).await?;
    Ok(ExitCode::SUCCESS)
}

/// Build the images of the services that build; with `--push`, push them.
pub async fn build(project: &ProjectArgs, args: &BuildArgs) -> anyhow::Result<ExitCode> {
    let services = &args.images.services;
    let session = project.session(services).await?;
    let sink = Reporter::new(Mode::Plain);
    if !app::images::run(&session, services, true, &sink).await? {
        println!("No service builds an image.");
        return Ok(ExitCode::SUCCESS);
    }
    if args.push {
        let request = app::images::PushRequest {
            services: services.clone(),
            ..Default::default()
        };
        app::images::push(&session, &request, &sink).await?;
    }
    Ok(ExitCode::SUCCESS)
}
