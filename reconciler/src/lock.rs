//! One `stack` process at a time per project on this machine: two `up`s
//! racing would both see a replica missing and both create it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

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
    /// The lock file could not be opened.
    #[error("cannot open the lock file {path}: {source}")]
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
    _file: File,
}

/// Where lock files live: `$STACK_STATE_DIR`, else `$XDG_RUNTIME_DIR/stack`,
/// else the system temporary directory.
pub fn lock_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("STACK_STATE_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR") {
        return PathBuf::from(d).join("stack");
    }
    std::env::temp_dir().join("stack-locks")
}

impl ProjectLock {
    /// Take the lock of `project` without waiting.
    pub fn acquire(project: &str, what: &str) -> Result<Self, LockError> {
        Self::acquire_named(&format!("{project}.lock"), project, what)
    }

    /// Take the lock held by a project's agent for as long as it runs.
    pub fn acquire_agent(project: &str) -> Result<Self, LockError> {
        Self::acquire_named(&format!("{project}.agent.lock"), project, "agent")
    }

    /// Who holds a project's agent lock, without taking it or writing to
    /// it: `None` when it is free.
    pub fn agent_holder(project: &str) -> Result<Option<String>, LockError> {
        let path = lock_dir().join(format!("{project}.agent.lock"));
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        match file.try_lock_shared() {
            Ok(()) => Ok(None),
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                Ok(Some(holder.trim().to_string()))
            }
            Err(TryLockError::Error(e)) => Err(io(e)),
        }
    }

    fn acquire_named(file_name: &str, project: &str, what: &str) -> Result<Self, LockError> {
        let dir = lock_dir();
        let path = dir.join(file_name);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
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
