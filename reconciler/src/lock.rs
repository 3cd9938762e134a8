//! One `stack` process at a time per project on this machine: two `up`s
//! racing would both see a replica missing and both create it.
//!
//! Lock files live in the runtime [`StateDir`] (private to the user,
//! opened without following symlinks).

use std::fs::TryLockError;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use crate::state::{StateDir, StateError};

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error(
        "another stack process ({holder}) is working on project `{project}`; wait for it to finish"
    )]
    Busy {
        /// The project.
        project: String,
        /// What the holder wrote into the lock file.
        holder: String,
    },
    /// The state directory or the lock file cannot be used.
    #[error(transparent)]
    State(#[from] StateError),
    /// The lock file could not be locked.
    #[error("cannot lock {path}: {source}")]
    Io {
        /// Lock file path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

/// A held project lock; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct ProjectLock {
    _file: std::fs::File,
}

/// The name of a project's agent lock file.
pub fn agent_lock_name(project: &str) -> String {
    format!("{project}.agent.lock")
}

impl ProjectLock {
    /// Take the lock of `project` without waiting.
    pub fn acquire(project: &str, what: &str) -> Result<Self, LockError> {
        Self::acquire_named(&format!("{project}.lock"), project, what)
    }

    /// Take the lock held by a project's agent for as long as it runs.
    pub fn acquire_agent(project: &str) -> Result<Self, LockError> {
        Self::acquire_named(&agent_lock_name(project), project, "agent")
    }

    /// Who holds a project's agent lock, without taking it or writing to
    /// it: `None` when it is free.
    pub fn agent_holder(project: &str) -> Result<Option<String>, LockError> {
        let state = StateDir::runtime()?;
        let name = agent_lock_name(project);
        let Some(mut file) = state.open_existing(&name)? else {
            return Ok(None);
        };
        match file.try_lock_shared() {
            Ok(()) => Ok(None),
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                Ok(Some(holder.trim().to_string()))
            }
            Err(TryLockError::Error(source)) => Err(LockError::Io {
                path: state.file(&name)?,
                source,
            }),
        }
    }

    fn acquire_named(file_name: &str, project: &str, what: &str) -> Result<Self, LockError> {
        let state = StateDir::runtime()?;
        let mut file = state.open_rw(file_name)?;
        let io = |source| LockError::Io {
            path: state.path().join(file_name),
            source,
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(LockError::Busy {
                    project: project.into(),
                    holder: holder.trim().to_string(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        write!(file, "`stack {what}`, pid {}", std::process::id()).map_err(io)?;
        Ok(ProjectLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_with_the_first_named() {
        let project = format!("lock-test-{}", std::process::id());
        let first = ProjectLock::acquire(&project, "up").unwrap();
        let err = ProjectLock::acquire(&project, "up").unwrap_err();
        assert!(err.to_string().contains("`stack up`, pid"), "{err}");
        drop(first);
        assert!(ProjectLock::acquire(&project, "down").is_ok());
    }
}
