//! Attached `up`: after converging, follow the containers' output with
//! the agent in this process until every container ended or `cancel`
//! (Ctrl-C); then stop the stack, as Compose does.

use std::sync::Arc;
use std::time::Duration;

use reconciler::engine::{LogLine, LogOptions};
use tokio_util::sync::CancellationToken;

use crate::lifecycle::{act, Verb};
use crate::logs::Logs;
use crate::{Result, Session, Sink};

/// Where followed output goes: each chunk with the names of the followed
/// containers and the index of the one it came from.
pub type Output<'a> = dyn FnMut(&[String], usize, &LogLine) -> std::io::Result<()> + Send + 'a;

/// How to run attached.
#[derive(Debug, Clone)]
pub struct Attached {
    /// Services followed and stopped (empty: all).
    pub services: Vec<String>,
    /// The agent to host here; `None`: none.
    pub agent: Option<agent::Options>,
    /// Wait for each container to stop before killing it.
    pub stop_timeout: Duration,
}

/// Follow, then stop.
pub async fn run(
    session: &Session,
    request: &Attached,
    sink: &Arc<dyn Sink>,
    cancel: &CancellationToken,
    output: &mut Output<'_>,
) -> Result<()> {
    let agent_stop = cancel.child_token();
    let agent = async {
        let Some(options) = &request.agent else {
            return Ok(());
        };
        if !crate::agent::host(session, options, false, sink, &agent_stop).await? {
            sink.note("An agent already runs for this project in the background.");
        }
        Ok::<_, crate::AppError>(())
    };
    let logs = async {
        let followed = follow(session, &request.services, cancel, output).await;
        // Every container has ended (or Ctrl-C): the agent goes too.
        agent_stop.cancel();
        followed
    };
    let (agent, logs) = tokio::join!(agent, logs);
    logs?;
    agent?;
    sink.note("Stopping...");
    act(session, &request.services, Verb::Stop, request.stop_timeout).await
}

async fn follow(
    session: &Session,
    services: &[String],
    cancel: &CancellationToken,
    output: &mut Output<'_>,
) -> Result<()> {
    let options = LogOptions {
        follow: true,
        ..LogOptions::default()
    };
    let mut logs = Logs::open(session, services, options).await?;
    while let Some(chunk) = logs.next(cancel).await {
        let (index, line) = chunk?;
        output(&logs.containers, index, &line)?;
    }
    Ok(())
}
