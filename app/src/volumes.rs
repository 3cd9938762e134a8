//! The project's named volumes: list them, remove them on request.
//! Removing one is always explicit: `up`, recreate, scale-down and orphan
//! removal never do it, and `down` only with `-v`.

use std::sync::Arc;

use planner::ObservedResource;
use reconciler::EngineError;

use crate::{AppError, Result, Session, Sink};

/// The project's volumes on the engine.
pub async fn list(session: &Session) -> Result<Vec<ObservedResource>> {
    Ok(session.engine.list_volumes(&session.name()).await?)
}

/// What became of one volume asked to be removed.
#[derive(Debug)]
pub enum Removal {
    /// Removed (its engine name).
    Removed(String),
    /// Not a volume of the project.
    NotOurs(String),
    /// In use by a container.
    InUse {
        /// Its engine name.
        name: String,
        /// The engine's message.
        message: String,
    },
}

/// Remove `wanted` (keys or engine names), under the lock; one outcome
/// per volume, in order.
pub async fn remove(
    session: &Session,
    wanted: &[String],
    sink: &Arc<dyn Sink>,
) -> Result<Vec<Removal>> {
    let volumes = list(session).await?;
    let _lock = session.lock("volume rm", sink.as_ref()).await?;
    let mut out = Vec::new();
    for w in wanted {
        let Some(v) = volumes.iter().find(|v| &v.key == w || &v.name == w) else {
            out.push(Removal::NotOurs(w.clone()));
            continue;
        };
        match session.engine.remove_volume(&v.name).await {
            Ok(()) => out.push(Removal::Removed(v.name.clone())),
            Err(EngineError::Conflict(message) | EngineError::Api { message, .. }) => {
                out.push(Removal::InUse {
                    name: v.name.clone(),
                    message,
                })
            }
            Err(e) => return Err(AppError::Engine(e)),
        }
    }
    Ok(out)
}
