//! The agent as a background process: start it (unless one runs), find
//! it, stop it. The waits poll small state files, so they run on tokio's
//! blocking pool, never on the runtime's threads.

use std::ffi::OsString;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::files::{AgentFiles, Holder};
use crate::{AgentError, Options};

/// How to start an agent process.
#[derive(Debug, Clone)]
pub struct Start {
    /// The project.
    pub project: String,
    /// The `stack` options that select the same stack (`-f`, `-p`...), with
    /// absolute paths: the process may start elsewhere.
    pub stack_args: Vec<OsString>,
    /// Its settings.
    pub options: Options,
    /// Also converge when the stack file changes (`stack agent --watch`).
    pub watch: bool,
}

/// The agent's pid, when our agent runs for `project`.
pub async fn running_pid(project: &str) -> Result<Option<i32>, AgentError> {
    let project = project.to_string();
    blocking(move || Ok(AgentFiles::open(&project)?.running_pid()?)).await
}

/// Start the agent in the background unless one runs; returns its pid
/// once it holds its lock (within 5 s).
pub async fn start(request: Start) -> Result<i32, AgentError> {
    blocking(move || start_blocking(&request)).await
}

/// Stop the agent of `project`, if one runs, and wait for it to exit
/// (`false`: none ran). A lock held by a process that is not our agent is
/// reported, and that process is never signalled.
pub async fn stop(project: &str) -> Result<bool, AgentError> {
    let project = project.to_string();
    blocking(move || stop_blocking(&project)).await
}

fn start_blocking(request: &Start) -> Result<i32, AgentError> {
    let files = AgentFiles::open(&request.project)?;
    if let Some(pid) = files.running_pid()? {
        return Ok(pid);
    }
    let log = files.open_log()?;
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    cmd.args(&request.stack_args)
        .args(["agent", "--foreground"])
        .args(request.options.to_args())
        .args(request.watch.then_some("--watch"))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // Its own process group: Ctrl-C in this terminal does not reach it.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child = cmd.spawn()?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Some(pid) = files.running_pid()? {
            return Ok(pid);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(AgentError::DidNotStart {
        pid: child.id(),
        log: files.log_path().display().to_string(),
        tail: files.log_tail(10).join("\n"),
    })
}

fn stop_blocking(project: &str) -> Result<bool, AgentError> {
    let files = AgentFiles::open(project)?;
    let pid = match files.holder()? {
        Holder::None => return Ok(false),
        Holder::Agent(pid) => pid,
        Holder::Unknown(holder) => {
            return Err(AgentError::NotOurs {
                project: project.to_string(),
                holder,
            })
        }
    };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )?;
    let deadline = Instant::now() + Duration::from_secs(15);
    while files.running_pid()?.is_some() {
        if Instant::now() > deadline {
            return Err(AgentError::DidNotStop(pid));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(true)
}

/// Run `f` on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AgentError> + Send + 'static,
) -> Result<T, AgentError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AgentError::Task(e.to_string()))?
}
