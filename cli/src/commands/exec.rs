//! `stack exec SERVICE [--index N] CMD...`: run a command in a running
//! replica, with a terminal when stdin is one, and exit with its code.

use std::io::IsTerminal;
use std::process::ExitCode;

use reconciler::engine::AttachedIo;

use app::exec::ExecRequest;

use crate::project::ProjectArgs;
use crate::terminal::RawMode;

/// Arguments of `stack exec`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which replica (1-based).
    #[arg(long, default_value_t = 1)]
    index: u32,
    /// Never allocate a terminal, even when stdin is one.
    #[arg(short = 'T', long = "no-tty")]
    no_tty: bool,
    /// Run in the background.
    #[arg(short, long)]
    detach: bool,
    /// Set a variable (`KEY=VALUE`, or `KEY` from this shell); repeatable.
    #[arg(short, long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// Run as this user (`name`, `uid`, `uid:gid`).
    #[arg(short, long)]
    user: Option<String>,
    /// Working directory inside the container.
    #[arg(short, long)]
    workdir: Option<String>,
    /// With extended privileges.
    #[arg(long)]
    privileged: bool,
    /// The service.
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::completion::services))]
    service: String,
    /// The command and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

/// Run `stack exec`.
pub async fn run(project: &ProjectArgs, args: &Args) -> anyhow::Result<ExitCode> {
    let session = project.session_or_named(&[]).await?;
    let tty = !args.detach
        && !args.no_tty
        && std::io::stdin().is_terminal()
        && std::io::stdout().is_terminal();
    let env = args
        .env
        .iter()
        .map(|e| match e.split_once('=') {
            Some(_) => e.clone(),
            None => format!("{e}={}", std::env::var(e).unwrap_or_default()),
        })
        .collect();
    let request = ExecRequest {
        service: args.service.clone(),
        index: args.index,
        command: args.command.clone(),
        tty,
        user: args.user.clone(),
        workdir: args.workdir.clone(),
        env,
        privileged: args.privileged,
        detach: args.detach,
    };
    let _raw = if tty { Some(RawMode::enable()?) } else { None };
    let io = AttachedIo {
        input: Box::pin(tokio::io::stdin()),
        output: Box::pin(tokio::io::stdout()),
    };
    let code = app::exec::run(&session, &request, io).await?;
    Ok(ExitCode::from(
        u8::try_from(code.clamp(0, 255)).unwrap_or(1),
    ))
}
