//! `events`: what happens to the project's containers, as it happens.

use futures::StreamExt;
use planner::labels;
use reconciler::engine::EngineEvent;
use tokio_util::sync::CancellationToken;

use crate::{AppError, Result, Session};

/// One container event of the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerEvent {
    /// The service of the container.
    pub service: String,
    /// The engine's event.
    pub event: EngineEvent,
}

/// Hand each container event of `services` (all when empty) to `each`,
/// until `cancel` or the engine ends the stream.
pub async fn follow(
    session: &Session,
    services: &[String],
    cancel: &CancellationToken,
    each: &mut (dyn FnMut(&ContainerEvent) -> std::io::Result<()> + Send),
) -> Result<()> {
    if let Some(unknown) = services
        .iter()
        .find(|s| !session.project.services.contains_key(*s))
    {
        return Err(AppError::Invalid(format!(
            "no service named `{unknown}` in the stack"
        )));
    }
    let mut events = session.engine.events(&session.name());
    loop {
        let next = tokio::select! {
            e = events.next() => e,
            () = cancel.cancelled() => None,
        };
        let Some(event) = next else {
            return Ok(());
        };
        let event = event?;
        if event.kind != "container" {
            continue;
        }
        let service = event
            .attributes
            .get(labels::SERVICE)
            .cloned()
            .unwrap_or_default();
        if services.is_empty() || services.contains(&service) {
            each(&ContainerEvent { service, event })?;
        }
    }
}
