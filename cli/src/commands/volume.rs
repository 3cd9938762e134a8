//! `stack volume ls` and `stack volume rm`: the project's named volumes.
//! Removing one is always explicit: `up`, recreate, scale-down and orphan
//! removal never do it, and `down` only with `-v`.

use std::process::ExitCode;

use app::volumes::Removal;
use clap::Subcommand;

use crate::progress::{Mode, Reporter};
use crate::project::ProjectArgs;

/// `stack volume ...`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the stack's named volumes.
    Ls,
    /// Remove named volumes of the stack (by key or engine name); their data is lost.
    Rm {
        /// Volumes to remove.
        #[arg(required = true)]
        volumes: Vec<String>,
    },
}

/// Run `stack volume`.
pub async fn run(project: &ProjectArgs, command: &Command) -> anyhow::Result<ExitCode> {
    let session = project.session(&[]).await?;
    match command {
        Command::Ls => {
            println!("{:<20}  NAME", "KEY");
            for v in app::volumes::list(&session).await? {
                println!("{:<20}  {}", v.key, v.name);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Rm { volumes } => {
            let sink = Reporter::new(Mode::Plain).sink();
            let mut failed = false;
            for outcome in app::volumes::remove(&session, volumes, &sink).await? {
                match outcome {
                    Removal::Removed(name) => println!("removed {name}"),
                    Removal::NotOurs(w) => {
                        eprintln!(
                            "error: `{w}` is not a volume of project `{}` (external volumes are never removed by stack)",
                            session.name()
                        );
                        failed = true;
                    }
                    Removal::InUse { name, message } => {
                        eprintln!("error: {name} is in use ({message}); stop the containers using it first (`stack down`)");
                        failed = true;
                    }
                }
            }
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}
