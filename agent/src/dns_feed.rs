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
    let ours: Vec<&NetworkAddresses> = networks
        .iter()
        .filter(|n| n.project() == Some(project))
        .collect();
    // Engine network name -> key in the stack file.
    let keys: BTreeMap<&str, String> = ours
        .iter()
        .map(|n| {
            let key = n.labels.get(labels::RESOURCE).cloned();
            (n.name.as_str(), key.unwrap_or_else(|| n.name.clone()))
        })
        .collect();
    let mut services: BTreeMap<String, ZoneService> = BTreeMap::new();
    for c in containers {
        let svc = services.entry(c.service.clone()).or_insert_with(|| {
            let definition: Value = c
                .labels
                .get(labels::CONFIG)
                .and_then(|d| serde_json::from_str(d).ok())
                .unwrap_or(Value::Null);
            ZoneService {
                name: c.service.clone(),
                networks: service_networks(&definition),
                ports: service_ports(&definition),
                replicas: Vec::new(),
            }
        });
        // A replica being replaced is draining (see `execute`): answered no more.
        if !c.is_running() || c.name.ends_with("-old") {
            continue;
        }
        let addresses = c
            .addresses
            .iter()
            .filter_map(|(net, ip)| Some((keys.get(net.as_str())?.clone(), ip.parse().ok()?)))
            .collect();
        let addresses_v6 = c
            .addresses_v6
            .iter()
            .filter_map(|(net, ip)| Some((keys.get(net.as_str())?.clone(), ip.parse().ok()?)))
            .collect();
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
    ZoneData {
        project: project.to_string(),
        ttl,
        networks: ours
            .iter()
            .map(|n| ZoneNetwork {
                key: keys.get(n.name.as_str()).cloned().unwrap_or_default(),
                subnets: n.subnets.iter().filter_map(|s| s.parse().ok()).collect(),
                gateway: n.gateway.as_deref().and_then(|g| g.parse().ok()),
                gateway_v6: n.gateway_v6.as_deref().and_then(|g| g.parse().ok()),
            })
            .collect(),
        services: services.into_values().collect(),
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
        out.insert(
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
            Arrival::Loopback,
        );
    }
    out
}

/// The server and what the feed remembers between rebuilds.
struct Feed {
    server: DnsServer,
    options: DnsOptions,
    serial: u32,
    /// Zone warnings already logged.
    warned: BTreeSet<String>,
    /// Addresses that could not be listened on (logged once).
    /// Addresses it could not listen on, with why (and who holds them).
    failed: BTreeMap<SocketAddr, String>,
}

impl Feed {
    /// Answer from these zones from now on, and listen where they say.
    async fn apply(&mut self, own: ZoneData, others: Vec<ZoneData>) {
        self.serial = self.serial.wrapping_add(1);
        let serial = self.serial;
        let neighbours = others.into_iter().map(|d| Zone::new(d, serial)).collect();
        self.server.set_neighbours(neighbours);
        let zone = Zone::new(own, serial);
        let warnings: BTreeSet<String> = zone.warnings().into_iter().collect();
        for w in warnings.difference(&self.warned) {
            tracing::warn!("dns: {w}");
        }
        self.warned = warnings;
        let wanted = listeners(&zone, &self.options);
        self.server.set_zone(zone);
        let failed = self.server.sync(&wanted).await;
        for (addr, e) in &failed {
            if !self.failed.contains_key(addr) {
                tracing::warn!(
                    "dns: cannot listen on {addr}: {e}; names there resolve through the engine only"
                );
            }
        }
        self.failed = failed
            .into_iter()
            .map(|(addr, e)| {
                let who = (e.kind() == std::io::ErrorKind::AddrInUse)
                    .then(|| {
                        reconciler::host_ports::holder(
                            addr.port(),
                            reconciler::host_ports::Proto::Udp,
                        )
                    })
                    .flatten()
                    .map_or_else(String::new, |h| format!("; held by {h}"));
                (addr, format!("{e}{who}"))
            })
            .collect();
        if let Some((dir, name)) = &self.options.status_file {
            write_status(dir, name, &self.server, &self.failed);
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
        warned: BTreeSet::new(),
        failed: BTreeMap::new(),
    };
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
fn write_status(
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
    if dir.read_text(name) != text {
        if let Err(e) = dir.write(name, text.as_bytes()) {
            tracing::warn!("dns: {e}");
        }
    }
}
