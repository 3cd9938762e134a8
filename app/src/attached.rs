//! Attached `up`: after converging, follow the containers' output with
//! the agent in this process until every container ended, one ended and
//! the request says to abort then, or `cancel` (Ctrl-C); then stop the
//! stack, as Compose does.

use std::sync::Arc;
use std::time::Duration;

use planner::RunState;
use reconciler::engine::{LogLine, LogOptions};
use tokio_util::sync::CancellationToken;

use crate::containers::Target;
use crate::lifecycle::{act, Verb};
use crate::logs::{Event, Logs};
use crate::{Result, Session, Sink};

/// Where followed output goes: each chunk with the names of the followed
/// containers and the index of the one it came from.
pub type Output<'a> = dyn FnMut(&[String], usize, &LogLine) -> std::io::Result<()> + Send + 'a;

/// When a container's end ends the whole attached run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Abort {
    /// Never: follow until every container ended.
    #[default]
    Never,
    /// When any container stops (`--abort-on-container-exit`).
    OnExit,
    /// When a container stops with a non-zero status
    /// (`--abort-on-container-failure`).
    OnFailure,
}

/// How to run attached.
#[derive(Debug, Clone, Default)]
pub struct Attached {
    /// Services followed and stopped (empty: all).
    pub services: Vec<String>,
    /// Services whose output is shown (empty: all followed).
    pub shown: Vec<String>,
    /// Services whose output is not shown.
    pub hidden: Vec<String>,
    /// When to stop everything.
    pub abort: Abort,
    /// The exit status is this service's container's (`--exit-code-from`;
    /// implies [`Abort::OnExit`] unless another abort is asked for).
    pub exit_code_from: Option<String>,
    /// The agent to host here; `None`: none.
    pub agent: Option<agent::Options>,
    /// Wait for each container to stop before killing it.
    pub stop_timeout: Duration,
    /// Show output from this moment on (Unix seconds; when the run began,
    /// so a restarted container's earlier runs are not shown again).
    pub since: Option<i64>,
}

impl Attached {
    fn shows(&self, service: &str) -> bool {
        (self.shown.is_empty() || self.shown.iter().any(|s| s == service))
            && !self.hidden.iter().any(|s| s == service)
    }
}

/// Follow, then stop; the exit status the run ends with (that of the
/// container whose end aborted it, or of `exit_code_from`'s; 0 otherwise).
pub async fn run(
    session: &Session,
    request: &Attached,
    sink: &Arc<dyn Sink>,
    cancel: &CancellationToken,
    output: &mut Output<'_>,
) -> Result<i64> {
    if let Some(service) = &request.exit_code_from {
        if !session.project.services.contains_key(service) {
            return Err(crate::AppError::Invalid(format!(
                "--exit-code-from names `{service}`, which is no service of the stack"
            )));
        }
    }
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
        let followed = follow(session, request, cancel, output).await;
        // Every container has ended, one ended the run, or Ctrl-C: the
        // agent goes too.
        agent_stop.cancel();
        followed
    };
    let (agent, logs) = tokio::join!(agent, logs);
    let ending = logs?;
    agent?;
    match &ending {
        Ending::Aborted(name) => sink.note(&format!("{name} exited; aborting")),
        Ending::ReaderGone => sink.note("The output's reader went away; stopping the stack"),
        Ending::Followed => {}
    }
    sink.note("Stopping...");
    act(session, &request.services, Verb::Stop, request.stop_timeout).await?;
    match ending {
        Ending::Aborted(name) => exit_code(session, request, Some(&name)).await,
        Ending::Followed => exit_code(session, request, None).await,
        Ending::ReaderGone => Ok(READER_GONE),
    }
}

/// The status of a run whose output's reader went away (`stack up |
/// head`): 128 + SIGPIPE, as the shell reports a writer SIGPIPE ended.
pub const READER_GONE: i64 = 128 + 13;

/// How following ended.
#[derive(Debug, PartialEq, Eq)]
enum Ending {
    /// Every followed container ended, or Ctrl-C.
    Followed,
    /// This container's end aborted the run.
    Aborted(String),
    /// Output could not be written: its reader closed the pipe. The
    /// stack is stopped as on Ctrl-C, since an attached stack lives as
    /// long as someone follows it.
    ReaderGone,
}

/// Follow the output until it ends.
async fn follow(
    session: &Session,
    request: &Attached,
    cancel: &CancellationToken,
    output: &mut Output<'_>,
) -> Result<Ending> {
    let options = LogOptions {
        follow: true,
        since: request.since,
        ..LogOptions::default()
    };
    let target = Target {
        services: request.services.clone(),
        index: None,
    };
    let mut logs = Logs::open(session, &target, options).await?;
    let abort = match (&request.exit_code_from, request.abort) {
        (Some(_), Abort::Never) => Abort::OnExit,
        (_, abort) => abort,
    };
    while let Some(event) = logs.next(cancel).await {
        match event? {
            Event::Line(i, line) => {
                if request.shows(&logs.containers[i].service) {
                    match output(&logs.names(), i, &line) {
                        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                            return Ok(Ending::ReaderGone)
                        }
                        written => written?,
                    }
                }
            }
            // As Compose: only the containers shown can end the run.
            Event::Ended(i)
                if abort != Abort::Never && request.shows(&logs.containers[i].service) =>
            {
                let c = &logs.containers[i];
                let code = session.engine.wait_container(&c.id).await?;
                if abort == Abort::OnExit || code != 0 {
                    return Ok(Ending::Aborted(c.name.clone()));
                }
            }
            Event::Ended(_) => {}
        }
    }
    Ok(Ending::Followed)
}

/// The status the run exits with, read once everything stopped.
async fn exit_code(session: &Session, request: &Attached, aborted_by: Option<&str>) -> Result<i64> {
    let containers = session.engine.list_containers(&session.name()).await?;
    let chosen = containers.iter().find(|c| match &request.exit_code_from {
        Some(service) => &c.service == service,
        None => Some(c.name.as_str()) == aborted_by,
    });
    Ok(match chosen.map(|c| &c.state) {
        Some(RunState::Exited { code }) => *code,
        _ => 0,
    })
}
