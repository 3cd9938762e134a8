//! The files of a project's agent, in the runtime [`StateDir`]:
//! `<project>.agent.lock` (held while it runs; names its pid),
//! `<project>.agent.history` (what it did, JSON lines),
//! `<project>.agent.log` (its own output when detached),
//! `<project>.agent.dns` (where its DNS listens, and what it could not
//! take) and `<project>.stopped` (services `stack stop` took out of its
//! care); and, in the persistent [`StateDir`] (it must outlive a reboot,
//! when systemd starts the agent again), `<project>.applied.json`: what
//! the last `stack up` applied ([`AppliedRun`]).
//!
//! Contract: a pid read from the lock is only reported, or signalled, once
//! it is known to be our agent: a live process whose command line is
//! `stack ... agent` and that holds the lock file open. A pid written by
//! someone else, or reused by an unrelated process, is never signalled.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::heal::{Entry, HISTORY_LEN};
use reconciler::lock::{agent_lock_name, LockError, ProjectLock};
use reconciler::state::{StateDir, StateError};

/// What a `stack up` applied: how it loaded the stack, the files as it read
/// them, the shell variables they used, its `--scale`, and the secret and
/// config digests. The agent heals exactly this, never an edited file no
/// `up` applied, nor the environment of the `up` that happened to start it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AppliedRun {
    /// The working directory of the run.
    pub working_dir: PathBuf,
    /// Which stack: the run's `-f`, `--project-directory`, `--env-file`,
    /// `--profile`, and its `-p` or the name it found.
    #[serde(flatten)]
    pub stack: schema::StackInputs,
    /// Services named on the command line.
    pub services: Vec<String>,
    /// The shell variables the files used.
    pub environment: BTreeMap<String, String>,
    /// Every file the load read, as it read it.
    pub sources: schema::read::Memory,
    /// `--scale` / `stack scale` of the run (`SERVICE=N`).
    pub scale: Vec<String>,
    /// Secret and config digests (`secret:<name>` -> keyed digest).
    pub digests: BTreeMap<String, String>,
}

impl AppliedRun {
    /// Loader options that read the run's files from the record.
    pub fn options(&self) -> schema::Options {
        schema::Options {
            stack: self.stack.clone(),
            working_dir: self.working_dir.clone(),
            services: self.services.clone(),
            environment: self.environment.clone(),
            source: Some(Arc::new(self.sources.clone())),
            ..schema::Options::default()
        }
    }
}

/// A project's agent files.
#[derive(Debug, Clone)]
pub struct AgentFiles {
    state: StateDir,
    project: String,
}

/// Whom the agent lock names, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// No agent runs.
    None,
    /// Our agent, with its pid.
    Agent(i32),
    /// The lock is held, but not by a process known to be our agent.
    Unknown(String),
}

impl AgentFiles {
    /// The files of `project`'s agent.
    pub fn open(project: &str) -> Result<AgentFiles, StateError> {
        Ok(AgentFiles {
            state: StateDir::runtime()?,
            project: project.to_string(),
        })
    }

    /// The state directory they live in.
    pub fn state(&self) -> &StateDir {
        &self.state
    }

    /// The file name of `suffix` for this project.
    pub fn name(&self, suffix: &str) -> String {
        format!("{}.{suffix}", self.project)
    }

    /// The path of the agent's own log.
    pub fn log_path(&self) -> PathBuf {
        self.state.path().join(self.name("agent.log"))
    }

    /// The agent's log, opened for appending (0600).
    pub fn open_log(&self) -> Result<std::fs::File, StateError> {
        self.state.append(&self.name("agent.log"))
    }

    /// The last `n` lines of the agent's log.
    pub fn log_tail(&self, n: usize) -> Vec<String> {
        let text = self.state.read_text(&self.name("agent.log"));
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..]
            .iter()
            .map(|l| l.to_string())
            .collect()
    }

    /// What the agent did, oldest first.
    pub fn history(&self) -> Vec<Entry> {
        self.state
            .read_text(&self.name("agent.history"))
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Keep the last [`HISTORY_LEN`] of `entries` as the history.
    pub fn write_history(&self, entries: &[Entry]) -> Result<(), StateError> {
        let text: String = entries[entries.len().saturating_sub(HISTORY_LEN)..]
            .iter()
            .filter_map(|e| serde_json::to_string(e).ok())
            .map(|l| l + "\n")
            .collect();
        self.state
            .write(&self.name("agent.history"), text.as_bytes())
    }

    /// Services taken out of the agent's care by `stack stop`.
    pub fn stopped(&self) -> BTreeSet<String> {
        self.state
            .read_text(&self.name("stopped"))
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Mark `services` stopped (`true`) or back in the agent's care (`false`).
    pub fn mark_stopped(&self, services: &[String], stopped: bool) -> Result<(), StateError> {
        let mut set = self.stopped();
        for s in services {
            if stopped {
                set.insert(s.clone());
            } else {
                set.remove(s);
            }
        }
        let text: String = set.iter().map(|s| format!("{s}\n")).collect();
        self.state.write(&self.name("stopped"), text.as_bytes())
    }

    /// Keep `run` as what the last `up` applied.
    pub fn save_applied(&self, run: &AppliedRun) -> Result<(), StateError> {
        let text = serde_json::to_vec(run).unwrap_or_default();
        StateDir::persistent()?.write(&self.name("applied.json"), &text)
    }

    /// What the last `up` applied, if it is known.
    pub fn applied(&self) -> Option<AppliedRun> {
        let state = StateDir::persistent().ok()?;
        let text = state.read(&self.name("applied.json")).ok()??;
        serde_json::from_slice(&text).ok()
    }

    /// Forget what was applied (`down`).
    pub fn forget_applied(&self) -> Result<(), StateError> {
        StateDir::persistent()?.remove(&self.name("applied.json"))
    }

    /// The name of the file where the agent's DNS says where it listens.
    pub fn dns_status_name(&self) -> String {
        self.name("agent.dns")
    }

    /// The socket the agent serves its live DNS query log on.
    pub fn dns_log_socket(&self) -> PathBuf {
        self.state.path().join(self.name("dns.sock"))
    }

    /// Where the agent's DNS listens, one line each, as it wrote it.
    pub fn dns_status(&self) -> String {
        self.state.read_text(&self.dns_status_name())
    }

    /// Who holds the agent lock, checked against the process table.
    pub fn holder(&self) -> Result<Holder, LockError> {
        let Some(text) = ProjectLock::agent_holder(&self.project)? else {
            return Ok(Holder::None);
        };
        let lock = self.state.path().join(agent_lock_name(&self.project));
        match pid_of(&text) {
            Some(pid) if is_our_agent(pid, &lock) => Ok(Holder::Agent(pid)),
            _ => Ok(Holder::Unknown(text)),
        }
    }

    /// The agent's pid, when our agent runs.
    pub fn running_pid(&self) -> Result<Option<i32>, LockError> {
        Ok(match self.holder()? {
            Holder::Agent(pid) => Some(pid),
            _ => None,
        })
    }
}

/// Is the program `exe` (a `/proc/PID/exe`) the file this process runs?
fn same_program(exe: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(exe), std::fs::metadata("/proc/self/exe")) {
        (Ok(theirs), Ok(mine)) => theirs.dev() == mine.dev() && theirs.ino() == mine.ino(),
        _ => false,
    }
}

/// The pid in a lock's "`stack agent`, pid N".
fn pid_of(holder: &str) -> Option<i32> {
    holder.rsplit(' ').next().and_then(|p| p.parse().ok())
}

/// Is `pid` a `stack ... agent` process holding `lock` open? "stack" is
/// the program's name, or the program is this very binary under another
/// name (a copy kept to compare versions, say).
fn is_our_agent(pid: i32, lock: &Path) -> bool {
    if pid <= 0 {
        return false;
    }
    let proc = PathBuf::from(format!("/proc/{pid}"));
    let Ok(cmdline) = std::fs::read(proc.join("cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let named_stack = args.first().is_some_and(|argv0| {
        Path::new(std::ffi::OsStr::from_bytes(argv0))
            .file_name()
            .is_some_and(|n| n == "stack")
    });
    let ours =
        (named_stack || same_program(&proc.join("exe"))) && args.iter().any(|a| *a == b"agent");
    if !ours {
        return false;
    }
    let lock = std::fs::canonicalize(lock).unwrap_or_else(|_| lock.to_path_buf());
    let Ok(fds) = std::fs::read_dir(proc.join("fd")) else {
        return false;
    };
    fds.flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .any(|target| target == lock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_are_read_from_the_lock_text() {
        assert_eq!(pid_of("`stack agent`, pid 42"), Some(42));
        assert_eq!(pid_of("garbage"), None);
    }

    #[test]
    fn a_process_that_is_not_our_agent_is_not_one() {
        // This test binary is not `stack`, and pid 1 holds no lock of ours.
        let lock = Path::new("/nonexistent/x.agent.lock");
        assert!(!is_our_agent(std::process::id() as i32, lock));
        assert!(!is_our_agent(1, lock));
        assert!(!is_our_agent(-5, lock));
    }

    #[test]
    fn this_binary_under_any_name_is_the_same_program() {
        assert!(same_program(Path::new("/proc/self/exe")));
        let pid1 = Path::new("/proc/1/exe");
        assert!(!same_program(pid1) || std::process::id() == 1);
    }
}
