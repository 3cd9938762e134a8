//! `stack watch [SERVICE...]`: bring the stack up, then apply the
//! services' `develop.watch` rules as files change, until Ctrl-C.

use std::process::ExitCode;

use app::develop::WatchRequest;

use crate::progress::{Mode, Reporter};
use crate::project::ProjectArgs;
use crate::signals::cancel_on_signal;

/// Arguments of `stack watch`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Do not build and bring up the stack first.
    #[arg(long)]
    no_up: bool,
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
    /// Services whose rules apply (default: every service with rules).
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::completion::services))]
    services: Vec<String>,
}

/// Run `stack watch`.
pub async fn run(project: &ProjectArgs, args: &Args) -> anyhow::Result<ExitCode> {
    let session = project.session(&args.services).await?;
    let sink = Reporter::new(Mode::choose(args.quiet, false)).sink();
    let cancel = cancel_on_signal(false)?;
    let request = WatchRequest {
        services: args.services.clone(),
        no_up: args.no_up,
    };
    app::develop::run(&session, &request, &sink, &cancel).await?;
    Ok(ExitCode::SUCCESS)
}
