//! What the engine runs for a project, as the planner sees it: read back
//! from engine labels only, engine-neutral.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Labels `stack` puts on everything it creates.
pub mod labels {
    /// The project a resource belongs to.
    pub const PROJECT: &str = "io.stack.project";
    /// The service a container runs.
    pub const SERVICE: &str = "io.stack.service";
    /// The replica number of a container (1-based).
    pub const REPLICA: &str = "io.stack.replica";
    /// Hash of everything that defines a container; a new value means a new container.
    pub const CONFIG_HASH: &str = "io.stack.config-hash";
    /// The normalised service definition a container was made from (JSON),
    /// to explain drift field by field and to roll back.
    pub const CONFIG: &str = "io.stack.config";
    /// The definition the container's predecessor ran (JSON), for `stack rollback`.
    pub const PREVIOUS_CONFIG: &str = "io.stack.previous-config";
    /// Container ids of the services whose namespaces or volumes a container
    /// borrows (JSON: field -> id).
    pub const PARENTS: &str = "io.stack.parents";
    /// Digests of the secret and config files a container mounts (JSON).
    pub const FILES: &str = "io.stack.files";
    /// The project of a one-off container (`stack run`). One-offs carry
    /// this instead of [`PROJECT`], so the planner and the agent never see
    /// them.
    pub const ONEOFF: &str = "io.stack.oneoff";
    /// The network or volume key in the stack file.
    pub const RESOURCE: &str = "io.stack.resource";
    /// Hash of a network or volume definition.
    pub const RESOURCE_HASH: &str = "io.stack.resource-hash";

    /// Docker Compose's labels, written beside `stack`'s own so that
    /// `docker compose ls`/`ps`, Portainer, Dozzle and lazydocker show a
    /// stack as a project. `stack` itself reads only its `io.stack.*` labels
    /// for state, except to list one-off containers and projects by name.
    pub mod compose {
        /// The project.
        pub const PROJECT: &str = "com.docker.compose.project";
        /// The service of a container.
        pub const SERVICE: &str = "com.docker.compose.service";
        /// The replica number of a container.
        pub const CONTAINER_NUMBER: &str = "com.docker.compose.container-number";
        /// The container's definition hash (`stack`'s own; Compose lists
        /// only containers that have one).
        pub const CONFIG_HASH: &str = "com.docker.compose.config-hash";
        /// `True` for a container of `run`, `False` otherwise.
        pub const ONEOFF: &str = "com.docker.compose.oneoff";
        /// The project directory.
        pub const WORKING_DIR: &str = "com.docker.compose.project.working_dir";
        /// The stack files, comma-separated.
        pub const CONFIG_FILES: &str = "com.docker.compose.project.config_files";
        /// What the service depends on: `db:service_healthy:false,...`.
        pub const DEPENDS_ON: &str = "com.docker.compose.depends_on";
        /// The version of the tool that created the object.
        pub const VERSION: &str = "com.docker.compose.version";
        /// The key of a network in the stack file.
        pub const NETWORK: &str = "com.docker.compose.network";
        /// The key of a volume in the stack file.
        pub const VOLUME: &str = "com.docker.compose.volume";
    }
}

/// A container's run state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum RunState {
    /// Created, never started.
    Created,
    /// Running (or restarting, or paused: the process exists).
    Running,
    /// Exited with this code.
    Exited {
        /// Exit code.
        code: i64,
    },
    /// Being removed, or dead.
    Dead,
}

/// Health as the engine reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Within its start period, or not checked yet.
    Starting,
    /// Passing.
    Healthy,
    /// Failing.
    Unhealthy,
}

/// One container of the project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservedContainer {
    /// Engine id.
    pub id: String,
    /// Container name.
    pub name: String,
    /// `io.stack.service`.
    pub service: String,
    /// `io.stack.replica`.
    pub replica: u32,
    /// `io.stack.config-hash`.
    pub config_hash: String,
    /// All labels.
    pub labels: BTreeMap<String, String>,
    /// Run state.
    pub state: RunState,
    /// Health, when the container has a healthcheck.
    pub health: Option<Health>,
    /// Id of the image it runs.
    pub image_id: String,
    /// Its IPv4 address on each network it joined, by engine network name.
    #[serde(default)]
    pub addresses: BTreeMap<String, String>,
    /// Its IPv6 address on each network with IPv6, likewise.
    #[serde(default)]
    pub addresses_v6: BTreeMap<String, String>,
}

/// A network on the engine with its address pools: any network, the
/// project's or another's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkAddresses {
    /// Engine-side name.
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its subnets, in CIDR form.
    pub subnets: Vec<String>,
    /// Its IPv4 gateway, when it has one.
    pub gateway: Option<String>,
    /// Its IPv6 gateway, when it has IPv6.
    #[serde(default)]
    pub gateway_v6: Option<String>,
}

/// A host port a running container publishes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedPort {
    /// Container name.
    pub container: String,
    /// Its project, when `stack` made it.
    pub project: Option<String>,
    /// Host address; all addresses when `None`.
    pub host_ip: Option<String>,
    /// Host port.
    pub port: u16,
    /// `tcp`, `udp`, `sctp`.
    pub protocol: String,
}

impl NetworkAddresses {
    /// The project it belongs to, by its labels.
    pub fn project(&self) -> Option<&str> {
        self.labels.get(labels::PROJECT).map(String::as_str)
    }
}

/// A network or volume of the project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservedResource {
    /// Engine-side name.
    pub name: String,
    /// The key in the stack file (`io.stack.resource`).
    pub key: String,
    /// `io.stack.resource-hash`.
    pub hash: String,
}

/// Everything the engine has for one project, plus the images the desired
/// state names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    /// Containers labelled with the project.
    pub containers: Vec<ObservedContainer>,
    /// Networks labelled with the project.
    pub networks: Vec<ObservedResource>,
    /// Volumes labelled with the project.
    pub volumes: Vec<ObservedResource>,
    /// Image reference -> image id, for the images present on the engine.
    pub images: BTreeMap<String, String>,
    /// Names of networks and volumes that exist on the engine but are not
    /// the project's (for `external: true`).
    pub external_networks: Vec<String>,
    /// See `external_networks`.
    pub external_volumes: Vec<String>,
    /// The engine's networks that are not the project's, with their
    /// subnets (a new network must not overlap them).
    pub other_networks: Vec<NetworkAddresses>,
    /// The IPv4 gateways of the project's networks, by engine name: where
    /// their containers ask the stack's DNS.
    pub gateways: BTreeMap<String, String>,
    /// Host ports that running containers of other projects (or of no
    /// project) publish.
    pub foreign_ports: Vec<PublishedPort>,
    /// What the engine can do.
    #[serde(default)]
    pub capabilities: crate::Capabilities,
}

impl ObservedContainer {
    /// Whether the process exists.
    pub fn is_running(&self) -> bool {
        self.state == RunState::Running
    }
}
