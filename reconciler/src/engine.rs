//! The `Engine` trait: everything `stack` asks of a container engine, in
//! engine-neutral terms, split by concern (images, networks and volumes,
//! containers, streams, events, a swarm's services), with the engine's
//! [`Capabilities`]. Docker implements it through its HTTP API
//! ([`crate::docker`]); [`crate::fake`] implements it in memory for tests.
//! Podman's Docker-compatible API fits the same trait.

use std::collections::BTreeMap;
use std::time::Duration;

use std::pin::Pin;

use async_trait::async_trait;
use futures::stream::BoxStream;
use planner::{
    Capabilities, ContainerSpec, Health, NetworkAddresses, NetworkSpec, ObservedContainer,
    ObservedResource, PublishedPort, Ref, RunState, VolumeSpec,
};
use tokio::io::{AsyncRead, AsyncWrite};

/// What went wrong talking to the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The engine cannot be reached.
    #[error("cannot reach the container engine: {0}")]
    Unreachable(String),
    /// The thing asked about does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A name is taken.
    #[error("{0} already exists")]
    Conflict(String),
    /// A registry refused or failed a pull, push, login or lookup.
    #[error("{reference}: {message}")]
    Registry {
        /// The image (or, for a login, the registry).
        reference: String,
        /// The registry host (`docker.io`, `localhost:5000`).
        registry: String,
        /// What kind of failure, so the message can say what to do.
        failure: RegistryFailure,
        /// The engine's words.
        message: String,
    },
    /// A swarm's services were asked of an engine that is not a swarm
    /// manager.
    #[error("{0}")]
    NotSwarm(String),
    /// The engine accepted the call but did not answer in time.
    #[error("the container engine did not answer within {0:?}; is it overloaded or wedged? (STACK_ENGINE_TIMEOUT sets the deadline, in seconds)")]
    Timeout(std::time::Duration),
    /// Anything else the engine refused, with its message and, when it
    /// answered over HTTP, the status (so callers can tell 400 from 500).
    #[error("{message}")]
    Api {
        /// The HTTP status, when the engine gave one.
        status: Option<u16>,
        /// The engine's message.
        message: String,
    },
}

impl EngineError {
    /// A refusal with no HTTP status (raised on this side of the API).
    pub fn api(message: impl Into<String>) -> EngineError {
        EngineError::Api {
            status: None,
            message: message.into(),
        }
    }

    /// The HTTP status the engine answered with, when known.
    pub fn status(&self) -> Option<u16> {
        match self {
            EngineError::NotFound(_) => Some(404),
            EngineError::Conflict(_) => Some(409),
            EngineError::NotSwarm(_) => Some(503),
            EngineError::Api { status, .. } => *status,
            _ => None,
        }
    }
}

/// Why a registry call failed, as far as the engine's message tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryFailure {
    /// No credentials, or wrong ones.
    Unauthorized,
    /// No such repository, tag or digest.
    NotFound,
    /// The engine does not trust the registry's TLS certificate.
    Untrusted,
    /// The registry does not answer.
    Unreachable,
    /// Anything else.
    Other,
}

/// Shorthand for engine results.
pub type Result<T> = std::result::Result<T, EngineError>;

/// A container's detailed status.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerStatus {
    /// Run state.
    pub state: RunState,
    /// Health, when it has a healthcheck.
    pub health: Option<Health>,
    /// Output of the last health probe.
    pub last_health_output: Option<String>,
    /// Published ports as `host_ip:host_port->port/proto`.
    pub ports: Vec<String>,
    /// Volume mounts: container path -> volume name.
    pub volumes: BTreeMap<String, String>,
    /// When it last started (RFC 3339), if ever.
    pub started_at: Option<String>,
    /// The kernel killed it for running out of memory.
    pub oom_killed: bool,
}

/// A container as a person lists it (`ps`): what the planner reads, and
/// what the engine says of it for people.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerListing {
    /// The planner's view (labels, run state, health, addresses).
    pub observed: ObservedContainer,
    /// The image as it was named (`busybox:1.36`).
    pub image: String,
    /// The command, as one line.
    pub command: String,
    /// When it was created (Unix seconds).
    pub created: i64,
    /// The engine's state word: `created`, `running`, `paused`,
    /// `restarting`, `exited`, `removing`, `dead`.
    pub state: String,
    /// The engine's status line (`Up 5 minutes (healthy)`).
    pub status: String,
    /// Published and exposed ports.
    pub ports: Vec<PortBinding>,
    /// Names of the volumes it mounts (paths, for binds).
    pub mounts: Vec<String>,
    /// Networks it joined.
    pub networks: Vec<String>,
}

/// One port of a container: published on the host, or only exposed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PortBinding {
    /// The host address it is published on (`0.0.0.0`, `::`).
    pub host_ip: Option<String>,
    /// The host port, when published.
    pub host_port: Option<u16>,
    /// The container port.
    pub container_port: u16,
    /// `tcp`, `udp`, `sctp`.
    pub protocol: String,
}

/// Which containers to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// The project's service containers (`""`: every project's). One-off
    /// containers are never among them: the planner and the agent list
    /// through this.
    Project(String),
    /// The project's one-off containers (`stack run`).
    OneOffs(String),
}

/// The processes running in a container (`top`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Processes {
    /// Column titles (`UID`, `PID`, `CMD`...).
    pub titles: Vec<String>,
    /// One row per process.
    pub rows: Vec<Vec<String>>,
}

/// A local image, as `images` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageDetails {
    /// Its id (`sha256:...`).
    pub id: String,
    /// Its size in bytes.
    pub size: u64,
    /// `linux/amd64`.
    pub platform: String,
    /// When it was made (Unix seconds), if known.
    pub created: Option<i64>,
    /// When it was last tagged (pulled or built), if known: what
    /// `pull_policy: daily` and friends measure from.
    pub tagged_at: Option<std::time::SystemTime>,
}

/// What a running container uses, sampled once (`stats`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerStats {
    /// CPU, in percent of one CPU (can exceed 100 with several).
    pub cpu_percent: f64,
    /// Memory in use (page cache left out), bytes.
    pub memory: u64,
    /// Its memory limit, bytes.
    pub memory_limit: u64,
    /// Bytes received and sent, over all its networks.
    pub net_io: (u64, u64),
    /// Bytes read and written on block devices.
    pub block_io: (u64, u64),
    /// Processes and threads.
    pub pids: u64,
}

/// A container to create: the spec, its references resolved, and the
/// state labels computed at the moment of creation.
#[derive(Debug, Clone)]
pub struct CreateRequest {
    /// What to create.
    pub spec: ContainerSpec,
    /// Container id of every [`Ref`] the spec names.
    pub refs: BTreeMap<Ref, String>,
    /// Labels added to the spec's (hash, definition, parents, files).
    pub state_labels: BTreeMap<String, String>,
    /// Anonymous volumes of the container this one replaces, by container
    /// path, to mount again instead of starting empty.
    pub anonymous_volumes: BTreeMap<String, String>,
    /// DNS servers for the container, in order (the stack's DNS on its
    /// network's gateway first); empty leaves it to the service's `dns`.
    pub resolvers: Vec<String>,
}

/// An image to build.
#[derive(Debug, Clone, Default)]
pub struct BuildRequest {
    /// Tag to give the image.
    pub tag: String,
    /// More tags for the same image (`build.tags`).
    pub tags: Vec<String>,
    /// The build context as a tar archive.
    pub context_tar: Vec<u8>,
    /// Dockerfile path inside the context.
    pub dockerfile: String,
    /// Build arguments.
    pub args: BTreeMap<String, String>,
    /// Target stage.
    pub target: Option<String>,
    /// Labels on the image.
    pub labels: BTreeMap<String, String>,
    /// Build with no cache.
    pub no_cache: bool,
    /// Pull base images even when present.
    pub pull: bool,
    /// Network for `RUN` steps.
    pub network: Option<String>,
    /// `host:ip` entries for `RUN` steps.
    pub extra_hosts: Vec<String>,
    /// Size of `/dev/shm` for `RUN` steps, bytes.
    pub shm_size: Option<u64>,
    /// Images to use as cache sources.
    pub cache_from: Vec<String>,
    /// Logins for the registries the base images come from.
    pub registry_auths: Vec<registry::Auth>,
}

/// One chunk of container output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// `true` for stderr.
    pub stderr: bool,
    /// The text (with the engine's timestamp first when asked for).
    pub text: String,
}

/// Options for reading logs.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    /// Keep streaming new output.
    pub follow: bool,
    /// Only the last N lines.
    pub tail: Option<usize>,
    /// Prefix lines with the engine's timestamp.
    pub timestamps: bool,
    /// Only output written at or after this time (Unix seconds).
    pub since: Option<i64>,
    /// Only output written before this time (Unix seconds).
    pub until: Option<i64>,
}

/// Something that happened on the engine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineEvent {
    /// When, in nanoseconds since the Unix epoch (0: not known).
    pub time_nanos: i64,
    /// `container`, `network`, `volume`, `image`.
    pub kind: String,
    /// `create`, `start`, `die`, `destroy`, `health_status: healthy`...
    pub action: String,
    /// Id of the object.
    pub id: String,
    /// Its labels / attributes.
    pub attributes: BTreeMap<String, String>,
}

/// A command to run in a running container, as a lifecycle hook or `exec`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecRequest {
    /// The command and its arguments.
    pub command: Vec<String>,
    /// Run as this user (default: the container's).
    pub user: Option<String>,
    /// With extended privileges.
    pub privileged: bool,
    /// In this directory (default: the container's).
    pub working_dir: Option<String>,
    /// `KEY=VALUE` on top of the container's environment.
    pub env: Vec<String>,
    /// Start it in the background, attached to nothing (`exec -d`).
    pub detach: bool,
}

impl ExecRequest {
    /// Just `command`, with the container's user, directory and environment.
    pub fn command(command: Vec<String>) -> ExecRequest {
        ExecRequest {
            command,
            ..Default::default()
        }
    }
}

/// What a command run in a container returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// Exit code.
    pub code: i64,
    /// Combined output.
    pub output: String,
}

/// A replicated service for a swarm to run: the engine schedules its
/// tasks (containers) on its nodes and replaces those that fail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceRequest {
    /// Service name.
    pub name: String,
    /// Labels of the service (project, key, hash).
    pub labels: BTreeMap<String, String>,
    /// Image reference of its tasks.
    pub image: String,
    /// CMD override.
    pub command: Option<Vec<String>>,
    /// `KEY=VALUE`.
    pub env: Vec<String>,
    /// How many tasks run.
    pub replicas: u64,
    /// Networks (swarm-scoped) its tasks join, by name.
    pub networks: Vec<String>,
    /// How a change is rolled out.
    pub update: ServiceUpdate,
}

/// How a swarm rolls a changed service out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceUpdate {
    /// Tasks replaced at once (0: all).
    pub parallelism: u64,
    /// Pause between batches.
    pub delay: Duration,
    /// Start the new task before the old one stops.
    pub start_first: bool,
    /// What a failed update does.
    pub on_failure: UpdateFailure,
}

/// What a swarm does when a rolled-out task fails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UpdateFailure {
    /// Stop rolling out, leave what changed.
    #[default]
    Pause,
    /// Go on with the next batch.
    Continue,
    /// Go back to the previous definition.
    Rollback,
}

/// A swarm service as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceStatus {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// The image its tasks run, as asked.
    pub image: String,
    /// Tasks asked for.
    pub replicas: u64,
    /// The version it was read at: an update names it, so a change made
    /// in between is refused ("update out of sequence") rather than
    /// overwritten.
    pub version: u64,
}

/// An engine: what it is and can do, and its operations, split by
/// concern so an engine that lacks one (a swarm's services, a registry)
/// says so in its [`Capabilities`] rather than in `if docker` checks.
#[async_trait]
pub trait Engine:
    Images + Resources + Containers + Streams + Attach + Archives + Events + Services + Send + Sync
{
    /// A one-line description (engine name, version, API version).
    async fn describe(&self) -> Result<String>;
    /// What this engine can do (read once, when connecting).
    fn capabilities(&self) -> Capabilities;
}

/// Images: present, pulled, built, imported.
#[async_trait]
pub trait Images: Send + Sync {
    /// The id of a local image, if present.
    async fn image_id(&self, reference: &str) -> Result<Option<String>>;
    /// What the engine knows of a local image (by reference or id), if
    /// present.
    async fn image_details(&self, reference: &str) -> Result<Option<ImageDetails>>;
    /// Pull an image from its registry, with the user's login there if
    /// they have one.
    async fn pull_image(&self, reference: &str, auth: Option<&registry::Auth>) -> Result<()>;
    /// Push a local image to the registry its name says.
    async fn push_image(&self, reference: &str, auth: Option<&registry::Auth>) -> Result<()>;
    /// The digest the registry serves for `reference` (`sha256:...`).
    async fn registry_digest(
        &self,
        reference: &str,
        auth: Option<&registry::Auth>,
    ) -> Result<String>;
    /// Check a login against its registry; the identity token the registry
    /// gave in exchange for the password, if any.
    async fn login(&self, auth: &registry::Auth) -> Result<Option<String>>;
    /// Build an image.
    async fn build_image(&self, request: BuildRequest) -> Result<()>;
    /// Remove a local image (by reference or id); one that a container
    /// still uses is a conflict.
    async fn remove_image(&self, reference: &str) -> Result<()>;
    /// Make an image from a root filesystem tar (`docker import`), with
    /// Dockerfile-style `changes` (`CMD ["sh"]`...); returns its id.
    async fn import_image(
        &self,
        reference: &str,
        rootfs_tar: Vec<u8>,
        changes: Vec<String>,
    ) -> Result<String>;
}

/// Networks and volumes.
#[async_trait]
pub trait Resources: Send + Sync {
    /// Networks labelled with `project`.
    async fn list_networks(&self, project: &str) -> Result<Vec<ObservedResource>>;
    /// Every network on the engine, with its subnets and gateway.
    async fn list_network_addresses(&self) -> Result<Vec<NetworkAddresses>>;
    /// Volumes labelled with `project`.
    async fn list_volumes(&self, project: &str) -> Result<Vec<ObservedResource>>;
    /// Whether a network of this name exists (for `external: true`).
    async fn network_exists(&self, name: &str) -> Result<bool>;
    /// Whether a volume of this name exists (for `external: true`).
    async fn volume_exists(&self, name: &str) -> Result<bool>;
    /// Create a network.
    async fn create_network(&self, spec: NetworkSpec) -> Result<()>;
    /// Remove a network.
    async fn remove_network(&self, name: &str) -> Result<()>;
    /// Create a volume.
    async fn create_volume(&self, spec: VolumeSpec) -> Result<()>;
    /// Remove a volume.
    async fn remove_volume(&self, name: &str) -> Result<()>;
}

/// Containers.
#[async_trait]
pub trait Containers: Send + Sync {
    /// The selected containers, stopped ones included.
    async fn list_listings(&self, selection: &Selection) -> Result<Vec<ContainerListing>>;
    /// The service containers of `project` (`""`: of every project),
    /// stopped ones included, as the planner reads them.
    async fn list_containers(&self, project: &str) -> Result<Vec<ObservedContainer>> {
        let listed = self
            .list_listings(&Selection::Project(project.to_string()))
            .await?;
        Ok(listed.into_iter().map(|l| l.observed).collect())
    }
    /// Host ports published by running containers, of any project.
    async fn list_published_ports(&self) -> Result<Vec<PublishedPort>>;
    /// Create a container (attached to all its networks, not started);
    /// returns its id.
    async fn create_container(&self, request: CreateRequest) -> Result<String>;
    /// Start a container.
    async fn start_container(&self, id: &str) -> Result<()>;
    /// Attach a container to a network, with its aliases and address.
    async fn connect_network(&self, id: &str, attachment: &planner::Attachment) -> Result<()>;
    /// Take a container off a network.
    async fn disconnect_network(&self, network: &str, id: &str) -> Result<()>;
    /// Give a container another name.
    async fn rename_container(&self, id: &str, name: &str) -> Result<()>;
    /// Stop a container, killing it after `timeout`.
    async fn stop_container(&self, id: &str, timeout: Duration) -> Result<()>;
    /// Remove a container (a running one is killed first); its anonymous
    /// volumes too when asked.
    async fn remove_container(&self, id: &str, anonymous_volumes: bool) -> Result<()>;
    /// Detailed status.
    async fn inspect_container(&self, id: &str) -> Result<ContainerStatus>;
    /// Send a signal (`SIGKILL`, `HUP`, `9`...) to a running container.
    async fn kill_container(&self, id: &str, signal: &str) -> Result<()>;
    /// Freeze (`true`) or thaw (`false`) a container's processes.
    async fn pause_container(&self, id: &str, paused: bool) -> Result<()>;
    /// The processes running in a container.
    async fn top(&self, id: &str) -> Result<Processes>;
    /// Wait until a container is not running; its exit code.
    async fn wait_container(&self, id: &str) -> Result<i64>;
    /// What a running container uses now.
    async fn stats(&self, id: &str) -> Result<ContainerStats>;
}

/// What runs inside containers: output, and commands run in them.
#[async_trait]
pub trait Streams: Send + Sync {
    /// Container output.
    fn logs(&self, id: &str, options: LogOptions) -> BoxStream<'static, Result<LogLine>>;
    /// Run a command in a container and collect its output.
    async fn exec(&self, id: &str, request: ExecRequest) -> Result<ExecOutput>;
    /// Run a command in a container wired to `input` and `output` (with a
    /// pseudo-terminal when `tty`); returns its exit code. With
    /// `request.detach`, start it and return 0 at once.
    async fn exec_attached(
        &self,
        id: &str,
        request: ExecRequest,
        tty: bool,
        io: AttachedIo,
    ) -> Result<i64>;
}

/// Files in and out of a container (`cp`), as tar archives.
#[async_trait]
pub trait Archives: Send + Sync {
    /// Whether `path` in the container is a directory; `None` when
    /// nothing is there.
    async fn path_is_dir(&self, id: &str, path: &str) -> Result<Option<bool>>;
    /// `path` (a file or a whole directory) as a tar whose one top entry
    /// is its base name.
    async fn download(&self, id: &str, path: &str) -> Result<Vec<u8>>;
    /// Unpack `tar` into the directory `dir`; with `keep_owners`, as the
    /// archive's uid/gid, else as the container's root.
    async fn upload(&self, id: &str, dir: &str, tar: Vec<u8>, keep_owners: bool) -> Result<()>;
}

/// What a created container's main process reads and writes.
#[async_trait]
pub trait Attach: Send + Sync {
    /// Wire a created (not yet started) container's stdin, stdout and
    /// stderr to `io`; the returned future ends when its output does (the
    /// process exited). Start the container after this returns.
    async fn attach_container(
        &self,
        id: &str,
        io: AttachedIo,
    ) -> Result<futures::future::BoxFuture<'static, Result<()>>>;
}

/// What happens on the engine.
pub trait Events: Send + Sync {
    /// Engine events about `project`'s objects (`""`: every project's),
    /// from the moment the stream is first polled.
    fn events(&self, project: &str) -> BoxStream<'static, Result<EngineEvent>>;
}

/// A swarm's replicated services. An engine that is no swarm manager
/// ([`Capabilities::swarm`] false) answers every call with
/// [`EngineError::NotSwarm`].
#[async_trait]
pub trait Services: Send + Sync {
    /// The services labelled with `project` (`""`: every project's).
    async fn list_services(&self, project: &str) -> Result<Vec<ServiceStatus>>;
    /// Create a service; returns its id.
    async fn create_service(&self, request: ServiceRequest) -> Result<String>;
    /// Make service `id`, read at `version`, what `request` says; after a
    /// change made since that version, it is refused ("update out of
    /// sequence", as the engine says it).
    async fn update_service(&self, id: &str, version: u64, request: ServiceRequest) -> Result<()>;
    /// Remove a service and its tasks.
    async fn remove_service(&self, id: &str) -> Result<()>;
}

/// The two ends an attached exec talks to.
pub struct AttachedIo {
    /// What the command reads.
    pub input: Pin<Box<dyn AsyncRead + Send>>,
    /// Where its output goes.
    pub output: Pin<Box<dyn AsyncWrite + Send>>,
}
