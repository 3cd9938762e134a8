//! `stack wait [SERVICE...]`: block until the containers stop, and exit
//! with the status of the last one to stop (with `--down-project`, of the
//! first, then take the stack down).

use std::process::ExitCode;

use app::containers::{Target, WaitFor};
use app::down::DownRequest;

use crate::progress::{Mode, Reporter};
use crate::project::ProjectArgs;

/// Arguments of `stack wait`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Take the stack down when the first container stops.
    #[arg(long)]
    down_project: bool,
    /// Services (default: all).
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::completion::services))]
    services: Vec<String>,
}

/// Run `stack wait`.
pub async fn run(project: &ProjectArgs, args: &Args) -> anyhow::Result<ExitCode> {
    let session = project.session_or_named(&args.services).await?;
    let target = Target {
        services: args.services.clone(),
        index: None,
    };
    let until = if args.down_project {
        WaitFor::First
    } else {
        WaitFor::All
    };
    let exited = app::containers::wait(&session, &target, until).await?;
    for (name, code) in &exited {
        println!("container {name:?} exited with status code {code}");
    }
    if args.down_project {
        let sink = Reporter::new(Mode::choose(false, false)).sink();
        app::down::run(&session, &DownRequest::default(), &sink).await?;
    }
    let code = exited.last().map_or(0, |(_, code)| *code);
    Ok(ExitCode::from(
        u8::try_from(code.clamp(0, 255)).unwrap_or(1),
    ))
}
