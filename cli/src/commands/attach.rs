//! `stack attach SERVICE`: this terminal wired to a running replica's
//! main process until it ends; exits with its status.

use std::process::ExitCode;

use reconciler::engine::AttachedIo;

use crate::project::ProjectArgs;
use crate::signals::cancel_on_signal;

/// Arguments of `stack attach`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which replica (1-based).
    #[arg(long, default_value_t = 1)]
    index: u32,
    /// Do not send this terminal's input.
    #[arg(long)]
    no_stdin: bool,
    /// Pass Ctrl-C on to the process (`--sig-proxy=false` detaches instead).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    sig_proxy: bool,
    /// The service.
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::completion::services))]
    service: String,
}

/// Run `stack attach`.
pub async fn run(project: &ProjectArgs, args: &Args) -> anyhow::Result<ExitCode> {
    let session = project.session_or_named(&[]).await?;
    let cancel = cancel_on_signal(false)?;
    let input: std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>> = if args.no_stdin {
        Box::pin(tokio::io::empty())
    } else {
        Box::pin(tokio::io::stdin())
    };
    let io = AttachedIo {
        input,
        output: Box::pin(tokio::io::stdout()),
    };
    let ended = app::attach::run(
        &session,
        &args.service,
        args.index,
        io,
        args.sig_proxy,
        &cancel,
    )
    .await?;
    Ok(match ended {
        Some(code) => ExitCode::from(u8::try_from(code.clamp(0, 255)).unwrap_or(1)),
        None => ExitCode::SUCCESS,
    })
}
