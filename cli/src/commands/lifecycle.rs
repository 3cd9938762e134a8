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

/// Act on the containers of `services`, a service at a time in dependency
/// order (its replicas at once): `start` starts what a service depends on
/// first, and those too; `stop` stops dependents before what they depend
/// on; `restart` stops in that order, then starts in the other.
async fn act(
    session: &Session,
    services: &[String],
    verb: Verb,
    timeout: Duration,
) -> anyhow::Result<()> {
    let project = &session.project;
    let wanted: std::collections::BTreeSet<String> = match verb {
        Verb::Start => project.with_dependencies(services),
        Verb::Stop | Verb::Restart if services.is_empty() => {
            project.services.keys().cloned().collect()
        }
        Verb::Stop => services.iter().cloned().collect(),
        // With what depends on them with `restart: true`, as Compose does.
        Verb::Restart => {
            let mut set: std::collections::BTreeSet<String> = services.iter().cloned().collect();
            let follows = |svc: &schema::Service, set: &std::collections::BTreeSet<String>| {
                svc.depends_on
                    .iter()
                    .flatten()
                    .any(|(dep, d)| d.restart && set.contains(dep))
            };
            while let Some(more) = project
                .services
                .iter()
                .find(|(name, svc)| !set.contains(*name) && follows(svc, &set))
                .map(|(name, _)| name.clone())
            {
                set.insert(more);
            }
            set
        }
    };
    let order: Vec<String> = schema::ServiceGraph::new(project)
        .start_order()
        .into_iter()
        .filter(|s| wanted.contains(s))
        .collect();
    let containers = session.engine.list_containers(&session.name()).await?;
    let engine = &session.engine;
    let each = |service: &String, stop: bool| {
        let of_service: Vec<_> = containers
            .iter()
            .filter(|c| &c.service == service)
            .collect();
        try_join_all(of_service.into_iter().map(move |c| async move {
            if stop {
                engine.stop_container(&c.id, timeout).await
            } else {
                engine.start_container(&c.id).await
            }
            .map_err(|e| anyhow::anyhow!("{}: {e}", c.name))
        }))
    };
    if matches!(verb, Verb::Stop | Verb::Restart) {
        for service in order.iter().rev() {
            each(service, true).await?;
        }
    }
    if matches!(verb, Verb::Start | Verb::Restart) {
        for service in &order {
            each(service, false).await?;
        }
    }
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
