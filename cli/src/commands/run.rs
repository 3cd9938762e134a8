//! `stack run [OPTIONS] SERVICE [COMMAND...]`: a one-off container of a
//! service, its dependencies started first; exits with the command's
//! status (`-d`: prints the container's name and returns).

use std::io::IsTerminal;
use std::process::ExitCode;

use app::run::RunRequest;
use reconciler::engine::AttachedIo;

use crate::flags::PullArg;
use crate::progress::{Mode, Reporter};
use crate::project::ProjectArgs;
use crate::signals::cancel_on_signal;
use crate::terminal::RawMode;

/// Arguments of `stack run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Start it in the background and print its name.
    #[arg(short, long)]
    detach: bool,
    /// Remove the container when it exits.
    #[arg(long)]
    rm: bool,
    /// Set a variable (`KEY=VALUE`, or `KEY` from this shell); repeatable.
    #[arg(short, long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// Run as this user (`name`, `uid`, `uid:gid`).
    #[arg(short, long)]
    user: Option<String>,
    /// Working directory inside the container.
    #[arg(short, long)]
    workdir: Option<String>,
    /// Mount a volume or host path (`./src:/src:ro`); repeatable.
    #[arg(short, long = "volume", value_name = "VOLUME")]
    volumes: Vec<String>,
    /// Publish a port (`8080:80`); repeatable.
    #[arg(short, long = "publish", value_name = "PORT")]
    publish: Vec<String>,
    /// Publish the service's own ports.
    #[arg(long)]
    service_ports: bool,
    /// Join the networks with the service's aliases.
    #[arg(long)]
    use_aliases: bool,
    /// Do not start the services it depends on.
    #[arg(long)]
    no_deps: bool,
    /// Override the image's entrypoint.
    #[arg(long)]
    entrypoint: Option<String>,
    /// The container's name.
    #[arg(long)]
    name: Option<String>,
    /// No pseudo-terminal, even on a terminal.
    #[arg(short = 'T', long = "no-TTY")]
    no_tty: bool,
    /// Keep stdin open (default: on).
    #[arg(short, long, default_value_t = true)]
    interactive: bool,
    /// Build the image first.
    #[arg(long)]
    build: bool,
    /// When to pull the image.
    #[arg(long, value_enum, default_value = "missing")]
    pull: PullArg,
    /// Say nothing while pulling.
    #[arg(long)]
    quiet_pull: bool,
    /// The service.
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::completion::services))]
    service: String,
    /// The command and its arguments (default: the service's).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

/// Run `stack run`.
pub async fn run(project: &ProjectArgs, args: &Args) -> anyhow::Result<ExitCode> {
    let session = project.session(std::slice::from_ref(&args.service)).await?;
    let tty = !args.detach
        && !args.no_tty
        && std::io::stdin().is_terminal()
        && std::io::stdout().is_terminal();
    let request = RunRequest {
        service: args.service.clone(),
        command: args.command.clone(),
        entrypoint: args.entrypoint.clone(),
        detach: args.detach,
        remove: args.rm,
        env: args.env.clone(),
        user: args.user.clone(),
        workdir: args.workdir.clone(),
        volumes: args.volumes.clone(),
        publish: args.publish.clone(),
        service_ports: args.service_ports,
        use_aliases: args.use_aliases,
        no_deps: args.no_deps,
        name: args.name.clone(),
        tty,
        interactive: args.interactive && !args.detach,
        pull: args.pull.policy(),
        build: args.build,
    };
    let sink = Reporter::new(Mode::choose(args.quiet_pull, false)).sink();
    let cancel = cancel_on_signal(false)?;
    let io = AttachedIo {
        input: Box::pin(tokio::io::stdin()),
        output: Box::pin(tokio::io::stdout()),
    };
    let _raw = if tty { Some(RawMode::enable()?) } else { None };
    let outcome = app::run::run(&session, &request, io, &sink, &cancel).await?;
    match outcome.exit_code {
        None => {
            println!("{}", outcome.name);
            Ok(ExitCode::SUCCESS)
        }
        Some(code) => Ok(ExitCode::from(
            u8::try_from(code.clamp(0, 255)).unwrap_or(1),
        )),
    }
}
