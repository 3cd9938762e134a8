//! `rollback`: replace a service's replicas (as a rolling update, with
//! `rollback_config` when the file has one) with the definition they ran
//! before their last update, kept in their labels. Rolling back twice
//! goes forward again. The stack file is not changed: the next `up`
//! applies it again.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::history::rolled_back;
use crate::up::{converge, UpRequest};
use crate::{Result, Session, Sink};

/// Roll `service` back.
pub async fn run(
    session: &Session,
    service: &str,
    sink: &Arc<dyn Sink>,
    cancel: &CancellationToken,
) -> Result<()> {
    let previous = session.with_project(rolled_back(session, service).await?);
    let request = UpRequest::services(vec![service.to_string()]);
    converge(&previous, &request, sink, cancel, true).await?;
    Ok(())
}
