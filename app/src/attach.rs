//! `attach`: a running container's stdin, stdout and stderr, wired to
//! this terminal until its process ends; its exit code.

use reconciler::engine::AttachedIo;
use tokio_util::sync::CancellationToken;

use crate::containers::{select, Target};
use crate::{AppError, Result, Session};

/// Attach to replica `index` of `service`. With `proxy_signals`, `cancel`
/// (Ctrl-C) is passed on to the process as SIGINT, and the output is
/// followed on until it ends; without, `cancel` detaches.
pub async fn run(
    session: &Session,
    service: &str,
    index: u32,
    io: AttachedIo,
    proxy_signals: bool,
    cancel: &CancellationToken,
) -> Result<Option<i64>> {
    let target = Target {
        services: vec![service.to_string()],
        index: Some(index),
    };
    let Some(c) = select(session, &target)
        .await?
        .into_iter()
        .find(|c| c.state == planner::RunState::Running)
    else {
        return Err(AppError::Invalid(format!(
            "service `{service}` has no replica {index} running; start it with `stack up -d {service}`"
        )));
    };
    let on = |source| AppError::EngineOn {
        subject: c.name.clone(),
        source,
    };
    let mut output = session
        .engine
        .attach_container(&c.id, io)
        .await
        .map_err(on)?;
    tokio::select! {
        done = &mut output => done.map_err(on)?,
        () = cancel.cancelled() => {
            if !proxy_signals {
                return Ok(None);
            }
            session.engine.kill_container(&c.id, "SIGINT").await.map_err(on)?;
            output.await.map_err(on)?;
        }
    }
    Ok(Some(
        session.engine.wait_container(&c.id).await.map_err(on)?,
    ))
}
