//! The agent: one background process per project that keeps the stack as
//! the last `stack up` applied it and serves the stack's DNS.
//!
//! - [`runtime`]: the loop (a heal pass, then wait for events, a requeue
//!   time or shutdown), in kube-runtime's shape.
//! - [`heal`]: the idempotent healing pass, its backoff and history.
//! - [`watch`]: one engine events subscription, debounced and reopened.
//! - [`dns_feed`]: the zone read from the engine, and the listeners.
//! - [`files`]: the agent's state files (lock, log, history, the record
//!   of the last `up`).
//! - [`host`]: the agent in this process: loading, locking, recording.
//! - [`process`]: the agent as a background process: start, find, stop.
//! - [`systemd`]: a unit that runs the agent at boot.
//!
//! Invariant: the agent acts only on what a `stack up` applied (its
//! record), never on an edited file no `up` applied, and it signals no
//! process it has not verified to be its own.

pub mod dns_feed;
pub mod dns_log;
pub mod files;
pub mod heal;
pub mod host;
pub mod options;
pub mod process;
pub mod runtime;
pub mod systemd;
pub mod watch;

pub use files::{AgentFiles, AppliedRun, Holder};
pub use options::Options;

/// What can go wrong around the agent.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// A state file or directory.
    #[error(transparent)]
    State(#[from] reconciler::state::StateError),
    /// The project or agent lock.
    #[error(transparent)]
    Lock(#[from] reconciler::lock::LockError),
    /// The engine.
    #[error(transparent)]
    Engine(#[from] reconciler::EngineError),
    /// Starting or signalling a process.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Signalling the agent.
    #[error("cannot signal the agent: {0}")]
    Signal(#[from] nix::Error),
    /// The agent lock is held by something that is not our agent.
    #[error("the agent lock of `{project}` is held by something that is not a stack agent ({holder}); not signalling it")]
    NotOurs {
        /// The project.
        project: String,
        /// What the lock names.
        holder: String,
    },
    /// A started agent never took its lock.
    #[error("the agent (pid {pid}) did not start; the end of {log}:\n{tail}")]
    DidNotStart {
        /// The child's pid.
        pid: u32,
        /// Its log file.
        log: String,
        /// The log's last lines.
        tail: String,
    },
    /// A signalled agent did not exit.
    #[error("the agent (pid {0}) did not stop within 15s")]
    DidNotStop(i32),
    /// A blocking task could not finish.
    #[error("an agent task failed: {0}")]
    Task(String),
}
