//! The agent's use cases: host it in this process (attached `up`,
//! `agent --foreground`, with a file watch when asked), start it in the
//! background, stop it, report on it, and install it as a systemd unit.

use std::collections::BTreeSet;
use std::sync::Arc;

use agent::heal::Entry;
use agent::host::Serve;
use agent::process::Start;
use agent::{Holder, Options};
use tokio_util::sync::CancellationToken;

use crate::up::UpRequest;
use crate::{blocking, Result, Session, Sink};

/// Run the agent in this process until `shutdown` (with `watch`, also
/// converge on file changes). `false`: another agent runs already.
pub async fn host(
    session: &Session,
    options: &Options,
    watch: bool,
    sink: &Arc<dyn Sink>,
    shutdown: &CancellationToken,
) -> Result<bool> {
    let mut fallback = session.inputs.options()?;
    fallback.stack.project_name = Some(session.name());
    let request = Serve {
        project: session.name(),
        fallback,
        options: options.clone(),
        engine: session.engine.clone(),
    };
    let watching = async {
        if watch {
            let up = UpRequest::default();
            if let Err(e) = crate::watch::run(&session.inputs, &up, sink, shutdown).await {
                sink.error(&e);
            }
        }
    };
    Ok(agent::host::serve(request, shutdown, watching).await?)
}

/// Start the agent in the background unless one runs; its pid. Under the
/// project lock, so two `up`s cannot start two agents.
pub async fn start(
    session: &Session,
    options: &Options,
    watch: bool,
    sink: &dyn Sink,
) -> Result<i32> {
    let _lock = session.lock("up", sink).await?;
    let request = Start {
        project: session.name(),
        stack_args: session.inputs.to_args()?,
        options: options.clone(),
        watch,
    };
    Ok(agent::process::start(request).await?)
}

/// Stop the agent, if one runs (`false`: none did).
pub async fn stop(project: &str) -> Result<bool> {
    Ok(agent::process::stop(project).await?)
}

/// The agent's pid, when our agent runs for `project`.
pub async fn running_pid(project: &str) -> Result<Option<i32>> {
    Ok(agent::process::running_pid(project).await?)
}

/// What `stack agent status` shows.
#[derive(Debug, Clone)]
pub struct Status {
    /// Who holds the agent lock.
    pub holder: Holder,
    /// Where its DNS listens (and what could not be opened), one per line.
    pub dns: String,
    /// Services the user stopped, which it leaves alone.
    pub stopped: BTreeSet<String>,
    /// What it did, oldest first.
    pub history: Vec<Entry>,
}

/// The agent's state, read from its files.
pub async fn status(project: &str) -> Result<Status> {
    let project = project.to_string();
    blocking(move || {
        let files = agent::AgentFiles::open(&project)?;
        Ok(Status {
            holder: files.holder()?,
            dns: files.dns_status(),
            stopped: files.stopped(),
            history: files.history(),
        })
    })
    .await
}

/// A systemd unit that runs this project's agent at boot (its
/// environment file is written beside the other state).
pub async fn install(session: &Session) -> Result<String> {
    let exe = std::env::current_exe()?;
    let mut command = vec![exe.to_string_lossy().into_owned()];
    command.extend(
        session
            .inputs
            .to_args()?
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned()),
    );
    if session.inputs.stack.project_name.is_none() {
        command.extend(["-p".to_string(), session.name()]);
    }
    command.extend(["agent".to_string(), "--foreground".to_string()]);
    let unit = agent::systemd::Unit {
        project: session.name(),
        command,
        environment: session.applied.environment.clone(),
    };
    blocking(move || Ok(agent::systemd::write(&unit)?)).await
}
