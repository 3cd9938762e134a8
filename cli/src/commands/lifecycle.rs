//! `stack start`, `stop`, `restart`: act on existing containers of the
//! named services (all when none are named), in parallel.

use std::process::ExitCode;
use std::time::Duration;

use futures::future::try_join_all;

use crate::project::ProjectArgs;
use crate::session::Session;

/// What to do.
#[derive(Debug, Clone, Copy)]
pub enum Verb {
    /// Start stopped containers.
    Start,
    /// Stop running containers.
    Stop,
    /// Stop, then start.
    Restart,
}

/// Arguments of `start` / `stop` / `restart`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seconds to wait for a container to stop before killing it.
    #[arg(short, long, default_value_t = 10)]
    timeout: u64,
    /// Services (default: all).
    services: Vec<String>,
}

/// Stop every container of `services` (all when empty).
pub async fn stop_all(
    session: &Session,
    services: &[String],
    timeout: Duration,
) -> anyhow::Result<()> {
    act(session, services, Verb::Stop, timeout).await
}

async fn act(
    session: &Session,
    services: &[String],
    verb: Verb,
    timeout: Duration,
) -> anyhow::Result<()> {
    let mut containers = session.engine.list_containers(&session.name()).await?;
    containers.retain(|c| services.is_empty() || services.contains(&c.service));
    let engine = &session.engine;
    try_join_all(containers.iter().map(|c| async move {
        match verb {
            Verb::Start => engine.start_container(&c.id).await,
            Verb::Stop => engine.stop_container(&c.id, timeout).await,
            Verb::Restart => {
                engine.stop_container(&c.id, timeout).await?;
                engine.start_container(&c.id).await
            }
        }
        .map_err(|e| anyhow::anyhow!("{}: {e}", c.name))
    }))
    .await?;
    Ok(())
}

/// Run `stack start|stop|restart`.
pub async fn run(project: &ProjectArgs, args: &Args, verb: Verb) -> anyhow::Result<ExitCode> {
    let Some(session) = Session::open(project, &args.services).await? else {
        return Ok(ExitCode::FAILURE);
    };
    let _lock = session.lock(match verb {
        Verb::Start => "start",
        Verb::Stop => "stop",
        Verb::Restart => "restart",
    })?;
    // `stop` takes services out of the agent's care, `start` gives them back.
    let named: Vec<String> = if args.services.is_empty() {
        session.project.services.keys().cloned().collect()
    } else {
        args.services.clone()
    };
    match verb {
        Verb::Stop => session.agent_files()?.mark_stopped(&named, true)?,
        Verb::Start => session.agent_files()?.mark_stopped(&named, false)?,
        Verb::Restart => {}
    }
    act(
        &session,
        &args.services,
        verb,
        Duration::from_secs(args.timeout),
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}
