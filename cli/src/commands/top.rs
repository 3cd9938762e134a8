//! `stack top [SERVICE...]`: the processes of each running container.

use std::process::ExitCode;

use app::containers::Target;

use crate::listing;
use crate::project::ProjectArgs;

/// Arguments of `stack top`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Services (default: all).
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::completion::services))]
    services: Vec<String>,
}

/// Run `stack top`.
pub async fn run(project: &ProjectArgs, args: &Args) -> anyhow::Result<ExitCode> {
    let session = project.session_or_named(&args.services).await?;
    let target = Target {
        services: args.services.clone(),
        index: None,
    };
    for (name, top) in app::containers::top(&session, &target).await? {
        let titles: Vec<&str> = top.titles.iter().map(String::as_str).collect();
        println!("{name}");
        print!("{}", listing::columns(&titles, &top.rows));
        println!();
    }
    Ok(ExitCode::SUCCESS)
}
