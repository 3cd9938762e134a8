//! `stack`: the command-line edge. Parses arguments, loads the stack file,
//! and hands off to one module per subcommand. Library crates return typed
//! errors; this crate turns them into reports and exit codes.

mod commands;
mod project;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use project::ProjectArgs;

/// Declarative multi-container stacks, from a Compose-compatible file.
#[derive(Debug, Parser)]
#[command(name = "stack", version, about, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    project: ProjectArgs,

    /// Log more (-v: debug, -vv: trace). `RUST_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the fully resolved stack file, or parts of it.
    Config(commands::config::Args),
    /// Report risky settings (unpinned images, engine socket mounts...).
    Lint,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let result = match &cli.command {
        Command::Config(args) => commands::config::run(&cli.project, args),
        Command::Lint => commands::lint::run(&cli.project),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
