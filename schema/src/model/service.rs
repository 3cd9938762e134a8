//! A service definition, field for field as the Compose specification
//! names them, each in its one normalised form.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::forms::{extra_hosts, string_map, Command, Dict, StringMap, Strings, Text};
use super::ports::{ports, PortConfig};
use super::volumes::{volumes, ServiceVolume};
use crate::units::{ByteSize, Duration, FileMode};

/// A raw value for rarely used keys we accept, keep and pass on as is.
pub type Raw = serde_json::Value;

/// One service of the stack.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    // --- what runs ---
    /// Image reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// How to build the image.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "build"
    )]
    pub build: Option<Build>,
    /// Overrides the image's CMD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Command>,
    /// Overrides the image's ENTRYPOINT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Command>,
    /// Environment variables; `None` values are taken from the shell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Dict>,
    /// Files of `KEY=VALUE` lines merged into `environment` by the loader.
    #[serde(default, skip_serializing, deserialize_with = "env_files")]
    pub env_file: Option<Vec<EnvFile>>,
    /// User (and group) to run as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Text>,
    /// Working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// Run an init process as PID 1 that forwards signals and reaps zombies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
    /// Allocate a TTY.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<bool>,
    /// Keep stdin open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin_open: Option<bool>,
    /// Signal sent to stop the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// How long to wait after the stop signal before killing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_grace_period: Option<Duration>,
    /// `no`, `always`, `on-failure[:max]`, `unless-stopped`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<crate::policy::RestartPolicy>,
    /// Health probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    /// Services that must be up (or healthy, or done) first.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "depends_on"
    )]
    pub depends_on: Option<BTreeMap<String, DependsOn>>,
    /// Replica count and runtime policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy: Option<Deploy>,
    /// Replica count (Compose's older spelling of `deploy.replicas`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<u32>,
    /// Profiles this service belongs to; none means always enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profiles: Option<Strings>,
    /// `always`, `missing`, `never`, `build`, `daily`...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_policy: Option<crate::policy::PullPolicy>,
    /// Inherit another service's definition (resolved by the loader).
    #[serde(default, skip_serializing)]
    pub extends: Option<Raw>,

    // --- identity ---
    /// Fixed container name (only with one replica).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    /// Container host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Container domain name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domainname: Option<String>,
    /// Labels on the container.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_map"
    )]
    pub labels: Option<StringMap>,
    /// OCI annotations.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_map"
    )]
    pub annotations: Option<StringMap>,

    // --- networking ---
    /// Published ports.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "ports"
    )]
    pub ports: Option<Vec<PortConfig>>,
    /// Ports reachable from other services without publishing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expose: Option<Strings>,
    /// Networks to join, with per-network settings.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "service_networks"
    )]
    pub networks: Option<BTreeMap<String, Option<ServiceNetwork>>>,
    /// `none`, `host`, `bridge`, `service:<name>`, `container:<name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<crate::NamespaceRef>,
    /// DNS servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<Strings>,
    /// DNS search domains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_search: Option<Strings>,
    /// Resolver options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_opt: Option<Vec<String>>,
    /// Extra `/etc/hosts` lines, as `host=address`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "extra_hosts"
    )]
    pub extra_hosts: Option<Vec<String>>,
    /// MAC address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    /// Legacy links (`service[:alias]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<Vec<String>>,
    /// Legacy links to containers outside the stack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_links: Option<Vec<String>>,

    // --- namespaces ---
    /// PID namespace: `host`, `service:<name>`, `container:<name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<crate::NamespaceRef>,
    /// IPC namespace: `host`, `shareable`, `private`, `service:<name>`...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipc: Option<crate::NamespaceRef>,
    /// UTS namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uts: Option<String>,
    /// User namespace mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userns_mode: Option<String>,
    /// Cgroup namespace: `host` or `private`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,

    // --- storage ---
    /// Mounts.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "volumes"
    )]
    pub volumes: Option<Vec<ServiceVolume>>,
    /// Mount all volumes of another service or container (`name[:ro]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes_from: Option<Vec<crate::VolumesFrom>>,
    /// Tmpfs mounts (`/run` or `/run:size=64m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tmpfs: Option<Strings>,
    /// Read-only root filesystem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// Size of /dev/shm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<ByteSize>,
    /// Secrets mounted under /run/secrets.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "file_refs"
    )]
    pub secrets: Option<Vec<FileRef>>,
    /// Configs mounted into the container.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "file_refs"
    )]
    pub configs: Option<Vec<FileRef>>,

    // --- security ---
    /// Capabilities to add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap_add: Option<Vec<String>>,
    /// Capabilities to drop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap_drop: Option<Vec<String>>,
    /// Run with all capabilities and devices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    /// Security options (`no-new-privileges:true`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_opt: Option<Vec<String>>,
    /// Extra groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_add: Option<Vec<Text>>,

    // --- resources ---
    /// Resource limits per process kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ulimits: Option<BTreeMap<String, Ulimit>>,
    /// Kernel parameters.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_map"
    )]
    pub sysctls: Option<StringMap>,
    /// Memory limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_limit: Option<ByteSize>,
    /// Memory soft limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_reservation: Option<ByteSize>,
    /// Memory plus swap limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memswap_limit: Option<ByteSize>,
    /// CPU limit in cores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    /// Relative CPU weight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<i64>,
    /// CPUs the container may run on (`0-1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpuset: Option<String>,
    /// Maximum number of processes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<i64>,
    /// OOM killer preference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_score_adj: Option<i64>,
    /// Host devices (`/dev/fuse`, `/dev/a:/dev/b:r`, or the long form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devices: Option<Vec<Device>>,

    // --- engine details ---
    /// Logging driver and options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<Logging>,
    /// Target platform (`linux/amd64`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// OCI runtime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// Parent cgroup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_parent: Option<String>,

    // --- accepted and passed on as written ---
    /// Attach to logs on `up` (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<Raw>,
    /// Block IO limits (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blkio_config: Option<Raw>,
    /// CPU count (Windows; kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_count: Option<Raw>,
    /// CPU percent (Windows; kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<Raw>,
    /// CFS period (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_period: Option<Raw>,
    /// CFS quota (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_quota: Option<Raw>,
    /// Realtime period (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_rt_period: Option<Raw>,
    /// Realtime runtime (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_rt_runtime: Option<Raw>,
    /// Windows credential spec (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_spec: Option<Raw>,
    /// `compose watch` rules (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub develop: Option<Raw>,
    /// Mount the engine's API socket and the CLI's credentials (kept; `up`
    /// refuses it, see `unsupported`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_api_socket: Option<bool>,
    /// AI models the service uses (kept; `up` refuses it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<Raw>,
    /// A service provided by a plugin rather than a container (kept; `up`
    /// refuses it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<Raw>,
    /// Device cgroup rules (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_cgroup_rules: Option<Raw>,
    /// GPU requests (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpus: Option<Raw>,
    /// Windows isolation (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation: Option<Raw>,
    /// Files of `KEY=VALUE` labels, merged under `labels` by the loader.
    #[serde(default, skip_serializing, deserialize_with = "label_files")]
    pub label_file: Option<Vec<String>>,
    /// Swappiness (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_swappiness: Option<Raw>,
    /// Disable the OOM killer (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_kill_disable: Option<Raw>,
    /// Commands run in the container right after it starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_start: Option<Vec<LifecycleHook>>,
    /// Commands run in the container before it is stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_stop: Option<Vec<LifecycleHook>>,
    /// Storage driver options (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_opt: Option<Raw>,
    /// Volume driver for anonymous volumes (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_driver: Option<Raw>,
}

/// `build:` as a context path or the long form.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Build {
    /// Extra privileges the build asks for (`network.host`,
    /// `security.insecure`): kept; building refuses them (BuildKit only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entitlements: Option<Vec<String>>,
    /// Directory (or URL) sent to the engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Dockerfile path, relative to the context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    /// Inline Dockerfile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerfile_inline: Option<String>,
    /// Build arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Dict>,
    /// Build stage to stop at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Labels on the image.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_map"
    )]
    pub labels: Option<StringMap>,
    /// Network during RUN steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// Extra tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Images to use as cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_from: Option<Vec<String>>,
    /// Build with no cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_cache: Option<bool>,
    /// Always pull base images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull: Option<bool>,
    /// Extra hosts during the build.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "extra_hosts"
    )]
    pub extra_hosts: Option<Vec<String>>,
    /// Size of /dev/shm during the build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<ByteSize>,
    /// Target platforms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platforms: Option<Vec<String>>,
    /// BuildKit extras (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<Raw>,
    /// BuildKit extras (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<Raw>,
    /// BuildKit extras (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_contexts: Option<Raw>,
    /// BuildKit extras (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_to: Option<Raw>,
    /// Build isolation (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation: Option<Raw>,
    /// Privileged build (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged: Option<Raw>,
}

fn build<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Build>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Build;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a build context path or a mapping with context/dockerfile/args")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Build, E> {
            Ok(Build {
                context: Some(v.to_owned()),
                ..Default::default()
            })
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Build, A::Error> {
            Build::deserialize(de::value::MapAccessDeserializer::new(map))
        }
    }
    let mut b = d.deserialize_any(V)?;
    b.context.get_or_insert_with(|| ".".into());
    Ok(Some(b))
}

/// One `env_file` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvFile {
    /// Path to the file.
    pub path: String,
    /// Whether a missing file is an error (default true).
    #[serde(default = "yes")]
    pub required: bool,
    /// `raw`: every `KEY=VALUE` line as it is (no quotes, no interpolation);
    /// otherwise the dotenv format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

fn yes() -> bool {
    true
}

fn env_files<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<EnvFile>>, D::Error> {
    struct Item(EnvFile);
    impl<'de> Deserialize<'de> for Item {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Item;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a path or a mapping with path/required")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Item, E> {
                    Ok(Item(EnvFile {
                        path: v.to_owned(),
                        required: true,
                        format: None,
                    }))
                }
                fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Item, A::Error> {
                    EnvFile::deserialize(de::value::MapAccessDeserializer::new(map)).map(Item)
                }
            }
            d.deserialize_any(V)
        }
    }
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<EnvFile>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a path or a list of paths")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<EnvFile>, E> {
            Ok(vec![EnvFile {
                path: v.to_owned(),
                required: true,
                format: None,
            }])
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<EnvFile>, A::Error> {
            let mut out = Vec::new();
            while let Some(Item(e)) = seq.next_element()? {
                out.push(e);
            }
            Ok(out)
        }
    }
    Ok(Some(d.deserialize_any(V)?))
}

/// The health probe.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Healthcheck {
    /// `["CMD", ...]`, `["CMD-SHELL", "..."]` or `["NONE"]`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "health_test"
    )]
    pub test: Option<Vec<String>>,
    /// Time between probes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// Time a probe may take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Consecutive failures that make the container unhealthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// Grace time after start during which failures do not count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_period: Option<Duration>,
    /// Probe interval during the start period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_interval: Option<Duration>,
    /// Turn off the image's healthcheck.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable: bool,
}

impl Healthcheck {
    /// Whether this definition switches health checking off.
    pub fn is_disabled(&self) -> bool {
        self.disable
            || self
                .test
                .as_ref()
                .is_some_and(|t| t.first().map(String::as_str) == Some("NONE"))
    }
}

fn health_test<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a shell command string or a list starting with CMD, CMD-SHELL or NONE")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<String>, E> {
            if v == "NONE" {
                return Ok(vec!["NONE".into()]);
            }
            Ok(vec!["CMD-SHELL".into(), v.to_owned()])
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Vec<String>, A::Error> {
            let items = Strings::deserialize(de::value::SeqAccessDeserializer::new(seq))?.0;
            match items.first().map(String::as_str) {
                Some("CMD" | "CMD-SHELL" | "NONE") => Ok(items),
                Some(other) => Err(de::Error::custom(format!(
                    "a healthcheck test list starts with CMD, CMD-SHELL or NONE, not `{other}`"
                ))),
                None => Err(de::Error::custom("the healthcheck test list is empty")),
            }
        }
    }
    Ok(Some(d.deserialize_any(V)?))
}

/// When a dependency counts as ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// The dependency's containers are running.
    ServiceStarted,
    /// The dependency's healthcheck passes.
    ServiceHealthy,
    /// The dependency ran and exited 0.
    ServiceCompletedSuccessfully,
}

/// One `depends_on` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DependsOn {
    /// Readiness condition.
    #[serde(default = "started")]
    pub condition: Condition,
    /// Restart this service when the dependency is restarted by us.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restart: bool,
    /// A missing (disabled) dependency is an error unless false.
    #[serde(default = "yes")]
    pub required: bool,
}

fn started() -> Condition {
    Condition::ServiceStarted
}

impl DependsOn {
    /// The entry the list form (`depends_on: [db]`) stands for.
    pub fn started() -> Self {
        DependsOn {
            condition: Condition::ServiceStarted,
            restart: false,
            required: true,
        }
    }
}

fn depends_on<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<BTreeMap<String, DependsOn>>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = BTreeMap<String, DependsOn>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of service names or a mapping of service to condition")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(name) = seq.next_element::<String>()? {
                out.insert(name, DependsOn::started());
            }
            Ok(out)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((k, v)) = map.next_entry::<String, Option<DependsOn>>()? {
                out.insert(k, v.unwrap_or_else(DependsOn::started));
            }
            Ok(out)
        }
    }
    Ok(Some(d.deserialize_any(V)?))
}

/// Per-network settings of a service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceNetwork {
    /// Extra DNS names on this network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aliases: Option<Vec<String>>,
    /// Static IPv4 address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4_address: Option<String>,
    /// Static IPv6 address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_address: Option<String>,
    /// Link-local addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_local_ips: Option<Vec<String>>,
    /// MAC address on this network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    /// Order in which networks are connected (higher first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    /// Which network provides the default gateway (higher wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gw_priority: Option<i64>,
    /// The interface's name in the container (kept; `up` refuses it: the
    /// engine API 1.49 it needs is newer than the engines `stack` drives).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface_name: Option<String>,
    /// Driver options for the endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_opts: Option<StringMap>,
}

fn service_networks<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<BTreeMap<String, Option<ServiceNetwork>>>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = BTreeMap<String, Option<ServiceNetwork>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of network names or a mapping of network to settings")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(name) = seq.next_element::<String>()? {
                out.insert(name, None);
            }
            Ok(out)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((k, v)) = map.next_entry::<String, Option<ServiceNetwork>>()? {
                out.insert(k, v);
            }
            Ok(out)
        }
    }
    Ok(Some(d.deserialize_any(V)?))
}

/// A reference from a service to a top-level secret or config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRef {
    /// Name of the top-level secret or config.
    pub source: String,
    /// Path in the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Owner uid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<Text>,
    /// Owner gid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<Text>,
    /// File mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<FileMode>,
}

fn file_refs<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<FileRef>>, D::Error> {
    struct Item(FileRef);
    impl<'de> Deserialize<'de> for Item {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Item;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a name or a mapping with source/target")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Item, E> {
                    Ok(Item(FileRef {
                        source: v.to_owned(),
                        target: None,
                        uid: None,
                        gid: None,
                        mode: None,
                    }))
                }
                fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Item, A::Error> {
                    FileRef::deserialize(de::value::MapAccessDeserializer::new(map)).map(Item)
                }
            }
            d.deserialize_any(V)
        }
    }
    Ok(Some(
        Vec::<Item>::deserialize(d)?
            .into_iter()
            .map(|i| i.0)
            .collect(),
    ))
}

/// A resource limit: one value, or soft and hard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Ulimit {
    /// Soft and hard limit the same.
    Single(i64),
    /// Separate limits.
    Pair {
        /// Soft limit.
        soft: i64,
        /// Hard limit.
        hard: i64,
    },
}

impl Ulimit {
    /// (soft, hard).
    pub fn limits(self) -> (i64, i64) {
        match self {
            Ulimit::Single(v) => (v, v),
            Ulimit::Pair { soft, hard } => (soft, hard),
        }
    }
}

/// Logging settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Logging {
    /// Log driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Driver options.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_map"
    )]
    pub options: Option<StringMap>,
}

/// `deploy:` settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deploy {
    /// `replicated` (default) or `global`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Number of containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// Labels on the service (Swarm).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_map"
    )]
    pub labels: Option<StringMap>,
    /// Resource limits and reservations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// How replicas are restarted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<RestartPolicy>,
    /// How updates roll out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_config: Option<UpdateConfig>,
    /// How failed updates roll back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_config: Option<UpdateConfig>,
    /// Placement constraints (Swarm; kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<Raw>,
    /// Endpoint mode (Swarm; kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_mode: Option<String>,
}

/// `deploy.resources`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// Hard limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<ResourceSpec>,
    /// Reservations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservations: Option<ResourceSpec>,
}

/// CPU, memory and process limits.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceSpec {
    /// CPU cores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    /// Memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<ByteSize>,
    /// Process count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids: Option<i64>,
    /// Devices (GPUs; kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devices: Option<Raw>,
    /// Generic resources (Swarm; kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generic_resources: Option<Raw>,
}

/// `deploy.restart_policy`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestartPolicy {
    /// `none`, `on-failure` or `any`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Wait between restarts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Duration>,
    /// Give up after this many restarts within `window`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// How long a restart must run to count as a success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Duration>,
}

/// `deploy.update_config` and `deploy.rollback_config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateConfig {
    /// Replicas replaced at a time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<u32>,
    /// Wait between batches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Duration>,
    /// `rollback`, `pause` or `continue`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_action: Option<crate::policy::FailureAction>,
    /// How long to watch a new replica for failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<Duration>,
    /// Failure ratio tolerated during an update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_failure_ratio: Option<f64>,
    /// `stop-first` or `start-first`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<crate::policy::UpdateOrder>,
}

impl Service {
    /// The number of replicas the file asks for (default 1).
    pub fn replicas(&self) -> u32 {
        self.deploy
            .as_ref()
            .and_then(|d| d.replicas)
            .or(self.scale)
            .unwrap_or(1)
    }

    /// The service whose namespace or volumes this one borrows through
    /// `network_mode`, `pid`, `ipc` (`service:<name>`) or `volumes_from`.
    pub fn borrowed_services(&self) -> Vec<(&'static str, &str)> {
        let mut out = Vec::new();
        for (field, value) in [
            ("network_mode", &self.network_mode),
            ("pid", &self.pid),
            ("ipc", &self.ipc),
        ] {
            if let Some(name) = value.as_ref().and_then(|v| v.service()) {
                out.push((field, name));
            }
        }
        for entry in self.volumes_from.iter().flatten() {
            if let Some(name) = entry.source.service() {
                out.push(("volumes_from", name));
            }
        }
        out
    }
}

/// A `post_start` / `pre_stop` hook: a command run in the container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleHook {
    /// The command (a string is split as a shell would).
    pub command: Command,
    /// Run as this user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// With extended privileges.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub privileged: bool,
    /// In this directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// With these variables on top of the container's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Dict>,
}

/// `label_file: a.labels` or `label_file: [a.labels, b.labels]`.
fn label_files<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    Ok(Option::<Strings>::deserialize(d)?.map(|s| s.0))
}

/// A host device in the container, in the long form Compose prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    /// Path on the host.
    pub source: String,
    /// Path in the container (default: the same).
    pub target: String,
    /// cgroup permissions (`rwm` by default).
    pub permissions: String,
}

impl<'de> Deserialize<'de> for Device {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Long {
            source: String,
            #[serde(default)]
            target: Option<String>,
            #[serde(default)]
            permissions: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Short(String),
            Long(Long),
        }
        let (source, target, permissions) = match Form::deserialize(d)? {
            Form::Short(s) => {
                let mut parts = s.splitn(3, ':');
                let source = parts.next().unwrap_or_default().to_string();
                (
                    source,
                    parts.next().map(str::to_string),
                    parts.next().map(str::to_string),
                )
            }
            Form::Long(l) => (l.source, l.target, l.permissions),
        };
        if source.is_empty() {
            return Err(de::Error::custom(crate::de::with_hint(
                "a device needs a host path",
                "write `/dev/fuse`, `/dev/a:/dev/b:rwm` or `{source: /dev/a, target: /dev/b}`",
            )));
        }
        Ok(Device {
            target: target.unwrap_or_else(|| source.clone()),
            permissions: permissions.unwrap_or_else(|| "rwm".into()),
            source,
        })
    }
}
