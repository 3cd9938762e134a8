//! What an engine use case works with: the loaded stack, the engine, and
//! (for use cases that change things) the project lock.

use std::sync::Arc;
use std::time::{Duration, Instant};

use agent::{AgentFiles, AppliedRun};
use reconciler::docker::DockerEngine;
use reconciler::lock::{LockError, ProjectLock};
use reconciler::Engine;
use schema::{Diagnostic, Project, ProjectName};

use crate::{blocking, AppError, Inputs, Result, Sink};

/// How long a use case waits for another `stack` process to let go of the
/// project.
const LOCK_WAIT: Duration = Duration::from_secs(60);

/// A loaded stack and a connected engine.
pub struct Session {
    /// The project, shared with the executor.
    pub project: Arc<Project>,
    /// The engine.
    pub engine: Arc<dyn Engine>,
    /// How the stack was loaded, for the agent to load it the same way
    /// once a run applied it (no scale or digests yet).
    pub applied: AppliedRun,
    /// What selected the stack.
    pub inputs: Inputs,
    /// Warnings of the load (lint findings, unset variables).
    pub warnings: Vec<Diagnostic>,
}

impl Session {
    /// Load the stack (services named in `services` are enabled whatever
    /// their profiles) and connect to the engine.
    pub async fn open(inputs: &Inputs, services: &[String]) -> Result<Session> {
        let loaded = load(inputs, services).await?;
        Ok(loaded.with_engine(connect().await?))
    }

    /// As [`Session::open`]; but with a project name (`-p`) and no stack
    /// file to be found, the project as the engine's labels describe it,
    /// as Compose does: a stack can be inspected, stopped and removed
    /// without its file.
    pub async fn open_or_named(inputs: &Inputs, services: &[String]) -> Result<Session> {
        match named_without_file(inputs).await? {
            Some(name) => Self::named(&name, connect().await?).await,
            None => Self::open(inputs, services).await,
        }
    }

    /// The project `name` as its containers' labels describe it: each
    /// service's definition (`io.stack.config`) and dependencies (Compose's
    /// `depends_on` label), and where it was loaded from.
    pub async fn named(name: &ProjectName, engine: Arc<dyn Engine>) -> Result<Session> {
        let containers = engine.list_containers(name.as_str()).await?;
        if containers.is_empty() {
            return Err(AppError::Invalid(format!(
                "no stack file here, and no project named `{name}` on the engine (`stack ls -a` lists them)"
            )));
        }
        let project = crate::labelled::project(name, &containers);
        Ok(Session {
            project: Arc::new(project),
            engine,
            applied: AppliedRun::default(),
            inputs: Inputs {
                stack: schema::StackInputs {
                    project_name: Some(name.to_string()),
                    ..Default::default()
                },
                ..Inputs::default()
            },
            warnings: Vec::new(),
        })
    }

    /// Load the stack for `engine` (a fake one in tests).
    pub async fn open_with(
        inputs: &Inputs,
        services: &[String],
        engine: Arc<dyn Engine>,
    ) -> Result<Session> {
        Ok(load(inputs, services).await?.with_engine(engine))
    }

    /// The same session with another model of the project (a rollback's).
    pub fn with_project(&self, project: Project) -> Session {
        Session {
            project: Arc::new(project),
            engine: self.engine.clone(),
            applied: self.applied.clone(),
            inputs: self.inputs.clone(),
            warnings: Vec::new(),
        }
    }

    /// The project name.
    pub fn name(&self) -> String {
        self.project.project_name().to_string()
    }

    /// The files of the project's agent.
    pub async fn agent_files(&self) -> Result<AgentFiles> {
        let name = self.name();
        blocking(move || Ok(AgentFiles::open(&name)?)).await
    }

    /// Mark `services` (all when empty) as stopped by the user, or back in
    /// the agent's care.
    pub async fn mark_stopped(&self, services: &[String], stopped: bool) -> Result<()> {
        let named: Vec<String> = if services.is_empty() {
            self.project.services.keys().cloned().collect()
        } else {
            services.to_vec()
        };
        let files = self.agent_files().await?;
        blocking(move || Ok(files.mark_stopped(&named, stopped)?)).await
    }

    /// Take the project lock for `what` (`up`, `down`...), waiting up to a
    /// minute for another `stack` process (or the agent's healing pass).
    pub async fn lock(&self, what: &str, sink: &dyn Sink) -> Result<ProjectLock> {
        let deadline = Instant::now() + LOCK_WAIT;
        let mut told = false;
        loop {
            let (name, w) = (self.name(), what.to_string());
            let attempt = blocking(move || Ok(ProjectLock::acquire(&name, &w))).await?;
            match attempt {
                Err(LockError::Busy { holder, .. }) if Instant::now() < deadline => {
                    if !told {
                        sink.status(&format!(
                            "waiting for another stack process ({holder}) working on `{}`...",
                            self.name()
                        ));
                        told = true;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                other => return Ok(other?),
            }
        }
    }
}

/// A stack loaded for a session, before the engine is there.
struct Loaded {
    project: Project,
    applied: AppliedRun,
    inputs: Inputs,
    warnings: Vec<Diagnostic>,
}

impl Loaded {
    fn with_engine(self, engine: Arc<dyn Engine>) -> Session {
        Session {
            project: Arc::new(self.project),
            engine,
            applied: self.applied,
            inputs: self.inputs,
            warnings: self.warnings,
        }
    }
}

/// The project name, when one is given and no stack file is named or
/// found.
async fn named_without_file(inputs: &Inputs) -> Result<Option<ProjectName>> {
    let Some(written) = inputs.stack.project_name.clone() else {
        return Ok(None);
    };
    if !inputs.stack.files.is_empty() {
        return Ok(None);
    }
    let lookup = inputs.clone();
    let found = blocking(move || Ok(schema::stack_files(&lookup.options()?).is_ok())).await?;
    if found {
        // The loader checks the name, and says where it came from.
        return Ok(None);
    }
    let name = ProjectName::new(&written).ok_or_else(|| {
        AppError::Invalid(format!(
            "project name `{written}` (from -p) is not valid: use lowercase letters, digits, `-` and `_`, starting with a letter or digit"
        ))
    })?;
    Ok(Some(name))
}

/// Load the stack off the runtime (the loader reads files).
async fn load(inputs: &Inputs, services: &[String]) -> Result<Loaded> {
    let (inputs, services) = (inputs.clone(), services.to_vec());
    blocking(move || {
        let loaded = inputs.load(&services)?;
        let applied = AppliedRun {
            working_dir: std::env::current_dir()?,
            stack: schema::StackInputs {
                project_name: loaded.project.name.clone().map(String::from),
                ..inputs.stack.clone()
            },
            services,
            environment: loaded.variables,
            sources: loaded.sources,
            ..AppliedRun::default()
        };
        Ok(Loaded {
            project: loaded.project,
            applied,
            inputs,
            warnings: loaded.warnings,
        })
    })
    .await
}

/// Connect to the engine named by `DOCKER_HOST` (or the default socket).
pub async fn connect() -> Result<Arc<dyn Engine>> {
    match DockerEngine::connect().await {
        Ok(engine) => Ok(Arc::new(engine)),
        Err(source) => Err(AppError::Connect {
            host: reconciler::docker::engine_host(),
            source,
        }),
    }
}
