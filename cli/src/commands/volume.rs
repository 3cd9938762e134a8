//! `stack volume ls` and `stack volume rm`: the project's named volumes.
//! Removing one is always explicit: `up`, recreate, scale-down and orphan
//! removal never do it, and `down` only with `-v`.

use std::process::ExitCode;

use clap::Subcommand;
use reconciler::EngineError;

use crate::project::ProjectArgs;
use crate::session::Session;

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
    let Some(session) = Session::open(project, &[]).await? else {
        return Ok(ExitCode::FAILURE);
    };
    let volumes = session.engine.list_volumes(&session.name()).await?;
    match command {
        Command::Ls => {
            println!("{:<20}  NAME", "KEY");
            for v in &volumes {
                println!("{:<20}  {}", v.key, v.name);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Rm { volumes: wanted } => {
            let _lock = session.lock("volume rm")?;
            let mut failed = false;
            for w in wanted {
                let Some(v) = volumes.iter().find(|v| &v.key == w || &v.name == w) else {
                    eprintln!(
                        "error: `{w}` is not a volume of project `{}` (external volumes are never removed by stack)",
                        session.name()
                    );
                    failed = true;
                    continue;
                };
                match session.engine.remove_volume(&v.name).await {
                    Ok(()) => println!("removed {}", v.name),
                    Err(EngineError::Conflict(m) | EngineError::Api(m)) => {
                        eprintln!("error: {} is in use ({m}); stop the containers using it first (`stack down`)", v.name);
                        failed = true;
                    }
                    Err(e) => return Err(e.into()),
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
