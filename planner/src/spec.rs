//! The engine-neutral description of one container to create, derived from
//! a service definition and a replica number. Engines translate it into
//! their own API; references to other services stay symbolic ([`Ref`]) and
//! are resolved to container ids when the container is created.

use std::collections::BTreeMap;
use std::time::Duration;

use schema::{MountType, NamespaceRef, Project, RestartPolicy, Service};
use serde::{Deserialize, Serialize};

use crate::observed::labels;

/// A replica of a service, to be resolved to a container when needed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Ref {
    /// Service name.
    pub service: String,
    /// Replica number (1-based).
    pub replica: u32,
}

/// Whose namespace a container joins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Namespace {
    /// A replica of another service of the stack.
    Service(Ref),
    /// A container outside the stack, by name or id.
    Container(String),
    /// Anything else the engine understands as is (`host`, `shareable`, `private`).
    Mode(String),
}

/// A network the container joins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// Engine-side network name.
    pub network: String,
    /// DNS names on that network (the service name first).
    pub aliases: Vec<String>,
    /// Static IPv4 address.
    pub ipv4_address: Option<String>,
    /// Static IPv6 address.
    pub ipv6_address: Option<String>,
    /// Legacy `links:`, as the engine takes them: `container:alias`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
    /// Static MAC address on that network (the service-level
    /// `mac_address` is the first network's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
}

/// How the container is networked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Networking {
    /// Join these networks (the first at create time, the rest before start).
    Networks(Vec<Attachment>),
    /// Share a namespace (`network_mode: service:x` / `container:x`).
    Shared(Namespace),
    /// `host`, `none` or `bridge`.
    Mode(String),
}

/// What a [`Mount`] mounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MountKind {
    /// A named or anonymous volume.
    Volume,
    /// A host path.
    Bind,
    /// A memory-backed filesystem.
    Tmpfs,
    /// A named pipe (Windows engines).
    Npipe,
    /// An image, read-only.
    Image,
    /// A cluster volume (Swarm CSI).
    Cluster,
}

impl From<MountType> for MountKind {
    fn from(kind: MountType) -> MountKind {
        match kind {
            MountType::Volume => MountKind::Volume,
            MountType::Bind => MountKind::Bind,
            MountType::Tmpfs => MountKind::Tmpfs,
            MountType::Npipe => MountKind::Npipe,
            MountType::Image => MountKind::Image,
            MountType::Cluster => MountKind::Cluster,
        }
    }
}

/// How a read-only bind treats the mounts below its source
/// (`bind.recursive`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recursion {
    /// Submounts are not bound at all.
    Disabled,
    /// Submounts stay writable in a read-only bind.
    Writable,
    /// Submounts are read-only too, or the mount fails.
    Readonly,
}

/// One mount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mount {
    /// Kind.
    pub kind: MountKind,
    /// Engine volume name or absolute host path; `None` for anonymous
    /// volumes and tmpfs.
    pub source: Option<String>,
    /// Path in the container.
    pub target: String,
    /// Read-only.
    pub read_only: bool,
    /// Create a missing bind source as a directory.
    pub create_host_path: bool,
    /// Volume: do not copy image content into an empty volume.
    pub nocopy: bool,
    /// Tmpfs size in bytes.
    pub tmpfs_size: Option<u64>,
    /// Tmpfs mode.
    pub tmpfs_mode: Option<u32>,
    /// Bind: mount propagation (`rprivate`, `shared`, `rslave`...).
    #[serde(default)]
    pub propagation: Option<String>,
    /// Bind: SELinux relabelling, `z` (shared) or `Z` (private).
    #[serde(default)]
    pub selinux: Option<String>,
    /// Bind: how submounts are treated; the engine's default (recursive,
    /// read-only as far as the kernel allows) when `None`.
    #[serde(default)]
    pub recursion: Option<Recursion>,
    /// Volume: mount only this path inside it.
    #[serde(default)]
    pub subpath: Option<String>,
}

impl Mount {
    /// A read-only bind of the host path `source` at `target`, which must
    /// exist (the copies of secrets and configs).
    pub fn read_only_bind(source: String, target: String) -> Mount {
        Mount {
            kind: MountKind::Bind,
            source: Some(source),
            target,
            read_only: true,
            create_host_path: false,
            nocopy: false,
            tmpfs_size: None,
            tmpfs_mode: None,
            propagation: None,
            selinux: None,
            recursion: None,
            subpath: None,
        }
    }
}

/// What a container may use, with the file's precedence settled: a
/// service-level `mem_limit`, `mem_reservation`, `cpus` or `pids_limit`
/// over its `deploy.resources` counterpart, as Compose has it. Sizes in
/// bytes, CPUs in billionths.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    /// Memory limit.
    pub memory: Option<i64>,
    /// Memory reservation (soft limit).
    pub memory_reservation: Option<i64>,
    /// Memory plus swap limit.
    pub memory_swap: Option<i64>,
    /// CPU limit, in billionths of a CPU.
    pub nano_cpus: Option<i64>,
    /// Relative CPU weight.
    pub cpu_shares: Option<i64>,
    /// CPUs it may run on (`0-3`).
    pub cpuset: Option<String>,
    /// Process count limit.
    pub pids: Option<i64>,
    /// `/dev/shm` size.
    pub shm_size: Option<i64>,
    /// `ulimits`: name, soft, hard.
    pub ulimits: Vec<(String, i64, i64)>,
}

/// The container's settings the engine takes as the file gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerOptions {
    /// `user`.
    pub user: Option<String>,
    /// `working_dir`.
    pub working_dir: Option<String>,
    /// `hostname`.
    pub hostname: Option<String>,
    /// `domainname`.
    pub domainname: Option<String>,
    /// `tty`.
    pub tty: Option<bool>,
    /// `stdin_open`.
    pub stdin_open: Option<bool>,
    /// `stop_signal`.
    pub stop_signal: Option<String>,
    /// `init`.
    pub init: Option<bool>,
    /// `privileged`.
    pub privileged: Option<bool>,
    /// `read_only`.
    pub read_only: Option<bool>,
    /// `cap_add`.
    pub cap_add: Option<Vec<String>>,
    /// `cap_drop`.
    pub cap_drop: Option<Vec<String>>,
    /// `security_opt`.
    pub security_opt: Option<Vec<String>>,
    /// `dns`: the service's own resolvers (then the stack's DNS is not
    /// added before them).
    pub dns: Option<Vec<String>>,
    /// `dns_search`.
    pub dns_search: Option<Vec<String>>,
    /// `dns_opt`.
    pub dns_options: Option<Vec<String>>,
    /// `sysctls`.
    pub sysctls: Option<BTreeMap<String, String>>,
    /// `group_add`.
    pub group_add: Option<Vec<String>>,
    /// `runtime`.
    pub runtime: Option<String>,
    /// `cgroup_parent`.
    pub cgroup_parent: Option<String>,
    /// `uts`.
    pub uts: Option<String>,
    /// `userns_mode`.
    pub userns_mode: Option<String>,
    /// `oom_score_adj`.
    pub oom_score_adj: Option<i64>,
    /// `logging`: driver and options.
    pub log_driver: Option<String>,
    /// `logging.options`.
    pub log_options: Option<BTreeMap<String, String>>,
}

impl ContainerOptions {
    fn of(svc: &Service) -> ContainerOptions {
        ContainerOptions {
            user: svc.user.as_ref().map(|u| u.0.clone()),
            working_dir: svc.working_dir.clone(),
            hostname: svc.hostname.clone(),
            domainname: svc.domainname.clone(),
            tty: svc.tty,
            stdin_open: svc.stdin_open,
            stop_signal: svc.stop_signal.clone(),
            init: svc.init,
            privileged: svc.privileged,
            read_only: svc.read_only,
            cap_add: svc.cap_add.clone(),
            cap_drop: svc.cap_drop.clone(),
            security_opt: svc.security_opt.clone(),
            dns: svc.dns.as_ref().map(|d| d.0.clone()),
            dns_search: svc.dns_search.as_ref().map(|d| d.0.clone()),
            dns_options: svc.dns_opt.clone(),
            sysctls: svc.sysctls.clone(),
            group_add: svc
                .group_add
                .as_ref()
                .map(|g| g.iter().map(|t| t.0.clone()).collect()),
            runtime: svc.runtime.clone(),
            cgroup_parent: svc.cgroup_parent.clone(),
            uts: svc.uts.clone(),
            userns_mode: svc.userns_mode.clone(),
            oom_score_adj: svc.oom_score_adj,
            log_driver: svc.logging.as_ref().and_then(|l| l.driver.clone()),
            log_options: svc.logging.as_ref().and_then(|l| l.options.clone()),
        }
    }
}

/// Whether a [`FileUse`] is a secret or a config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    /// Under `secrets:`.
    Secret,
    /// Under `configs:`.
    Config,
}

impl FileKind {
    /// `secret` or `config`, as the file and the digests' keys say it.
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Secret => "secret",
            FileKind::Config => "config",
        }
    }
}

/// One use of a secret or config by a service: what to mount, where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileUse {
    /// A secret or a config.
    pub kind: FileKind,
    /// The top-level name.
    pub name: String,
    /// Path in the container.
    pub target: String,
    /// Owner in the container (numeric).
    pub uid: Option<u32>,
    /// Group in the container (numeric).
    pub gid: Option<u32>,
    /// Permission bits.
    pub mode: u32,
}

/// The secrets and configs `svc` mounts, where Compose mounts them: a
/// secret under `/run/secrets` unless its target is absolute, a config at
/// its target or `/<name>`; mode 0444 unless given.
pub fn file_uses(svc: &Service) -> Vec<FileUse> {
    let one = |kind: FileKind, r: &schema::FileRef| {
        let target = match (kind, r.target.as_deref()) {
            (FileKind::Secret, Some(t)) if t.starts_with('/') => t.to_string(),
            (FileKind::Secret, Some(t)) => format!("/run/secrets/{t}"),
            (FileKind::Secret, None) => format!("/run/secrets/{}", r.source),
            (FileKind::Config, Some(t)) => t.to_string(),
            (FileKind::Config, None) => format!("/{}", r.source),
        };
        let number = |t: &Option<schema::Text>| t.as_ref().and_then(|t| t.0.parse().ok());
        FileUse {
            kind,
            name: r.source.clone(),
            target,
            uid: number(&r.uid),
            gid: number(&r.gid),
            mode: r.mode.as_ref().map_or(0o444, |m| m.0),
        }
    };
    let secrets = svc
        .secrets
        .iter()
        .flatten()
        .map(|r| one(FileKind::Secret, r));
    let configs = svc
        .configs
        .iter()
        .flatten()
        .map(|r| one(FileKind::Config, r));
    secrets.chain(configs).collect()
}

/// A host device made available in the container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceMapping {
    /// Path on the host.
    pub host: String,
    /// Path in the container.
    pub container: String,
    /// cgroup permissions (`rwm`).
    pub permissions: String,
}

/// One published port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortBinding {
    /// Container port.
    pub target: u16,
    /// `tcp`, `udp`, `sctp`.
    pub protocol: String,
    /// Host address; all when `None`.
    pub host_ip: Option<String>,
    /// Host port or range; random when `None`.
    pub published: Option<String>,
}

impl PortBinding {
    /// The one host port it publishes, when it names one (a range or none
    /// lets the engine pick).
    pub fn fixed_host_port(&self) -> Option<u16> {
        self.published.as_deref().and_then(|p| p.parse().ok())
    }
}

/// Which ends of a container the engine restarts it after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Restart {
    /// Every end, and at engine start.
    Always,
    /// Every end but a stop by the user, and at engine start unless so
    /// stopped.
    UnlessStopped,
    /// Non-zero exits, at most `max_retries` times when bounded.
    OnFailure {
        /// Most restarts.
        max_retries: Option<u32>,
    },
}

/// The health probe, with defaults applied by the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthProbe {
    /// `["CMD", ...]`, `["CMD-SHELL", ...]` or `["NONE"]`.
    pub test: Vec<String>,
    /// Between probes.
    pub interval: Option<Duration>,
    /// Per probe.
    pub timeout: Option<Duration>,
    /// Failures before unhealthy.
    pub retries: Option<u32>,
    /// Grace after start.
    pub start_period: Option<Duration>,
    /// Probe interval during the start period.
    pub start_interval: Option<Duration>,
}

/// Everything needed to create one container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerSpec {
    /// Which replica this is.
    pub of: Ref,
    /// Container name.
    pub name: String,
    /// Image reference.
    pub image: String,
    /// CMD override.
    pub command: Option<Vec<String>>,
    /// ENTRYPOINT override.
    pub entrypoint: Option<Vec<String>>,
    /// `KEY=VALUE`, sorted.
    pub env: Vec<String>,
    /// Labels, ours included (the hash labels are added when created).
    pub labels: BTreeMap<String, String>,
    /// Networking.
    pub networking: Networking,
    /// PID namespace.
    pub pid: Option<Namespace>,
    /// IPC namespace.
    pub ipc: Option<Namespace>,
    /// Mounts.
    pub mounts: Vec<Mount>,
    /// Mount all volumes of these (read-only when `true`).
    pub volumes_from: Vec<(Namespace, bool)>,
    /// Published ports.
    pub ports: Vec<PortBinding>,
    /// Exposed (unpublished) ports as `port/proto`.
    pub expose: Vec<String>,
    /// When the engine restarts it; `None`: never (`restart: no`, or the
    /// agent restarts it by `deploy.restart_policy`).
    pub restart: Option<Restart>,
    /// Health probe.
    pub healthcheck: Option<HealthProbe>,
    /// Its main process's stdin is attached once and closed when the
    /// client closes it (a one-off fed by a pipe); service containers are
    /// never attached.
    #[serde(default)]
    pub stdin_once: bool,
    /// What it may use.
    #[serde(default)]
    pub resources: Resources,
    /// tmpfs mounts of the short `tmpfs:` form: path -> mount options.
    #[serde(default)]
    pub tmpfs: BTreeMap<String, String>,
    /// Extra `/etc/hosts` entries, as the engine takes them (`host:ip`).
    #[serde(default)]
    pub extra_hosts: Vec<String>,
    /// Host devices.
    #[serde(default)]
    pub devices: Vec<DeviceMapping>,
    /// The secrets and configs it mounts.
    #[serde(default)]
    pub files: Vec<FileUse>,
    /// How long it gets to stop before it is killed (`stop_grace_period`).
    #[serde(default)]
    pub stop_grace: Option<Duration>,
    /// The part of the service definition that defines its containers
    /// ([`crate::hash::definition`]): what the config hash and the
    /// `io.stack.config` label are made of.
    pub definition: serde_json::Value,
    /// The settings taken as the file gives them.
    pub options: ContainerOptions,
}

impl ContainerSpec {
    /// Every [`Ref`] this container needs resolved to a container id.
    pub fn refs(&self) -> Vec<(&'static str, &Ref)> {
        let mut out = Vec::new();
        if let Networking::Shared(Namespace::Service(r)) = &self.networking {
            out.push(("network_mode", r));
        }
        if let Some(Namespace::Service(r)) = &self.pid {
            out.push(("pid", r));
        }
        if let Some(Namespace::Service(r)) = &self.ipc {
            out.push(("ipc", r));
        }
        for (ns, _) in &self.volumes_from {
            if let Namespace::Service(r) = ns {
                out.push(("volumes_from", r));
            }
        }
        out
    }
}

/// `<project>-<service>-<replica>`, or the fixed `container_name`.
pub fn container_name(project: &str, service: &str, svc: &Service, replica: u32) -> String {
    svc.container_name
        .clone()
        .unwrap_or_else(|| format!("{project}-{service}-{replica}"))
}

/// How many replicas `name` runs. A sidecar (a service sharing another's
/// network, pid or ipc namespace) that sets no count of its own runs once
/// per replica of its parent, each attached to the matching replica.
pub fn replicas_of(project: &Project, name: &str) -> u32 {
    let mut current = name;
    // Follow a chain of sidecars; a cycle is refused by validation, and the
    // bound keeps this total anyway.
    for _ in 0..=project.services.len() {
        let Some(svc) = project.services.get(current) else {
            return 1;
        };
        let explicit =
            svc.scale.is_some() || svc.deploy.as_ref().is_some_and(|d| d.replicas.is_some());
        let parent = [&svc.network_mode, &svc.pid, &svc.ipc]
            .into_iter()
            .find_map(|v| v.as_ref().and_then(|v| v.service()));
        match parent {
            Some(p) if !explicit => current = p,
            _ => return svc.replicas(),
        }
    }
    1
}

/// `links: [db, "cache:redis"]` as the engine takes them: every replica
/// of the linked service under the link's alias (the service name unless
/// one is given), as Compose passes them.
fn links(project: &Project, project_name: &str, svc: &Service) -> Vec<String> {
    svc.links
        .iter()
        .flatten()
        .flat_map(|link| {
            let (target, alias) = link.split_once(':').unwrap_or((link, link));
            let replicas = project
                .services
                .get(target)
                .map(|t| (t, replicas_of(project, target)));
            replicas.into_iter().flat_map(move |(t, n)| {
                (1..=n)
                    .map(move |r| format!("{}:{alias}", container_name(project_name, target, t, r)))
            })
        })
        .collect()
}

/// The replica of `parent` a sidecar replica attaches to: the same number,
/// or the parent's last replica when the parent has fewer.
fn parent_ref(project: &Project, parent: &str, replica: u32) -> Ref {
    let parent_replicas = replicas_of(project, parent).max(1);
    Ref {
        service: parent.to_string(),
        replica: replica.min(parent_replicas),
    }
}

/// The file's namespace reference for `replica`: another service's is
/// the replica of the same number (see [`parent_ref`]).
fn namespace(project: &Project, value: &NamespaceRef, replica: u32) -> Namespace {
    match value {
        NamespaceRef::Service(s) => Namespace::Service(parent_ref(project, s, replica)),
        NamespaceRef::Container(c) => Namespace::Container(c.clone()),
        NamespaceRef::Mode(m) => Namespace::Mode(m.clone()),
    }
}

/// Compose's labels of `replica` of service `name` (see
/// [`labels::compose`]): what other tools read to show the project.
fn compose_labels(
    project: &Project,
    name: &str,
    svc: &Service,
    replica: u32,
) -> BTreeMap<String, String> {
    use labels::compose;
    let join = |paths: &[std::path::PathBuf]| {
        paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let depends_on = svc
        .depends_on
        .iter()
        .flatten()
        .map(|(dep, d)| {
            let condition = serde_json::to_value(d.condition)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            format!("{dep}:{condition}:{}", d.restart)
        })
        .collect::<Vec<_>>()
        .join(",");
    [
        (compose::PROJECT, project.project_name().to_string()),
        (compose::SERVICE, name.to_string()),
        (compose::CONTAINER_NUMBER, replica.to_string()),
        (compose::ONEOFF, "False".to_string()),
        (
            compose::WORKING_DIR,
            project.origin.working_dir.display().to_string(),
        ),
        (compose::CONFIG_FILES, join(&project.origin.config_files)),
        (compose::DEPENDS_ON, depends_on),
        (compose::VERSION, env!("CARGO_PKG_VERSION").to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Build the spec of `replica` of service `name`.
pub fn container_spec(project: &Project, name: &str, svc: &Service, replica: u32) -> ContainerSpec {
    let project_name = project.project_name().to_string();
    let mut labels: BTreeMap<String, String> = svc.labels.clone().unwrap_or_default();
    labels.insert(labels::PROJECT.into(), project_name.clone());
    labels.insert(labels::SERVICE.into(), name.to_string());
    labels.insert(labels::REPLICA.into(), replica.to_string());
    labels.extend(compose_labels(project, name, svc, replica));

    let env: Vec<String> = svc
        .environment
        .iter()
        .flat_map(|e| e.0.iter())
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect();

    let networking = match &svc.network_mode {
        Some(NamespaceRef::Mode(mode)) => Networking::Mode(mode.clone()),
        Some(shared) => Networking::Shared(namespace(project, shared, replica)),
        None => {
            let links = links(project, &project_name, svc);
            let mut attachments: Vec<(i64, Attachment)> = svc
                .networks
                .iter()
                .flatten()
                .map(|(key, cfg)| {
                    let engine_name = project
                        .networks
                        .get(key)
                        .and_then(|n| n.name.clone())
                        .unwrap_or_else(|| format!("{project_name}_{key}"));
                    let mut aliases = vec![name.to_string()];
                    aliases.extend(
                        cfg.as_ref()
                            .and_then(|c| c.aliases.clone())
                            .unwrap_or_default(),
                    );
                    let priority = cfg.as_ref().and_then(|c| c.priority).unwrap_or(0);
                    (
                        priority,
                        Attachment {
                            network: engine_name,
                            aliases,
                            ipv4_address: cfg.as_ref().and_then(|c| c.ipv4_address.clone()),
                            ipv6_address: cfg.as_ref().and_then(|c| c.ipv6_address.clone()),
                            links: links.clone(),
                            mac_address: cfg.as_ref().and_then(|c| c.mac_address.clone()),
                        },
                    )
                })
                .collect();
            // Higher priority first; ties keep name order.
            attachments.sort_by_key(|a| std::cmp::Reverse(a.0));
            let mut attachments: Vec<Attachment> =
                attachments.into_iter().map(|(_, a)| a).collect();
            // The service's MAC address is its main (first) network's, as
            // Compose has it.
            if let Some(main) = attachments.first_mut() {
                if main.mac_address.is_none() {
                    main.mac_address = svc.mac_address.clone();
                }
            }
            Networking::Networks(attachments)
        }
    };

    let mounts = svc
        .volumes
        .iter()
        .flatten()
        .map(|v| {
            let source = match (v.kind, &v.source) {
                (MountType::Volume, Some(key)) => Some(
                    project
                        .volumes
                        .get(key)
                        .and_then(|vol| vol.name.clone())
                        .unwrap_or_else(|| key.clone()),
                ),
                (_, s) => s.clone(),
            };
            let bind = v.bind.as_ref();
            Mount {
                kind: v.kind.into(),
                source,
                target: v.target.clone(),
                read_only: v.read_only,
                create_host_path: v
                    .bind
                    .as_ref()
                    .and_then(|b| b.create_host_path)
                    .unwrap_or(true),
                nocopy: v.volume.as_ref().and_then(|o| o.nocopy).unwrap_or(false),
                tmpfs_size: v.tmpfs.as_ref().and_then(|t| t.size).map(|s| s.0),
                tmpfs_mode: v.tmpfs.as_ref().and_then(|t| t.mode).map(|m| m.0),
                propagation: bind.and_then(|b| b.propagation.clone()),
                selinux: bind.and_then(|b| b.selinux.clone()),
                recursion: bind.and_then(|b| match b.recursive.as_deref() {
                    Some("disabled") => Some(Recursion::Disabled),
                    Some("writable") => Some(Recursion::Writable),
                    Some("readonly") => Some(Recursion::Readonly),
                    _ => None,
                }),
                subpath: v.volume.as_ref().and_then(|o| o.subpath.clone()),
            }
        })
        .collect();

    let volumes_from = svc
        .volumes_from
        .iter()
        .flatten()
        .map(|entry| (namespace(project, &entry.source, replica), entry.read_only))
        .collect();

    let ports = svc
        .ports
        .iter()
        .flatten()
        .map(|p| PortBinding {
            target: p.target,
            protocol: p.protocol.clone(),
            host_ip: p.host_ip.clone(),
            published: replica_port(p, replicas_of(project, name), replica),
        })
        .collect();

    let expose = svc
        .expose
        .iter()
        .flat_map(|e| e.0.iter())
        .map(|e| {
            if e.contains('/') {
                e.clone()
            } else {
                format!("{e}/tcp")
            }
        })
        .collect();

    // One restart controller per service: `deploy.restart_policy` is the
    // agent's, so the engine gets no policy of its own then.
    let agent_restarts = svc
        .deploy
        .as_ref()
        .is_some_and(|d| d.restart_policy.is_some());
    let restart = svc
        .restart
        .filter(|_| !agent_restarts)
        .and_then(|r| match r {
            RestartPolicy::No => None,
            RestartPolicy::Always => Some(Restart::Always),
            RestartPolicy::UnlessStopped => Some(Restart::UnlessStopped),
            RestartPolicy::OnFailure { max_retries } => Some(Restart::OnFailure { max_retries }),
        });

    let healthcheck = svc.healthcheck.as_ref().map(|h| HealthProbe {
        test: if h.disable {
            vec!["NONE".into()]
        } else {
            h.test.clone().unwrap_or_default()
        },
        interval: h.interval.map(|d| d.0),
        timeout: h.timeout.map(|d| d.0),
        retries: h.retries,
        start_period: h.start_period.map(|d| d.0),
        start_interval: h.start_interval.map(|d| d.0),
    });

    ContainerSpec {
        of: Ref {
            service: name.to_string(),
            replica,
        },
        name: container_name(&project_name, name, svc, replica),
        image: project.image_of(name, svc),
        command: svc.command.as_ref().map(|c| c.0.clone()),
        entrypoint: svc.entrypoint.as_ref().map(|c| c.0.clone()),
        env,
        labels,
        networking,
        pid: svc.pid.as_ref().map(|p| namespace(project, p, replica)),
        ipc: svc.ipc.as_ref().map(|p| namespace(project, p, replica)),
        mounts,
        volumes_from,
        ports,
        expose,
        restart,
        healthcheck,
        stdin_once: false,
        resources: resources(svc),
        tmpfs: svc
            .tmpfs
            .iter()
            .flat_map(|t| t.0.iter())
            .map(|t| match t.split_once(':') {
                Some((path, opts)) => (path.to_string(), opts.to_string()),
                None => (t.clone(), String::new()),
            })
            .collect(),
        // Compose takes `host=ip` too; the engine only `host:ip`.
        extra_hosts: (svc.extra_hosts.iter().flatten())
            .map(|e| e.replacen('=', ":", 1))
            .collect(),
        devices: (svc.devices.iter().flatten())
            .map(|d| DeviceMapping {
                host: d.source.clone(),
                container: d.target.clone(),
                permissions: d.permissions.clone(),
            })
            .collect(),
        files: file_uses(svc),
        stop_grace: svc.stop_grace_period.map(|d| d.0),
        definition: crate::hash::definition(svc),
        options: ContainerOptions::of(svc),
    }
}

/// The service's [`Resources`]: its own settings first, then
/// `deploy.resources`.
fn resources(svc: &Service) -> Resources {
    let resources = svc.deploy.as_ref().and_then(|d| d.resources.as_ref());
    let limits = resources.and_then(|r| r.limits.as_ref());
    let reservations = resources.and_then(|r| r.reservations.as_ref());
    let bytes = |b: Option<schema::units::ByteSize>| b.and_then(|b| i64::try_from(b.0).ok());
    Resources {
        memory: bytes(svc.mem_limit.or(limits.and_then(|l| l.memory))),
        memory_reservation: bytes(svc.mem_reservation.or(reservations.and_then(|r| r.memory))),
        memory_swap: bytes(svc.memswap_limit),
        nano_cpus: svc
            .cpus
            .or(limits.and_then(|l| l.cpus))
            .map(|c| (c * 1e9) as i64),
        cpu_shares: svc.cpu_shares,
        cpuset: svc.cpuset.clone(),
        pids: svc.pids_limit.or(limits.and_then(|l| l.pids)),
        shm_size: bytes(svc.shm_size),
        ulimits: (svc.ulimits.iter().flatten())
            .map(|(name, l)| {
                let (soft, hard) = l.limits();
                (name.clone(), soft, hard)
            })
            .collect(),
    }
}

/// The host port of `replica` for a port published as a range on a
/// replicated service: one port of the range per replica. A single port or
/// a single replica keeps the published value as written.
fn replica_port(p: &schema::PortConfig, replicas: u32, replica: u32) -> Option<String> {
    let published = p.published.clone()?;
    match p.published_range() {
        Some((lo, hi)) if replicas > 1 && lo != hi => {
            let port = u32::from(lo) + replica - 1;
            Some(port.min(u32::from(hi)).to_string())
        }
        _ => Some(published),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(yaml: &str) -> Project {
        crate::testing::project(yaml)
    }

    #[test]
    fn names_labels_and_env() {
        let p = project("services:\n  web:\n    image: busybox:1.36\n    environment: {B: '2', A: '1', UNSET: null}\n    labels: {x: y}\n");
        let s = container_spec(&p, "web", &p.services["web"], 2);
        assert_eq!(s.name, "test-web-2");
        assert_eq!(s.env, vec!["A=1", "B=2"]);
        assert_eq!(s.labels["io.stack.replica"], "2");
        assert_eq!(s.labels["x"], "y");
        assert_eq!(
            s.networking,
            Networking::Networks(vec![Attachment {
                network: "test_default".into(),
                aliases: vec!["web".into()],
                ipv4_address: None,
                ipv6_address: None,
                links: vec![],
                mac_address: None,
            }])
        );
    }

    #[test]
    fn limits_take_the_services_own_settings_over_deploy_resources() {
        let p = project("services:\n  web:\n    image: busybox:1.36\n    mem_limit: 64m\n    pids_limit: 50\n    tmpfs: ['/run:size=1m', /tmp]\n    extra_hosts: ['db=10.0.0.5']\n    ulimits: {nofile: {soft: 10, hard: 20}, nproc: 5}\n    devices: ['/dev/null:/dev/nul:r']\n    deploy:\n      resources:\n        limits: {memory: 128m, cpus: '0.5', pids: 99}\n        reservations: {memory: 32m}\n");
        let s = container_spec(&p, "web", &p.services["web"], 1);
        let r = &s.resources;
        assert_eq!(r.memory, Some(64 * 1024 * 1024), "mem_limit over deploy's");
        assert_eq!(r.pids, Some(50));
        assert_eq!(
            r.nano_cpus,
            Some(500_000_000),
            "deploy's when the service sets none"
        );
        assert_eq!(r.memory_reservation, Some(32 * 1024 * 1024));
        assert_eq!(
            r.ulimits,
            [("nofile".to_string(), 10, 20), ("nproc".to_string(), 5, 5)]
        );
        assert_eq!(s.tmpfs["/run"], "size=1m");
        assert_eq!(s.tmpfs["/tmp"], "");
        assert_eq!(s.extra_hosts, ["db:10.0.0.5"]);
        assert_eq!(s.devices[0].container, "/dev/nul");
        assert_eq!(s.devices[0].permissions, "r");
    }

    #[test]
    fn links_name_every_replica_under_the_alias() {
        let p = project(
            "services:\n  web:\n    image: busybox:1.36\n    links: [db, 'cache:redis']\n  db:\n    image: busybox:1.36\n    deploy: {replicas: 2}\n  cache:\n    image: busybox:1.36\n",
        );
        let spec = container_spec(&p, "web", &p.services["web"], 1);
        let Networking::Networks(list) = &spec.networking else {
            panic!("{:?}", spec.networking)
        };
        assert_eq!(
            list[0].links,
            vec!["test-db-1:db", "test-db-2:db", "test-cache-1:redis"]
        );
        // A link is a dependency, as in Compose.
        assert!(p.services["web"]
            .depends_on
            .as_ref()
            .unwrap()
            .contains_key("db"));
    }

    #[test]
    fn sidecars_attach_to_the_matching_replica() {
        let p = project(
            "services:\n  app:\n    image: busybox:1.36\n    deploy: {replicas: 3}\n  side:\n    image: busybox:1.36\n    network_mode: service:app\n    pid: service:app\n    deploy: {replicas: 3}\n",
        );
        let s = container_spec(&p, "side", &p.services["side"], 2);
        let want = Ref {
            service: "app".into(),
            replica: 2,
        };
        assert_eq!(
            s.networking,
            Networking::Shared(Namespace::Service(want.clone()))
        );
        assert_eq!(s.pid, Some(Namespace::Service(want)));
        assert_eq!(s.refs().len(), 2);
    }

    #[test]
    fn sidecars_follow_their_parents_replica_count() {
        let p = project(
            "services:\n  app:\n    image: busybox:1.36\n    deploy: {replicas: 3}\n  side:\n    image: busybox:1.36\n    network_mode: service:app\n  one:\n    image: busybox:1.36\n    pid: service:app\n    scale: 1\n",
        );
        assert_eq!(replicas_of(&p, "side"), 3);
        assert_eq!(replicas_of(&p, "one"), 1);
        assert_eq!(replicas_of(&p, "app"), 3);
    }

    #[test]
    fn port_ranges_spread_over_replicas() {
        let p = project("services:\n  web:\n    image: busybox:1.36\n    deploy: {replicas: 3}\n    ports: ['8080-8082:80']\n");
        let ports: Vec<_> = (1..=3)
            .map(|r| {
                container_spec(&p, "web", &p.services["web"], r).ports[0]
                    .published
                    .clone()
            })
            .collect();
        assert_eq!(
            ports,
            vec![
                Some("8080".into()),
                Some("8081".into()),
                Some("8082".into())
            ]
        );
    }

    #[test]
    fn named_volumes_use_engine_names() {
        let p = project("services:\n  db:\n    image: busybox:1.36\n    volumes: ['data:/data:ro', '/anon']\nvolumes:\n  data: {}\n");
        let s = container_spec(&p, "db", &p.services["db"], 1);
        assert_eq!(s.mounts[0].source.as_deref(), Some("test_data"));
        assert!(s.mounts[0].read_only);
        assert_eq!(s.mounts[1].source, None);
    }

    #[test]
    fn targets_follow_compose() {
        let r = |source: &str, target: Option<&str>| schema::FileRef {
            source: source.into(),
            target: target.map(Into::into),
            uid: None,
            gid: None,
            mode: None,
        };
        let owned = schema::FileRef {
            mode: Some(schema::units::FileMode(0o400)),
            uid: Some(schema::Text("100".into())),
            ..r("abs", Some("/etc/abs"))
        };
        let svc = Service {
            secrets: Some(vec![r("db", None), r("api", Some("key")), owned]),
            configs: Some(vec![r("conf", None), r("nginx", Some("/etc/nginx.conf"))]),
            ..Default::default()
        };
        let got: Vec<(String, u32, Option<u32>)> = file_uses(&svc)
            .into_iter()
            .map(|u| (u.target, u.mode, u.uid))
            .collect();
        assert_eq!(
            got,
            vec![
                ("/run/secrets/db".into(), 0o444, None),
                ("/run/secrets/key".into(), 0o444, None),
                ("/etc/abs".into(), 0o400, Some(100)),
                ("/conf".into(), 0o444, None),
                ("/etc/nginx.conf".into(), 0o444, None),
            ]
        );
    }
}
