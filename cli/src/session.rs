//! What an engine command works with: the loaded stack, the engine
//! connection, and (for commands that change things) the project lock.

use std::sync::Arc;

use anyhow::Context as _;
use reconciler::agent_files::{AgentFiles, AppliedRun};
use reconciler::docker::DockerEngine;
use reconciler::lock::{LockError, ProjectLock};
use reconciler::Engine;
use schema::Project;
use tokio_util::sync::CancellationToken;

use crate::project::ProjectArgs;

/// A loaded stack and a connected engine.
pub struct Session {
    /// The project, shared with the executor.
    pub project: Arc<Project>,
    /// The engine.
    pub engine: Arc<dyn Engine>,
    /// How the stack was loaded, for the agent to load it the same way
    /// once a run applied it (no scale or digests yet).
    pub applied: AppliedRun,
}

impl Session {
    /// Load the stack (services named on the command line are enabled
    /// whatever their profiles) and connect to the engine. `None` when the
    /// stack file has errors (already printed).
    pub async fn open(args: &ProjectArgs, services: &[String]) -> anyhow::Result<Option<Session>> {
        let Ok(loaded) = args.load(services)? else {
            return Ok(None);
        };
        let engine = connect().await?;
        let applied = AppliedRun {
            working_dir: std::env::current_dir()?,
            files: args.files.clone(),
            project_directory: args.project_directory.clone(),
            project_name: loaded.project.name.clone(),
            env_files: args.env_files.clone(),
            profiles: args.profiles.clone(),
            services: services.to_vec(),
            environment: loaded.variables,
            sources: loaded.sources,
            ..AppliedRun::default()
        };
        Ok(Some(Session {
            project: Arc::new(loaded.project),
            engine,
            applied,
        }))
    }

    /// The project name.
    pub fn name(&self) -> String {
        self.project.name.clone().unwrap_or_default()
    }

    /// The files of the project's agent.
    pub fn agent_files(&self) -> anyhow::Result<AgentFiles> {
        Ok(AgentFiles::open(&self.name())?)
    }

    /// Take the project lock for `what` (`up`, `down`...), waiting up to a
    /// minute for another `stack` process (or the agent's healing pass).
    pub fn lock(&self, what: &str) -> anyhow::Result<ProjectLock> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let mut told = false;
        loop {
            match ProjectLock::acquire(&self.name(), what) {
                Err(LockError::Busy { holder, .. }) if std::time::Instant::now() < deadline => {
                    if !told {
                        eprintln!(
                            "waiting for another stack process ({holder}) working on `{}`...",
                            self.name()
                        );
                        told = true;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                other => return Ok(other?),
            }
        }
    }
}

/// A token cancelled when the user presses Ctrl-C (SIGINT).
pub fn cancel_on_ctrl_c() -> CancellationToken {
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.cancel();
        }
    });
    cancel
}

/// Connect to the engine named by `DOCKER_HOST` (or the default socket).
pub async fn connect() -> anyhow::Result<Arc<dyn Engine>> {
    let engine = DockerEngine::connect().await.with_context(|| {
        format!(
            "cannot talk to the Docker engine at {}; is it running, and may you use it?",
            reconciler::docker::engine_host()
        )
    })?;
    Ok(Arc::new(engine))
}
