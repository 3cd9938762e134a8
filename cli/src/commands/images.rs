//! `stack pull` and `stack build`.

use std::collections::BTreeSet;
use std::process::ExitCode;

use reconciler::images::{ensure_images, PullPolicy};

use crate::project::ProjectArgs;
use crate::session::Session;

/// Arguments of `pull` / `build`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Services (default: all).
    services: Vec<String>,
}

/// Pull (`build == false`) or build the images of the services.
pub async fn run(project: &ProjectArgs, args: &Args, build: bool) -> anyhow::Result<ExitCode> {
    let Some(session) = Session::open(project, &args.services).await? else {
        return Ok(ExitCode::FAILURE);
    };
    let mut selected: BTreeSet<String> = args.services.iter().cloned().collect();
    if build {
        // Only services that build; pulling is `stack pull`'s job.
        let builds: BTreeSet<String> = session
            .project
            .services
            .iter()
            .filter(|(n, s)| s.build.is_some() && (selected.is_empty() || selected.contains(*n)))
            .map(|(n, _)| n.clone())
            .collect();
        if builds.is_empty() {
            println!("No service builds an image.");
            return Ok(ExitCode::SUCCESS);
        }
        selected = builds;
    }
    let policy = if build {
        PullPolicy::Never
    } else {
        PullPolicy::Always
    };
    let report = |what: &str, image: &str| println!("{what} {image}");
    match ensure_images(
        session.engine.as_ref(),
        &session.project,
        &selected,
        policy,
        build,
        &report,
    )
    .await
    {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
