//! `stack down`: remove the project's containers and networks; its named
//! volumes only with `-v`. External networks and volumes are never
//! touched: they carry no project label.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use planner::plan_down;
use reconciler::state::StateDir;
use reconciler::stops;
use reconciler::{ExecuteOptions, Executor};

use crate::progress::{Mode, Reporter};
use crate::project::ProjectArgs;
use crate::session::Session;

/// Arguments of `stack down`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also remove the stack's named volumes (their data is lost).
    #[arg(short, long)]
    volumes: bool,
    /// Accepted for Compose compatibility: down always removes every
    /// container of the project, orphans included.
    #[arg(long = "remove-orphans")]
    _remove_orphans: bool,
    /// Seconds to wait for containers to stop before killing them
    /// (default: each service's `stop_grace_period`, else 10).
    #[arg(short, long)]
    timeout: Option<u64>,
    /// Print nothing but errors.
    #[arg(short, long)]
    quiet: bool,
}

/// Run `stack down`.
pub async fn run(project: &ProjectArgs, args: &Args) -> anyhow::Result<ExitCode> {
    let Some(session) = Session::open(project, &[]).await? else {
        return Ok(ExitCode::FAILURE);
    };
    let _lock = session.lock("down")?;
    // Stop the agent first, or it would bring back what down removes.
    if crate::commands::agent::stop(&session.name())? && !args.quiet {
        println!("stopped the agent");
    }
    let all: Vec<String> = session.project.services.keys().cloned().collect();
    session.agent_files()?.mark_stopped(&all, false)?;
    let observed = reconciler::observe(session.engine.as_ref(), &session.project).await?;
    let plan = plan_down(&session.project, &observed, args.volumes);
    let reporter = Arc::new(Reporter::new(Mode::choose(args.quiet, false)));
    if plan.is_empty() {
        reporter.note("Nothing to remove.");
    }
    let opts = ExecuteOptions {
        stop_timeout: Duration::from_secs(args.timeout.unwrap_or(10)),
        timeout_given: args.timeout.is_some(),
        ..Default::default()
    };
    // Killed from here on, its stops may land after the next `up` looked.
    let state = StateDir::runtime()?;
    let grace = session
        .project
        .services
        .values()
        .filter_map(|s| s.stop_grace_period.map(|d| d.0))
        .fold(opts.stop_timeout, Duration::max);
    stops::begin(&state, &session.name(), grace)?;
    Executor::new(
        session.engine.clone(),
        session.project.clone(),
        Default::default(),
    )
    .with_options(opts)
    .with_progress(reporter)
    .execute(plan)
    .await?;
    stops::end(&state, &session.name())?;
    session.agent_files()?.forget_applied()?;
    Ok(ExitCode::SUCCESS)
}
