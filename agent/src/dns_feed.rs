//! Feeding the stack's DNS: the zone made from what the engine runs (the
//! containers' labels, addresses and health, the networks' gateways),
//! rebuilt on every engine event about the project, and the listeners
//! kept on the project's network gateways and the host's loopback.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use dns::{
    Arrival, DnsServer, Forwarder, Replica, ReplicaHealth, ServicePort, Zone, ZoneData,
    ZoneNetwork, ZoneService,
};
use planner::{labels, Health, NetworkAddresses, ObservedContainer};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::watch::{EventWatch, Wake};
use reconciler::engine::{Engine, Result};
use reconciler::state::StateDir;

/// TTL of the stack's records, in seconds: short, so health changes reach
/// clients fast.
pub const DEFAULT_TTL: u32 = 2;

/// How the agent serves the stack's DNS.
#[derive(Debug, Clone)]
pub struct DnsOptions {
    /// Loopback port for the host's questions; `None`: none.
    pub loopback_port: Option<u16>,
    /// Port on the network gateways (53: containers can ask no other).
    pub gateway_port: u16,
    /// Where names that are not the stack's go.
    pub upstreams: Vec<SocketAddr>,
    /// Give up on the upstreams after this long (then SERVFAIL).
    pub upstream_deadline: Duration,
    /// TTL of the stack's records, in seconds.
    pub ttl: u32,
    /// Rebuild at least this often, events or not.
    pub resync: Duration,
    /// Where to keep the list of addresses listened on, one per line (for
    /// `stack agent status`): a file in a state directory; removed on
    /// shutdown.
    pub status_file: Option<(StateDir, String)>,
    /// Where to serve the live query log (`stack dns log -f`): a unix
    /// socket in the agent's state directory.
    pub log_socket: Option<std::path::PathBuf>,
}

impl Default for DnsOptions {
    fn default() -> Self {
        DnsOptions {
            loopback_port: Some(5380),
            gateway_port: 53,
            upstreams: dns::resolv::host_nameservers()
                .into_iter()
                .map(|ip| SocketAddr::new(ip, 53))
                .collect(),
            upstream_deadline: Duration::from_secs(2),
            ttl: DEFAULT_TTL,
            resync: Duration::from_secs(5),
            status_file: None,
            log_socket: None,
        }
    }
}

/// The zone of `project` from its containers and the engine's networks.
pub fn zone_data(
    project: &str,
    ttl: u32,
    containers: &[ObservedContainer],
    networks: &[NetworkAddresses],
) -> ZoneData {
    let mut ours: Vec<&NetworkAddresses> = networks
        .iter()
        .filter(|n| n.project() == Some(project))
        .collect();
    // Engine network name -> key in the stack file.
    let mut keys: BTreeMap<&str, String> = ours
        .iter()
        .map(|n| {
            let key = n.labels.get(labels::RESOURCE).cloned();
            (n.name.as_str(), key.unwrap_or_else(|| n.name.clone()))
        })
        .collect();
    // The networks the project's containers join that it did not create
    // (external ones, shared with other stacks), keyed by engine name.
    for n in shared_networks(containers, networks, &ours) {
        if keys.values().any(|k| *k == n.name) {
            tracing::debug!(
                "dns: external network {} has the key of a network of the stack; left out",
                n.name
            );
            continue;
        }
        keys.insert(n.name.as_str(), n.name.clone());
        ours.push(n);
    }
    let mut services: BTreeMap<String, ZoneService> = BTreeMap::new();
    // Services that share another's network namespace: sidecar -> parent.
    let mut sidecars: BTreeMap<String, String> = BTreeMap::new();
    let mut on_bridge = false;
    for c in containers {
        let svc = services.entry(c.service.clone()).or_insert_with(|| {
            let definition: Value = c
                .labels
                .get(labels::CONFIG)
                .and_then(|d| serde_json::from_str(d).ok())
                .unwrap_or(Value::Null);
            let mode: Option<schema::NamespaceRef> = definition
                .get("network_mode")
                .and_then(|m| serde_json::from_value(m.clone()).ok());
            let mut networks = service_networks(&definition);
            match mode {
                Some(schema::NamespaceRef::Mode(m)) if m == BRIDGE => {
                    networks = vec![BRIDGE.to_string()];
                }
                Some(schema::NamespaceRef::Service(parent)) => {
                    sidecars.insert(c.service.clone(), parent);
                }
                _ => {}
            }
            ZoneService {
                name: c.service.clone(),
                networks,
                ports: service_ports(&definition),
                replicas: Vec::new(),
            }
        });
        // A replica being replaced is draining (see `execute`): answered no more.
        if !c.is_running() || c.name.ends_with("-old") {
            continue;
        }
        // A shared network is one of the service's networks too.
        for key in c.addresses.keys().chain(c.addresses_v6.keys()) {
            if let Some(key) = keys.get(key.as_str()) {
                if !svc.networks.contains(key) && svc.networks != [BRIDGE] {
                    svc.networks.push(key.clone());
                }
            }
        }
        // The engine's default bridge is no network of the stack: its
        // addresses are answered on loopback only (for the host), under
        // the key `bridge`, which no gateway serves.
        let key_of = |net: &str| match keys.get(net) {
            Some(key) => Some(key.clone()),
            None if net == BRIDGE && svc.networks == [BRIDGE] => Some(BRIDGE.to_string()),
            None => None,
        };
        let addresses: BTreeMap<String, std::net::Ipv4Addr> = c
            .addresses
            .iter()
            .filter_map(|(net, ip)| Some((key_of(net)?, ip.parse().ok()?)))
            .collect();
        let addresses_v6 = c
            .addresses_v6
            .iter()
            .filter_map(|(net, ip)| Some((key_of(net)?, ip.parse().ok()?)))
            .collect();
        on_bridge |= addresses.contains_key(BRIDGE);
        // A start-first replacement is not in service before it replaces
        // its predecessor (see `execute`).
        let replacing = c.name.ends_with("-next");
        svc.replicas.push(Replica {
            number: c.replica,
            health: match c.health {
                _ if replacing => ReplicaHealth::Starting,
                None => ReplicaHealth::Unchecked,
                Some(Health::Starting) => ReplicaHealth::Starting,
                Some(Health::Healthy) => ReplicaHealth::Healthy,
                Some(Health::Unhealthy) => ReplicaHealth::Unhealthy,
            },
            addresses,
            addresses_v6,
        });
    }
    share_parents_addresses(&mut services, &sidecars);
    let mut networks: Vec<ZoneNetwork> = ours
        .iter()
        .map(|n| ZoneNetwork {
            key: keys.get(n.name.as_str()).cloned().unwrap_or_default(),
            name: n.name.clone(),
            subnets: n.subnets.iter().filter_map(|s| s.parse().ok()).collect(),
            gateway: n.gateway.as_deref().and_then(|g| g.parse().ok()),
            gateway_v6: n.gateway_v6.as_deref().and_then(|g| g.parse().ok()),
        })
        .collect();
    if on_bridge && !networks.iter().any(|n| n.key == BRIDGE) {
        // In loopback's view, with no subnet (its containers are not the
        // stack's askers) and no gateway (nothing listens there).
        networks.push(ZoneNetwork {
            key: BRIDGE.to_string(),
            name: BRIDGE.to_string(),
            subnets: Vec::new(),
            gateway: None,
            gateway_v6: None,
        });
    }
    ZoneData {
        project: project.to_string(),
        ttl,
        networks,
        services: services.into_values().collect(),
    }
}

/// `network_mode: bridge`, and the engine's default network of that name.
const BRIDGE: &str = "bridge";

/// The user-defined networks `containers` join that are not among `ours`
/// (not the engine's default bridge, which is no network of the stack).
fn shared_networks<'a>(
    containers: &[ObservedContainer],
    networks: &'a [NetworkAddresses],
    ours: &[&NetworkAddresses],
) -> Vec<&'a NetworkAddresses> {
    let joined: BTreeSet<&str> = containers
        .iter()
        .flat_map(|c| c.addresses.keys().chain(c.addresses_v6.keys()))
        .map(String::as_str)
        .collect();
    networks
        .iter()
        .filter(|n| joined.contains(n.name.as_str()) && n.name != BRIDGE)
        .filter(|n| !ours.iter().any(|o| o.name == n.name))
        .collect()
}

/// A sidecar (`network_mode: service:PARENT`) has no address of its own:
/// it answers, under its own name, with the addresses of the parent's
/// replica of the same number (the parent's first when it has fewer), on
/// the parent's networks.
fn share_parents_addresses(
    services: &mut BTreeMap<String, ZoneService>,
    sidecars: &BTreeMap<String, String>,
) {
    for (sidecar, parent) in sidecars {
        let Some(parent) = services.get(parent).cloned() else {
            continue;
        };
        let Some(svc) = services.get_mut(sidecar) else {
            continue;
        };
        svc.networks = parent.networks.clone();
        for replica in &mut svc.replicas {
            let source = parent
                .replicas
                .iter()
                .find(|r| r.number == replica.number)
                .or_else(|| parent.replicas.first());
            if let Some(source) = source {
                replica.addresses = source.addresses.clone();
                replica.addresses_v6 = source.addresses_v6.clone();
            }
        }
    }
}

/// Network keys of a normalised service definition (`networks` is a map).
fn service_networks(definition: &Value) -> Vec<String> {
    match definition.get("networks") {
        Some(Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// Ports of a normalised service definition: `ports` (long form) and
/// `expose` (`"80"`, `"80/udp"`, `"8000-8002"`).
fn service_ports(definition: &Value) -> Vec<ServicePort> {
    let mut out: Vec<ServicePort> = Vec::new();
    for p in definition
        .get("ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(port) = p
            .get("target")
            .and_then(Value::as_u64)
            .and_then(|t| u16::try_from(t).ok())
        else {
            continue;
        };
        out.push(ServicePort {
            name: p.get("name").and_then(Value::as_str).map(str::to_string),
            port,
            protocol: p
                .get("protocol")
                .and_then(Value::as_str)
                .unwrap_or("tcp")
                .to_string(),
        });
    }
    for e in definition
        .get("expose")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let text = match e {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let (range, protocol) = text.split_once('/').unwrap_or((&text, "tcp"));
        let (first, last) = range.split_once('-').unwrap_or((range, range));
        let (Ok(first), Ok(last)) = (first.parse::<u16>(), last.parse::<u16>()) else {
            continue;
        };
        for port in first..=last {
            let known = out.iter().any(|p| p.port == port && p.protocol == protocol);
            if !known {
                out.push(ServicePort {
                    name: None,
                    port,
                    protocol: protocol.to_string(),
                });
            }
        }
    }
    out
}

/// Read the zone of `project` from the engine.
pub async fn read_zone(engine: &dyn Engine, project: &str, ttl: u32) -> Result<ZoneData> {
    let (containers, networks) = futures::try_join!(
        engine.list_containers(project),
        engine.list_network_addresses(),
    )?;
    Ok(zone_data(project, ttl, &containers, &networks))
}

/// The zones of every project on the engine: `project`'s, and the others'.
pub async fn read_zones(
    engine: &dyn Engine,
    project: &str,
    ttl: u32,
) -> Result<(ZoneData, Vec<ZoneData>)> {
    let (containers, networks) =
        futures::try_join!(engine.list_containers(""), engine.list_network_addresses(),)?;
    let mut by_project: BTreeMap<String, Vec<ObservedContainer>> = BTreeMap::new();
    for c in containers {
        let of = c.labels.get(labels::PROJECT).cloned().unwrap_or_default();
        by_project.entry(of).or_default().push(c);
    }
    let own = by_project.remove(project).unwrap_or_default();
    let others = by_project
        .iter()
        .map(|(p, cs)| zone_data(p, ttl, cs, &networks))
        .collect();
    Ok((zone_data(project, ttl, &own, &networks), others))
}

/// Where to listen for `zone`: each network's gateways (IPv4, and IPv6
/// where the network has it), and loopback.
fn listeners(zone: &Zone, options: &DnsOptions) -> BTreeMap<SocketAddr, Arrival> {
    let mut out: BTreeMap<SocketAddr, Arrival> = zone
        .data()
        .networks
        .iter()
        .flat_map(|n| {
            let v4 = n.gateway.map(IpAddr::V4);
            let v6 = n.gateway_v6.map(IpAddr::V6);
            v4.into_iter().chain(v6).map(|gateway| {
                (
                    SocketAddr::new(gateway, options.gateway_port),
                    Arrival::Network(n.key.clone()),
                )
            })
        })
        .collect();
    if let Some(port) = options.loopback_port {
        for host in loopbacks() {
            out.insert(SocketAddr::new(*host, port), Arrival::Loopback);
        }
    }
    out
}

/// The host's loopback addresses: `127.0.0.1`, and `::1` unless the host
/// has no IPv6 (checked once: a socket bound to it, port 0, closed).
fn loopbacks() -> &'static [IpAddr] {
    static FOUND: std::sync::OnceLock<Vec<IpAddr>> = std::sync::OnceLock::new();
    FOUND.get_or_init(|| {
        let v6 = IpAddr::V6(std::net::Ipv6Addr::LOCALHOST);
        let has_v6 = std::net::UdpSocket::bind(SocketAddr::new(v6, 0)).is_ok();
        let v4 = IpAddr::V4(Ipv4Addr::LOCALHOST);
        if has_v6 {
            vec![v4, v6]
        } else {
            vec![v4]
        }
    })
}

/// The server and what the feed remembers between rebuilds.
struct Feed {
    server: DnsServer,
    options: DnsOptions,
    serial: u32,
    /// What the zones were last built from.
    applied: Option<(ZoneData, Vec<ZoneData>)>,
    /// Zone warnings already logged.
    warned: BTreeSet<String>,
    /// Addresses that could not be listened on (logged once).
    /// Addresses it could not listen on, with why (and who holds them).
    failed: BTreeMap<SocketAddr, String>,
}

impl Feed {
    /// Answer from these zones from now on, and listen where they say.
    /// A resync that finds what the last one found keeps the zones (and
    /// the answers prepared from them) and only retries the listeners.
    async fn apply(&mut self, own: ZoneData, others: Vec<ZoneData>) {
        let unchanged = self
            .applied
            .as_ref()
            .is_some_and(|(o, n)| *o == own && *n == others);
        if !unchanged {
            self.serial = self.serial.wrapping_add(1);
            let serial = self.serial;
            self.applied = Some((own.clone(), others.clone()));
            let neighbours = others.into_iter().map(|d| Zone::new(d, serial)).collect();
            let zone = Zone::new(own, serial);
            let warnings: BTreeSet<String> = zone.warnings().into_iter().collect();
            for w in warnings.difference(&self.warned) {
                tracing::warn!("dns: {w}");
            }
            self.warned = warnings;
            self.server.set_zones(zone, neighbours);
        }
        let wanted = listeners(&self.server.zone(), &self.options);
        let failed = self.server.sync(&wanted).await;
        // Who holds a taken port is read from /proc: on the blocking pool.
        let named: Vec<(
            SocketAddr,
            String,
            Option<reconciler::host_ports::PortHolder>,
        )> = tokio::task::spawn_blocking(move || {
            failed
                .into_iter()
                .map(|(addr, e)| {
                    let holder = (e.kind() == std::io::ErrorKind::AddrInUse)
                        .then(|| {
                            reconciler::host_ports::holder(
                                addr.port(),
                                reconciler::host_ports::Proto::Udp,
                            )
                        })
                        .flatten();
                    (addr, e.to_string(), holder)
                })
                .collect()
        })
        .await
        .unwrap_or_default();
        for (addr, e, holder) in &named {
            if self.failed.contains_key(addr) {
                continue;
            }
            match (wanted.get(addr), holder) {
                // Another stack's agent holds the host's port: it answers
                // for every stack, this one included. Nothing is wrong.
                (Some(Arrival::Loopback), Some(h)) if h.command == "stack" => tracing::info!(
                    "dns: {addr} is served by another stack's agent ({h}), which answers for this stack too"
                ),
                (_, holder) => {
                    let who = holder.as_ref().map_or_else(String::new, |h| format!(" (held by {h})"));
                    tracing::warn!("dns: cannot listen on {addr}: {e}{who}");
                }
            }
        }
        self.failed = named
            .into_iter()
            .map(|(addr, e, holder)| {
                let who = holder.map_or_else(String::new, |h| format!("; held by {h}"));
                (addr, format!("{e}{who}"))
            })
            .collect();
        if let Some((dir, name)) = &self.options.status_file {
            write_status(dir, name, &self.server, &self.failed).await;
        }
    }
}

/// Serve the stack's DNS for `project` until `shutdown`: rebuild the zone
/// whenever the engine reports something about the project (about any
/// project when loopback is served: it answers for every stack), and every
/// `resync`; keep the listeners on the current networks.
pub async fn serve(
    engine: Arc<dyn Engine>,
    project: String,
    options: DnsOptions,
    shutdown: CancellationToken,
) {
    let forwarder = Forwarder::new(options.upstreams.clone(), options.upstream_deadline);
    let empty = ZoneData {
        project: project.clone(),
        ttl: options.ttl,
        ..Default::default()
    };
    let ttl = options.ttl;
    let resync = options.resync;
    let watched = if options.loopback_port.is_some() {
        ""
    } else {
        project.as_str()
    };
    let mut feed = Feed {
        server: DnsServer::new(Zone::new(empty, 0), forwarder),
        options,
        serial: 0,
        applied: None,
        warned: BTreeSet::new(),
        failed: BTreeMap::new(),
    };
    if let Some(path) = feed.options.log_socket.clone() {
        let log = feed.server.query_log();
        tokio::spawn(crate::dns_log::serve(path, log, shutdown.clone()));
    }
    let mut watch = EventWatch::new(engine.clone(), watched, Duration::from_millis(500));
    loop {
        watch.open();
        let read = match watched {
            "" => read_zones(&*engine, &project, ttl).await,
            _ => read_zone(&*engine, &project, ttl)
                .await
                .map(|own| (own, Vec::new())),
        };
        match read {
            Ok((own, others)) => feed.apply(own, others).await,
            Err(e) => tracing::warn!("dns: cannot read the engine: {e}; trying again"),
        }
        // Rebuild on a burst of events, a reopened stream, or the resync.
        let burst = Duration::from_millis(20);
        if watch.wait(resync, burst, &shutdown).await == Wake::Shutdown {
            break;
        }
    }
    let Feed {
        server, options, ..
    } = feed;
    server.shutdown().await;
    if let Some((dir, name)) = &options.status_file {
        if let Err(e) = dir.remove(name) {
            tracing::debug!("dns: {e}");
        }
    }
}

/// Write where `server` listens, one `address view` line each, and where
/// it could not.
async fn write_status(
    dir: &StateDir,
    name: &str,
    server: &DnsServer,
    failed: &BTreeMap<SocketAddr, String>,
) {
    let listening = server.listening().map(|(addr, arrival)| match arrival {
        Arrival::Loopback => format!("{addr} every network, every stack on the engine\n"),
        Arrival::Network(key) => format!("{addr} network {key}\n"),
    });
    let not = failed
        .iter()
        .map(|(addr, why)| format!("{addr} not listening: {why}\n"));
    let text: String = listening.chain(not).collect();
    // A state file: read and written on the blocking pool.
    let (dir, name) = (dir.clone(), name.to_string());
    let written = tokio::task::spawn_blocking(move || {
        if dir.read_text(&name) != text {
            dir.write(&name, text.as_bytes())?;
        }
        Ok::<_, reconciler::state::StateError>(())
    });
    match written.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!("dns: {e}"),
        Err(e) => tracing::warn!("dns: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dns::{Answer, Arrival, RecordType};
    use planner::RunState;
    use std::net::IpAddr;

    fn container(service: &str, definition: &str, addresses: &[(&str, &str)]) -> ObservedContainer {
        ObservedContainer {
            id: format!("id-{service}"),
            name: format!("p-{service}-1"),
            service: service.into(),
            replica: 1,
            config_hash: String::new(),
            labels: [
                (labels::PROJECT.to_string(), "p".to_string()),
                (labels::CONFIG.to_string(), definition.to_string()),
            ]
            .into(),
            state: RunState::Running,
            health: None,
            image_id: String::new(),
            addresses: addresses
                .iter()
                .map(|(n, a)| (n.to_string(), a.to_string()))
                .collect(),
            addresses_v6: BTreeMap::new(),
        }
    }

    fn network(name: &str, key: &str, subnet: &str, gateway: &str) -> NetworkAddresses {
        NetworkAddresses {
            name: name.into(),
            labels: [
                (labels::PROJECT.to_string(), "p".to_string()),
                (labels::RESOURCE.to_string(), key.to_string()),
            ]
            .into(),
            subnets: vec![subnet.into()],
            gateway: Some(gateway.into()),
            gateway_v6: None,
        }
    }

    fn answer(zone: &Zone, arrival: Arrival, source: &str, name: &str) -> Answer {
        let view = zone.view(&arrival, source.parse::<IpAddr>().expect("address"));
        zone.answer(&view, name, RecordType::A)
    }

    fn addresses(answer: Answer) -> Vec<String> {
        match answer {
            Answer::Records { answers, .. } => {
                answers.iter().map(|r| r.data().to_string()).collect()
            }
            other => panic!("no records: {other:?}"),
        }
    }

    #[test]
    fn a_sidecar_answers_under_its_own_name_with_its_parents_address() {
        let containers = [
            container(
                "web",
                r#"{"networks": {"default": null}}"#,
                &[("p_default", "10.5.0.2")],
            ),
            container("proxy", r#"{"network_mode": "service:web"}"#, &[]),
            container(
                "client",
                r#"{"networks": {"default": null}}"#,
                &[("p_default", "10.5.0.3")],
            ),
        ];
        let networks = [network("p_default", "default", "10.5.0.0/24", "10.5.0.1")];
        let zone = Zone::new(zone_data("p", 2, &containers, &networks), 1);
        let on_default = Arrival::Network("default".into());
        assert_eq!(
            addresses(answer(&zone, on_default.clone(), "10.5.0.3", "proxy")),
            ["10.5.0.2"]
        );
        assert_eq!(
            addresses(answer(
                &zone,
                Arrival::Loopback,
                "127.0.0.1",
                "proxy-1.p.stack"
            )),
            ["10.5.0.2"]
        );
    }

    #[test]
    fn a_service_on_the_default_bridge_is_answered_for_the_host_only() {
        let containers = [
            container(
                "legacy",
                r#"{"network_mode": "bridge"}"#,
                &[("bridge", "172.17.0.5")],
            ),
            container(
                "client",
                r#"{"networks": {"default": null}}"#,
                &[("p_default", "10.5.0.3")],
            ),
        ];
        let networks = [
            network("p_default", "default", "10.5.0.0/24", "10.5.0.1"),
            NetworkAddresses {
                name: "bridge".into(),
                subnets: vec!["172.17.0.0/16".into()],
                gateway: Some("172.17.0.1".into()),
                ..NetworkAddresses::default()
            },
        ];
        let zone = Zone::new(zone_data("p", 2, &containers, &networks), 1);
        assert_eq!(
            addresses(answer(
                &zone,
                Arrival::Loopback,
                "127.0.0.1",
                "legacy.p.stack"
            )),
            ["172.17.0.5"]
        );
        let on_default = Arrival::Network("default".into());
        assert_eq!(
            answer(&zone, on_default, "10.5.0.3", "legacy"),
            Answer::NxDomain
        );
        // Nothing listens for the bridge, and its containers ask nowhere.
        let bridge = zone
            .data()
            .networks
            .iter()
            .find(|n| n.key == "bridge")
            .expect("bridge");
        assert!(bridge.gateway.is_none() && bridge.subnets.is_empty());
    }

    #[test]
    fn an_external_network_joins_the_zone_and_carries_qualified_names_across() {
        let external = NetworkAddresses {
            name: "proxy".into(),
            subnets: vec!["10.8.0.0/24".into()],
            gateway: Some("10.8.0.1".into()),
            ..NetworkAddresses::default()
        };
        let networks = [
            network("p_default", "default", "10.5.0.0/24", "10.5.0.1"),
            external,
        ];
        let web = container(
            "web",
            r#"{"networks": {"default": null, "edge": null}}"#,
            &[("p_default", "10.5.0.2"), ("proxy", "10.8.0.2")],
        );
        let api = container(
            "api",
            r#"{"networks": {"proxy": null}}"#,
            &[("proxy", "10.8.0.3")],
        );
        let p = zone_data("p", 2, &[web], &networks);
        let q = zone_data("q", 2, &[api], &networks);
        let shared = p
            .networks
            .iter()
            .find(|n| n.name == "proxy")
            .expect("joined");
        assert_eq!(shared.key, "proxy", "keyed by its engine name");
        assert!(p.services[0].networks.contains(&"proxy".to_string()));
        let own = Zone::new(p, 1);
        // Listened on: the gateway every stack on it serves alike.
        let listened = listeners(&own, &DnsOptions::default());
        assert!(
            listened.contains_key(&"10.8.0.1:53".parse().expect("address")),
            "{listened:?}"
        );
        let stacks = dns::Stacks::new(
            std::sync::Arc::new(own),
            std::sync::Arc::new(vec![std::sync::Arc::new(Zone::new(q, 1))]),
        );
        let from_web = "10.5.0.2".parse().expect("address");
        let on_default = Arrival::Network("default".into());
        let (zone, view) = stacks
            .resolve(&on_default, from_web, "api.q.stack.")
            .expect("served");
        assert_eq!(
            addresses(zone.answer(&view, "api.q.stack.", RecordType::A)),
            ["10.8.0.3"]
        );
    }
}
