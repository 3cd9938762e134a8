//! `stack push`: the images of services that build, to the registries
//! their `image:` names, with the user's logins.

use std::process::ExitCode;

use app::images::PushRequest;

use crate::progress::{Mode, Reporter};
use crate::project::ProjectArgs;

/// Arguments of `stack push`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Services (default: all that build and name an image).
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::completion::services))]
    services: Vec<String>,
    /// Push what can be pushed; warn about the rest.
    #[arg(long)]
    ignore_push_failures: bool,
    /// Also push the images of the services these depend on.
    #[arg(long)]
    include_deps: bool,
    /// Say nothing while pushing.
    #[arg(short, long)]
    quiet: bool,
}

/// Run `stack push`.
pub async fn run(project: &ProjectArgs, args: &Args) -> anyhow::Result<ExitCode> {
    let session = project.session(&args.services).await?;
    let sink = Reporter::new(Mode::choose(args.quiet, false));
    let request = PushRequest {
        services: args.services.clone(),
        include_deps: args.include_deps,
        ignore_failures: args.ignore_push_failures,
    };
    app::images::push(&session, &request, &sink).await?;
    Ok(ExitCode::SUCCESS)
}
