//! [`Engine`] for Docker, over its HTTP API with bollard.
//!
//! Connects like the docker CLI (`DOCKER_HOST`, unix socket or tcp) and
//! negotiates the API version with the daemon instead of assuming the
//! newest. The translation of lowered specs into the API's request bodies
//! lives in `translate`, apart from the calls; the calls that carry
//! registry logins in `raw_calls`.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use bollard::errors::Error as BollardError;
use bollard::models::{
    ContainerSummary, ContainerSummaryStateEnum, HealthStatusEnum, NetworkConnectRequest,
};
use bollard::query_parameters::{
    CreateImageOptions, EventsOptions, ListContainersOptions, ListNetworksOptions,
    ListVolumesOptions, LogsOptions, RemoveContainerOptions, StopContainerOptions,
};
use bollard::Docker;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use planner::{
    labels, Attachment, Health, NetworkAddresses, NetworkSpec, Networking, ObservedContainer,
    ObservedResource, PublishedPort, RunState, VolumeSpec,
};

use planner::{ApiVersion, Capabilities, EngineKind};

mod raw_calls;
mod services;
mod translate;

use crate::engine::{
    Archives, Attach, AttachedIo, BuildRequest, ContainerListing, ContainerStats, ContainerStatus,
    Containers, CreateRequest, Engine, EngineError, EngineEvent, Events, ExecOutput, ExecRequest,
    ImageDetails, Images, LogLine, LogOptions, PortBinding, Processes, Resources, Result,
    Selection, Streams,
};

/// The Docker engine.
#[derive(Debug, Clone)]
pub struct DockerEngine {
    docker: Docker,
    /// The calls made with hyper, not bollard ([`raw_calls`]).
    raw: raw_calls::RawCalls,
    capabilities: Capabilities,
}

/// The engine's socket when `DOCKER_HOST` names none.
const DEFAULT_SOCKET: &str = "unix:///var/run/docker.sock";

/// How long an engine call may take to answer, unless
/// `STACK_ENGINE_TIMEOUT` (seconds) says otherwise.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(30);

/// The deadline of every engine call: `STACK_ENGINE_TIMEOUT` seconds, or
/// [`DEFAULT_DEADLINE`].
pub fn deadline() -> Duration {
    std::env::var("STACK_ENGINE_TIMEOUT")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map_or(DEFAULT_DEADLINE, Duration::from_secs)
}

/// Where the engine listens, as the docker CLI reads `DOCKER_HOST`: unset
/// or empty is the default socket.
pub fn engine_host() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_SOCKET.to_string())
}

impl DockerEngine {
    /// Connect as the docker CLI would and negotiate the API version; every
    /// call then answers within [`deadline`].
    pub async fn connect() -> Result<Self> {
        Self::connect_to(&engine_host()).await
    }

    /// As [`DockerEngine::connect`], to the engine at `host` (a
    /// `DOCKER_HOST` value) rather than the one the environment names.
    pub async fn connect_to(host: &str) -> Result<Self> {
        let newest = bollard::API_DEFAULT_VERSION;
        let docker = client(host, newest)?;
        // `/version` is the slow one (the engine asks runc and docker-init
        // theirs); `/swarm` is asked beside it. `/info`, as slow again, is
        // left to Podman, whose version does not say it is rootless.
        let (version, swarm) = tokio::join!(docker.version(), docker.inspect_swarm());
        let version = version.map_err(map_err)?;
        let server = (version.api_version.as_deref())
            .and_then(ApiVersion::parse)
            .ok_or_else(|| {
                EngineError::api(format!(
                    "the engine at {host} names no API version it speaks (is it a Docker API?)"
                ))
            })?;
        let api_version = server.min(ApiVersion(
            u32::try_from(newest.major_version).unwrap_or(1),
            u32::try_from(newest.minor_version).unwrap_or(41),
        ));
        let docker = client(
            host,
            &bollard::ClientVersion {
                major_version: api_version.0 as usize,
                minor_version: api_version.1 as usize,
            },
        )?;
        let component = |name: &str| {
            (version.components.iter().flatten())
                .any(|c| c.name.to_ascii_lowercase().contains(name))
        };
        let podman = component("podman");
        // Docker names RootlessKit among its components when it runs in
        // one; Podman says so in its `info`.
        let rootless = component("rootlesskit")
            || (podman && {
                let info = docker.info().await.map_err(map_err)?;
                (info.security_options.iter().flatten()).any(|o| o.contains("rootless"))
            });
        // Only a manager answers `/swarm`: a worker is in the swarm but
        // cannot run services, and a lone engine answers 503. An engine
        // that answers it otherwise (Podman has no swarm) is no manager
        // either; that is no reason to fail connecting.
        let swarm = swarm.is_ok();
        let raw = raw_calls::RawCalls::new(host, &api_version.to_string())?;
        Ok(DockerEngine {
            docker,
            raw,
            capabilities: Capabilities {
                engine: if podman {
                    EngineKind::Podman
                } else {
                    EngineKind::Docker
                },
                api_version,
                restart_policies: true,
                // A rootless engine's network gateways are not the
                // host's: the stack's DNS cannot listen there.
                dns_on_gateways: !rootless,
                ipv6: true,
                swarm,
                // A unix socket: host paths, ports and processes this
                // process sees are the engine's.
                local_paths: host.starts_with("unix://"),
            },
        })
    }
}

/// A client of the engine at `host` speaking API `version`, whose every
/// call answers within [`deadline`]. Making one sends nothing.
fn client(host: &str, version: &bollard::ClientVersion) -> Result<Docker> {
    let secs = deadline().as_secs();
    match host.split_once("://").map(|(scheme, _)| scheme) {
        Some("unix") => Docker::connect_with_unix(host, secs, version),
        Some("tcp" | "http") if std::env::var_os("DOCKER_TLS_VERIFY").is_some() => {
            return Err(EngineError::Unreachable(format!(
                "DOCKER_HOST={host} with DOCKER_TLS_VERIFY: TLS to the engine is not supported; reach the engine over its unix socket (e.g. `ssh -L /tmp/docker.sock:/var/run/docker.sock HOST`, then DOCKER_HOST=unix:///tmp/docker.sock)"
            )))
        }
        Some("tcp" | "http") => Docker::connect_with_http(host, secs, version),
        Some(scheme) => {
            return Err(EngineError::Unreachable(format!(
                "DOCKER_HOST={host}: the `{scheme}://` scheme is not supported; use unix:// or tcp:// (for a remote engine over ssh, forward its socket: `ssh -L /tmp/docker.sock:/var/run/docker.sock HOST`, then DOCKER_HOST=unix:///tmp/docker.sock)"
            )))
        }
        None => {
            return Err(EngineError::Unreachable(format!(
                "DOCKER_HOST={host} names no scheme; write unix:///path/to/docker.sock or tcp://HOST:PORT"
            )))
        }
    }
    .map_err(|e| EngineError::Unreachable(e.to_string()))
}

fn map_err(e: BollardError) -> EngineError {
    match e {
        BollardError::RequestTimeoutError => EngineError::Timeout(deadline()),
        BollardError::DockerResponseServerError {
            status_code,
            message,
        } => match status_code {
            404 => EngineError::NotFound(message),
            409 => EngineError::Conflict(message),
            503 if message.contains("swarm") => EngineError::NotSwarm(message),
            _ => EngineError::Api {
                status: Some(status_code),
                message,
            },
        },
        BollardError::IOError { err } => EngineError::Unreachable(err.to_string()),
        other => EngineError::api(other.to_string()),
    }
}

/// Objects of `project`; with `""`, of every project.
fn project_filter(project: &str) -> HashMap<String, Vec<String>> {
    label_filter(labels::PROJECT, project)
}

/// Objects with label `key`, of value `value` unless that is `""`.
fn label_filter(key: &str, value: &str) -> HashMap<String, Vec<String>> {
    let label = if value.is_empty() {
        key.to_string()
    } else {
        format!("{key}={value}")
    };
    HashMap::from([("label".to_string(), vec![label])])
}

/// `Exited (137) 5 seconds ago` -> 137.
fn exit_code_from_status(status: &str) -> i64 {
    status
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .and_then(|(code, _)| code.parse().ok())
        .unwrap_or(0)
}

/// Health from the list API's status text (`Up 3s (healthy)`), which
/// every API version has.
fn health_from_status(status: &str) -> Option<Health> {
    if status.contains("(healthy)") {
        Some(Health::Healthy)
    } else if status.contains("(unhealthy)") {
        Some(Health::Unhealthy)
    } else if status.contains("(health: starting)") {
        Some(Health::Starting)
    } else {
        None
    }
}

fn listing(mut c: ContainerSummary) -> ContainerListing {
    let mut ports: Vec<PortBinding> = c
        .ports
        .take()
        .unwrap_or_default()
        .into_iter()
        .map(|p| PortBinding {
            host_ip: p.ip.filter(|ip| !ip.is_empty()),
            host_port: p.public_port,
            container_port: p.private_port,
            protocol: p.typ.map_or_else(|| "tcp".to_string(), |t| t.to_string()),
        })
        .collect();
    ports.sort();
    ports.dedup();
    let mounts = c
        .mounts
        .take()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.name.filter(|n| !n.is_empty()).or(m.source))
        .collect();
    let mut networks: Vec<String> = c
        .network_settings
        .as_ref()
        .and_then(|n| n.networks.as_ref())
        .map(|n| n.keys().cloned().collect())
        .unwrap_or_default();
    networks.sort();
    ContainerListing {
        image: c.image.take().unwrap_or_default(),
        command: c.command.take().unwrap_or_default(),
        created: c.created.unwrap_or(0),
        state: c.state.map(|s| s.to_string()).unwrap_or_default(),
        status: c.status.clone().unwrap_or_default(),
        ports,
        mounts,
        networks,
        observed: observed_container(c),
    }
}

fn observed_container(c: ContainerSummary) -> ObservedContainer {
    let labels: BTreeMap<String, String> = c.labels.unwrap_or_default().into_iter().collect();
    let status = c.status.unwrap_or_default();
    let state = match c.state {
        Some(ContainerSummaryStateEnum::CREATED) => RunState::Created,
        Some(ContainerSummaryStateEnum::EXITED) => RunState::Exited {
            code: exit_code_from_status(&status),
        },
        Some(ContainerSummaryStateEnum::DEAD | ContainerSummaryStateEnum::REMOVING) => {
            RunState::Dead
        }
        _ => RunState::Running,
    };
    let endpoints = c
        .network_settings
        .and_then(|n| n.networks)
        .unwrap_or_default();
    ObservedContainer {
        id: c.id.unwrap_or_default(),
        name: container_name(c.names),
        service: labels.get(labels::SERVICE).cloned().unwrap_or_default(),
        replica: labels
            .get(labels::REPLICA)
            .and_then(|r| r.parse().ok())
            .unwrap_or(0),
        config_hash: labels.get(labels::CONFIG_HASH).cloned().unwrap_or_default(),
        labels,
        state,
        health: health_from_status(&status),
        image_id: c.image_id.unwrap_or_default(),
        addresses: endpoints
            .iter()
            .filter_map(|(name, e)| {
                Some((
                    name.clone(),
                    e.ip_address.clone().filter(|a| !a.is_empty())?,
                ))
            })
            .collect(),
        addresses_v6: endpoints
            .iter()
            .filter_map(|(name, e)| {
                Some((
                    name.clone(),
                    e.global_ipv6_address.clone().filter(|a| !a.is_empty())?,
                ))
            })
            .collect(),
    }
}

/// A listed container's name, without the engine's leading `/`.
fn container_name(names: Option<Vec<String>>) -> String {
    names
        .and_then(|n| n.into_iter().next())
        .map(|n| n.trim_start_matches('/').to_string())
        .unwrap_or_default()
}

fn network_addresses(n: bollard::models::Network) -> NetworkAddresses {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let pools = n.ipam.and_then(|i| i.config).unwrap_or_default();
    // Docker leaves a pool's gateway out of the network's IPAM when it
    // picked it itself (a subnet given without one): the subnet's first
    // address after the network's own, which the bridge holds.
    let gateways: Vec<IpAddr> = pools
        .iter()
        .filter_map(|p| {
            if let Some(Ok(gateway)) = p.gateway.as_deref().map(str::parse::<IpAddr>) {
                return Some(gateway);
            }
            match p.subnet.as_deref()?.parse::<ipnet::IpNet>().ok()? {
                ipnet::IpNet::V4(net) => Some(IpAddr::V4(Ipv4Addr::from(
                    u32::from(net.network()).checked_add(1)?,
                ))),
                ipnet::IpNet::V6(net) => Some(IpAddr::V6(Ipv6Addr::from(
                    u128::from(net.network()).checked_add(1)?,
                ))),
            }
        })
        .collect();
    NetworkAddresses {
        name: n.name.unwrap_or_default(),
        labels: n.labels.unwrap_or_default().into_iter().collect(),
        subnets: pools.iter().filter_map(|p| p.subnet.clone()).collect(),
        gateway: gateways
            .iter()
            .find(|g| g.is_ipv4())
            .map(ToString::to_string),
        gateway_v6: gateways
            .iter()
            .find(|g| g.is_ipv6())
            .filter(|_| n.enable_ipv6 == Some(true))
            .map(ToString::to_string),
    }
}

fn resource(name: String, labels: Option<HashMap<String, String>>) -> ObservedResource {
    let labels = labels.unwrap_or_default();
    ObservedResource {
        name,
        key: labels.get(labels::RESOURCE).cloned().unwrap_or_default(),
        hash: labels
            .get(labels::RESOURCE_HASH)
            .cloned()
            .unwrap_or_default(),
    }
}

/// `busybox` -> `busybox:latest`; references with a tag or digest stay.
fn with_tag(reference: &str) -> String {
    if registry::reference::has_digest(reference) || registry::reference::has_tag(reference) {
        reference.to_string()
    } else {
        format!("{reference}:latest")
    }
}

#[async_trait]
impl Engine for DockerEngine {
    async fn describe(&self) -> Result<String> {
        let v = self.docker.version().await.map_err(map_err)?;
        Ok(format!(
            "Docker Engine {} (API {}, using {})",
            v.version.unwrap_or_default(),
            v.api_version.unwrap_or_default(),
            self.docker.client_version()
        ))
    }

    fn capabilities(&self) -> Capabilities {
        self.capabilities.clone()
    }
}

#[async_trait]
impl Images for DockerEngine {
    async fn image_id(&self, reference: &str) -> Result<Option<String>> {
        match self.docker.inspect_image(reference).await {
            Ok(i) => Ok(i.id),
            Err(e) => match map_err(e) {
                EngineError::NotFound(_) => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn image_details(&self, reference: &str) -> Result<Option<ImageDetails>> {
        match self.docker.inspect_image(reference).await {
            Ok(i) => Ok(Some(ImageDetails {
                id: i.id.unwrap_or_default(),
                size: i.size.and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                platform: format!(
                    "{}/{}",
                    i.os.unwrap_or_default(),
                    i.architecture.unwrap_or_default()
                ),
                created: i
                    .created
                    .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                    .map(|t| t.as_second()),
                tagged_at: i
                    .metadata
                    .and_then(|m| m.last_tag_time)
                    .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                    .map(std::time::SystemTime::from),
            })),
            Err(e) => match map_err(e) {
                EngineError::NotFound(_) => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn pull_image(&self, reference: &str, auth: Option<&registry::Auth>) -> Result<()> {
        self.raw.pull(reference, auth).await
    }

    async fn push_image(&self, reference: &str, auth: Option<&registry::Auth>) -> Result<()> {
        self.raw.push(reference, auth).await
    }

    async fn registry_digest(
        &self,
        reference: &str,
        auth: Option<&registry::Auth>,
    ) -> Result<String> {
        self.raw.digest(reference, auth).await
    }

    async fn login(&self, auth: &registry::Auth) -> Result<Option<String>> {
        self.raw.login(auth).await
    }

    async fn build_image(&self, request: BuildRequest) -> Result<()> {
        self.raw.build(request).await
    }

    async fn remove_image(&self, reference: &str) -> Result<()> {
        self.docker
            .remove_image(
                &with_tag(reference),
                None::<bollard::query_parameters::RemoveImageOptions>,
                None,
            )
            .await
            .map(drop)
            .map_err(map_err)
    }

    async fn import_image(
        &self,
        reference: &str,
        rootfs_tar: Vec<u8>,
        changes: Vec<String>,
    ) -> Result<String> {
        let tagged = with_tag(reference);
        let (repo, tag) = match tagged.rsplit_once(':') {
            Some((r, t)) if !t.contains('/') => (r.to_string(), t.to_string()),
            _ => (tagged.clone(), "latest".to_string()),
        };
        let options = CreateImageOptions {
            from_src: Some("-".into()),
            repo: Some(repo),
            tag: Some(tag),
            changes,
            ..Default::default()
        };
        let mut stream = self.docker.create_image(
            Some(options),
            Some(bollard::body_full(rootfs_tar.into())),
            None,
        );
        while let Some(item) = stream.next().await {
            let info = item.map_err(map_err)?;
            if let Some(message) = info.error_detail.and_then(|d| d.message) {
                return Err(EngineError::api(format!(
                    "importing {reference}: {message}"
                )));
            }
        }
        self.image_id(&tagged)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("image {tagged} after import")))
    }
}

#[async_trait]
impl Resources for DockerEngine {
    async fn list_networks(&self, project: &str) -> Result<Vec<ObservedResource>> {
        let list = self
            .docker
            .list_networks(Some(ListNetworksOptions {
                filters: Some(project_filter(project)),
            }))
            .await
            .map_err(map_err)?;
        Ok(list
            .into_iter()
            .map(|n| resource(n.name.unwrap_or_default(), n.labels))
            .collect())
    }

    async fn list_network_addresses(&self) -> Result<Vec<NetworkAddresses>> {
        let list = self
            .docker
            .list_networks(None::<ListNetworksOptions>)
            .await
            .map_err(map_err)?;
        Ok(list.into_iter().map(network_addresses).collect())
    }

    async fn list_volumes(&self, project: &str) -> Result<Vec<ObservedResource>> {
        let list = self
            .docker
            .list_volumes(Some(ListVolumesOptions {
                filters: Some(project_filter(project)),
            }))
            .await
            .map_err(map_err)?;
        Ok(list
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| resource(v.name, Some(v.labels)))
            .collect())
    }

    async fn network_exists(&self, name: &str) -> Result<bool> {
        match self.docker.inspect_network(name, None).await {
            Ok(_) => Ok(true),
            Err(e) => match map_err(e) {
                EngineError::NotFound(_) => Ok(false),
                other => Err(other),
            },
        }
    }

    async fn volume_exists(&self, name: &str) -> Result<bool> {
        match self.docker.inspect_volume(name).await {
            Ok(_) => Ok(true),
            Err(e) => match map_err(e) {
                EngineError::NotFound(_) => Ok(false),
                other => Err(other),
            },
        }
    }

    async fn create_network(&self, spec: NetworkSpec) -> Result<()> {
        self.docker
            .create_network(translate::network_body(spec))
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    async fn remove_network(&self, name: &str) -> Result<()> {
        self.docker.remove_network(name).await.map_err(map_err)
    }

    async fn create_volume(&self, spec: VolumeSpec) -> Result<()> {
        self.docker
            .create_volume(translate::volume_body(spec))
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    async fn remove_volume(&self, name: &str) -> Result<()> {
        self.docker
            .remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>)
            .await
            .map_err(map_err)
    }
}

#[async_trait]
impl Containers for DockerEngine {
    async fn list_listings(&self, selection: &Selection) -> Result<Vec<ContainerListing>> {
        let filters = match selection {
            Selection::Project(project) => project_filter(project),
            Selection::OneOffs(project) => label_filter(labels::ONEOFF, project),
        };
        let list = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters),
                ..Default::default()
            }))
            .await
            .map_err(map_err)?;
        Ok(list.into_iter().map(listing).collect())
    }

    async fn list_published_ports(&self) -> Result<Vec<PublishedPort>> {
        let list = self
            .docker
            .list_containers(None::<ListContainersOptions>)
            .await
            .map_err(map_err)?;
        let mut out: Vec<PublishedPort> = Vec::new();
        for c in list {
            let container = container_name(c.names);
            let project = c.labels.and_then(|l| l.get(labels::PROJECT).cloned());
            for p in c.ports.unwrap_or_default() {
                let Some(port) = p.public_port else { continue };
                let published = PublishedPort {
                    container: container.clone(),
                    project: project.clone(),
                    host_ip: p.ip.filter(|ip| !ip.is_empty()),
                    port,
                    protocol: p.typ.map_or_else(|| "tcp".to_string(), |t| t.to_string()),
                };
                // The engine lists a port once per address family.
                let seen = out.iter().any(|o| {
                    o.container == published.container
                        && o.port == published.port
                        && o.protocol == published.protocol
                });
                if !seen {
                    out.push(published);
                }
            }
        }
        Ok(out)
    }

    async fn create_container(&self, request: CreateRequest) -> Result<String> {
        let api = self.capabilities.api_version;
        let body = translate::create_body(&request, api);
        let name = request.spec.name.clone();
        let id = match translate::container_mac(&request.spec, api) {
            // bollard's models have no container-wide MAC address any more.
            Some(mac) => {
                let mut body =
                    serde_json::to_value(&body).map_err(|e| EngineError::api(e.to_string()))?;
                body["MacAddress"] = mac.into();
                self.raw.create_container(&name, &body).await?
            }
            None => {
                self.docker
                    .create_container(
                        Some(bollard::query_parameters::CreateContainerOptions {
                            name: Some(name),
                            ..Default::default()
                        }),
                        body,
                    )
                    .await
                    .map_err(map_err)?
                    .id
            }
        };
        // API < 1.44 takes one network at create; connect the others now,
        // before the container starts, so it starts on all of them.
        if let Networking::Networks(list) = &request.spec.networking {
            for a in list.iter().skip(1) {
                if let Err(e) = self.connect_network(&id, a).await {
                    // Do not leave a half-attached container behind.
                    let _ = self.remove_container(&id, true).await;
                    return Err(e);
                }
            }
        }
        Ok(id)
    }

    async fn start_container(&self, id: &str) -> Result<()> {
        self.docker
            .start_container(id, None::<bollard::query_parameters::StartContainerOptions>)
            .await
            .map_err(map_err)
    }

    async fn connect_network(&self, id: &str, attachment: &Attachment) -> Result<()> {
        self.docker
            .connect_network(
                &attachment.network,
                NetworkConnectRequest {
                    container: id.to_string(),
                    endpoint_config: Some(translate::endpoint(
                        attachment,
                        translate::endpoint_macs(self.capabilities.api_version),
                    )),
                },
            )
            .await
            .map_err(map_err)
    }

    async fn disconnect_network(&self, network: &str, id: &str) -> Result<()> {
        self.docker
            .disconnect_network(
                network,
                bollard::models::NetworkDisconnectRequest {
                    container: id.to_string(),
                    force: Some(false),
                },
            )
            .await
            .map_err(map_err)
    }

    async fn rename_container(&self, id: &str, name: &str) -> Result<()> {
        self.docker
            .rename_container(
                id,
                bollard::query_parameters::RenameContainerOptions {
                    name: name.to_string(),
                },
            )
            .await
            .map_err(map_err)
    }

    async fn stop_container(&self, id: &str, timeout: Duration) -> Result<()> {
        let t = i32::try_from(timeout.as_secs()).unwrap_or(i32::MAX);
        // The engine answers a stop once the container has exited, which
        // may take the whole grace period: the deadline starts after it.
        let docker = self.docker.clone().with_timeout(timeout + deadline());
        match docker
            .stop_container(
                id,
                Some(StopContainerOptions {
                    t: Some(t),
                    ..Default::default()
                }),
            )
            .await
        {
            // 304: already stopped.
            Err(BollardError::DockerResponseServerError {
                status_code: 304, ..
            }) => Ok(()),
            other => other.map_err(map_err),
        }
    }

    async fn remove_container(&self, id: &str, anonymous_volumes: bool) -> Result<()> {
        self.docker
            .remove_container(
                id,
                Some(RemoveContainerOptions {
                    v: anonymous_volumes,
                    force: true,
                    ..Default::default()
                }),
            )
            .await
            .map_err(map_err)
    }

    async fn inspect_container(&self, id: &str) -> Result<ContainerStatus> {
        let c = self
            .docker
            .inspect_container(
                id,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .map_err(map_err)?;
        let state = c.state.unwrap_or_default();
        let started_at = state.started_at.clone().filter(|t| !t.starts_with("0001-"));
        let oom_killed = state.oom_killed.unwrap_or(false);
        let run = match state.status {
            Some(bollard::models::ContainerStateStatusEnum::CREATED) => RunState::Created,
            Some(bollard::models::ContainerStateStatusEnum::EXITED) => RunState::Exited {
                code: state.exit_code.unwrap_or(0),
            },
            Some(
                bollard::models::ContainerStateStatusEnum::DEAD
                | bollard::models::ContainerStateStatusEnum::REMOVING,
            ) => RunState::Dead,
            _ => RunState::Running,
        };
        let health = state.health.as_ref().and_then(|h| match h.status {
            Some(HealthStatusEnum::HEALTHY) => Some(Health::Healthy),
            Some(HealthStatusEnum::UNHEALTHY) => Some(Health::Unhealthy),
            Some(HealthStatusEnum::STARTING) => Some(Health::Starting),
            _ => None,
        });
        let last_health_output = state
            .health
            .and_then(|h| h.log)
            .and_then(|log| log.into_iter().last())
            .and_then(|r| r.output)
            .map(|o| o.trim().to_string());
        let ports = c
            .network_settings
            .and_then(|n| n.ports)
            .map(|ports| {
                let mut out: Vec<String> = ports
                    .into_iter()
                    .flat_map(|(port, bindings)| {
                        let bindings = bindings.unwrap_or_default();
                        // Exposed and not published: shown as Compose
                        // shows it, `80/tcp`.
                        let exposed = bindings.is_empty().then(|| port.clone());
                        bindings
                            .into_iter()
                            .map(move |b| {
                                format!(
                                    "{}:{}->{port}",
                                    b.host_ip.unwrap_or_default(),
                                    b.host_port.unwrap_or_default()
                                )
                            })
                            .chain(exposed)
                            .collect::<Vec<_>>()
                    })
                    .collect();
                out.sort();
                out
            })
            .unwrap_or_default();
        let volumes = c
            .mounts
            .unwrap_or_default()
            .into_iter()
            .filter(|m| m.typ.as_deref() == Some("volume"))
            .filter_map(|m| Some((m.destination?, m.name?)))
            .collect();
        Ok(ContainerStatus {
            state: run,
            health,
            last_health_output,
            ports,
            volumes,
            started_at,
            oom_killed,
        })
    }

    async fn kill_container(&self, id: &str, signal: &str) -> Result<()> {
        self.docker
            .kill_container(
                id,
                Some(bollard::query_parameters::KillContainerOptions {
                    signal: signal.to_string(),
                }),
            )
            .await
            .map_err(map_err)
    }

    async fn pause_container(&self, id: &str, paused: bool) -> Result<()> {
        let done = if paused {
            self.docker.pause_container(id).await
        } else {
            self.docker.unpause_container(id).await
        };
        done.map_err(map_err)
    }

    async fn top(&self, id: &str) -> Result<Processes> {
        let top = self
            .docker
            .top_processes(id, None::<bollard::query_parameters::TopOptions>)
            .await
            .map_err(map_err)?;
        Ok(Processes {
            titles: top.titles.unwrap_or_default(),
            rows: top.processes.unwrap_or_default(),
        })
    }

    async fn stats(&self, id: &str) -> Result<ContainerStats> {
        let mut samples = self.docker.stats(
            id,
            Some(bollard::query_parameters::StatsOptions {
                stream: false,
                one_shot: false,
            }),
        );
        let Some(sample) = samples.next().await else {
            return Err(EngineError::api(format!("no statistics for {id}")));
        };
        Ok(container_stats(sample.map_err(map_err)?))
    }

    async fn wait_container(&self, id: &str) -> Result<i64> {
        // A wait lasts as long as the container runs: each call gets the
        // usual deadline and is asked again when it passes.
        loop {
            let mut answers = self.docker.wait_container(
                id,
                Some(bollard::query_parameters::WaitContainerOptions {
                    condition: "not-running".to_string(),
                }),
            );
            match answers.next().await {
                Some(Ok(done)) => return Ok(done.status_code),
                // A non-zero exit arrives as this error, with the code.
                Some(Err(BollardError::DockerContainerWaitError { code, .. })) => return Ok(code),
                Some(Err(BollardError::RequestTimeoutError)) => continue,
                Some(Err(e)) => return Err(map_err(e)),
                None => {
                    return Err(EngineError::api(format!(
                        "the engine ended the wait for {id} without an exit code"
                    )))
                }
            }
        }
    }
}

#[async_trait]
impl Streams for DockerEngine {
    fn logs(&self, id: &str, options: LogOptions) -> BoxStream<'static, Result<LogLine>> {
        let opts = LogsOptions {
            follow: options.follow,
            stdout: true,
            stderr: true,
            timestamps: options.timestamps,
            tail: options
                .tail
                .map_or_else(|| "all".to_string(), |n| n.to_string()),
            since: options
                .since
                .map_or(0, |t| i32::try_from(t).unwrap_or(i32::MAX)),
            until: options
                .until
                .map_or(0, |t| i32::try_from(t).unwrap_or(i32::MAX)),
        };
        self.docker
            .logs(id, Some(opts))
            .map_ok(|out| {
                let stderr = matches!(out, bollard::container::LogOutput::StdErr { .. });
                LogLine {
                    stderr,
                    text: String::from_utf8_lossy(&out.into_bytes()).into_owned(),
                }
            })
            .map_err(map_err)
            .boxed()
    }

    async fn exec(&self, id: &str, request: ExecRequest) -> Result<ExecOutput> {
        let exec = self
            .docker
            .create_exec(id, exec_config(request, false, false))
            .await
            .map_err(map_err)?;
        let mut output = String::new();
        if let bollard::exec::StartExecResults::Attached {
            output: mut stream, ..
        } = self
            .docker
            .start_exec(&exec.id, None)
            .await
            .map_err(map_err)?
        {
            while let Some(chunk) = stream.next().await {
                output.push_str(&String::from_utf8_lossy(
                    &chunk.map_err(map_err)?.into_bytes(),
                ));
            }
        }
        let inspect = self.docker.inspect_exec(&exec.id).await.map_err(map_err)?;
        Ok(ExecOutput {
            code: inspect.exit_code.unwrap_or(-1),
            output,
        })
    }

    async fn exec_attached(
        &self,
        id: &str,
        request: ExecRequest,
        tty: bool,
        io: AttachedIo,
    ) -> Result<i64> {
        use tokio::io::AsyncWriteExt;
        let detach = request.detach;
        let exec = self
            .docker
            .create_exec(id, exec_config(request, !detach, tty))
            .await
            .map_err(map_err)?;
        if detach {
            self.docker
                .start_exec(
                    &exec.id,
                    Some(bollard::exec::StartExecOptions {
                        detach: true,
                        ..Default::default()
                    }),
                )
                .await
                .map_err(map_err)?;
            return Ok(0);
        }
        let started = self
            .docker
            .start_exec(
                &exec.id,
                Some(bollard::exec::StartExecOptions {
                    tty,
                    ..Default::default()
                }),
            )
            .await
            .map_err(map_err)?;
        if let bollard::exec::StartExecResults::Attached {
            output: mut stream,
            mut input,
        } = started
        {
            let mut reader = io.input;
            let feeder = tokio::spawn(async move {
                let _ = tokio::io::copy(&mut reader, &mut input).await;
                let _ = input.shutdown().await;
            });
            let mut out = io.output;
            while let Some(chunk) = stream.next().await {
                let bytes = chunk.map_err(map_err)?.into_bytes();
                out.write_all(&bytes)
                    .await
                    .map_err(|e| EngineError::api(e.to_string()))?;
                out.flush()
                    .await
                    .map_err(|e| EngineError::api(e.to_string()))?;
            }
            feeder.abort();
        }
        let inspect = self.docker.inspect_exec(&exec.id).await.map_err(map_err)?;
        Ok(inspect.exit_code.unwrap_or(-1))
    }
}

/// A stats sample as the docker CLI computes it: CPU from the change
/// since the engine's previous sample, memory without the page cache.
fn container_stats(s: bollard::models::ContainerStatsResponse) -> ContainerStats {
    let total = |c: &Option<bollard::models::ContainerCpuStats>| {
        let c = c.as_ref();
        (
            c.and_then(|c| c.cpu_usage.as_ref())
                .and_then(|u| u.total_usage)
                .unwrap_or(0),
            c.and_then(|c| c.system_cpu_usage).unwrap_or(0),
            c.and_then(|c| c.online_cpus).unwrap_or(1),
        )
    };
    let (cpu, system, cpus) = total(&s.cpu_stats);
    let (pre_cpu, pre_system, _) = total(&s.precpu_stats);
    let cpu_delta = cpu.saturating_sub(pre_cpu) as f64;
    let system_delta = system.saturating_sub(pre_system) as f64;
    let cpu_percent = if system_delta > 0.0 {
        cpu_delta / system_delta * f64::from(cpus) * 100.0
    } else {
        0.0
    };
    let memory = s.memory_stats.as_ref();
    let cache = memory
        .and_then(|m| m.stats.as_ref())
        .and_then(|st| {
            st.get("inactive_file")
                .or_else(|| st.get("total_inactive_file"))
        })
        .copied()
        .unwrap_or(0);
    let used = memory
        .and_then(|m| m.usage)
        .unwrap_or(0)
        .saturating_sub(cache);
    let net_io = s
        .networks
        .iter()
        .flat_map(|n| n.values())
        .fold((0, 0), |(rx, tx), n| {
            (rx + n.rx_bytes.unwrap_or(0), tx + n.tx_bytes.unwrap_or(0))
        });
    let block_io = s
        .blkio_stats
        .as_ref()
        .and_then(|b| b.io_service_bytes_recursive.as_ref())
        .into_iter()
        .flatten()
        .fold((0, 0), |(r, w), e| {
            let v = e.value.unwrap_or(0);
            match e.op.as_deref().map(str::to_ascii_lowercase).as_deref() {
                Some("read") => (r + v, w),
                Some("write") => (r, w + v),
                _ => (r, w),
            }
        });
    ContainerStats {
        cpu_percent,
        memory: used,
        memory_limit: memory.and_then(|m| m.limit).unwrap_or(0),
        net_io,
        block_io,
        pids: s.pids_stats.and_then(|p| p.current).unwrap_or(0),
    }
}

/// The API's exec body: the request's user, directory, privileges and
/// variables; output attached unless detached, stdin with `stdin`.
fn exec_config(request: ExecRequest, stdin: bool, tty: bool) -> bollard::models::ExecConfig {
    let attached = !request.detach;
    bollard::models::ExecConfig {
        cmd: Some(request.command),
        user: request.user,
        privileged: Some(request.privileged),
        working_dir: request.working_dir,
        env: (!request.env.is_empty()).then_some(request.env),
        attach_stdin: Some(stdin),
        attach_stdout: Some(attached),
        attach_stderr: Some(attached),
        tty: Some(tty),
        ..Default::default()
    }
}

#[async_trait]
impl Archives for DockerEngine {
    async fn path_is_dir(&self, id: &str, path: &str) -> Result<Option<bool>> {
        let info = self
            .docker
            .get_container_archive_info(
                id,
                Some(bollard::query_parameters::ContainerArchiveInfoOptions {
                    path: path.to_string(),
                }),
            )
            .await;
        match info.map_err(map_err) {
            // Go's os.ModeDir.
            Ok(stat) => Ok(Some(stat.file_mode & (1 << 31) != 0)),
            Err(EngineError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn download(&self, id: &str, path: &str) -> Result<Vec<u8>> {
        let mut chunks = self.docker.download_from_container(
            id,
            Some(bollard::query_parameters::DownloadFromContainerOptions {
                path: path.to_string(),
            }),
        );
        let mut tar = Vec::new();
        while let Some(chunk) = chunks.next().await {
            tar.extend_from_slice(&chunk.map_err(map_err)?);
        }
        Ok(tar)
    }

    async fn upload(&self, id: &str, dir: &str, tar: Vec<u8>, keep_owners: bool) -> Result<()> {
        self.docker
            .upload_to_container(
                id,
                Some(bollard::query_parameters::UploadToContainerOptions {
                    path: dir.to_string(),
                    copy_uidgid: keep_owners.then(|| "true".to_string()),
                    ..Default::default()
                }),
                bollard::body_full(tar.into()),
            )
            .await
            .map_err(map_err)
    }
}

#[async_trait]
impl Attach for DockerEngine {
    async fn attach_container(
        &self,
        id: &str,
        io: AttachedIo,
    ) -> Result<futures::future::BoxFuture<'static, Result<()>>> {
        use tokio::io::AsyncWriteExt;
        // The deadline covers the answer; the stream after it lasts as long
        // as the process.
        let attached = self
            .docker
            .attach_container(
                id,
                Some(bollard::query_parameters::AttachContainerOptions {
                    stdin: true,
                    stdout: true,
                    stderr: true,
                    stream: true,
                    logs: false,
                    ..Default::default()
                }),
            )
            .await
            .map_err(map_err)?;
        let bollard::container::AttachContainerResults {
            output: mut stream,
            mut input,
        } = attached;
        let mut reader = io.input;
        let mut out = io.output;
        Ok(Box::pin(async move {
            let feeder = tokio::spawn(async move {
                let _ = tokio::io::copy(&mut reader, &mut input).await;
                let _ = input.shutdown().await;
            });
            while let Some(chunk) = stream.next().await {
                let bytes = chunk.map_err(map_err)?.into_bytes();
                out.write_all(&bytes)
                    .await
                    .map_err(|e| EngineError::api(e.to_string()))?;
                out.flush()
                    .await
                    .map_err(|e| EngineError::api(e.to_string()))?;
            }
            feeder.abort();
            Ok(())
        }))
    }
}

impl Events for DockerEngine {
    fn events(&self, project: &str) -> BoxStream<'static, Result<EngineEvent>> {
        let opts = EventsOptions {
            filters: Some(project_filter(project)),
            ..Default::default()
        };
        self.docker
            .events(Some(opts))
            .map_ok(|e| {
                let actor = e.actor.unwrap_or_default();
                EngineEvent {
                    time_nanos: e.time_nano.unwrap_or_default(),
                    kind: e.typ.map(|t| t.to_string()).unwrap_or_default(),
                    action: e.action.unwrap_or_default(),
                    id: actor.id.unwrap_or_default(),
                    attributes: actor.attributes.unwrap_or_default().into_iter().collect(),
                }
            })
            .map_err(map_err)
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_text_parsing() {
        assert_eq!(exit_code_from_status("Exited (137) 5 seconds ago"), 137);
        assert_eq!(
            health_from_status("Up 3 seconds (healthy)"),
            Some(Health::Healthy)
        );
        assert_eq!(
            health_from_status("Up 1 second (health: starting)"),
            Some(Health::Starting)
        );
        assert_eq!(health_from_status("Up 2 minutes"), None);
        assert_eq!(with_tag("busybox"), "busybox:latest");
        assert_eq!(with_tag("registry:5000/app"), "registry:5000/app:latest");
        assert_eq!(with_tag("busybox:1.36"), "busybox:1.36");
    }
}
