//! `start`, `stop`, `restart`: act on existing containers of the named
//! services (all when none are named), a service at a time in dependency
//! order, its replicas at once.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures::future::try_join_all;

use crate::{AppError, Result, Session, Sink};

/// What to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// Start stopped containers, and what they depend on first.
    Start,
    /// Stop running containers, dependents first.
    Stop,
    /// Stop in that order, then start in the other; with what depends on
    /// them with `restart: true`, as Compose does.
    Restart,
    /// Restart the named services only (`restart --no-deps`).
    RestartAlone,
}

impl Verb {
    /// The verb's name, for the lock.
    pub fn name(self) -> &'static str {
        match self {
            Verb::Start => "start",
            Verb::Stop => "stop",
            Verb::Restart | Verb::RestartAlone => "restart",
        }
    }
}

/// `start`/`stop`/`restart` as the user asked: under the lock, and
/// `stop` takes services out of the agent's care, `start` gives them back.
pub async fn run(
    session: &Session,
    services: &[String],
    verb: Verb,
    timeout: Duration,
    sink: &Arc<dyn Sink>,
) -> Result<()> {
    let _lock = session.lock(verb.name(), sink.as_ref()).await?;
    match verb {
        Verb::Stop => session.mark_stopped(services, true).await?,
        Verb::Start => session.mark_stopped(services, false).await?,
        Verb::Restart | Verb::RestartAlone => {}
    }
    act(session, services, verb, timeout).await
}

/// Act on the containers of `services` (all when empty), without the
/// lock (the caller holds it, or the stack is its own: attached `up`).
pub async fn act(
    session: &Session,
    services: &[String],
    verb: Verb,
    timeout: Duration,
) -> Result<()> {
    let project = &session.project;
    let wanted: BTreeSet<String> = match verb {
        Verb::Start => project.with_dependencies(services),
        Verb::Stop | Verb::Restart | Verb::RestartAlone if services.is_empty() => {
            project.services.keys().cloned().collect()
        }
        Verb::Stop | Verb::RestartAlone => services.iter().cloned().collect(),
        Verb::Restart => project.with_restart_dependents(services),
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
            .map_err(|source| AppError::EngineOn {
                subject: c.name.clone(),
                source,
            })
        }))
    };
    if matches!(verb, Verb::Stop | Verb::Restart | Verb::RestartAlone) {
        for service in order.iter().rev() {
            each(service, true).await?;
        }
    }
    if matches!(verb, Verb::Start | Verb::Restart | Verb::RestartAlone) {
        for service in &order {
            each(service, false).await?;
        }
    }
    Ok(())
}
