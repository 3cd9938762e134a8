//! `exec`: run a command in a running replica, wired to the caller's
//! input and output; its exit code.

use reconciler::engine::AttachedIo;

use crate::{AppError, Result, Session};

/// A command to run.
#[derive(Debug, Clone)]
pub struct ExecRequest {
    /// The service.
    pub service: String,
    /// Which replica (1-based).
    pub index: u32,
    /// The command and its arguments.
    pub command: Vec<String>,
    /// With a pseudo-terminal.
    pub tty: bool,
    /// As this user (default: the container's).
    pub user: Option<String>,
    /// In this directory (default: the container's).
    pub workdir: Option<String>,
    /// `KEY=VALUE` on top of the container's environment.
    pub env: Vec<String>,
    /// With extended privileges.
    pub privileged: bool,
    /// In the background: return at once.
    pub detach: bool,
}

/// Run it; the command's exit code.
pub async fn run(session: &Session, request: &ExecRequest, io: AttachedIo) -> Result<i64> {
    let containers = session.engine.list_containers(&session.name()).await?;
    let Some(c) = containers
        .iter()
        .find(|c| c.service == request.service && c.replica == request.index)
    else {
        return Err(AppError::Invalid(format!(
            "service `{}` has no replica {} running; start it with `stack up -d {}`",
            request.service, request.index, request.service
        )));
    };
    let exec = reconciler::engine::ExecRequest {
        command: request.command.clone(),
        user: request.user.clone(),
        privileged: request.privileged,
        working_dir: request.workdir.clone(),
        env: request.env.clone(),
        detach: request.detach,
    };
    Ok(session
        .engine
        .exec_attached(&c.id, exec, request.tty, io)
        .await?)
}
