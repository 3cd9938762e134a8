//! `stack agent`: one background process per project that keeps the stack
//! healed and serves its DNS (the `agent` crate), and the commands around
//! it: status, log, stop, install.

use std::io::Write;
use std::process::ExitCode;

use agent::Holder;
use clap::Subcommand;

use crate::flags::AgentFlags;
use crate::progress::{Mode, Reporter};
use crate::project::ProjectArgs;
use crate::signals::cancel_on_signal;

/// Arguments of `stack agent`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run in this process (for systemd, or to watch it work) instead of
    /// starting it in the background.
    #[arg(long)]
    foreground: bool,
    #[command(flatten)]
    options: AgentFlags,
    /// Also converge whenever the stack file, an env file or `.env` changes
    /// (as `stack up --watch` does).
    #[arg(long)]
    watch: bool,
    #[command(subcommand)]
    action: Option<Action>,
}

/// `stack agent ...`.
#[derive(Debug, Subcommand)]
enum Action {
    /// Is the agent running, and what did it do last?
    Status,
    /// What the agent did, with reasons.
    Log {
        /// Only the last N entries.
        #[arg(short = 'n', long, default_value_t = 50)]
        tail: usize,
    },
    /// Stop the agent.
    Stop,
    /// Print a systemd unit that runs the agent for this project.
    Install,
}

/// Run `stack agent`.
pub async fn run(project_args: &ProjectArgs, args: &Args) -> anyhow::Result<ExitCode> {
    let session = project_args.session(&[]).await?;
    let project = session.name();
    let options = args.options.options();
    match &args.action {
        None if args.foreground => {
            // SIGTERM (systemd, `stack agent stop`) and Ctrl-C end it.
            let shutdown = cancel_on_signal(true)?;
            let sink = Reporter::new(Mode::Plain).sink();
            if !app::agent::host(&session, &options, args.watch, &sink, &shutdown).await? {
                let holder = match app::agent::status(&project).await?.holder {
                    Holder::Agent(pid) => format!("pid {pid}"),
                    Holder::Unknown(text) => text,
                    Holder::None => "it has just stopped".into(),
                };
                eprintln!("an agent already runs for project `{project}` ({holder})");
            }
        }
        None => {
            let sink = Reporter::new(Mode::Plain);
            let pid = app::agent::start(&session, &options, args.watch, &sink).await?;
            println!(
                "agent for `{project}` runs (pid {pid}); its output: {}",
                session.agent_files().await?.log_path().display()
            );
        }
        Some(Action::Status) => {
            let status = app::agent::status(&project).await?;
            match status.holder {
                Holder::Agent(pid) => {
                    println!("agent for `{project}` runs (pid {pid})");
                    if !status.dns.is_empty() {
                        println!("the stack's DNS:");
                        for line in status.dns.lines() {
                            println!("  {line}");
                        }
                    }
                }
                Holder::Unknown(text) => println!(
                    "the agent lock of `{project}` is held by something that is not a stack agent ({text})"
                ),
                Holder::None => {
                    println!("no agent runs for `{project}` (start one with `stack agent`)")
                }
            }
            if !status.stopped.is_empty() {
                println!(
                    "left alone (stopped by the user): {}",
                    status.stopped.into_iter().collect::<Vec<_>>().join(", ")
                );
            }
            for e in status.history.iter().rev().take(5).rev() {
                println!("  {} {e}", local_time(e.time));
            }
        }
        Some(Action::Log { tail }) => {
            let history = app::agent::status(&project).await?.history;
            for e in history.iter().skip(history.len().saturating_sub(*tail)) {
                println!("{} {e}", local_time(e.time));
            }
        }
        Some(Action::Stop) => {
            if !app::agent::stop(&project).await? {
                println!("no agent runs for `{project}`");
            }
        }
        Some(Action::Install) => {
            let unit = app::agent::install(&session).await?;
            std::io::stdout().write_all(unit.as_bytes())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `2026-12-02 04:05:31`, in the machine's time zone.
fn local_time(unix_seconds: u64) -> String {
    let Ok(ts) = jiff::Timestamp::from_second(unix_seconds.try_into().unwrap_or(i64::MAX)) else {
        return unix_seconds.to_string();
    };
    ts.to_zoned(jiff::tz::TimeZone::system())
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_local_and_readable() {
        let t = local_time(1_764_648_331);
        let shape: Vec<usize> = t.split([' ', '-', ':']).map(str::len).collect();
        assert_eq!(shape, vec![4, 2, 2, 2, 2, 2], "{t}");
    }
}
