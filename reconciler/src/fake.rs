//! An in-memory engine that behaves like the real one where the planner
//! and executor can tell: labels, names that must be unique, states,
//! health, exit codes. Tests steer it (a service's containers exit with a
//! code when started, health is set by hand, the next call of an
//! operation fails) and read back every mutation it performed. Like the
//! engine, it announces each container's lifecycle (`create`, `start`,
//! `die`, `stop`, `rename`, `destroy`) on the events streams whose project
//! filter the container matches.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt};
use planner::{
    labels, Health, NetworkSpec, ObservedContainer, ObservedResource, RunState, VolumeSpec,
};

use crate::engine::{
    Archives, Attach, AttachedIo, BuildRequest, ContainerListing, ContainerStats, ContainerStatus,
    Containers, CreateRequest, Engine, EngineError, EngineEvent, Events, ExecOutput, ExecRequest,
    ImageDetails, Images, LogLine, LogOptions, PortBinding, Processes, Resources, Result,
    Selection, ServiceRequest, ServiceStatus, Services, Streams,
};

/// Now, in nanoseconds since the Unix epoch, as events carry it.
fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// How the fake lists a container: what the Docker API would say of it.
fn listing(s: &State, c: &FakeContainer) -> ContainerListing {
    let spec = &c.request.spec;
    let state = match (&c.state, c.paused) {
        (RunState::Running, true) => "paused",
        (RunState::Running, false) => "running",
        (RunState::Created, _) => "created",
        (RunState::Exited { .. }, _) => "exited",
        (RunState::Dead, _) => "dead",
    };
    let status = match &c.state {
        RunState::Running if c.paused => "Up (Paused)".to_string(),
        RunState::Running => "Up".to_string(),
        RunState::Created => "Created".to_string(),
        RunState::Exited { code } => format!("Exited ({code})"),
        RunState::Dead => "Dead".to_string(),
    };
    ContainerListing {
        observed: ObservedContainer {
            id: c.id.clone(),
            name: c.name.clone(),
            service: c.labels.get(labels::SERVICE).cloned().unwrap_or_default(),
            replica: c
                .labels
                .get(labels::REPLICA)
                .and_then(|r| r.parse().ok())
                .unwrap_or(0),
            config_hash: c
                .labels
                .get(labels::CONFIG_HASH)
                .cloned()
                .unwrap_or_default(),
            labels: c.labels.clone(),
            state: c.state.clone(),
            health: c.health,
            image_id: c.image_id.clone(),
            addresses: c
                .networks
                .iter()
                .filter_map(|n| Some((n.clone(), fake_address(s.subnets.get(n)?, &c.id))))
                .collect(),
            addresses_v6: BTreeMap::new(),
        },
        image: spec.image.clone(),
        command: spec.command.clone().unwrap_or_default().join(" "),
        created: 0,
        state: state.to_string(),
        status,
        ports: spec
            .ports
            .iter()
            .map(|p| PortBinding {
                host_ip: p.host_ip.clone(),
                host_port: p.fixed_host_port(),
                container_port: p.target,
                protocol: p.protocol.clone(),
            })
            .collect(),
        mounts: Vec::new(),
        networks: c.networks.clone(),
    }
}

/// A container held by the fake.
#[derive(Debug, Clone)]
pub struct FakeContainer {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Image id.
    pub image_id: String,
    /// State.
    pub state: RunState,
    /// Health (when it has a healthcheck).
    pub health: Option<Health>,
    /// Networks it is attached to.
    pub networks: Vec<String>,
    /// Its processes are frozen (`pause`).
    pub paused: bool,
    /// Order of its last start among all starts (0: never started).
    pub started: u64,
    /// The request that created it.
    pub request: CreateRequest,
}

type EventSender = futures::channel::mpsc::UnboundedSender<Result<EngineEvent>>;

#[derive(Debug, Default)]
struct State {
    /// Open events streams, with the project each one follows (`""`: all).
    subscribers: Vec<(String, EventSender)>,
    subscriptions: usize,
    next_id: u64,
    containers: BTreeMap<String, FakeContainer>,
    /// Files copied into containers: container id -> path -> content.
    files: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    networks: BTreeMap<String, BTreeMap<String, String>>,
    /// Subnet of each network (its gateway is the first address).
    subnets: BTreeMap<String, ipnet::Ipv4Net>,
    volumes: BTreeMap<String, BTreeMap<String, String>>,
    images: BTreeMap<String, String>,
    /// When each image was last tagged (set by `tag_image_at`).
    images_tagged: BTreeMap<String, std::time::SystemTime>,
    pullable: BTreeMap<String, String>,
    /// Registries that want a login: host -> (user, password).
    logins: BTreeMap<String, (String, String)>,
    exit_codes: BTreeMap<String, i64>,
    failures: BTreeMap<String, String>,
    /// Operations whose next call never answers, and how many calls hung.
    hangs: BTreeSet<String>,
    hung: usize,
    mutations: Vec<String>,
    capabilities: planner::Capabilities,
    /// A swarm's services by id: what was asked, and its version.
    services: BTreeMap<String, (ServiceRequest, u64)>,
    /// Every service version so far (a swarm's versions only grow).
    service_versions: u64,
}

/// The fake engine. Cheap to clone; clones share state.
#[derive(Debug, Clone, Default)]
pub struct FakeEngine {
    state: Arc<Mutex<State>>,
}

impl FakeEngine {
    /// An empty engine.
    pub fn new() -> Self {
        let engine = Self::default();
        engine.set_capabilities(planner::Capabilities {
            engine: planner::EngineKind::Fake,
            ..planner::Capabilities::default()
        });
        engine
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread poisons the lock; the state is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Say what the engine can do (default: that of a local Docker Engine
    /// of API 1.41, as kind [`planner::EngineKind::Fake`]).
    pub fn set_capabilities(&self, capabilities: planner::Capabilities) {
        self.lock().capabilities = capabilities;
    }

    /// Put an image on the engine.
    pub fn add_image(&self, reference: &str, id: &str) {
        self.lock().images.insert(reference.into(), id.into());
    }

    /// Say `reference` was last tagged (pulled or built) at `at`.
    pub fn tag_image_at(&self, reference: &str, at: std::time::SystemTime) {
        self.lock().images_tagged.insert(reference.into(), at);
    }

    /// Make an image available from the (fake) registry.
    pub fn add_pullable(&self, reference: &str, id: &str) {
        self.lock().pullable.insert(reference.into(), id.into());
    }

    /// The (fake) registry at `host` wants `user` and `password` for
    /// every pull, push and lookup.
    pub fn require_login(&self, host: &str, user: &str, password: &str) {
        self.lock()
            .logins
            .insert(host.into(), (user.into(), password.into()));
    }

    /// Refuse `reference` unless `auth` is the login its registry wants.
    fn authorise(s: &State, reference: &str, auth: Option<&registry::Auth>) -> Result<()> {
        let host = registry::reference::registry_of(reference);
        match s.logins.get(&host) {
            Some((user, password))
                if !auth.is_some_and(|a| &a.username == user && &a.password == password) =>
            {
                Err(EngineError::Registry {
                    reference: reference.into(),
                    registry: host,
                    failure: crate::engine::RegistryFailure::Unauthorized,
                    message: "no basic auth credentials".into(),
                })
            }
            _ => Ok(()),
        }
    }

    /// Containers of `service` exit with `code` as soon as they start.
    pub fn exit_on_start(&self, service: &str, code: i64) {
        self.lock().exit_codes.insert(service.into(), code);
    }

    /// The next call of `operation` (e.g. `create_container`) fails with `message`.
    pub fn fail_next(&self, operation: &str, message: &str) {
        self.lock()
            .failures
            .insert(operation.into(), message.into());
    }

    /// The next call of `operation` (`start_container`) never answers,
    /// as an engine that took the request and went silent.
    pub fn hang_next(&self, operation: &str) {
        self.lock().hangs.insert(operation.into());
    }

    /// How many calls hung so far (see [`FakeEngine::hang_next`]).
    pub fn hung_calls(&self) -> usize {
        self.lock().hung
    }

    /// Hang here forever when `operation` was told to.
    async fn maybe_hang(&self, operation: &str) {
        let hang = {
            let mut s = self.lock();
            let hang = s.hangs.remove(operation);
            s.hung += usize::from(hang);
            hang
        };
        if hang {
            std::future::pending::<()>().await;
        }
    }

    /// Set the health of the container named `name`.
    pub fn set_health(&self, name: &str, health: Health) {
        let mut s = self.lock();
        if let Some(c) = s.containers.values_mut().find(|c| c.name == name) {
            c.health = Some(health);
        }
    }

    /// Send an event to every open events stream.
    pub fn push_event(&self, kind: &str, action: &str, id: &str) {
        let event = EngineEvent {
            time_nanos: now_nanos(),
            kind: kind.into(),
            action: action.into(),
            id: id.into(),
            attributes: BTreeMap::new(),
        };
        self.lock()
            .subscribers
            .retain(|(_, tx)| tx.unbounded_send(Ok(event.clone())).is_ok());
    }

    /// End every open events stream with an error, as a restarting engine would.
    pub fn break_events(&self) {
        for (_, tx) in self.lock().subscribers.drain(..) {
            let _ = tx.unbounded_send(Err(EngineError::Unreachable("events stream broken".into())));
        }
    }

    /// How many times an events stream was opened.
    pub fn event_subscriptions(&self) -> usize {
        self.lock().subscriptions
    }

    /// Every mutation so far, as `operation target` lines.
    pub fn mutations(&self) -> Vec<String> {
        self.lock().mutations.clone()
    }

    /// Forget the mutation log.
    pub fn clear_mutations(&self) {
        self.lock().mutations.clear();
    }

    /// All containers, by name.
    pub fn containers(&self) -> BTreeMap<String, FakeContainer> {
        self.lock()
            .containers
            .values()
            .map(|c| (c.name.clone(), c.clone()))
            .collect()
    }

    /// Names of all networks.
    pub fn networks(&self) -> Vec<String> {
        self.lock().networks.keys().cloned().collect()
    }

    /// Names of all volumes.
    pub fn volumes(&self) -> Vec<String> {
        self.lock().volumes.keys().cloned().collect()
    }

    /// Stop a container as if it crashed or was stopped by hand.
    pub fn kill(&self, name: &str, code: i64) {
        let mut s = self.lock();
        if let Some(c) = s.containers.values_mut().find(|c| c.name == name) {
            c.state = RunState::Exited { code };
        }
    }

    fn mutate(s: &mut State, op: &str, target: &str) -> Result<()> {
        if let Some(message) = s.failures.remove(op) {
            return Err(EngineError::api(message));
        }
        s.mutations.push(format!("{op} {target}"));
        Ok(())
    }

    /// Announce `action` of container `id` to the streams that follow its
    /// project, with its name and labels as attributes (as the engine does).
    fn emit(s: &mut State, action: &str, id: &str) {
        let Some(c) = s.containers.get(id) else {
            return;
        };
        let project = c.labels.get(labels::PROJECT).cloned().unwrap_or_default();
        let mut attributes = c.labels.clone();
        attributes.insert("name".into(), c.name.clone());
        let event = EngineEvent {
            time_nanos: now_nanos(),
            kind: "container".into(),
            action: action.into(),
            id: id.into(),
            attributes,
        };
        s.subscribers.retain(|(follows, tx)| {
            if !follows.is_empty() && *follows != project {
                return true;
            }
            tx.unbounded_send(Ok(event.clone())).is_ok()
        });
    }

    fn find<'a>(s: &'a mut State, id: &str) -> Result<&'a mut FakeContainer> {
        s.containers
            .get_mut(id)
            .ok_or_else(|| EngineError::NotFound(format!("container {id}")))
    }
}

/// A container's address on a network: derived from its id, stable.
fn fake_address(subnet: &ipnet::Ipv4Net, id: &str) -> String {
    let n: u32 = id.trim_start_matches("fake").parse().unwrap_or(0);
    let host = u32::from(subnet.network()) + 2 + n % 250;
    std::net::Ipv4Addr::from(host).to_string()
}

fn resources(
    map: &BTreeMap<String, BTreeMap<String, String>>,
    project: &str,
) -> Vec<ObservedResource> {
    map.iter()
        .filter(|(_, l)| l.get(labels::PROJECT).map(String::as_str) == Some(project))
        .map(|(name, l)| ObservedResource {
            name: name.clone(),
            key: l.get(labels::RESOURCE).cloned().unwrap_or_default(),
            hash: l.get(labels::RESOURCE_HASH).cloned().unwrap_or_default(),
        })
        .collect()
}

#[async_trait]
impl Engine for FakeEngine {
    async fn describe(&self) -> Result<String> {
        Ok("fake engine".into())
    }

    fn capabilities(&self) -> planner::Capabilities {
        self.lock().capabilities.clone()
    }
}

impl FakeEngine {
    /// The engine's state, when it is a swarm manager; the engine's
    /// refusal otherwise.
    fn swarm(&self) -> Result<MutexGuard<'_, State>> {
        let s = self.lock();
        if !s.capabilities.swarm {
            return Err(EngineError::NotSwarm(
                "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.".into(),
            ));
        }
        Ok(s)
    }
}

#[async_trait]
impl Services for FakeEngine {
    async fn list_services(&self, project: &str) -> Result<Vec<ServiceStatus>> {
        let s = self.swarm()?;
        let of_project = |r: &ServiceRequest| match r.labels.get(labels::PROJECT) {
            Some(p) => project.is_empty() || p == project,
            None => false,
        };
        Ok((s.services.iter())
            .filter(|(_, (r, _))| of_project(r))
            .map(|(id, (r, version))| ServiceStatus {
                id: id.clone(),
                name: r.name.clone(),
                labels: r.labels.clone(),
                image: r.image.clone(),
                replicas: r.replicas,
                version: *version,
            })
            .collect())
    }

    async fn create_service(&self, request: ServiceRequest) -> Result<String> {
        let mut s = self.swarm()?;
        Self::mutate(&mut s, "create_service", &request.name)?;
        if s.services.values().any(|(r, _)| r.name == request.name) {
            return Err(EngineError::Conflict(format!(
                "rpc error: code = AlreadyExists desc = name conflicts with an existing object: service {} already exists",
                request.name
            )));
        }
        s.next_id += 1;
        s.service_versions += 1;
        let id = format!("service{:04}", s.next_id);
        let version = s.service_versions;
        s.services.insert(id.clone(), (request, version));
        Ok(id)
    }

    async fn update_service(&self, id: &str, version: u64, request: ServiceRequest) -> Result<()> {
        let mut s = self.swarm()?;
        Self::mutate(&mut s, "update_service", id)?;
        s.service_versions += 1;
        let next = s.service_versions;
        let Some((current, at)) = s.services.get_mut(id) else {
            return Err(EngineError::NotFound(format!("service {id} not found")));
        };
        if *at != version {
            return Err(EngineError::Api {
                status: Some(500),
                message: "rpc error: code = Unknown desc = update out of sequence".into(),
            });
        }
        *current = request;
        *at = next;
        Ok(())
    }

    async fn remove_service(&self, id: &str) -> Result<()> {
        let mut s = self.swarm()?;
        Self::mutate(&mut s, "remove_service", id)?;
        s.services
            .remove(id)
            .map(drop)
            .ok_or_else(|| EngineError::NotFound(format!("service {id} not found")))
    }
}

#[async_trait]
impl Images for FakeEngine {
    async fn image_id(&self, reference: &str) -> Result<Option<String>> {
        Ok(self.lock().images.get(reference).cloned())
    }

    async fn image_details(&self, reference: &str) -> Result<Option<ImageDetails>> {
        let s = self.lock();
        let by_id = s.images.iter().find(|(_, id)| id.as_str() == reference);
        let Some((name, id)) = s.images.get_key_value(reference).or(by_id) else {
            return Ok(None);
        };
        Ok(Some(ImageDetails {
            id: id.clone(),
            size: 1024,
            platform: "linux/amd64".into(),
            created: None,
            tagged_at: s.images_tagged.get(name).copied(),
        }))
    }

    async fn pull_image(&self, reference: &str, auth: Option<&registry::Auth>) -> Result<()> {
        let mut s = self.lock();
        Self::authorise(&s, reference, auth)?;
        Self::mutate(&mut s, "pull_image", reference)?;
        match s.pullable.get(reference).cloned() {
            Some(id) => {
                s.images.insert(reference.into(), id);
                s.images_tagged
                    .insert(reference.into(), std::time::SystemTime::now());
                Ok(())
            }
            None => Err(EngineError::Registry {
                reference: reference.into(),
                registry: registry::reference::registry_of(reference),
                failure: crate::engine::RegistryFailure::NotFound,
                message: "manifest unknown".into(),
            }),
        }
    }

    async fn push_image(&self, reference: &str, auth: Option<&registry::Auth>) -> Result<()> {
        let mut s = self.lock();
        Self::authorise(&s, reference, auth)?;
        Self::mutate(&mut s, "push_image", reference)?;
        let id = s
            .images
            .get(reference)
            .cloned()
            .ok_or_else(|| EngineError::NotFound(format!("image {reference}")))?;
        s.pullable.insert(reference.into(), id);
        Ok(())
    }

    async fn registry_digest(
        &self,
        reference: &str,
        auth: Option<&registry::Auth>,
    ) -> Result<String> {
        let s = self.lock();
        Self::authorise(&s, reference, auth)?;
        let id = s
            .pullable
            .get(reference)
            .ok_or_else(|| EngineError::Registry {
                reference: reference.into(),
                registry: registry::reference::registry_of(reference),
                failure: crate::engine::RegistryFailure::NotFound,
                message: "manifest unknown".into(),
            })?;
        let hex: String = id.bytes().map(|b| format!("{b:02x}")).collect();
        Ok(format!("sha256:{hex:0<64.64}"))
    }

    async fn login(&self, auth: &registry::Auth) -> Result<Option<String>> {
        let s = self.lock();
        Self::authorise(&s, &format!("{}/login", auth.server), Some(auth))?;
        Ok(None)
    }

    async fn build_image(&self, request: BuildRequest) -> Result<()> {
        let mut s = self.lock();
        Self::mutate(&mut s, "build_image", &request.tag)?;
        let id = format!("sha256:built-{}", request.context_tar.len());
        for tag in &request.tags {
            s.images.insert(tag.clone(), id.clone());
        }
        s.images.insert(request.tag, id);
        Ok(())
    }

    async fn remove_image(&self, reference: &str) -> Result<()> {
        let mut s = self.lock();
        Self::mutate(&mut s, "remove_image", reference)?;
        let Some(id) = s.images.get(reference).cloned() else {
            return Err(EngineError::NotFound(format!("image {reference}")));
        };
        if s.containers.values().any(|c| c.image_id == id) {
            return Err(EngineError::Conflict(format!(
                "image {reference} is used by a container"
            )));
        }
        s.images.remove(reference);
        Ok(())
    }

    async fn import_image(
        &self,
        reference: &str,
        rootfs_tar: Vec<u8>,
        _changes: Vec<String>,
    ) -> Result<String> {
        let mut s = self.lock();
        Self::mutate(&mut s, "import_image", reference)?;
        let id = format!("sha256:imported-{}", rootfs_tar.len());
        s.images.insert(reference.into(), id.clone());
        Ok(id)
    }
}

#[async_trait]
impl Resources for FakeEngine {
    async fn list_network_addresses(&self) -> Result<Vec<planner::NetworkAddresses>> {
        let s = self.lock();
        Ok(s.networks
            .iter()
            .map(|(name, labels)| planner::NetworkAddresses {
                name: name.clone(),
                labels: labels.clone(),
                subnets: s
                    .subnets
                    .get(name)
                    .map(|n| n.to_string())
                    .into_iter()
                    .collect(),
                gateway: s
                    .subnets
                    .get(name)
                    .and_then(|n| n.hosts().next())
                    .map(|g| g.to_string()),
                gateway_v6: None,
            })
            .collect())
    }

    async fn list_networks(&self, project: &str) -> Result<Vec<ObservedResource>> {
        Ok(resources(&self.lock().networks, project))
    }

    async fn list_volumes(&self, project: &str) -> Result<Vec<ObservedResource>> {
        Ok(resources(&self.lock().volumes, project))
    }

    async fn network_exists(&self, name: &str) -> Result<bool> {
        Ok(self.lock().networks.contains_key(name))
    }

    async fn volume_exists(&self, name: &str) -> Result<bool> {
        Ok(self.lock().volumes.contains_key(name))
    }

    async fn create_network(&self, request: NetworkSpec) -> Result<()> {
        let mut s = self.lock();
        Self::mutate(&mut s, "create_network", &request.name)?;
        if s.networks.contains_key(&request.name) {
            return Err(EngineError::Conflict(format!("network {}", request.name)));
        }
        let declared = request.ipam.iter().flat_map(|i| &i.pools);
        let declared = declared
            .filter_map(|p| p.subnet.as_deref()?.parse().ok())
            .next();
        let next = u8::try_from(s.subnets.len() % 256).unwrap_or(0);
        let subnet = declared.unwrap_or_else(|| {
            ipnet::Ipv4Net::new([10, 200, next, 0].into(), 24).unwrap_or_default()
        });
        s.subnets.insert(request.name.clone(), subnet);
        s.networks.insert(request.name, request.labels);
        Ok(())
    }

    async fn remove_network(&self, name: &str) -> Result<()> {
        let mut s = self.lock();
        Self::mutate(&mut s, "remove_network", name)?;
        if s.containers
            .values()
            .any(|c| c.networks.iter().any(|n| n == name))
        {
            return Err(EngineError::api(format!(
                "network {name} has active endpoints"
            )));
        }
        s.subnets.remove(name);
        s.networks
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| EngineError::NotFound(format!("network {name}")))
    }

    async fn create_volume(&self, request: VolumeSpec) -> Result<()> {
        let mut s = self.lock();
        Self::mutate(&mut s, "create_volume", &request.name)?;
        s.volumes.entry(request.name).or_insert(request.labels);
        Ok(())
    }

    async fn remove_volume(&self, name: &str) -> Result<()> {
        let mut s = self.lock();
        Self::mutate(&mut s, "remove_volume", name)?;
        s.volumes
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| EngineError::NotFound(format!("volume {name}")))
    }
}

#[async_trait]
impl Containers for FakeEngine {
    async fn list_listings(&self, selection: &Selection) -> Result<Vec<ContainerListing>> {
        let s = self.lock();
        let (key, project) = match selection {
            Selection::Project(p) => (labels::PROJECT, p),
            Selection::OneOffs(p) => (labels::ONEOFF, p),
        };
        Ok(s.containers
            .values()
            .filter(|c| {
                let of = c.labels.get(key);
                of.is_some_and(|p| project.is_empty() || p == project)
            })
            .map(|c| listing(&s, c))
            .collect())
    }

    async fn list_published_ports(&self) -> Result<Vec<planner::PublishedPort>> {
        let s = self.lock();
        let running = s
            .containers
            .values()
            .filter(|c| c.state == RunState::Running);
        Ok(running
            .flat_map(|c| {
                c.request.spec.ports.iter().filter_map(|p| {
                    Some(planner::PublishedPort {
                        container: c.name.clone(),
                        project: c.labels.get(labels::PROJECT).cloned(),
                        host_ip: p.host_ip.clone(),
                        port: p.published.as_deref()?.parse().ok()?,
                        protocol: p.protocol.clone(),
                    })
                })
            })
            .collect())
    }

    async fn create_container(&self, request: CreateRequest) -> Result<String> {
        let mut s = self.lock();
        Self::mutate(&mut s, "create_container", &request.spec.name)?;
        if s.containers.values().any(|c| c.name == request.spec.name) {
            return Err(EngineError::Conflict(format!(
                "container name {}",
                request.spec.name
            )));
        }
        let image_id = s
            .images
            .get(&request.spec.image)
            .cloned()
            .ok_or_else(|| EngineError::NotFound(format!("image {}", request.spec.image)))?;
        let networks = match &request.spec.networking {
            planner::Networking::Networks(list) => list.iter().map(|a| a.network.clone()).collect(),
            _ => Vec::new(),
        };
        for n in &networks {
            if !s.networks.contains_key(n) {
                return Err(EngineError::NotFound(format!("network {n}")));
            }
        }
        s.next_id += 1;
        let id = format!("fake{:08}", s.next_id);
        let mut labels = request.spec.labels.clone();
        labels.extend(request.state_labels.clone());
        s.containers.insert(
            id.clone(),
            FakeContainer {
                id: id.clone(),
                name: request.spec.name.clone(),
                labels,
                image_id,
                state: RunState::Created,
                health: None,
                networks,
                paused: false,
                started: 0,
                request,
            },
        );
        Self::emit(&mut s, "create", &id);
        Ok(id)
    }

    async fn start_container(&self, id: &str) -> Result<()> {
        self.maybe_hang("start_container").await;
        let mut s = self.lock();
        Self::mutate(&mut s, "start_container", id)?;
        let exit_codes = s.exit_codes.clone();
        s.next_id += 1;
        let started = s.next_id;
        let c = Self::find(&mut s, id)?;
        let service = c.labels.get(labels::SERVICE).cloned().unwrap_or_default();
        let checked = c
            .request
            .spec
            .healthcheck
            .as_ref()
            .is_some_and(|h| h.test.first().map(String::as_str) != Some("NONE"));
        c.state = match exit_codes.get(&service) {
            Some(code) => RunState::Exited { code: *code },
            None => RunState::Running,
        };
        c.health = checked.then_some(Health::Healthy);
        c.started = started;
        let exited = c.state != RunState::Running;
        Self::emit(&mut s, "start", id);
        if exited {
            Self::emit(&mut s, "die", id);
        }
        Ok(())
    }

    async fn connect_network(&self, id: &str, attachment: &planner::Attachment) -> Result<()> {
        let mut s = self.lock();
        Self::mutate(&mut s, "connect_network", id)?;
        Self::find(&mut s, id)?
            .networks
            .push(attachment.network.clone());
        Ok(())
    }

    async fn disconnect_network(&self, network: &str, id: &str) -> Result<()> {
        let mut s = self.lock();
        Self::mutate(&mut s, "disconnect_network", id)?;
        Self::find(&mut s, id)?.networks.retain(|n| n != network);
        Ok(())
    }

    async fn rename_container(&self, id: &str, name: &str) -> Result<()> {
        let mut s = self.lock();
        Self::mutate(&mut s, "rename_container", id)?;
        if s.containers.values().any(|c| c.name == name) {
            return Err(EngineError::Conflict(format!("container name {name}")));
        }
        Self::find(&mut s, id)?.name = name.to_string();
        Self::emit(&mut s, "rename", id);
        Ok(())
    }

    async fn stop_container(&self, id: &str, _timeout: Duration) -> Result<()> {
        let mut s = self.lock();
        Self::mutate(&mut s, "stop_container", id)?;
        let c = Self::find(&mut s, id)?;
        if c.state == RunState::Running {
            c.state = RunState::Exited { code: 137 };
            Self::emit(&mut s, "die", id);
        }
        Self::emit(&mut s, "stop", id);
        Ok(())
    }

    async fn remove_container(&self, id: &str, _anonymous_volumes: bool) -> Result<()> {
        let mut s = self.lock();
        Self::mutate(&mut s, "remove_container", id)?;
        // As the Docker adapter asks it: forced, a running one is killed.
        if Self::find(&mut s, id)?.state == RunState::Running {
            Self::emit(&mut s, "die", id);
        }
        Self::emit(&mut s, "destroy", id);
        s.containers.remove(id);
        Ok(())
    }

    async fn kill_container(&self, id: &str, _signal: &str) -> Result<()> {
        let mut s = self.lock();
        Self::mutate(&mut s, "kill_container", id)?;
        let c = Self::find(&mut s, id)?;
        if c.state != RunState::Running {
            return Err(EngineError::Conflict(format!(
                "container {id} is not running"
            )));
        }
        c.state = RunState::Exited { code: 137 };
        c.paused = false;
        Self::emit(&mut s, "kill", id);
        Self::emit(&mut s, "die", id);
        Ok(())
    }

    async fn pause_container(&self, id: &str, paused: bool) -> Result<()> {
        let mut s = self.lock();
        Self::mutate(&mut s, "pause_container", id)?;
        let c = Self::find(&mut s, id)?;
        if c.state != RunState::Running || c.paused == paused {
            return Err(EngineError::Conflict(format!(
                "container {id} is not {}",
                if paused { "running" } else { "paused" }
            )));
        }
        c.paused = paused;
        Self::emit(&mut s, if paused { "pause" } else { "unpause" }, id);
        Ok(())
    }

    async fn top(&self, id: &str) -> Result<Processes> {
        let mut s = self.lock();
        let c = Self::find(&mut s, id)?;
        if c.state != RunState::Running {
            return Err(EngineError::Conflict(format!(
                "container {id} is not running"
            )));
        }
        Ok(Processes {
            titles: vec!["PID".into(), "CMD".into()],
            rows: vec![vec!["1".into(), c.request.spec.image.clone()]],
        })
    }

    async fn wait_container(&self, id: &str) -> Result<i64> {
        loop {
            {
                let mut s = self.lock();
                match &Self::find(&mut s, id)?.state {
                    RunState::Exited { code } => return Ok(*code),
                    RunState::Created | RunState::Dead => return Ok(0),
                    RunState::Running => {}
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn stats(&self, id: &str) -> Result<ContainerStats> {
        let mut s = self.lock();
        let c = Self::find(&mut s, id)?;
        if c.state != RunState::Running {
            return Err(EngineError::Conflict(format!(
                "container {id} is not running"
            )));
        }
        Ok(ContainerStats {
            memory_limit: 1 << 30,
            pids: 1,
            ..ContainerStats::default()
        })
    }

    async fn inspect_container(&self, id: &str) -> Result<ContainerStatus> {
        let mut s = self.lock();
        let c = Self::find(&mut s, id)?;
        Ok(ContainerStatus {
            state: c.state.clone(),
            health: c.health,
            last_health_output: (c.health == Some(Health::Unhealthy))
                .then(|| "probe failed".to_string()),
            ports: Vec::new(),
            oom_killed: false,
            started_at: (c.started > 0).then(|| format!("2026-01-01T00:00:00.{:09}Z", c.started)),
            volumes: c
                .request
                .spec
                .mounts
                .iter()
                .filter(|m| m.kind == planner::MountKind::Volume)
                .map(|m| {
                    let name = m
                        .source
                        .clone()
                        .or_else(|| c.request.anonymous_volumes.get(&m.target).cloned())
                        .unwrap_or_else(|| format!("anon-{}-{}", c.id, m.target));
                    (m.target.clone(), name)
                })
                .collect(),
        })
    }
}

/// The fake keeps each container's files as a map from path to content.
#[async_trait]
impl Archives for FakeEngine {
    async fn path_is_dir(&self, id: &str, path: &str) -> Result<Option<bool>> {
        let mut s = self.lock();
        Self::find(&mut s, id)?;
        let files = s.files.get(id);
        let is_file = files.is_some_and(|f| f.contains_key(path));
        let prefix = format!("{}/", path.trim_end_matches('/'));
        let is_dir = path == "/" || files.is_some_and(|f| f.keys().any(|k| k.starts_with(&prefix)));
        Ok((is_file || is_dir).then_some(is_dir))
    }

    async fn download(&self, id: &str, path: &str) -> Result<Vec<u8>> {
        let mut s = self.lock();
        Self::find(&mut s, id)?;
        let files = s.files.get(id).cloned().unwrap_or_default();
        let base = path.trim_end_matches('/');
        let name = base.rsplit('/').next().unwrap_or(base).to_string();
        let mut builder = tar::Builder::new(Vec::new());
        let prefix = format!("{base}/");
        let mut found = false;
        for (p, content) in &files {
            let entry = if p == base {
                name.clone()
            } else if let Some(rest) = p.strip_prefix(&prefix) {
                format!("{name}/{rest}")
            } else {
                continue;
            };
            found = true;
            let mut header = tar::Header::new_gnu();
            header.set_size(content.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, &entry, content.as_slice())
                .map_err(|e| EngineError::api(e.to_string()))?;
        }
        if !found {
            return Err(EngineError::NotFound(format!("{path} in container {id}")));
        }
        builder
            .into_inner()
            .map_err(|e| EngineError::api(e.to_string()))
    }

    async fn upload(&self, id: &str, dir: &str, tar: Vec<u8>, _keep_owners: bool) -> Result<()> {
        let mut s = self.lock();
        Self::find(&mut s, id)?;
        let mut archive = tar::Archive::new(tar.as_slice());
        let mut added = Vec::new();
        for entry in archive
            .entries()
            .map_err(|e| EngineError::api(e.to_string()))?
        {
            let mut entry = entry.map_err(|e| EngineError::api(e.to_string()))?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let path = entry
                .path()
                .map_err(|e| EngineError::api(e.to_string()))?
                .to_string_lossy()
                .into_owned();
            let mut content = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut content)
                .map_err(|e| EngineError::api(e.to_string()))?;
            added.push((format!("{}/{path}", dir.trim_end_matches('/')), content));
        }
        s.files.entry(id.to_string()).or_default().extend(added);
        Ok(())
    }
}

#[async_trait]
impl Attach for FakeEngine {
    async fn attach_container(
        &self,
        id: &str,
        io: AttachedIo,
    ) -> Result<futures::future::BoxFuture<'static, Result<()>>> {
        use tokio::io::AsyncWriteExt;
        let line = format!("output of {id}\n");
        let mut out = io.output;
        Ok(Box::pin(async move {
            out.write_all(line.as_bytes())
                .await
                .map_err(|e| EngineError::api(e.to_string()))
        }))
    }
}

#[async_trait]
impl Streams for FakeEngine {
    fn logs(&self, id: &str, _options: LogOptions) -> BoxStream<'static, Result<LogLine>> {
        let line = LogLine {
            stderr: false,
            text: format!("output of {id}\n"),
        };
        stream::iter(vec![Ok(line)]).boxed()
    }

    async fn exec(&self, id: &str, request: ExecRequest) -> Result<ExecOutput> {
        let mut s = self.lock();
        let c = Self::find(&mut s, id)?;
        if c.state != RunState::Running {
            return Err(EngineError::api(format!("container {id} is not running")));
        }
        let output = request.command.join(" ");
        Self::mutate(&mut s, "exec", &format!("{id} {output}"))?;
        Ok(ExecOutput { code: 0, output })
    }

    async fn exec_attached(
        &self,
        id: &str,
        request: ExecRequest,
        _tty: bool,
        mut io: AttachedIo,
    ) -> Result<i64> {
        let detach = request.detach;
        let out = self.exec(id, request).await?;
        if detach {
            return Ok(0);
        }
        tokio::io::AsyncWriteExt::write_all(&mut io.output, out.output.as_bytes())
            .await
            .map_err(|e| EngineError::api(e.to_string()))?;
        Ok(out.code)
    }
}

impl Events for FakeEngine {
    fn events(&self, project: &str) -> BoxStream<'static, Result<EngineEvent>> {
        let (tx, rx) = futures::channel::mpsc::unbounded();
        let mut s = self.lock();
        s.subscribers.push((project.to_string(), tx));
        s.subscriptions += 1;
        // An error ends the stream, as a broken connection does.
        rx.scan(false, |ended, item| {
            if *ended {
                return futures::future::ready(None);
            }
            *ended = item.is_err();
            futures::future::ready(Some(item))
        })
        .boxed()
    }
}
