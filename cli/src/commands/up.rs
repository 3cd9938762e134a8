//! `stack up`: make the engine run what the file says. Images first (a
//! missing image fails before any container is touched), then observe,
//! plan, and execute in dependency order. Without `-d`, follow the logs
//! and stop the stack on Ctrl-C, like Compose.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::ValueEnum;
use planner::{plan_up, Desired, Health, Plan, RunState, UpOptions};
use reconciler::agent_files::AppliedRun;
use reconciler::images::{ensure_images, PullPolicy};
use reconciler::state::StateDir;
use reconciler::stops;
use reconciler::{ExecError, ExecuteOptions, Executor};
use schema::Project;

use crate::commands::logs::follow_services;
use crate::progress::{Mode, Reporter};
use crate::project::ProjectArgs;
use crate::session::{cancel_on_ctrl_c, Session};
use crate::settings;
use tokio_util::sync::CancellationToken;

/// `--pull`.
#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum PullArg {
    /// Pull images that are missing (default).
    #[default]
    Missing,
    /// Pull every image.
    Always,
    /// Never pull.
    Never,
}

/// Flags `up` and `plan` share.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct UpFlags {
    /// Build images of services with `build:` before starting.
    #[arg(long)]
    pub build: bool,
    /// When to pull images.
    #[arg(long, value_enum, default_value = "missing")]
    pub pull: PullArg,
    /// Recreate containers even when nothing changed.
    #[arg(long, conflicts_with = "no_recreate")]
    pub force_recreate: bool,
    /// Never recreate: only create missing containers and start stopped ones.
    #[arg(long)]
    pub no_recreate: bool,
    /// Remove containers of services no longer in the file.
    #[arg(long)]
    pub remove_orphans: bool,
    /// Recreate named volumes whose definition changed; their data is lost
    /// (asks first on a terminal).
    #[arg(long)]
    pub recreate_volumes: bool,
    /// Run N replicas of SERVICE (overrides the file); repeatable.
    #[arg(long, value_name = "SERVICE=N")]
    pub scale: Vec<String>,
}

impl UpFlags {
    /// Planner options for these flags.
    pub fn up_options(&self, services: &[String]) -> UpOptions {
        UpOptions {
            services: services.to_vec(),
            force_recreate: self.force_recreate,
            no_recreate: self.no_recreate,
            remove_orphans: self.remove_orphans
                || settings::flag(&["STACK_REMOVE_ORPHANS", "COMPOSE_REMOVE_ORPHANS"]),
            ignore_orphans: settings::flag(&["STACK_IGNORE_ORPHANS", "COMPOSE_IGNORE_ORPHANS"]),
            recreate_volumes: self.recreate_volumes,
        }
    }
}

/// What to do about images: `None` to leave them alone (`plan`).
pub fn image_options(flags: &UpFlags, apply: bool) -> Option<(PullPolicy, bool)> {
    apply.then(|| {
        let policy = match flags.pull {
            PullArg::Missing => PullPolicy::Missing,
            PullArg::Always => PullPolicy::Always,
            PullArg::Never => PullPolicy::Never,
        };
        (policy, flags.build)
    })
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

/// Engine operations in flight when `--parallel` is not given.
fn parallel_limit() -> usize {
    settings::setting(&["STACK_PARALLEL_LIMIT", "COMPOSE_PARALLEL_LIMIT"])
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_PARALLEL)
}

/// Set replica counts from `--scale` / `stack scale` (`SERVICE=N`).
pub fn apply_scale(project: &mut Project, scale: &[String]) -> anyhow::Result<()> {
    for s in scale {
        let (name, n) = s
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--scale takes SERVICE=N, got `{s}`"))?;
        let n: u32 = n
            .parse()
            .map_err(|_| anyhow::anyhow!("--scale {s}: `{n}` is not a number"))?;
        let svc = project
            .services
            .get_mut(name)
            .ok_or_else(|| anyhow::anyhow!("--scale {s}: no service named `{name}`"))?;
        if n > 1 && svc.container_name.is_some() {
            anyhow::bail!("--scale {s}: `{name}` has a fixed container_name, so it cannot run more than one replica");
        }
        svc.deploy.get_or_insert_with(Default::default).replicas = Some(n);
        svc.scale = None;
    }
    Ok(())
}

/// Apply `--scale`, make images ready (when asked), read secret digests,
/// observe, and plan. `None` when something was wrong (already reported).
pub async fn make_plan(
    session: &Session,
    flags: &UpFlags,
    services: &[String],
    images: Option<(PullPolicy, bool)>,
    note: &dyn Fn(&str),
) -> anyhow::Result<Option<Planned>> {
    let mut project = (*session.project).clone();
    apply_scale(&mut project, &flags.scale)?;
    if let Some((policy, build)) = images {
        let selected = project.with_dependencies(services);
        let report = |what: &str, image: &str| note(&format!("{what} {image}"));
        if let Err(e) = ensure_images(
            session.engine.as_ref(),
            &project,
            &selected,
            policy,
            build,
            &report,
        )
        .await
        {
            eprintln!("error: {e}");
            return Ok(None);
        }
    }
    let environment: BTreeMap<String, String> = std::env::vars().collect();
    let files = match reconciler::files::prepare(&project, &environment) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(None);
        }
    };
    let observed = reconciler::observe(session.engine.as_ref(), &project).await?;
    let plan = plan_up(
        &Desired {
            project: &project,
            files: files.clone(),
        },
        &observed,
        &flags.up_options(services),
    );
    Ok(Some(Planned {
        project: Arc::new(project),
        files,
        plan,
    }))
}

/// Arguments of `stack up`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[command(flatten)]
    flags: UpFlags,
    /// Run in the background: return once the stack is up.
    #[arg(short, long)]
    detach: bool,
    /// With -d: wait until every container runs (and is healthy, when it has a healthcheck).
    #[arg(long)]
    wait: bool,
    /// Seconds to wait for a dependency condition or for --wait.
    #[arg(long, default_value_t = 300)]
    wait_timeout: u64,
    /// Engine operations in flight at once (default: STACK_PARALLEL_LIMIT,
    /// COMPOSE_PARALLEL_LIMIT, else 8).
    #[arg(long)]
    parallel: Option<usize>,
    /// Seconds to wait for a container to stop before killing it.
    #[arg(short, long, default_value_t = 10)]
    timeout: u64,
    /// After converging, watch the stack file, env files and `.env`; on a
    /// change show the plan and converge again (Ctrl-C to stop watching).
    #[arg(long)]
    pub watch: bool,
    /// Do not run the agent that heals the stack and serves its DNS (with
    /// -d it runs in the background; attached, in this process).
    #[arg(long)]
    no_agent: bool,
    #[command(flatten)]
    agent: crate::commands::agent::AgentOptions,
    /// Do not check that NFS servers answer before creating anything
    /// (bind mount sources are still checked).
    #[arg(long)]
    skip_preflight: bool,
    /// Print nothing but errors.
    #[arg(short, long)]
    quiet: bool,
    /// Progress as JSON lines.
    #[arg(long, value_enum, default_value = "text")]
    format: crate::commands::OutputFormat,
    /// Services to bring up (default: all), with what they depend on.
    pub services: Vec<String>,
}

/// Engine calls in flight at once. Compose's default is unlimited, which
/// overloads small engines; see bench/ for how this was chosen.
pub const DEFAULT_PARALLEL: usize = 8;

/// `up -d` of `services` with `flags` and every other option at its default.
pub fn detached(services: Vec<String>, flags: UpFlags) -> Args {
    Args {
        flags,
        detach: true,
        wait: false,
        wait_timeout: 300,
        parallel: None,
        timeout: 10,
        skip_preflight: false,
        no_agent: false,
        agent: Default::default(),
        watch: false,
        quiet: false,
        format: crate::commands::OutputFormat::Text,
        services,
    }
}

/// Arguments of `stack rollback`.
#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    /// The service to return to its previous definition.
    service: String,
}

/// Whether container `c` runs `svc`'s definition as the file has it now.
fn is_updated(c: &planner::ObservedContainer, svc: &schema::Service) -> bool {
    c.labels
        .get(planner::labels::CONFIG)
        .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
        .is_some_and(|old| {
            planner::hash::changed_fields(&old, &planner::hash::definition(svc)).is_empty()
        })
}

/// Replace `name`'s replicas with the definition they ran before their
/// last update. `false` when that failed (already reported).
async fn roll_back(
    session: &Session,
    name: &str,
    reporter: &Arc<Reporter>,
    cancel: &CancellationToken,
) -> anyhow::Result<bool> {
    let Some(current) = session.project.services.get(name).cloned() else {
        anyhow::bail!("no service named `{name}` in the stack");
    };
    let containers = session.engine.list_containers(&session.name()).await?;
    // Prefer a replica running what the file says: its predecessor is the
    // definition to go back to.
    let runs_file = |c: &&planner::ObservedContainer| is_updated(c, &current);
    let previous = containers
        .iter()
        .filter(|c| c.service == name)
        .min_by_key(|c| (!runs_file(c), c.replica))
        .and_then(|c| c.labels.get(planner::labels::PREVIOUS_CONFIG))
        .ok_or_else(|| anyhow::anyhow!("no earlier definition of `{name}` is recorded: it has not been updated since it was created"))?;
    let mut svc: schema::Service = serde_json::from_str(previous)
        .map_err(|e| anyhow::anyhow!("the recorded definition of `{name}` cannot be read: {e}"))?;
    // What the definition leaves out comes from the file.
    svc.depends_on = current.depends_on.clone();
    svc.scale = current.scale;
    svc.profiles = current.profiles.clone();
    let deploy = current.deploy.clone().unwrap_or_default();
    let d = svc.deploy.get_or_insert_with(Default::default);
    d.replicas = deploy.replicas;
    d.update_config = deploy
        .rollback_config
        .clone()
        .or(deploy.update_config.clone());
    let mut rolled = (*session.project).clone();
    rolled.services.insert(name.to_string(), svc);
    let session = Session {
        project: Arc::new(rolled),
        engine: session.engine.clone(),
        applied: session.applied.clone(),
    };
    let up = detached(vec![name.to_string()], UpFlags::default());
    Ok(Box::pin(converge(&session, &up, reporter, cancel, true))
        .await?
        .is_some())
}

/// Run `stack rollback`: replace the service's replicas (as a rolling
/// update, with `rollback_config` when the file has one) with the
/// definition they ran before their last update, kept in their labels.
/// Rolling back twice goes forward again. The stack file is not changed:
/// the next `stack up` applies it again.
pub async fn rollback(project: &ProjectArgs, args: &RollbackArgs) -> anyhow::Result<ExitCode> {
    let Some(session) = Session::open(project, &[]).await? else {
        return Ok(ExitCode::FAILURE);
    };
    let name = &args.service;
    let reporter = Arc::new(Reporter::new(Mode::choose(false, false)));
    let cancel = cancel_on_ctrl_c();
    if !roll_back(&session, name, &reporter, &cancel).await? {
        return Ok(ExitCode::FAILURE);
    }
    reporter.note(&format!(
        "`{name}` runs its previous definition; the stack file still has the newer one, which `stack up` would apply again."
    ));
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `stack scale`.
#[derive(Debug, clap::Args)]
pub struct ScaleArgs {
    /// SERVICE=N pairs.
    #[arg(required = true, value_name = "SERVICE=N")]
    counts: Vec<String>,
}

/// Run `stack scale`: `up -d` of the named services with these counts.
/// New replicas are added and the highest-numbered ones removed; the
/// others are left as they are.
pub async fn scale(project: &ProjectArgs, args: &ScaleArgs) -> anyhow::Result<ExitCode> {
    let services = args
        .counts
        .iter()
        .map(|c| c.split_once('=').map(|(s, _)| s.to_string()))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| anyhow::anyhow!("stack scale takes SERVICE=N pairs"))?;
    let flags = UpFlags {
        scale: args.counts.clone(),
        ..Default::default()
    };
    let up = detached(services, flags);
    run(project, &up).await
}

/// One convergence: take the lock, plan, check, execute. `None` when
/// something was wrong (already reported); the project as run otherwise.
pub async fn converge(
    session: &Session,
    args: &Args,
    reporter: &Arc<Reporter>,
    cancel: &CancellationToken,
    show_plan: bool,
) -> anyhow::Result<Option<Arc<Project>>> {
    let lock = session.lock("up")?;
    // Services brought up are back in the agent's care.
    let named: Vec<String> = if args.services.is_empty() {
        session.project.services.keys().cloned().collect()
    } else {
        args.services.clone()
    };
    session.agent_files()?.mark_stopped(&named, false)?;
    // Sidecars run once per replica of their parent: they scale with it.
    let services = if args.flags.scale.is_empty() {
        args.services.clone()
    } else {
        planner::with_sidecars(&session.project, &args.services)
    };
    let note = |m: &str| reporter.note(m);
    let Some(Planned {
        project: project_arc,
        files,
        plan,
    }) = make_plan(
        session,
        &args.flags,
        &services,
        image_options(&args.flags, true),
        &note,
    )
    .await?
    else {
        return Ok(None);
    };
    if show_plan && !plan.is_empty() {
        reporter.note(crate::commands::plan::render(&plan).trim_end());
    }
    for w in &plan.warnings {
        reporter.note(&format!("warning: {w}"));
    }
    if !plan.blockers.is_empty() {
        for b in &plan.blockers {
            eprintln!("error: {}\n  = help: {}", b.message, b.hint);
        }
        return Ok(None);
    }
    if !confirm_volume_loss(&plan)? {
        eprintln!("Nothing changed.");
        return Ok(None);
    }
    let checks = reconciler::preflight::Checks {
        network: !args.skip_preflight,
        local_engine: reconciler::docker::engine_is_local(),
    };
    if let Err(e) = reconciler::preflight::check(&project_arc, &plan, checks).await {
        eprintln!("error: {e}");
        return Ok(None);
    }
    if plan.is_empty() {
        reporter.note("Nothing to do: the stack runs as the file says.");
    }
    // With an agent serving the stack's DNS, a replaced replica first
    // leaves the DNS, then serves on until answers naming it expire.
    let drain = match crate::commands::agent::running_pid(&session.name())? {
        Some(_) => args.agent.drain(),
        None => Duration::ZERO,
    };
    let opts = ExecuteOptions {
        parallel: args.parallel.unwrap_or_else(parallel_limit),
        stop_timeout: Duration::from_secs(args.timeout),
        wait_timeout: Duration::from_secs(args.wait_timeout),
        drain,
        ..Default::default()
    };
    let applied = AppliedRun {
        scale: args.flags.scale.clone(),
        digests: files.clone(),
        ..session.applied.clone()
    };
    let executor = Executor::new(session.engine.clone(), project_arc.clone(), files)
        .with_options(opts)
        .with_progress(reporter.clone())
        .with_cancel(cancel.clone());
    if let Err(e) = executor.execute(plan).await {
        eprintln!("error: {e}");
        if let ExecError::UpdateFailed { service, .. } = &e {
            let policy = project_arc
                .services
                .get(service)
                .and_then(|s| s.deploy.as_ref())
                .and_then(|d| d.update_config.as_ref());
            let containers = session.engine.list_containers(&session.name()).await?;
            let updated = match project_arc.services.get(service) {
                Some(svc) => containers
                    .iter()
                    .any(|c| &c.service == service && is_updated(c, svc)),
                None => false,
            };
            if updated && policy.and_then(|u| u.failure_action.as_deref()) == Some("rollback") {
                drop(lock);
                reporter.note(&format!(
                    "failure_action is rollback: rolling `{service}` back"
                ));
                roll_back(session, service, reporter, cancel).await?;
            }
        }
        return Ok(None);
    }
    // The agent heals what this run applied from now on.
    session.agent_files()?.save_applied(&applied)?;
    // An interrupted `down` may still have stops in flight: once they have
    // landed, look again.
    let state = StateDir::runtime()?;
    if let Some(until) = stops::pending(&state, &session.name()) {
        let wait = until
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default();
        if !wait.is_zero() {
            reporter.note(&format!(
                "An interrupted `stack down` may still be stopping containers; looking again in {}s.",
                wait.as_secs() + 1
            ));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = cancel.cancelled() => return Ok(None),
            }
        }
        stops::end(&state, &session.name())?;
        drop(lock);
        return Box::pin(converge(session, args, reporter, cancel, show_plan)).await;
    }
    Ok(Some(project_arc))
}

/// Run `stack up`.
pub async fn run(project: &ProjectArgs, args: &Args) -> anyhow::Result<ExitCode> {
    let Some(session) = Session::open(project, &args.services).await? else {
        return Ok(ExitCode::FAILURE);
    };
    let mode = Mode::choose(
        args.quiet,
        matches!(args.format, crate::commands::OutputFormat::Json),
    );
    let reporter = Arc::new(Reporter::new(mode));
    let cancel = cancel_on_ctrl_c();
    let Some(project_arc) = converge(&session, args, &reporter, &cancel, false).await? else {
        return Ok(ExitCode::FAILURE);
    };
    if args.watch {
        return crate::commands::watch::run(project, args, &reporter, &cancel).await;
    }
    if args.detach {
        if args.wait {
            if let Err(e) = wait_running(
                &session,
                &project_arc,
                Duration::from_secs(args.wait_timeout),
            )
            .await
            {
                eprintln!("error: {e}");
                return Ok(ExitCode::FAILURE);
            }
        }
        if !args.no_agent {
            // Under the project lock, so two `up`s cannot start two agents.
            let _lock = session.lock("up")?;
            let pid = crate::commands::agent::start_detached(
                project,
                &session.name(),
                &args.agent,
                false,
            )?;
            reporter.note(&format!(
                "The agent keeps the stack healed (pid {pid}; `stack agent status`)."
            ));
        }
        return Ok(ExitCode::SUCCESS);
    }
    // Attached: follow the logs, with the agent in this process, until
    // Ctrl-C; then stop the stack.
    let services: Vec<String> = args.services.clone();
    let name = session.name();
    let agent_stop = cancel.child_token();
    let agent = async {
        if args.no_agent {
            return Ok(());
        }
        if !crate::commands::agent::host(project, &name, &args.agent, false, &agent_stop).await? {
            reporter.note("An agent already runs for this project in the background.");
        }
        Ok::<_, anyhow::Error>(())
    };
    let logs = async {
        let followed = follow_services(
            session.engine.clone(),
            &name,
            &services,
            false,
            None,
            cancel.clone(),
        )
        .await;
        // Every container has ended (or Ctrl-C): the agent goes too.
        agent_stop.cancel();
        followed
    };
    let (agent, logs) = tokio::join!(agent, logs);
    logs?;
    agent?;
    reporter.note("Stopping...");
    crate::commands::lifecycle::stop_all(&session, &services, Duration::from_secs(args.timeout))
        .await?;
    Ok(ExitCode::SUCCESS)
}

/// With volumes to recreate and a person at the terminal, ask first.
fn confirm_volume_loss(plan: &Plan) -> anyhow::Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    let names: Vec<String> = plan
        .steps
        .iter()
        .filter(|s| matches!(s.action, planner::Action::RecreateVolume { .. }))
        .map(|s| s.action.subject())
        .collect();
    if names.is_empty() || !std::io::stdin().is_terminal() {
        return Ok(true);
    }
    eprint!(
        "Recreating {} deletes all data in it. Continue? [y/N] ",
        names.join(", ")
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// Wait until every container of the project runs (healthy where it has a
/// healthcheck; one-shots may have exited 0).
async fn wait_running(
    session: &Session,
    project: &Project,
    timeout: Duration,
) -> anyhow::Result<()> {
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
                    anyhow::bail!("{} exited with code {code}", c.name)
                }
                (_, Some(Health::Unhealthy)) => anyhow::bail!("{} is unhealthy", c.name),
                (RunState::Running, None | Some(Health::Healthy)) => {}
                _ => pending.push(c.name.clone()),
            }
        }
        if pending.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            anyhow::bail!("gave up waiting for {}", pending.join(", "));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
