//! The application layer: every use case of `stack`, as a function that
//! takes a plain request (no command-line types), reports progress to a
//! [`Sink`], and returns data or an [`AppError`]. The CLI turns arguments
//! into requests and renders what comes back; tests drive the same
//! functions without the binary.
//!
//! - [`inputs`]: which stack, and how to read it; [`session`]: the loaded
//!   stack, the engine and the project lock.
//! - [`up`]: converge (images, plan, checks, execute), `--wait`;
//!   [`attached`]: an attached `up` (output followed, agent in-process);
//!   [`rollback`] with [`history`], [`down`], [`lifecycle`]
//!   (start/stop/restart), [`watch`] (converge on file changes),
//!   [`agent`] (host, start, stop, status, install).
//! - [`inspect`]: what runs (`ps`, `plan --why`), [`logs`], [`exec`],
//!   [`images`] (pull/build), [`volumes`], [`dns`] (records, queries).
//!
//! Invariant: nothing here prints or parses arguments; every engine call
//! goes through [`reconciler::Engine`], every state file through
//! `reconciler::state`.

pub mod agent;
pub mod attach;
pub mod attached;
pub mod changes;
pub mod containers;
pub mod copy;
pub mod develop;
pub mod dns;
pub mod down;
pub mod events;
pub mod exec;
pub mod history;
pub mod images;
pub mod inputs;
pub mod inspect;
pub mod labelled;
pub mod lifecycle;
pub mod login;
pub mod logins;
pub mod logs;
pub mod rollback;
pub mod run;
pub mod session;
pub mod sink;
pub mod up;
pub mod volumes;
pub mod watch;

pub use inputs::Inputs;
pub use session::Session;
pub use sink::Sink;

/// Why a use case did not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The stack files do not load (the report names every problem).
    #[error("{0}")]
    Load(#[from] schema::LoadFailure),
    /// The engine cannot be reached.
    #[error("cannot talk to the Docker engine at {host}; is it running, and may you use it?\n  caused by: {source}")]
    Connect {
        /// Where it was looked for.
        host: String,
        /// What went wrong.
        source: reconciler::EngineError,
    },
    /// The engine refused or failed.
    #[error(transparent)]
    Engine(#[from] reconciler::EngineError),
    /// The engine refused or failed on one object.
    #[error("{subject}: {source}")]
    EngineOn {
        /// The container (or other object) concerned.
        subject: String,
        /// What the engine said.
        source: reconciler::EngineError,
    },
    /// Images could not be made ready.
    #[error(transparent)]
    Images(#[from] reconciler::images::ImageError),
    /// The user's registry logins could not be read or written.
    #[error(transparent)]
    Credentials(#[from] registry::Error),
    /// A registry refused a login.
    #[error("login to {registry} failed: {message}\n  {hint}")]
    Login {
        /// The registry host.
        registry: String,
        /// The engine's words.
        message: String,
        /// What to do.
        hint: String,
    },
    /// Secrets or configs could not be read.
    #[error(transparent)]
    Files(#[from] reconciler::files::FilesError),
    /// A check before any change failed.
    #[error(transparent)]
    Preflight(#[from] reconciler::preflight::PreflightError),
    /// A plan failed while it ran.
    #[error(transparent)]
    Execute(#[from] reconciler::ExecError),
    /// The plan has problems; nothing was changed.
    #[error("{} problem(s) must be fixed before anything changes", .blockers.len())]
    Refused {
        /// What is wrong.
        blockers: Vec<planner::Blocker>,
        /// The engine the plan was for (what advice names).
        engine: planner::EngineKind,
    },
    /// The user said no; nothing was changed.
    #[error("Nothing changed.")]
    Declined,
    /// Interrupted (Ctrl-C) before it finished.
    #[error("interrupted")]
    Cancelled,
    /// A state file or directory.
    #[error(transparent)]
    State(#[from] reconciler::state::StateError),
    /// The project lock.
    #[error(transparent)]
    Lock(#[from] reconciler::lock::LockError),
    /// The agent.
    #[error(transparent)]
    Agent(#[from] ::agent::AgentError),
    /// `--scale` does not apply.
    #[error(transparent)]
    Scale(#[from] schema::ScaleError),
    /// Watching files.
    #[error("cannot watch the stack files: {0}")]
    Watch(#[from] notify::Error),
    /// Reading the working directory or a file.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The request names something the stack does not have, or asks for
    /// what cannot be done; the message says what to do.
    #[error("{0}")]
    Invalid(String),
    /// A condition waited for did not come (the message says which).
    #[error("{0}")]
    Wait(String),
}

/// Shorthand for use-case results.
pub type Result<T> = std::result::Result<T, AppError>;

/// Run `f` on tokio's blocking pool: the state files and locks are small,
/// but they are still file system calls, which never run on the runtime.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AppError::Invalid(format!("a background task failed: {e}")))?
}
