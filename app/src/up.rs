//! `up`: make the engine run what the file says. Images first (a missing
//! image fails before any container is touched), then observe, plan,
//! check, and execute in dependency order; `--wait` after.
//!
//! Contract: nothing changes on the engine unless the plan has no
//! blockers, the user agreed to any volume loss, and the preflight
//! checks passed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agent::AppliedRun;
use planner::{plan_up, Change, Desired, Health, Plan, RunState, UpOptions};
use reconciler::images::PullPolicy;
use reconciler::state::StateDir;
use reconciler::{stops, ExecError, ExecuteOptions, Executor};
use schema::{FailureAction, Project};
use tokio_util::sync::CancellationToken;

use crate::history::{is_updated, rolled_back};
use crate::{blocking, AppError, Result, Session, Sink};

/// Engine calls in flight at once. Compose's default is unlimited, which
/// overloads small engines; see bench/ for how this was chosen.
pub const DEFAULT_PARALLEL: usize = 8;

/// What `up` and `plan` share: which services, images, and how to treat
/// what runs.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    /// Services to bring up (empty: all), with what they depend on.
    pub services: Vec<String>,
    /// Not what they depend on (`--no-deps`).
    pub no_deps: bool,
    /// Build images of services with `build:` first.
    pub build: bool,
    /// When to pull.
    pub pull: PullPolicy,
    /// Recreate containers even when nothing changed.
    pub force_recreate: bool,
    /// Only create missing containers and start stopped ones.
    pub no_recreate: bool,
    /// Remove containers of services no longer in the file.
    pub remove_orphans: bool,
    /// Say nothing about such containers.
    pub ignore_orphans: bool,
    /// Recreate named volumes whose definition changed (data is lost).
    pub recreate_volumes: bool,
    /// `SERVICE=N` over the file's replica counts.
    pub scale: Vec<String>,
    /// A one-off of this service is about to run: its networks, volumes
    /// and image are made ready, its replicas left as they are.
    pub one_off: Option<String>,
}

impl Default for PlanRequest {
    fn default() -> Self {
        PlanRequest {
            services: Vec::new(),
            no_deps: false,
            build: false,
            pull: PullPolicy::Missing,
            force_recreate: false,
            no_recreate: false,
            remove_orphans: false,
            ignore_orphans: false,
            recreate_volumes: false,
            scale: Vec::new(),
            one_off: None,
        }
    }
}

/// A convergence.
#[derive(Debug, Clone)]
pub struct UpRequest {
    /// What to plan.
    pub plan: PlanRequest,
    /// Engine operations in flight at once.
    pub parallel: usize,
    /// Wait for a container to stop before killing it.
    pub stop_timeout: Duration,
    /// Wait for a dependency condition this long.
    pub wait_timeout: Duration,
    /// Do not check that NFS servers answer first.
    pub skip_preflight: bool,
    /// With an agent serving the DNS, how long a replaced replica keeps
    /// serving after it left the DNS.
    pub drain: Duration,
    /// Create what is missing, start nothing (`create`, `up --no-start`).
    pub no_start: bool,
}

impl Default for UpRequest {
    fn default() -> Self {
        UpRequest {
            plan: PlanRequest::default(),
            parallel: DEFAULT_PARALLEL,
            stop_timeout: Duration::from_secs(10),
            wait_timeout: Duration::from_secs(300),
            skip_preflight: false,
            drain: agent::Options::default().drain(),
            no_start: false,
        }
    }
}

impl UpRequest {
    /// `up -d` of `services` with every other option at its default.
    pub fn services(services: Vec<String>) -> UpRequest {
        UpRequest {
            plan: PlanRequest {
                services,
                ..PlanRequest::default()
            },
            ..UpRequest::default()
        }
    }
}

/// What `up` and `plan` work from: the project as run (after `--scale`),
/// the secret digests, and the plan.
pub struct Planned {
    /// The project with `--scale` applied.
    pub project: Arc<Project>,
    /// Secret and config digests.
    pub files: BTreeMap<String, String>,
    /// What to do.
    pub plan: Plan,
}

/// Apply `--scale`, make images ready (when `images`), read secret
/// digests, observe, and plan.
pub async fn prepare(
    session: &Session,
    request: &PlanRequest,
    images: bool,
    sink: &dyn Sink,
) -> Result<Planned> {
    let mut project = (*session.project).clone();
    project.apply_scale(&request.scale)?;
    if images {
        let selected = if request.no_deps && !request.services.is_empty() {
            request.services.iter().cloned().collect()
        } else {
            project.with_dependencies(&request.services)
        };
        let (pull, build) = (request.pull, request.build);
        crate::images::ensure(session, &project, &selected, pull, build, sink).await?;
    }
    // Secrets and configs may come from any variable of the shell.
    let environment: BTreeMap<String, String> = std::env::vars().collect();
    let (files, project) = blocking(move || {
        let files = reconciler::files::prepare(&project, &environment)?;
        Ok((files, project))
    })
    .await?;
    let observed = reconciler::observe(session.engine.as_ref(), &project).await?;
    let plan = plan_up(
        &Desired {
            project: &project,
            files: files.clone(),
        },
        &observed,
        &UpOptions {
            services: request.services.clone(),
            no_deps: request.no_deps,
            force_recreate: request.force_recreate,
            no_recreate: request.no_recreate,
            remove_orphans: request.remove_orphans,
            ignore_orphans: request.ignore_orphans,
            recreate_volumes: request.recreate_volumes,
            one_off: request.one_off.clone(),
        },
    );
    Ok(Planned {
        project: Arc::new(project),
        files,
        plan,
    })
}

/// One convergence: take the lock, plan, check, execute; the project as
/// run. With `show_plan`, the plan goes to the sink first.
pub async fn converge(
    session: &Session,
    request: &UpRequest,
    sink: &Arc<dyn Sink>,
    cancel: &CancellationToken,
    show_plan: bool,
) -> Result<Arc<Project>> {
    let lock = session.lock("up", sink.as_ref()).await?;
    // Services brought up are back in the agent's care; a one-off's
    // service is not brought up.
    let brought_up: Vec<String> = (request.plan.services.iter())
        .filter(|s| request.plan.one_off.as_ref() != Some(*s))
        .cloned()
        .collect();
    session.mark_stopped(&brought_up, false).await?;
    let mut plan_request = request.plan.clone();
    // Sidecars run once per replica of their parent: they scale with it.
    if !plan_request.scale.is_empty() {
        plan_request.services = planner::with_sidecars(&session.project, &plan_request.services);
    }
    let Planned {
        project,
        files,
        plan,
    } = prepare(session, &plan_request, true, sink.as_ref()).await?;
    if show_plan && !plan.is_empty() {
        sink.plan(&plan);
    }
    for w in &plan.warnings {
        sink.note(&format!("warning: {w}"));
    }
    if !plan.blockers.is_empty() {
        return Err(AppError::Refused {
            blockers: plan.blockers,
            engine: plan.engine,
        });
    }
    let lost = volumes_lost(&plan);
    if !lost.is_empty()
        && !sink.confirm(&format!(
            "Recreating {} deletes all data in it. Continue?",
            lost.join(", ")
        ))
    {
        return Err(AppError::Declined);
    }
    let checks = reconciler::preflight::Checks {
        network: !request.skip_preflight,
        local_engine: session.engine.capabilities().local_paths,
    };
    reconciler::preflight::check(&project, &plan, checks).await?;
    if plan.is_empty() {
        sink.note("Nothing to do: the stack runs as the file says.");
    }
    // With an agent serving the stack's DNS, a replaced replica first
    // leaves the DNS, then serves on until answers naming it expire.
    let drain = match agent::process::running_pid(&session.name()).await? {
        Some(_) => request.drain,
        None => Duration::ZERO,
    };
    let opts = ExecuteOptions {
        parallel: request.parallel,
        stop_timeout: request.stop_timeout,
        wait_timeout: request.wait_timeout,
        drain,
        no_start: request.no_start,
        ..Default::default()
    };
    let applied = AppliedRun {
        scale: request.plan.scale.clone(),
        digests: files.clone(),
        ..session.applied.clone()
    };
    let executor = Executor::new(session.engine.clone(), project.clone(), files)
        .with_options(opts)
        .with_progress(crate::sink::steps(sink))
        .with_cancel(cancel.clone());
    if let Err(e) = executor.execute(plan).await {
        if let ExecError::UpdateFailed { service, .. } = &e {
            if rolls_back(session, &project, service).await? {
                drop(lock);
                sink.note(&format!(
                    "failure_action is rollback: rolling `{service}` back"
                ));
                let previous = session.with_project(rolled_back(session, service).await?);
                let back = UpRequest::services(vec![service.clone()]);
                if let Err(again) = Box::pin(converge(&previous, &back, sink, cancel, true)).await {
                    sink.note(&format!("the rollback of `{service}` failed too: {again}"));
                }
            }
        }
        return Err(e.into());
    }
    // The agent heals what this run applied from now on; making ready
    // for a one-off changes nothing it should follow (an earlier `--scale`
    // stays as it was).
    if request.plan.one_off.is_none() {
        let files = session.agent_files().await?;
        blocking(move || Ok(files.save_applied(&applied)?)).await?;
    }
    // An interrupted `down` may still have stops in flight: once they have
    // landed, look again.
    let name = session.name();
    let pending = blocking(move || {
        let state = StateDir::runtime()?;
        Ok(stops::pending(&state, &name))
    })
    .await?;
    if let Some(until) = pending {
        let wait = until
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default();
        if !wait.is_zero() {
            sink.note(&format!(
                "An interrupted `stack down` may still be stopping containers; looking again in {}s.",
                wait.as_secs() + 1
            ));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = cancel.cancelled() => return Err(AppError::Cancelled),
            }
        }
        let name = session.name();
        blocking(move || Ok(stops::end(&StateDir::runtime()?, &name)?)).await?;
        drop(lock);
        return Box::pin(converge(session, request, sink, cancel, show_plan)).await;
    }
    Ok(project)
}

/// After `service`'s update failed: does its policy say to roll back, and
/// is there something new to roll back from?
async fn rolls_back(session: &Session, project: &Project, service: &str) -> Result<bool> {
    let Some(svc) = project.services.get(service) else {
        return Ok(false);
    };
    let policy = svc
        .deploy
        .as_ref()
        .and_then(|d| d.update_config.as_ref())
        .and_then(|u| u.failure_action);
    if policy != Some(FailureAction::Rollback) {
        return Ok(false);
    }
    let containers = session.engine.list_containers(&session.name()).await?;
    Ok(containers
        .iter()
        .any(|c| c.service == service && is_updated(c, svc)))
}

/// The volumes the plan recreates (their data is lost).
fn volumes_lost(plan: &Plan) -> Vec<String> {
    plan.steps
        .iter()
        .filter(|s| matches!(s.action, planner::Action::RecreateVolume { .. }))
        .map(|s| s.action.subject())
        .collect()
}

/// Wait until every container of the project runs (healthy where it has a
/// healthcheck; one-shots may have exited 0), polling within `timeout`.
pub async fn wait_running(session: &Session, project: &Project, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let containers = session.engine.list_containers(&session.name()).await?;
        let mut pending = Vec::new();
        for c in containers
            .iter()
            .filter(|c| project.services.contains_key(&c.service))
        {
            match (&c.state, c.health) {
                (RunState::Exited { code: 0 }, _) => {}
                (RunState::Exited { code }, _) => {
                    return Err(AppError::Wait(format!(
                        "{} exited with code {code}",
                        c.name
                    )))
                }
                (_, Some(Health::Unhealthy)) => {
                    return Err(AppError::Wait(format!("{} is unhealthy", c.name)))
                }
                (RunState::Running, None | Some(Health::Healthy)) => {}
                _ => pending.push(c.name.clone()),
            }
        }
        if pending.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(AppError::Wait(format!(
                "gave up waiting for {}",
                pending.join(", ")
            )));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
