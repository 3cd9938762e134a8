//! `down`: remove the project's containers and networks; its named
//! volumes only when asked. External networks and volumes are never
//! touched: they carry no project label, and the planner skips what the
//! file declares external.

use std::sync::Arc;
use std::time::Duration;

use planner::plan_down;
use reconciler::state::StateDir;
use reconciler::{stops, ExecuteOptions, Executor};

use reconciler::engine::Selection;
use reconciler::EngineError;

use crate::{blocking, AppError, Result, Session, Sink};

/// What to take down.
#[derive(Debug, Clone, Default)]
pub struct DownRequest {
    /// Also remove the named volumes (their data is lost).
    pub volumes: bool,
    /// Stop every container within this, whatever its `stop_grace_period`.
    pub timeout: Option<Duration>,
}

/// Remove the project's one-off containers (`stack run`), running or
/// not: they hold its networks.
async fn remove_one_offs(session: &Session, sink: &dyn Sink) -> Result<()> {
    let selection = Selection::OneOffs(session.name());
    for c in session.engine.list_listings(&selection).await? {
        let name = c.observed.name;
        match session.engine.remove_container(&c.observed.id, true).await {
            Ok(()) | Err(EngineError::NotFound(_)) => sink.note(&format!("remove {name}: done")),
            Err(source) => {
                return Err(AppError::EngineOn {
                    subject: name,
                    source,
                })
            }
        }
    }
    Ok(())
}

/// Take the stack down.
pub async fn run(session: &Session, request: &DownRequest, sink: &Arc<dyn Sink>) -> Result<()> {
    let _lock = session.lock("down", sink.as_ref()).await?;
    // Stop the agent first, or it would bring back what down removes.
    if agent::process::stop(&session.name()).await? {
        sink.note("stopped the agent");
    }
    session.mark_stopped(&[], false).await?;
    remove_one_offs(session, sink.as_ref()).await?;
    let observed = reconciler::observe(session.engine.as_ref(), &session.project).await?;
    let plan = plan_down(&session.project, &observed, request.volumes);
    if plan.is_empty() {
        sink.note("Nothing to remove.");
    }
    let default_timeout = Duration::from_secs(10);
    let opts = ExecuteOptions {
        stop_timeout: request.timeout.unwrap_or(default_timeout),
        timeout_given: request.timeout.is_some(),
        ..Default::default()
    };
    // Killed from here on, its stops may land after the next `up` looked:
    // say until when.
    let grace = session
        .project
        .services
        .values()
        .filter_map(|s| s.stop_grace_period.map(|d| d.0))
        .fold(opts.stop_timeout, Duration::max);
    let name = session.name();
    blocking(move || Ok(stops::begin(&StateDir::runtime()?, &name, grace)?)).await?;
    Executor::new(
        session.engine.clone(),
        session.project.clone(),
        Default::default(),
    )
    .with_options(opts)
    .with_progress(crate::sink::steps(sink))
    .execute(plan)
    .await?;
    let (name, files) = (session.name(), session.agent_files()?);
    blocking(move || {
        stops::end(&StateDir::runtime()?, &name)?;
        Ok(files.forget_applied()?)
    })
    .await?;
    Ok(())
}
