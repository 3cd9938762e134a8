//! `stack`: the command-line edge. Parses arguments and hands off to one
//! module per subcommand, which turns them into a request of the
//! application layer (`app`) and renders the result. Library crates
//! return typed errors; this crate turns them into reports and exit codes.

mod commands;
mod completion;
mod flags;
mod listing;
mod output;
mod progress;
mod project;
mod render;
mod settings;
mod signals;
mod terminal;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use app::lifecycle::Verb;
use project::ProjectArgs;

/// Declarative multi-container stacks, from a Compose-compatible file.
#[derive(Debug, Parser)]
#[command(name = "stack", version, about, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    project: ProjectArgs,

    /// Log more (-v: info, -vv: debug, -vvv: trace). `RUST_LOG` overrides.
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,

    /// How to show progress.
    #[arg(long, value_enum, default_value = "auto", global = true)]
    progress: progress::ProgressArg,

    /// When to colour output (`auto` honours `NO_COLOR`).
    #[arg(long, value_enum, default_value = "auto", global = true)]
    ansi: output::Ansi,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create and start the stack, or change it to match the file.
    Up(commands::up::Args),
    /// Create the stack's containers, networks and volumes; start nothing.
    Create(commands::up::CreateArgs),
    /// Stop and remove the stack's containers and networks (volumes with -v).
    Down(commands::down::Args),
    /// Return a service to the definition it ran before its last update.
    Rollback(commands::up::RollbackArgs),
    /// Set the number of replicas of services (SERVICE=N...).
    Scale(commands::up::ScaleArgs),
    /// Show what `up` would change, and why (exit 2 when changes are pending).
    Plan(commands::plan::Args),
    /// List the stack's containers.
    Ps(commands::ps::Args),
    /// Show the containers' output.
    Logs(commands::logs::Args),
    /// Run a command in a running container.
    Exec(commands::exec::Args),
    /// Run a one-off command in a new container of a service.
    Run(commands::run::Args),
    /// Copy files between the host and a service's container.
    Cp(commands::cp::Args),
    /// Wire this terminal to a running container's main process.
    Attach(commands::attach::Args),
    /// Follow the project's container events.
    Events(commands::events::Args),
    /// List the images the containers run.
    Images(commands::images::Args),
    /// Show what each running container uses (CPU, memory, I/O).
    Stats(commands::stats::Args),
    /// List the stack projects on the engine.
    Ls(commands::ls::Args),
    /// Send a signal to the running containers (SIGKILL by default).
    Kill(commands::kill::Args),
    /// Freeze the processes of the containers.
    Pause(commands::pause::Args),
    /// Thaw paused containers.
    Unpause(commands::pause::Args),
    /// Remove stopped containers.
    Rm(commands::rm::Args),
    /// Show the processes running in each container.
    Top(commands::top::Args),
    /// Print the host address a container port is published on.
    Port(commands::port::Args),
    /// Wait for the containers to stop; exit with the last one's status.
    Wait(commands::wait::Args),
    /// Apply the services' `develop.watch` rules as files change.
    Watch(commands::watch::Args),
    /// Show the version of stack and of the engine.
    Version(commands::version::Args),
    /// Start existing containers.
    Start(commands::lifecycle::Args),
    /// Stop running containers.
    Stop(commands::lifecycle::Args),
    /// Restart containers.
    Restart(commands::lifecycle::RestartArgs),
    /// Pull the services' images.
    Pull(commands::pull::Args),
    /// Build the images of services with `build:`.
    Build(commands::pull::BuildArgs),
    /// Push the images of services with `build:` to their registries.
    Push(commands::push::Args),
    /// Log in to a registry (kept where `docker login` keeps it).
    Login(commands::login::LoginArgs),
    /// Forget the login for a registry.
    Logout(commands::login::LogoutArgs),
    /// The background process that keeps the stack healed.
    Agent(commands::agent::Args),
    /// List or remove the stack's named volumes.
    #[command(subcommand)]
    Volume(commands::volume::Command),
    /// What the stack's DNS answers on each network.
    #[command(subcommand)]
    Dns(commands::dns::Command),
    /// Print the fully resolved stack file, or parts of it.
    Config(commands::config::Args),
    /// Report risky settings (unpinned images, engine socket mounts...).
    Lint,
    /// Print the script that makes SHELL complete stack's commands, flags
    /// and service names: `source <(stack completion bash)`.
    Completion {
        /// The shell.
        #[arg(value_enum)]
        shell: completion::Shell,
    },
    /// Print the manual page (roff): `stack man > ~/.local/share/man/man1/stack.1`.
    Man,
}

fn main() -> ExitCode {
    // A completion request from the shell is answered before anything else.
    clap_complete::CompleteEnv::with_factory(<Cli as clap::CommandFactory>::command)
        .var(completion::VAR)
        .complete();
    let mut cli = Cli::parse();
    if let Err(e) = cli.project.read_stdin() {
        eprintln!("error: cannot read the stack file from standard input: {e}");
        return ExitCode::FAILURE;
    }
    if !matches!(cli.command, Command::Agent(_) | Command::Up(_)) {
        die_quietly_on_closed_stdout();
    }
    // The agent says what it does (for its log file or the journal).
    let base = if matches!(cli.command, Command::Agent(_)) {
        1
    } else {
        0
    };
    init_logging(cli.verbose + base);
    progress::set_progress(cli.progress);
    output::set_ansi(cli.ansi);
    let result = match &cli.command {
        Command::Config(args) => commands::config::run(&cli.project, args),
        Command::Lint => commands::lint::run(&cli.project),
        Command::Completion { shell } => completion::register(*shell, &mut std::io::stdout())
            .map(|()| ExitCode::SUCCESS)
            .map_err(Into::into),
        Command::Man => clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
            .render(&mut std::io::stdout())
            .map(|()| ExitCode::SUCCESS)
            .map_err(Into::into),
        command => run_async(&cli.project, command),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            match e.downcast_ref::<app::AppError>() {
                Some(app) => render::error(app),
                None => eprintln!("error: {e:#}"),
            }
            ExitCode::FAILURE
        }
    }
}

/// Commands that talk to the engine run on a tokio runtime.
fn run_async(project: &ProjectArgs, command: &Command) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        match command {
            Command::Up(a) => commands::up::run(project, a).await,
            Command::Create(a) => commands::up::create(project, a).await,
            Command::Down(a) => commands::down::run(project, a).await,
            Command::Scale(a) => commands::up::scale(project, a).await,
            Command::Rollback(a) => commands::up::rollback(project, a).await,
            Command::Plan(a) => commands::plan::run(project, a).await,
            Command::Ps(a) => commands::ps::run(project, a).await,
            Command::Logs(a) => commands::logs::run(project, a).await,
            Command::Exec(a) => commands::exec::run(project, a).await,
            Command::Run(a) => commands::run::run(project, a).await,
            Command::Ls(a) => commands::ls::run(a).await,
            Command::Cp(a) => commands::cp::run(project, a).await,
            Command::Images(a) => commands::images::run(project, a).await,
            Command::Stats(a) => commands::stats::run(project, a).await,
            Command::Attach(a) => commands::attach::run(project, a).await,
            Command::Events(a) => commands::events::run(project, a).await,
            Command::Kill(a) => commands::kill::run(project, a).await,
            Command::Pause(a) => commands::pause::run(project, a, true).await,
            Command::Unpause(a) => commands::pause::run(project, a, false).await,
            Command::Rm(a) => commands::rm::run(project, a).await,
            Command::Top(a) => commands::top::run(project, a).await,
            Command::Port(a) => commands::port::run(project, a).await,
            Command::Wait(a) => commands::wait::run(project, a).await,
            Command::Version(a) => commands::version::run(a).await,
            Command::Watch(a) => commands::watch::run(project, a).await,
            Command::Start(a) => commands::lifecycle::run(project, a, Verb::Start).await,
            Command::Stop(a) => commands::lifecycle::run(project, a, Verb::Stop).await,
            Command::Restart(a) => commands::lifecycle::restart(project, a).await,
            Command::Pull(a) => commands::pull::pull(project, a).await,
            Command::Build(a) => commands::pull::build(project, a).await,
            Command::Push(a) => commands::push::run(project, a).await,
            Command::Login(a) => commands::login::login(a).await,
            Command::Logout(a) => commands::login::logout(a).await,
            Command::Volume(c) => commands::volume::run(project, c).await,
            Command::Dns(c) => commands::dns::run(project, c).await,
            Command::Agent(a) => commands::agent::run(project, a).await,
            Command::Config(_) | Command::Lint | Command::Completion { .. } | Command::Man => {
                unreachable!("handled without a runtime")
            }
        }
    });
    // Do not wait for blocking reads that can never be cancelled: the
    // terminal's stdin in `exec` would hold the exit until a key press.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    result
}

/// `stack ps | head -1`: when the reader goes away, end as Unix tools do
/// (killed by SIGPIPE, which the shell does not report), not with a panic
/// from the next `println!`. Not for the agent or `up`, whose own sockets
/// must not kill them.
fn die_quietly_on_closed_stdout() {
    // SAFETY: called first thing in main, before any thread exists; the
    // default disposition installs no handler code.
    let reset = unsafe {
        nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigDfl,
        )
    };
    if let Err(e) = reset {
        tracing::debug!("cannot restore SIGPIPE: {e}");
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
