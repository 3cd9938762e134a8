//! Executing a plan: steps run in parallel as far as their `after` edges
//! allow, on a bounded pool, each waiting first for the `depends_on`
//! conditions it carries.
//!
//! Failure and cancellation behave the same way: no new step starts, the
//! steps in flight finish their engine calls, and the error comes back.
//! Containers are created with all their labels in one call, so whatever
//! an interrupted run leaves behind is visible to the next plan, which
//! converges from there.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;

use planner::{
    hash_inputs, ref_name, state_labels, Action, Change, ContainerSpec, FailureAction, Mount,
    MountKind, Networking, Plan, Ref, Rolling, RunState, Step, Wait,
};
use schema::{Condition, MountType, Project};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::engine::{CreateRequest, Engine, EngineError, ExecRequest, LogOptions};

/// Why a plan did not complete.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// A `post_start` hook failed.
    #[error("{container}: its post_start hook `{command}` exited with {code}:\n{output}")]
    Hook {
        /// The container.
        container: String,
        /// The hook's command.
        command: String,
        /// Its exit code.
        code: i64,
        /// What it printed.
        output: String,
    },
    /// An engine call failed.
    #[error("{subject}: {source}")]
    Engine {
        /// What the step was about.
        subject: String,
        /// The engine's error.
        source: EngineError,
    },
    /// A dependency reported unhealthy.
    #[error("service `{service}` is unhealthy ({container}); last health check output:\n{output}")]
    Unhealthy {
        /// The dependency.
        service: String,
        /// Its container.
        container: String,
        /// Last probe output.
        output: String,
    },
    /// A dependency that must complete successfully exited non-zero.
    #[error("service `{service}` ({container}) exited with code {code}; its last output:\n{logs}")]
    DependencyFailed {
        /// The dependency.
        service: String,
        /// Its container.
        container: String,
        /// Exit code.
        code: i64,
        /// Last log lines.
        logs: String,
    },
    /// A dependency never reached its condition.
    #[error(
        "gave up after {seconds}s waiting for service `{service}` to be {condition}: {status}"
    )]
    Timeout {
        /// The dependency.
        service: String,
        /// What it had to reach.
        condition: String,
        /// How long we waited.
        seconds: u64,
        /// What it was doing instead.
        status: String,
    },
    /// A container could not start, and it mounts an NFS volume: most
    /// often the mount is what failed.
    #[error("{container} did not start: {message}\n  = help: it mounts the NFS volume `{volume}` from {server}: check that {server} exports the path to this host, that this host has an NFS client (Debian: nfs-common), and that TCP port {port} is reachable")]
    NfsMount {
        /// The container.
        container: String,
        /// The NFS volume key.
        volume: String,
        /// Its server.
        server: String,
        /// The server's port.
        port: u16,
        /// The engine's message.
        message: String,
    },
    /// A replica of a rolling update did not become ready; the update stopped.
    #[error("rolling update stopped at {container}: the new replica failed ({why}); {}", if *old_kept { "the old replica still runs" } else { "the old replica is gone; fix the file and run `stack up` again" })]
    UpdateFailed {
        /// The service being updated.
        service: String,
        /// The replica.
        container: String,
        /// What went wrong.
        why: String,
        /// Whether the old replica is still running.
        old_kept: bool,
    },
    /// `service_healthy` on a service whose containers have no healthcheck.
    #[error("service `{0}` has no healthcheck, so it can never be healthy; add one or wait for service_started")]
    NoHealthcheck(String),
    /// A container whose namespace or volumes another borrows is missing.
    #[error("{0} must exist before the containers that borrow its namespace or volumes")]
    MissingParent(String),
    /// The run was interrupted.
    #[error("interrupted; run the same command again to converge")]
    Cancelled,
    /// A step's task panicked (a bug).
    #[error("internal error: {0}")]
    Internal(String),
}

/// How a step is doing, for progress output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepStatus {
    /// Waiting for the condition of this dependency (a service).
    Waiting(String),
    /// Engine calls in progress.
    Running,
    /// Finished after this long.
    Done(Duration),
    /// Failed.
    Failed(String),
}

/// Receives progress of every step.
pub trait Progress: Send + Sync {
    /// Step `index` of the plan changed status.
    fn update(&self, index: usize, step: &Step, status: StepStatus);
}

/// Progress that goes nowhere.
pub struct NoProgress;

impl Progress for NoProgress {
    fn update(&self, _index: usize, _step: &Step, _status: StepStatus) {}
}

/// Knobs for execution.
#[derive(Debug, Clone)]
pub struct ExecuteOptions {
    /// Steps running engine calls at once.
    pub parallel: usize,
    /// Stop timeout for containers whose service sets none.
    pub stop_timeout: Duration,
    /// `-t` was given: it is every container's stop timeout, whatever its
    /// `stop_grace_period`, as with Compose.
    pub timeout_given: bool,
    /// How long to wait for a dependency condition.
    pub wait_timeout: Duration,
    /// How often to look at a dependency while waiting.
    pub poll_interval: Duration,
    /// In a start-first update, how long a replaced replica keeps serving
    /// after it leaves the stack's DNS and before it leaves its networks
    /// (the DNS TTL and a second; zero when no agent serves DNS).
    pub drain: Duration,
    /// Create what is missing but start nothing (`create`, `up --no-start`).
    pub no_start: bool,
}

impl Default for ExecuteOptions {
    fn default() -> Self {
        ExecuteOptions {
            parallel: 8,
            stop_timeout: Duration::from_secs(10),
            timeout_given: false,
            wait_timeout: Duration::from_secs(300),
            poll_interval: Duration::from_millis(200),
            drain: Duration::ZERO,
            no_start: false,
        }
    }
}

/// What a step runs against.
struct Ctx {
    engine: Arc<dyn Engine>,
    project: Arc<Project>,
    files: BTreeMap<String, String>,
    plan: Arc<Plan>,
    opts: ExecuteOptions,
    progress: Arc<dyn Progress>,
    cancel: CancellationToken,
    pool: Semaphore,
    /// Image ids looked up during this run, by reference.
    image_ids: tokio::sync::Mutex<BTreeMap<String, String>>,
    /// Gateways of the networks looked up during this run, by name, and
    /// whether the network is the project's.
    gateways: tokio::sync::Mutex<BTreeMap<String, (Option<String>, bool)>>,
    /// The host's resolvers as containers can use them, read once per run.
    host_resolvers: tokio::sync::OnceCell<Vec<String>>,
}

/// Runs plans against an engine.
pub struct Executor {
    ctx_parts: (Arc<dyn Engine>, Arc<Project>, BTreeMap<String, String>),
    opts: ExecuteOptions,
    progress: Arc<dyn Progress>,
    cancel: CancellationToken,
}

impl Executor {
    /// An executor for `project` on `engine`; `files` are the secret and
    /// config digests the plan was made with.
    pub fn new(
        engine: Arc<dyn Engine>,
        project: Arc<Project>,
        files: BTreeMap<String, String>,
    ) -> Self {
        Executor {
            ctx_parts: (engine, project, files),
            opts: ExecuteOptions::default(),
            progress: Arc::new(NoProgress),
            cancel: CancellationToken::new(),
        }
    }

    /// Use these options.
    pub fn with_options(mut self, opts: ExecuteOptions) -> Self {
        self.opts = opts;
        self
    }

    /// Report progress here.
    pub fn with_progress(mut self, progress: Arc<dyn Progress>) -> Self {
        self.progress = progress;
        self
    }

    /// Stop starting steps once this token is cancelled.
    pub fn with_cancel(mut self, cancel: CancellationToken) -> Self {
        self.cancel = cancel;
        self
    }

    /// The context a run of `plan` shares between its steps.
    fn ctx(&self, plan: Plan) -> Arc<Ctx> {
        let (engine, project, files) = self.ctx_parts.clone();
        Arc::new(Ctx {
            engine,
            project,
            files,
            plan: Arc::new(plan),
            opts: self.opts.clone(),
            progress: self.progress.clone(),
            cancel: self.cancel.clone(),
            pool: Semaphore::new(self.opts.parallel.max(1)),
            image_ids: Default::default(),
            gateways: Default::default(),
            host_resolvers: Default::default(),
        })
    }

    /// Create a one-off container (`stack run`) from `spec`, not started,
    /// with what every container of the stack gets at create: its
    /// secrets and configs mounted, the stack's DNS first among its
    /// resolvers. `refs` are the containers whose namespaces it joins.
    /// It gets no state labels: the planner never counts it as a replica.
    pub async fn create_one_off(
        &self,
        spec: &ContainerSpec,
        refs: BTreeMap<Ref, String>,
    ) -> Result<String, ExecError> {
        let ctx = self.ctx(Plan::default());
        let err = engine_err(&spec.name);
        let (mounted, resolvers) = runtime_parts(&ctx, spec).await?;
        ctx.engine
            .create_container(CreateRequest {
                spec: mounted,
                refs,
                state_labels: BTreeMap::new(),
                anonymous_volumes: BTreeMap::new(),
                resolvers,
            })
            .await
            .map_err(&err)
    }

    /// Run `plan` to completion, or to the first failure.
    pub async fn execute(&self, plan: Plan) -> Result<(), ExecError> {
        let ctx = self.ctx(plan);
        let run = |i: usize| -> futures::future::BoxFuture<'static, Result<(), ExecError>> {
            let ctx = ctx.clone();
            Box::pin(async move { run_step(&ctx, i).await })
        };
        let outcome =
            crate::schedule::in_order(&ctx.plan.steps, &ctx.cancel, run, ExecError::Internal).await;
        if outcome.complete() {
            return Ok(());
        }
        let held = outcome.held_back(&ctx.plan.steps);
        match outcome.failure {
            Some(ExecError::Cancelled) | None => Err(ExecError::Cancelled),
            Some(e) => {
                leave_dependents_created(&ctx, &outcome.started, &outcome.done, &held).await;
                Err(e)
            }
        }
    }
}

/// After a failed step, the containers that were to be created after it
/// (`held`: kept from starting by it) are created, not started, as
/// Compose leaves a dependency's dependents: the next `up` then has only
/// to start them. Only those whose networks and volumes are there; one
/// that cannot be created is left for the next run (the failure already
/// reported is the one that matters).
async fn leave_dependents_created(ctx: &Ctx, started: &[bool], done: &[bool], held: &[bool]) {
    let steps = &ctx.plan.steps;
    for (i, step) in steps.iter().enumerate() {
        let Action::CreateContainer { spec } = &step.action else {
            continue;
        };
        let resources_ready = step
            .after
            .iter()
            .all(|d| done[*d] || !steps[*d].action.is_resource());
        if started[i] || !held[i] || !resources_ready {
            continue;
        }
        if let Err(e) = create(ctx, spec, BTreeMap::new()).await {
            tracing::debug!("{}: left absent: {e}", spec.name);
        }
    }
}

async fn run_step(ctx: &Ctx, index: usize) -> Result<(), ExecError> {
    let step = &ctx.plan.steps[index];
    let start = Instant::now();
    let result = async {
        // Nothing starts, so no condition will come true.
        let waits = if ctx.opts.no_start {
            &[][..]
        } else {
            &step.waits[..]
        };
        for wait in waits {
            ctx.progress
                .update(index, step, StepStatus::Waiting(wait.service.clone()));
            match wait_for(ctx, wait).await {
                Err(e) if !wait.required && !matches!(e, ExecError::Cancelled) => {
                    tracing::warn!(
                        "{}: optional dependency `{}` did not get there ({e}); going on without it",
                        step.action.subject(),
                        wait.service
                    );
                }
                Err(e) => {
                    // As Compose leaves it: the container exists, not
                    // started, so the next `up` only has to start it.
                    if let Action::CreateContainer { spec } = &step.action {
                        if !matches!(e, ExecError::Cancelled) {
                            if let Err(also) = create(ctx, spec, BTreeMap::new()).await {
                                tracing::debug!("{}: {also}", spec.name);
                            }
                        }
                    }
                    return Err(e);
                }
                Ok(()) => {}
            }
        }
        let _permit = ctx
            .pool
            .acquire()
            .await
            .map_err(|e| ExecError::Internal(e.to_string()))?;
        ctx.progress.update(index, step, StepStatus::Running);
        apply(ctx, &step.action).await
    }
    .await;
    match &result {
        Ok(()) => ctx
            .progress
            .update(index, step, StepStatus::Done(start.elapsed())),
        Err(e) => ctx
            .progress
            .update(index, step, StepStatus::Failed(e.to_string())),
    }
    result
}

fn engine_err(subject: &str) -> impl Fn(EngineError) -> ExecError + '_ {
    move |source| ExecError::Engine {
        subject: subject.to_string(),
        source,
    }
}

async fn apply(ctx: &Ctx, action: &Action) -> Result<(), ExecError> {
    let subject = action.subject();
    let err = engine_err(&subject);
    match action {
        Action::CreateNetwork { network, .. } => ctx
            .engine
            .create_network(network.clone())
            .await
            .map_err(err),
        Action::CreateVolume { volume, .. } => {
            // The label keeps the file's definition; the engine gets the
            // NFS server as an address, which its local driver needs.
            let mut volume = volume.clone();
            volume.driver_opts = crate::nfs::resolve_addr(&volume.driver_opts)
                .await
                .map_err(|e| err(EngineError::api(e)))?;
            ctx.engine.create_volume(volume).await.map_err(err)
        }
        Action::RecreateNetwork {
            key,
            network,
            users,
        } => {
            let name = &network.name;
            for u in users {
                if u.running {
                    stop(ctx, &u.id, ctx.opts.stop_timeout)
                        .await
                        .map_err(&err)?;
                }
                if let Err(e) = ctx.engine.disconnect_network(name, &u.id).await {
                    tracing::debug!("{}: leaving {name}: {e}", u.name);
                }
            }
            match ctx.engine.remove_network(name).await {
                Err(EngineError::NotFound(_)) | Ok(()) => {}
                Err(e) => return Err(err(e)),
            }
            let create = Action::CreateNetwork {
                key: key.clone(),
                network: network.clone(),
            };
            Box::pin(apply(ctx, &create)).await?;
            for u in users {
                ctx.engine
                    .connect_network(&u.id, &u.attachment)
                    .await
                    .map_err(&err)?;
                if u.running {
                    start(ctx, &u.id, &u.name, &u.service).await?;
                }
            }
            Ok(())
        }
        Action::RecreateVolume { key, volume, users } => {
            for id in users {
                stop_and_remove(ctx, id, ctx.opts.stop_timeout, false, &subject).await?;
            }
            match ctx.engine.remove_volume(&volume.name).await {
                Err(EngineError::NotFound(_)) | Ok(()) => {}
                Err(e) => return Err(err(e)),
            }
            let create = Action::CreateVolume {
                key: key.clone(),
                volume: volume.clone(),
            };
            Box::pin(apply(ctx, &create)).await
        }
        Action::CreateContainer { spec } => {
            create_and_start(ctx, spec, BTreeMap::new()).await.map(drop)
        }
        Action::RecreateContainer {
            old_id,
            spec,
            update: None,
        } => replace(ctx, old_id, spec).await.map(drop),
        Action::AdoptContainer { id, spec, .. } => adopt(ctx, id, spec).await,
        Action::RecreateContainer {
            old_id,
            spec,
            update: Some(rolling),
        } => roll(ctx, old_id, spec, rolling).await,
        Action::StartContainer { id, name, service } => start(ctx, id, name, service).await,
        Action::RestartContainer { id, name, service } => {
            let timeout = stop_timeout(ctx, grace_of(ctx.project.services.get(service)));
            stop(ctx, id, timeout).await.map_err(&err)?;
            start(ctx, id, name, service).await
        }
        Action::RemoveContainer {
            id,
            service,
            anonymous_volumes,
            ..
        } => {
            let svc = ctx.project.services.get(service);
            let timeout = stop_timeout(ctx, grace_of(svc));
            // Anonymous volumes a recreate carried over are mounted by
            // name, so the engine no longer counts them as the
            // container's own: removed here, by the paths the service
            // declares anonymous.
            let carried = match (anonymous_volumes, svc) {
                (true, Some(svc)) => carried_anonymous(ctx, id, svc).await,
                _ => Vec::new(),
            };
            stop_and_remove(ctx, id, timeout, *anonymous_volumes, &subject).await?;
            for name in carried {
                match ctx.engine.remove_volume(&name).await {
                    Ok(()) | Err(EngineError::NotFound(_)) => {}
                    Err(e) => tracing::warn!("{subject}: anonymous volume {name} left: {e}"),
                }
            }
            Ok(())
        }
        Action::RemoveNetwork { name } => match ctx.engine.remove_network(name).await {
            Err(EngineError::NotFound(_)) | Ok(()) => Ok(()),
            Err(e) => Err(err(e)),
        },
        Action::RemoveVolume { name } => match ctx.engine.remove_volume(name).await {
            Err(EngineError::NotFound(_)) | Ok(()) => Ok(()),
            Err(e) => Err(err(e)),
        },
    }
}

/// How long a container gets to stop: `-t` when given, else its own
/// `stop_grace_period`, else the default.
fn stop_timeout(ctx: &Ctx, grace: Option<Duration>) -> Duration {
    if ctx.opts.timeout_given {
        return ctx.opts.stop_timeout;
    }
    grace.unwrap_or(ctx.opts.stop_timeout)
}

/// A service's `stop_grace_period`.
fn grace_of(svc: Option<&schema::Service>) -> Option<Duration> {
    svc.and_then(|s| s.stop_grace_period).map(|d| d.0)
}

/// The anonymous volumes of `old_id` that the replacement mounts at the
/// same paths: kept, so a recreate never empties them.
async fn anonymous_volumes(
    ctx: &Ctx,
    old_id: &str,
    spec: &ContainerSpec,
) -> Result<BTreeMap<String, String>, EngineError> {
    let old = match ctx.engine.inspect_container(old_id).await {
        Ok(status) => status.volumes,
        Err(EngineError::NotFound(_)) => return Ok(BTreeMap::new()),
        Err(e) => return Err(e),
    };
    Ok(spec
        .mounts
        .iter()
        .filter(|m| m.kind == MountKind::Volume && m.source.is_none())
        .filter_map(|m| {
            old.get(&m.target)
                .map(|name| (m.target.clone(), name.clone()))
        })
        .collect())
}

/// The volumes container `id` mounts at the paths `svc` declares as
/// anonymous volumes (`- /data`, no source).
async fn carried_anonymous(ctx: &Ctx, id: &str, svc: &schema::Service) -> Vec<String> {
    let Ok(status) = ctx.engine.inspect_container(id).await else {
        return Vec::new();
    };
    svc.volumes
        .iter()
        .flatten()
        .filter(|v| v.kind == MountType::Volume && v.source.is_none())
        .filter_map(|v| status.volumes.get(&v.target).cloned())
        .collect()
}

async fn stop_and_remove(
    ctx: &Ctx,
    id: &str,
    timeout: Duration,
    anonymous_volumes: bool,
    subject: &str,
) -> Result<(), ExecError> {
    let err = engine_err(subject);
    stop(ctx, id, timeout).await.map_err(&err)?;
    match ctx.engine.remove_container(id, anonymous_volumes).await {
        Ok(()) | Err(EngineError::NotFound(_)) => Ok(()),
        Err(e) => Err(err(e)),
    }
}

/// The id of `image`, asked of the engine once per run.
async fn image_id(ctx: &Ctx, image: &str) -> Result<String, EngineError> {
    let mut cache = ctx.image_ids.lock().await;
    if let Some(id) = cache.get(image) {
        return Ok(id.clone());
    }
    let id = ctx
        .engine
        .image_id(image)
        .await?
        .ok_or_else(|| EngineError::NotFound(format!("image {image}")))?;
    cache.insert(image.to_string(), id.clone());
    Ok(id)
}

/// The name a replacement is created under, beside the container it
/// replaces, until that one is gone.
fn temporary_name(spec: &ContainerSpec) -> String {
    format!("{}-next", spec.name)
}

/// Replace `old_id` with a container of `spec`, never leaving the replica
/// with neither: create the new one under a temporary name (with the old
/// one's anonymous volumes), then stop and remove the old one, then give
/// the new one its name and start it. Returns the new container's id.
async fn replace(ctx: &Ctx, old_id: &str, spec: &ContainerSpec) -> Result<String, ExecError> {
    let err = engine_err(&spec.name);
    let keep = anonymous_volumes(ctx, old_id, spec).await.map_err(&err)?;
    let mut next = spec.clone();
    next.name = temporary_name(spec);
    let id = create(ctx, &next, keep).await?;
    let timeout = stop_timeout(ctx, spec.stop_grace);
    stop_and_remove(ctx, old_id, timeout, false, &spec.name).await?;
    ctx.engine
        .rename_container(&id, &spec.name)
        .await
        .map_err(&err)?;
    start(ctx, &id, &spec.name, &spec.of.service).await?;
    Ok(id)
}

/// Finish what an interrupted run left: the container takes its own name
/// and joins its networks again with the service's aliases (a start-first
/// replacement is created without them).
async fn adopt(ctx: &Ctx, id: &str, spec: &ContainerSpec) -> Result<(), ExecError> {
    let err = engine_err(&spec.name);
    ctx.engine
        .rename_container(id, &spec.name)
        .await
        .map_err(&err)?;
    if let Networking::Networks(list) = &spec.networking {
        for a in list {
            // Killed between leaving and joining, it may be on none: a
            // failed leave is fine, a failed join is not.
            if let Err(e) = ctx.engine.disconnect_network(&a.network, id).await {
                tracing::debug!("{}: leaving {}: {e}", spec.name, a.network);
            }
            ctx.engine.connect_network(id, a).await.map_err(&err)?;
        }
    }
    Ok(())
}

/// Create and start a container; returns its id.
async fn create_and_start(
    ctx: &Ctx,
    spec: &ContainerSpec,
    anonymous_volumes: BTreeMap<String, String>,
) -> Result<String, ExecError> {
    let id = create(ctx, spec, anonymous_volumes).await?;
    start(ctx, &id, &spec.name, &spec.of.service).await?;
    Ok(id)
}

/// Create a container with all its labels, not started; returns its id.
async fn create(
    ctx: &Ctx,
    spec: &ContainerSpec,
    anonymous_volumes: BTreeMap<String, String>,
) -> Result<String, ExecError> {
    let err = engine_err(&spec.name);
    let image_id = image_id(ctx, &spec.image).await.map_err(&err)?;
    let mut refs = BTreeMap::new();
    if !spec.refs().is_empty() {
        let project_name = ctx.project.project_name().to_string();
        let containers = ctx
            .engine
            .list_containers(&project_name)
            .await
            .map_err(&err)?;
        for (_, r) in spec.refs() {
            let name = ref_name(&ctx.project, &project_name, r);
            let id = containers
                .iter()
                .find(|c| c.name == name)
                .map(|c| c.id.clone())
                .ok_or(ExecError::MissingParent(name))?;
            refs.insert(r.clone(), id);
        }
    }
    let inputs = hash_inputs(
        spec,
        &image_id,
        &|r| refs.get(r).cloned(),
        &ctx.project,
        &ctx.files,
    );
    let (mounted, resolvers) = runtime_parts(ctx, spec).await?;
    let id = ctx
        .engine
        .create_container(CreateRequest {
            spec: mounted,
            refs,
            state_labels: state_labels(spec, &inputs),
            anonymous_volumes,
            resolvers,
        })
        .await
        .map_err(&err)?;
    Ok(id)
}

/// What a container gets at create beyond its spec, for replicas and
/// one-offs alike: bind sources made, the secret and config copies
/// mounted, and its resolvers.
async fn runtime_parts(
    ctx: &Ctx,
    spec: &ContainerSpec,
) -> Result<(ContainerSpec, Vec<String>), ExecError> {
    let err = engine_err(&spec.name);
    prepare_bind_sources(spec).map_err(|e| err(EngineError::api(e)))?;
    let mut mounted = spec.clone();
    mounted
        .mounts
        .extend(file_mounts(&ctx.project, spec).map_err(&err)?);
    let resolvers = resolvers(ctx, spec).await.map_err(&err)?;
    Ok((mounted, resolvers))
}

/// Read-only bind mounts of the copies of the secrets and configs the
/// container uses (written by [`crate::files::prepare`] before the run).
fn file_mounts(project: &Project, spec: &ContainerSpec) -> Result<Vec<Mount>, EngineError> {
    let name = project.project_name().to_string();
    spec.files
        .iter()
        .map(|u| {
            let source =
                crate::files::copy_path(&name, u).map_err(|e| EngineError::api(e.to_string()))?;
            Ok(Mount::read_only_bind(
                source.to_string_lossy().into_owned(),
                u.target.clone(),
            ))
        })
        .collect()
}

/// The container's DNS servers: the stack's DNS, which the agent serves
/// on the gateway of the container's first network of the project, then
/// the resolvers the engine would have given it (the host's), so names
/// still resolve when no agent runs. A service that sets `dns:` keeps
/// exactly its own.
async fn resolvers(ctx: &Ctx, spec: &ContainerSpec) -> Result<Vec<String>, EngineError> {
    let Networking::Networks(attachments) = &spec.networking else {
        return Ok(Vec::new());
    };
    // A rootless engine's gateways are not the host's: the stack's DNS
    // cannot listen there, so containers keep the engine's resolver.
    if spec.options.dns.is_some()
        || attachments.is_empty()
        || !ctx.engine.capabilities().dns_on_gateways
    {
        return Ok(Vec::new());
    }
    let Some(gateway) = gateway(ctx, attachments).await? else {
        return Ok(Vec::new());
    };
    // `/etc/resolv.conf`, read on the blocking pool.
    let fallback = ctx
        .host_resolvers
        .get_or_init(|| async {
            tokio::task::spawn_blocking(|| {
                let host = dns::resolv::host_nameservers();
                dns::resolv::for_containers(&host)
                    .iter()
                    .map(ToString::to_string)
                    .collect()
            })
            .await
            .unwrap_or_default()
        })
        .await;
    Ok(std::iter::once(gateway)
        .chain(fallback.iter().cloned())
        .collect())
}

/// The gateway of the first of `attachments` that is a network of the
/// project, else of the first external one (the agents of the stacks on
/// it serve it alike), listing the engine's networks once per run unless
/// one is new.
async fn gateway(
    ctx: &Ctx,
    attachments: &[planner::Attachment],
) -> Result<Option<String>, EngineError> {
    let mut known = ctx.gateways.lock().await;
    if attachments.iter().any(|a| !known.contains_key(&a.network)) {
        let project = ctx.project.project_name().to_string();
        for n in ctx.engine.list_network_addresses().await? {
            let ours = n.project() == Some(project.as_str());
            known.insert(n.name, (n.gateway, ours));
        }
    }
    let of = |ours: bool| {
        attachments
            .iter()
            .find_map(|a| match known.get(&a.network) {
                Some((Some(g), o)) if *o == ours => Some(g.clone()),
                _ => None,
            })
    };
    Ok(of(true).or_else(|| of(false)))
}

/// Replace one replica in a rolling update.
async fn roll(
    ctx: &Ctx,
    old_id: &str,
    spec: &ContainerSpec,
    rolling: &Rolling,
) -> Result<(), ExecError> {
    let err = engine_err(&spec.name);
    if !rolling.delay.is_zero() {
        tokio::select! {
            _ = tokio::time::sleep(rolling.delay) => {}
            _ = ctx.cancel.cancelled() => return Err(ExecError::Cancelled),
        }
    }
    if !rolling.start_first {
        let id = replace(ctx, old_id, spec).await?;
        return match ready(ctx, &id, rolling.monitor).await {
            Ok(()) => Ok(()),
            Err(why) if rolling.failure_action == FailureAction::Continue => {
                tracing::warn!("{}: {why}; continuing the rolling update", spec.name);
                Ok(())
            }
            Err(why) => Err(ExecError::UpdateFailed {
                service: spec.of.service.clone(),
                container: spec.name.clone(),
                why,
                old_kept: false,
            }),
        };
    }
    // Start first: the new replica runs beside the old one until it is ready.
    let keep = anonymous_volumes(ctx, old_id, spec).await.map_err(&err)?;
    let timeout = stop_timeout(ctx, spec.stop_grace);
    let mut next = spec.clone();
    next.name = temporary_name(spec);
    // Not under the service's name until it is ready: lookups of the name
    // must not find a replica that cannot answer yet.
    if let Networking::Networks(list) = &mut next.networking {
        for a in list.iter_mut() {
            a.aliases.clear();
        }
    }
    let id = create_and_start(ctx, &next, keep).await?;
    match ready(ctx, &id, rolling.monitor).await {
        Ok(()) => {
            // Ready: now under the service's name (reconnected with aliases).
            if let Networking::Networks(list) = &spec.networking {
                for a in list {
                    ctx.engine
                        .disconnect_network(&a.network, &id)
                        .await
                        .map_err(&err)?;
                    ctx.engine.connect_network(&id, a).await.map_err(&err)?;
                }
            }
            // Drain: out of the stack's DNS first (renamed `-old`, which
            // its zone leaves out) for as long as answers naming it live
            // in caches, then off its networks, so no lookup returns it
            // when it stops answering.
            if !ctx.opts.drain.is_zero() {
                ctx.engine
                    .rename_container(old_id, &format!("{}-old", spec.name))
                    .await
                    .map_err(&err)?;
                tokio::time::sleep(ctx.opts.drain).await;
            }
            if let Networking::Networks(list) = &spec.networking {
                for a in list {
                    match ctx.engine.disconnect_network(&a.network, old_id).await {
                        Ok(()) | Err(EngineError::NotFound(_)) => {}
                        Err(e) => return Err(err(e)),
                    }
                }
            }
            stop_and_remove(ctx, old_id, timeout, false, &spec.name).await?;
            ctx.engine
                .rename_container(&id, &spec.name)
                .await
                .map_err(err)
        }
        Err(why) => {
            stop_and_remove(ctx, &id, Duration::from_secs(1), false, &next.name).await?;
            if rolling.failure_action == FailureAction::Continue {
                tracing::warn!(
                    "{}: {why}; kept the old replica, continuing the rolling update",
                    spec.name
                );
                return Ok(());
            }
            Err(ExecError::UpdateFailed {
                service: spec.of.service.clone(),
                container: spec.name.clone(),
                why,
                old_kept: true,
            })
        }
    }
}

/// Wait until a new container is ready (healthy, or running when it has no
/// healthcheck), then watch it for `monitor`; `Err` says what went wrong.
async fn ready(ctx: &Ctx, id: &str, monitor: Duration) -> Result<(), String> {
    let deadline = Instant::now() + ctx.opts.wait_timeout;
    let mut ready_since: Option<Instant> = None;
    loop {
        let st = ctx
            .engine
            .inspect_container(id)
            .await
            .map_err(|e| e.to_string())?;
        let ok = match (&st.state, st.health) {
            (RunState::Exited { code }, _) => return Err(format!("it exited with {code}")),
            (_, Some(planner::Health::Unhealthy)) => {
                return Err(format!(
                    "it is unhealthy: {}",
                    st.last_health_output.unwrap_or_default()
                ))
            }
            (RunState::Running, None | Some(planner::Health::Healthy)) => true,
            _ => false,
        };
        let now = Instant::now();
        match (ok, ready_since) {
            (true, None) => ready_since = Some(now),
            (true, Some(t)) if now.duration_since(t) >= monitor => return Ok(()),
            (false, _) => ready_since = None,
            _ => {}
        }
        if ok && monitor.is_zero() {
            return Ok(());
        }
        if now >= deadline {
            return Err(format!(
                "it was not ready after {}s",
                ctx.opts.wait_timeout.as_secs()
            ));
        }
        tokio::select! {
            _ = tokio::time::sleep(ctx.opts.poll_interval) => {}
            _ = ctx.cancel.cancelled() => return Err("interrupted".into()),
        }
    }
}

/// Start a container, then run its service's `post_start` hooks in it
/// (nothing with `no_start`: `create`, `up --no-start`).
async fn start(ctx: &Ctx, id: &str, name: &str, service: &str) -> Result<(), ExecError> {
    if ctx.opts.no_start {
        return Ok(());
    }
    start_only(ctx, id, name, service).await?;
    let hooks = ctx
        .project
        .services
        .get(service)
        .and_then(|s| s.post_start.as_deref())
        .unwrap_or_default();
    for hook in hooks {
        let out = ctx
            .engine
            .exec(id, hook_request(hook))
            .await
            .map_err(engine_err(name))?;
        if out.code != 0 {
            return Err(ExecError::Hook {
                container: name.to_string(),
                command: hook.command.0.join(" "),
                code: out.code,
                output: out.output,
            });
        }
    }
    Ok(())
}

/// A lifecycle hook as the engine runs it.
fn hook_request(hook: &schema::LifecycleHook) -> ExecRequest {
    ExecRequest {
        command: hook.command.0.clone(),
        user: hook.user.clone(),
        privileged: hook.privileged,
        working_dir: hook.working_dir.clone(),
        env: hook
            .environment
            .iter()
            .flat_map(|e| e.0.iter())
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
            .collect(),
        detach: false,
    }
}

/// Run the `pre_stop` hooks, then stop the container; one already gone is
/// stopped.
async fn stop(ctx: &Ctx, id: &str, timeout: Duration) -> Result<(), EngineError> {
    pre_stop(ctx, id).await;
    match ctx.engine.stop_container(id, timeout).await {
        Ok(()) | Err(EngineError::NotFound(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Run the `pre_stop` hooks of the service `id` belongs to, if it has any
/// and runs; a failing hook is reported, and the stop goes on.
async fn pre_stop(ctx: &Ctx, id: &str) {
    let any = ctx
        .project
        .services
        .values()
        .any(|s| s.pre_stop.as_ref().is_some_and(|h| !h.is_empty()));
    if !any {
        return;
    }
    let project = ctx.project.project_name().to_string();
    let Ok(containers) = ctx.engine.list_containers(&project).await else {
        return;
    };
    let Some(svc) = containers
        .iter()
        .find(|c| c.id == id && c.is_running())
        .and_then(|c| ctx.project.services.get(&c.service))
    else {
        return;
    };
    for hook in svc.pre_stop.iter().flatten() {
        match ctx.engine.exec(id, hook_request(hook)).await {
            Ok(out) if out.code == 0 => {}
            Ok(out) => tracing::warn!(
                "{id}: pre_stop hook `{}` exited with {}: {}",
                hook.command.0.join(" "),
                out.code,
                out.output.trim()
            ),
            Err(e) => tracing::warn!("{id}: pre_stop hook: {e}"),
        }
    }
}

/// Start a container; when it does not start and mounts an NFS volume,
/// say so, since the mount is the usual cause.
async fn start_only(ctx: &Ctx, id: &str, name: &str, service: &str) -> Result<(), ExecError> {
    ctx.engine.start_container(id).await.map_err(|e| {
        match crate::nfs::mounted_by(&ctx.project, service) {
            Some((volume, server)) => ExecError::NfsMount {
                container: name.to_string(),
                volume,
                server: server.addr,
                port: server.port,
                message: e.to_string(),
            },
            None => ExecError::Engine {
                subject: name.to_string(),
                source: e,
            },
        }
    })
}

/// Bind mounts whose host directory is missing: create it (Compose's
/// behaviour) unless the file says `create_host_path: false`.
fn prepare_bind_sources(spec: &ContainerSpec) -> Result<(), String> {
    for m in spec.mounts.iter().filter(|m| m.kind == MountKind::Bind) {
        let Some(source) = &m.source else { continue };
        let path = std::path::Path::new(source);
        if path.exists() {
            continue;
        }
        if !m.create_host_path {
            return Err(format!(
                "bind mount source {source} does not exist (and create_host_path is false); create it first"
            ));
        }
        std::fs::create_dir_all(path)
            .map_err(|e| format!("cannot create bind mount source {source}: {e}"))?;
    }
    Ok(())
}

/// Wait until every replica of `wait.service` meets `wait.condition`.
async fn wait_for(ctx: &Ctx, wait: &Wait) -> Result<(), ExecError> {
    let project_name = ctx.project.project_name().to_string();
    let deadline = Instant::now() + ctx.opts.wait_timeout;
    let err = engine_err(&wait.service);
    loop {
        let containers: Vec<_> = ctx
            .engine
            .list_containers(&project_name)
            .await
            .map_err(&err)?
            .into_iter()
            .filter(|c| c.service == wait.service)
            .collect();
        let mut status = format!("no container of `{}` exists", wait.service);
        let mut satisfied = !containers.is_empty();
        for c in &containers {
            match wait.condition {
                Condition::ServiceStarted => {
                    if c.state == RunState::Created {
                        satisfied = false;
                        status = format!("{} is not started", c.name);
                    }
                }
                Condition::ServiceHealthy => {
                    let st = ctx.engine.inspect_container(&c.id).await.map_err(&err)?;
                    match st.health {
                        Some(planner::Health::Healthy) => {}
                        Some(planner::Health::Unhealthy) => {
                            return Err(ExecError::Unhealthy {
                                service: wait.service.clone(),
                                container: c.name.clone(),
                                output: st.last_health_output.unwrap_or_default(),
                            })
                        }
                        Some(planner::Health::Starting) => {
                            satisfied = false;
                            status = format!("{} is still starting", c.name);
                        }
                        None if matches!(st.state, RunState::Exited { .. }) => {
                            return Err(ExecError::DependencyFailed {
                                service: wait.service.clone(),
                                container: c.name.clone(),
                                code: exit_code(&st.state),
                                logs: last_lines(ctx, &c.id).await,
                            })
                        }
                        None => return Err(ExecError::NoHealthcheck(wait.service.clone())),
                    }
                }
                Condition::ServiceCompletedSuccessfully => match c.state {
                    RunState::Exited { code: 0 } => {}
                    RunState::Exited { code } => {
                        return Err(ExecError::DependencyFailed {
                            service: wait.service.clone(),
                            container: c.name.clone(),
                            code,
                            logs: last_lines(ctx, &c.id).await,
                        })
                    }
                    _ => {
                        satisfied = false;
                        status = format!("{} is still running", c.name);
                    }
                },
            }
        }
        if satisfied {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(ExecError::Timeout {
                service: wait.service.clone(),
                condition: match wait.condition {
                    Condition::ServiceStarted => "started",
                    Condition::ServiceHealthy => "healthy",
                    Condition::ServiceCompletedSuccessfully => "completed successfully",
                }
                .into(),
                seconds: ctx.opts.wait_timeout.as_secs(),
                status,
            });
        }
        tokio::select! {
            _ = tokio::time::sleep(ctx.opts.poll_interval) => {}
            _ = ctx.cancel.cancelled() => return Err(ExecError::Cancelled),
        }
    }
}

fn exit_code(state: &RunState) -> i64 {
    match state {
        RunState::Exited { code } => *code,
        _ => -1,
    }
}

/// The last lines a container printed, for error messages.
async fn last_lines(ctx: &Ctx, id: &str) -> String {
    let mut stream = ctx.engine.logs(
        id,
        LogOptions {
            tail: Some(10),
            ..LogOptions::default()
        },
    );
    let mut out = String::new();
    while let Some(Ok(line)) = stream.next().await {
        out.push_str(&line.text);
    }
    if out.is_empty() {
        "(no output)".into()
    } else {
        out
    }
}
