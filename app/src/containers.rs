//! Verbs on the project's existing containers, as Compose has them:
//! `kill`, `pause`/`unpause`, `rm`, `top`, `port`, `wait`. They change no
//! definition: nothing here plans. The containers are chosen by service
//! (all when none is named) and, with `--index`, by replica.

use std::sync::Arc;
use std::time::Duration;

use futures::future::{join_all, select_all, try_join_all};
use planner::{ObservedContainer, RunState};
use reconciler::engine::{PortBinding, Processes, Selection};

use crate::{AppError, Result, Session, Sink};

/// Which containers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// Services (all when empty).
    pub services: Vec<String>,
    /// Only this replica (`--index`).
    pub index: Option<u32>,
}

/// The service containers `target` names, by service and replica; an
/// unknown service is an error that lists the known ones.
pub async fn select(session: &Session, target: &Target) -> Result<Vec<ObservedContainer>> {
    let known = &session.project.services;
    if let Some(unknown) = target.services.iter().find(|s| !known.contains_key(*s)) {
        return Err(AppError::Invalid(format!(
            "no service named `{unknown}` in project `{}` (it has: {})",
            session.name(),
            known.keys().cloned().collect::<Vec<_>>().join(", ")
        )));
    }
    let mut containers = session.engine.list_containers(&session.name()).await?;
    containers.retain(|c| {
        (target.services.is_empty() || target.services.contains(&c.service))
            && target.index.is_none_or(|i| i == c.replica)
    });
    containers.sort_by(|a, b| (&a.service, a.replica).cmp(&(&b.service, b.replica)));
    Ok(containers)
}

/// On each container at once; the first failure names its container.
async fn each<'a, F, Fut>(containers: &'a [ObservedContainer], f: F) -> Result<()>
where
    F: Fn(&'a ObservedContainer) -> Fut,
    Fut: std::future::Future<Output = std::result::Result<(), reconciler::EngineError>>,
{
    try_join_all(containers.iter().map(|c| {
        let done = f(c);
        async move {
            done.await.map_err(|source| AppError::EngineOn {
                subject: c.name.clone(),
                source,
            })
        }
    }))
    .await?;
    Ok(())
}

/// Send `signal` to the running containers of `target`; the names of
/// those signalled.
pub async fn kill(session: &Session, target: &Target, signal: &str) -> Result<Vec<String>> {
    let mut containers = select(session, target).await?;
    containers.retain(|c| c.state == RunState::Running);
    each(&containers, |c| {
        session.engine.kill_container(&c.id, signal)
    })
    .await?;
    Ok(containers.into_iter().map(|c| c.name).collect())
}

/// Freeze (`paused`) or thaw the processes of `target`'s containers; the
/// names of those changed. Frozen containers still count as running: the
/// agent leaves them be.
pub async fn pause(session: &Session, target: &Target, paused: bool) -> Result<Vec<String>> {
    let listed = session
        .engine
        .list_listings(&Selection::Project(session.name()))
        .await?;
    let want = if paused { "running" } else { "paused" };
    let mut containers = select(session, target).await?;
    containers.retain(|c| {
        listed
            .iter()
            .any(|l| l.observed.id == c.id && l.state == want)
    });
    each(&containers, |c| {
        session.engine.pause_container(&c.id, paused)
    })
    .await?;
    Ok(containers.into_iter().map(|c| c.name).collect())
}

/// What `rm` does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RmRequest {
    /// Which containers.
    pub target: Target,
    /// Stop running ones first (`-s`); otherwise only stopped ones go.
    pub stop: bool,
    /// Remove their anonymous volumes too (`-v`).
    pub volumes: bool,
    /// Do not ask (`-f`).
    pub force: bool,
    /// Grace period of the stops.
    pub timeout: Duration,
}

/// Remove stopped containers of `target` (running ones too, stopped
/// first, with `stop`), asking first unless `force`; the names removed.
/// Their services leave the agent's care until the next `up` or `start`:
/// removed by hand, they stay removed.
pub async fn rm(
    session: &Session,
    request: &RmRequest,
    sink: &Arc<dyn Sink>,
) -> Result<Vec<String>> {
    let _lock = session.lock("rm", sink.as_ref()).await?;
    let mut containers = select(session, &request.target).await?;
    if request.stop {
        let running: Vec<ObservedContainer> = containers
            .iter()
            .filter(|c| c.state == RunState::Running)
            .cloned()
            .collect();
        each(&running, |c| {
            session.engine.stop_container(&c.id, request.timeout)
        })
        .await?;
        containers = select(session, &request.target).await?;
    }
    containers.retain(|c| c.state != RunState::Running);
    if containers.is_empty() {
        sink.note("No stopped containers");
        return Ok(Vec::new());
    }
    let names: Vec<String> = containers.iter().map(|c| c.name.clone()).collect();
    if !request.force
        && !sink.confirm(&format!(
            "Going to remove {}. Are you sure?",
            names.join(", ")
        ))
    {
        return Err(AppError::Declined);
    }
    let mut services: Vec<String> = containers.iter().map(|c| c.service.clone()).collect();
    services.dedup();
    session.mark_stopped(&services, true).await?;
    each(&containers, |c| {
        session.engine.remove_container(&c.id, request.volumes)
    })
    .await?;
    Ok(names)
}

/// The processes of each running container of `target`.
pub async fn top(session: &Session, target: &Target) -> Result<Vec<(String, Processes)>> {
    let mut containers = select(session, target).await?;
    containers.retain(|c| c.state == RunState::Running);
    let tops = join_all(containers.iter().map(|c| session.engine.top(&c.id))).await;
    containers
        .into_iter()
        .zip(tops)
        .map(|(c, top)| match top {
            Ok(top) => Ok((c.name, top)),
            Err(source) => Err(AppError::EngineOn {
                subject: c.name,
                source,
            }),
        })
        .collect()
}

/// The host address a container port of `service` is published on
/// (replica `index`, default 1): `0.0.0.0:8080`.
pub async fn port(
    session: &Session,
    service: &str,
    container_port: u16,
    protocol: &str,
    index: Option<u32>,
) -> Result<Option<PortBinding>> {
    let target = Target {
        services: vec![service.to_string()],
        index: Some(index.unwrap_or(1)),
    };
    let Some(c) = select(session, &target).await?.into_iter().next() else {
        return Err(AppError::Invalid(format!(
            "service `{service}` has no container #{}",
            target.index.unwrap_or(1)
        )));
    };
    let listed = session
        .engine
        .list_listings(&Selection::Project(session.name()))
        .await?;
    let ports = listed
        .into_iter()
        .find(|l| l.observed.id == c.id)
        .map(|l| l.ports)
        .unwrap_or_default();
    Ok(ports.into_iter().find(|p| {
        p.container_port == container_port && p.protocol == protocol && p.host_port.is_some()
    }))
}

/// How `wait` ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WaitFor {
    /// When every container has stopped: the exit code of the last.
    #[default]
    All,
    /// When the first stops: its exit code (`--down-project` then takes
    /// the stack down).
    First,
}

/// Wait for the running containers of `target` to stop; each one's name
/// and exit code, in the order they stopped.
pub async fn wait(
    session: &Session,
    target: &Target,
    until: WaitFor,
) -> Result<Vec<(String, i64)>> {
    let mut containers = select(session, target).await?;
    containers.retain(|c| c.state == RunState::Running);
    if containers.is_empty() {
        return Err(AppError::Invalid(format!(
            "no running containers in project `{}` to wait for",
            session.name()
        )));
    }
    let mut pending: Vec<_> = containers
        .into_iter()
        .map(|c| {
            let engine = session.engine.clone();
            Box::pin(async move {
                match engine.wait_container(&c.id).await {
                    Ok(code) => Ok((c.name, code)),
                    Err(source) => Err(AppError::EngineOn {
                        subject: c.name,
                        source,
                    }),
                }
            })
        })
        .collect();
    let mut exited = Vec::new();
    while !pending.is_empty() {
        let (done, _, rest) = select_all(pending).await;
        exited.push(done?);
        if until == WaitFor::First {
            break;
        }
        pending = rest;
    }
    Ok(exited)
}

/// What each running container of `target` uses now: name, id, sample.
pub async fn stats(
    session: &Session,
    target: &Target,
) -> Result<Vec<(String, String, reconciler::engine::ContainerStats)>> {
    let mut containers = select(session, target).await?;
    containers.retain(|c| c.state == RunState::Running);
    let samples = join_all(containers.iter().map(|c| session.engine.stats(&c.id))).await;
    containers
        .into_iter()
        .zip(samples)
        .map(|(c, sample)| match sample {
            Ok(sample) => Ok((c.name, c.id, sample)),
            Err(source) => Err(AppError::EngineOn {
                subject: c.name,
                source,
            }),
        })
        .collect()
}
