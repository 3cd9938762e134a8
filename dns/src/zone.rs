//! The zone: what the stack's DNS answers, as a pure function of the
//! stack's running replicas and the view a query arrives in. No sockets
//! here; [`crate::server`] puts this on the wire.
//!
//! Names, for a project `shop` (`<project>.stack` is the zone's origin):
//! - `web`, `web.shop.stack`: the running replicas of `web` that the view
//!   sees; only the healthy ones when it has a healthcheck (when none is
//!   healthy, all of them, rather than nothing), in round-robin order.
//! - `web-2.shop.stack` (and `web-2`): one replica.
//! - `tasks.web` (and `tasks.web.shop.stack`): every running replica, healthy or not.
//! - `_http._tcp.web.shop.stack` or `_80._tcp.web.shop.stack`: SRV
//!   records from the service's ports and `expose`.
//! - PTR records for the replicas' addresses (`in-addr.arpa`, `ip6.arpa`).
//!
//! A replica has an IPv4 address on a network, an IPv6 one on a network
//! with `enable_ipv6`, or both: A and AAAA answer each family.
//!
//! A name of the stack that the view must not see is answered with an
//! authoritative NXDOMAIN and never forwarded, so isolation shows in DNS
//! too. Anything else is for the upstream resolvers.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicUsize, Ordering};

use hickory_proto::rr::rdata::{A, AAAA, PTR, SOA, SRV};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use ipnet::IpNet;

/// Everything the zone is made from: the stack's networks and services
/// with their running replicas.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ZoneData {
    /// Project name (the zone is `<project>.stack.`).
    pub project: String,
    /// Time to live of every answer, in seconds.
    pub ttl: u32,
    /// The stack's networks.
    pub networks: Vec<ZoneNetwork>,
    /// The stack's services, including those with nothing running.
    pub services: Vec<ZoneService>,
}

/// One network of the stack: its own, or one it shares with other
/// stacks (an external network its services join).
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneNetwork {
    /// Its key in the stack file (`frontend`); for a network the stack
    /// did not create, its name on the engine.
    pub key: String,
    /// Its name on the engine (`shop_frontend`): how the zones of two
    /// projects recognise a network they share, whatever their keys.
    pub name: String,
    /// Its subnets.
    pub subnets: Vec<IpNet>,
    /// Its IPv4 gateway: where the server listens for this network's view.
    pub gateway: Option<Ipv4Addr>,
    /// Its IPv6 gateway (a network with `enable_ipv6`): listened on too.
    pub gateway_v6: Option<Ipv6Addr>,
}

/// One service of the stack.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneService {
    /// Service name.
    pub name: String,
    /// Keys of the networks it joins.
    pub networks: Vec<String>,
    /// Ports it serves, for SRV records.
    pub ports: Vec<ServicePort>,
    /// Its running replicas.
    pub replicas: Vec<Replica>,
}

/// A port a service serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePort {
    /// The port's name (long-form `ports: [{name: http, ...}]`).
    pub name: Option<String>,
    /// Container port.
    pub port: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
}

/// A running replica.
#[derive(Debug, Clone, PartialEq)]
pub struct Replica {
    /// Replica number (1-based).
    pub number: u32,
    /// Its health.
    pub health: ReplicaHealth,
    /// Its address on each network it joined, by network key.
    pub addresses: BTreeMap<String, Ipv4Addr>,
    /// Its IPv6 address on each network that has IPv6, by network key.
    pub addresses_v6: BTreeMap<String, Ipv6Addr>,
}

/// A replica's health, as far as DNS cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaHealth {
    /// No healthcheck: always answered.
    Unchecked,
    /// Healthcheck not passed yet.
    Starting,
    /// Healthcheck passing.
    Healthy,
    /// Healthcheck failing.
    Unhealthy,
}

impl ReplicaHealth {
    fn usable(self) -> bool {
        matches!(self, ReplicaHealth::Unchecked | ReplicaHealth::Healthy)
    }

    fn describe(self) -> &'static str {
        match self {
            ReplicaHealth::Unchecked => "running",
            ReplicaHealth::Starting => "starting",
            ReplicaHealth::Healthy => "healthy",
            ReplicaHealth::Unhealthy => "unhealthy",
        }
    }
}

/// Where a query came in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Arrival {
    /// On the host's loopback listener: sees every network of the stack.
    Loopback,
    /// On the gateway of this network (by key).
    Network(String),
}

/// The networks a query may see, in order of preference for addresses
/// (the default: none, so nothing of the stack).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct View {
    networks: Vec<String>,
}

/// What to reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// The name is the stack's: these records (none: the name exists but
    /// has no record of the asked type), and additional records.
    Records {
        /// Answer section.
        answers: Vec<Record>,
        /// Additional section (addresses of SRV targets).
        additionals: Vec<Record>,
    },
    /// The name is the stack's, and does not exist for this view.
    NxDomain,
    /// Not the stack's: ask the upstream resolvers.
    Forward,
}

/// A zone ready to answer queries. Cheap to share; build a new one when
/// anything changes.
#[derive(Debug)]
pub struct Zone {
    data: ZoneData,
    origin: Name,
    /// `<project>.stack`, lowercase, no trailing dot.
    suffix: String,
    by_name: HashMap<String, usize>,
    rotation: AtomicUsize,
    serial: u32,
}

/// What a name within the stack points at.
enum Target<'a> {
    Apex,
    /// The service's replicas: only usable ones (its name), or all (`tasks.`).
    Members(&'a ZoneService, bool),
    Replica(&'a ZoneService, &'a Replica),
    Srv(&'a ZoneService, &'a ServicePort),
    /// Looks like one of the above, but names nothing.
    Missing,
}

impl Zone {
    /// Index `data`. `serial` goes into the SOA record (bump it per build).
    pub fn new(data: ZoneData, serial: u32) -> Zone {
        let suffix = format!("{}.stack", data.project.to_ascii_lowercase());
        let origin = Name::from_ascii(format!("{suffix}.")).unwrap_or_else(|_| Name::root());
        let by_name = data
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.to_ascii_lowercase(), i))
            .collect();
        Zone {
            data,
            origin,
            suffix,
            by_name,
            rotation: AtomicUsize::new(0),
            serial,
        }
    }

    /// The data the zone was built from.
    pub fn data(&self) -> &ZoneData {
        &self.data
    }

    /// Whether `name` (any case, trailing dot or not) is in this zone.
    pub fn owns(&self, name: &str) -> bool {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        self.within(&name).is_some()
    }

    /// The part of `name` (lowercase, no trailing dot) before the zone's
    /// origin: `""` for the origin itself, `None` outside the zone.
    fn within<'a>(&self, name: &'a str) -> Option<&'a str> {
        match name.strip_suffix(self.suffix.as_str())? {
            "" => Some(""),
            rest => rest.strip_suffix('.'),
        }
    }

    /// The zone's origin, `<project>.stack.`.
    pub fn origin(&self) -> &Name {
        &self.origin
    }

    /// May `source` ask on a gateway? Only addresses inside one of the
    /// stack's networks may: the server is nobody else's resolver (and
    /// never an open forwarder). The host asks on loopback.
    pub fn serves(&self, arrival: &Arrival, source: IpAddr) -> bool {
        match arrival {
            Arrival::Loopback => true,
            Arrival::Network(_) => self
                .data
                .networks
                .iter()
                .any(|n| n.subnets.iter().any(|s| s.contains(&source))),
        }
    }

    /// The view of a query that arrived as `arrival` from `source`: on a
    /// network's gateway, that network plus the other networks of the
    /// replica that asked (a replica on two networks sees both).
    pub fn view(&self, arrival: &Arrival, source: IpAddr) -> View {
        let key = match arrival {
            Arrival::Loopback => {
                return View {
                    networks: self.data.networks.iter().map(|n| n.key.clone()).collect(),
                }
            }
            Arrival::Network(key) => key,
        };
        let mut networks = vec![key.clone()];
        let asker = self
            .replicas()
            .find(|(_, r)| r.ips_on(key).any(|a| a == source));
        if let Some((_, replica)) = asker {
            for other in replica.addresses.keys().chain(replica.addresses_v6.keys()) {
                if !networks.contains(other) {
                    networks.push(other.clone());
                }
            }
        }
        View { networks }
    }

    /// Problems worth a log line: services answered with unhealthy
    /// replicas (not merely starting ones: that is every start).
    pub fn warnings(&self) -> Vec<String> {
        self.data
            .services
            .iter()
            .filter(|s| {
                let unhealthy = s.replicas.iter().any(|r| r.health == ReplicaHealth::Unhealthy);
                unhealthy && !s.replicas.iter().any(|r| r.health.usable())
            })
            .map(|s| {
                format!(
                    "service `{}` has no healthy replica; its name answers the {} unhealthy or starting one(s) rather than nothing",
                    s.name,
                    s.replicas.len()
                )
            })
            .collect()
    }

    /// The SOA record of the zone (for negative answers).
    pub fn soa(&self) -> Record {
        let mname = Name::from_ascii("ns").and_then(|n| n.append_domain(&self.origin));
        let rname = Name::from_ascii("hostmaster").and_then(|n| n.append_domain(&self.origin));
        let soa = SOA::new(
            mname.unwrap_or_else(|_| self.origin.clone()),
            rname.unwrap_or_else(|_| self.origin.clone()),
            self.serial,
            60,
            60,
            600,
            self.data.ttl,
        );
        Record::from_rdata(self.origin.clone(), self.data.ttl, RData::SOA(soa))
    }

    /// Answer `name` (any case, with or without the trailing dot) of type
    /// `kind` for `view`.
    /// Answer records are owned by the name as asked (a bare `web` gets
    /// records for `web.`, as resolvers expect).
    pub fn answer(&self, view: &View, name: &str, kind: RecordType) -> Answer {
        self.answer_turn(view, name, kind, None)
    }

    /// As [`Zone::answer`], with the round-robin turn given (`Some`: the
    /// answer book prepares every turn once) instead of taken from the
    /// zone's counter.
    pub fn answer_turn(
        &self,
        view: &View,
        name: &str,
        kind: RecordType,
        turn: Option<usize>,
    ) -> Answer {
        let owner = Name::from_ascii(name).map(|mut n| {
            n.set_fqdn(true);
            n
        });
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if let Some(reverse) = name.strip_suffix(".in-addr.arpa") {
            return self.reverse(view, reverse, false, kind);
        }
        if let Some(reverse) = name.strip_suffix(".ip6.arpa") {
            return self.reverse(view, reverse, true, kind);
        }
        let (relative, in_zone) = if let Some(rel) = self.within(&name) {
            (rel, true)
        } else if name == "stack" || name.ends_with(".stack") {
            // Another project's zone, or a typo: never leaked upstream.
            return Answer::NxDomain;
        } else {
            (name.as_str(), false)
        };
        match (self.target(relative), owner) {
            (None, _) if in_zone => Answer::NxDomain,
            (None, _) => Answer::Forward,
            (Some(_), Err(_)) => Answer::NxDomain,
            (Some(target), Ok(owner)) => self.records(view, target, kind, &owner, turn),
        }
    }

    fn target(&self, relative: &str) -> Option<Target<'_>> {
        if relative.is_empty() {
            return Some(Target::Apex);
        }
        let labels: Vec<&str> = relative.split('.').collect();
        match labels.as_slice() {
            [one] => {
                if let Some(svc) = self.service(one) {
                    return Some(Target::Members(svc, true));
                }
                let (svc, number) = one.rsplit_once('-')?;
                let svc = self.service(svc)?;
                let number: u32 = number.parse().ok()?;
                Some(
                    svc.replicas
                        .iter()
                        .find(|r| r.number == number)
                        .map_or(Target::Missing, |r| Target::Replica(svc, r)),
                )
            }
            ["tasks", svc] => self.service(svc).map(|s| Target::Members(s, false)),
            [port, proto, svc] => {
                let svc = self.service(svc)?;
                let port = port.strip_prefix('_')?;
                let proto = proto.strip_prefix('_')?;
                Some(
                    svc.ports
                        .iter()
                        .find(|p| {
                            p.protocol == proto
                                && (p.name.as_deref() == Some(port) || p.port.to_string() == port)
                        })
                        .map_or(Target::Missing, |p| Target::Srv(svc, p)),
                )
            }
            _ => None,
        }
    }

    fn service(&self, name: &str) -> Option<&ZoneService> {
        self.by_name.get(name).map(|i| &self.data.services[*i])
    }

    fn records(
        &self,
        view: &View,
        target: Target<'_>,
        kind: RecordType,
        owner: &Name,
        turn: Option<usize>,
    ) -> Answer {
        let (answers, additionals) = match target {
            Target::Missing => return Answer::NxDomain,
            Target::Apex if kind == RecordType::SOA => (vec![self.soa()], vec![]),
            Target::Apex => (vec![], vec![]),
            Target::Members(svc, _) | Target::Replica(svc, _) | Target::Srv(svc, _)
                if !self.visible(view, svc) =>
            {
                return Answer::NxDomain
            }
            Target::Members(svc, healthy_only) => {
                let members = self.rotate(self.members(view, svc, healthy_only), turn);
                if members.is_empty() {
                    return Answer::NxDomain;
                }
                (self.address_records(view, owner, &members, kind), vec![])
            }
            Target::Replica(_, replica) => {
                if !self.reaches(view, replica) {
                    return Answer::NxDomain;
                }
                (self.address_records(view, owner, &[replica], kind), vec![])
            }
            Target::Srv(svc, port) => {
                let members = self.rotate(self.members(view, svc, true), turn);
                if members.is_empty() {
                    return Answer::NxDomain;
                }
                if !matches!(kind, RecordType::SRV | RecordType::ANY) {
                    return Answer::Records {
                        answers: vec![],
                        additionals: vec![],
                    };
                }
                let mut srv = Vec::new();
                let mut extra = Vec::new();
                for replica in &members {
                    let target = self.replica_name(svc, replica);
                    let data = SRV::new(0, 10, port.port, target.clone());
                    srv.push(Record::from_rdata(
                        owner.clone(),
                        self.data.ttl,
                        RData::SRV(data),
                    ));
                    extra.extend(self.address_records(view, &target, &[replica], RecordType::ANY));
                }
                (srv, extra)
            }
        };
        Answer::Records {
            answers,
            additionals,
        }
    }

    /// A PTR question: `reverse` is the name without `.in-addr.arpa` or
    /// `.ip6.arpa` (`v6` says which).
    fn reverse(&self, view: &View, reverse: &str, v6: bool, kind: RecordType) -> Answer {
        let Some(ip) = reverse_address(reverse, v6) else {
            return Answer::Forward;
        };
        let found = self
            .replicas()
            .find(|(_, r)| view.networks.iter().any(|n| r.ips_on(n).any(|a| a == ip)));
        if let Some((svc, replica)) = found {
            let suffix = if v6 { "ip6.arpa" } else { "in-addr.arpa" };
            let answers = matches!(kind, RecordType::PTR | RecordType::ANY)
                .then(|| {
                    let name = Name::from_ascii(format!("{reverse}.{suffix}."));
                    name.map(|n| {
                        let target = self.replica_name(svc, replica);
                        vec![Record::from_rdata(
                            n,
                            self.data.ttl,
                            RData::PTR(PTR(target)),
                        )]
                    })
                    .unwrap_or_default()
                })
                .unwrap_or_default();
            return Answer::Records {
                answers,
                additionals: vec![],
            };
        }
        let ours = self
            .data
            .networks
            .iter()
            .any(|n| n.subnets.iter().any(|s| s.contains(&ip)));
        if ours {
            Answer::NxDomain
        } else {
            Answer::Forward
        }
    }

    fn replicas(&self) -> impl Iterator<Item = (&ZoneService, &Replica)> {
        self.data
            .services
            .iter()
            .flat_map(|s| s.replicas.iter().map(move |r| (s, r)))
    }

    fn visible(&self, view: &View, svc: &ZoneService) -> bool {
        svc.networks.iter().any(|n| view.networks.contains(n))
    }

    /// The replica's IPv4 address in `view`: on the first of the view's
    /// networks it has one.
    fn address(&self, view: &View, replica: &Replica) -> Option<Ipv4Addr> {
        view.networks
            .iter()
            .find_map(|n| replica.addresses.get(n).copied())
    }

    /// Its IPv6 address in `view`, likewise.
    fn address_v6(&self, view: &View, replica: &Replica) -> Option<Ipv6Addr> {
        view.networks
            .iter()
            .find_map(|n| replica.addresses_v6.get(n).copied())
    }

    /// Does `view` reach the replica at all (either family)?
    fn reaches(&self, view: &View, replica: &Replica) -> bool {
        self.address(view, replica).is_some() || self.address_v6(view, replica).is_some()
    }

    /// The replicas of `svc` the view reaches; with `healthy_only`, the
    /// usable ones when there are any.
    fn members<'a>(
        &self,
        view: &View,
        svc: &'a ZoneService,
        healthy_only: bool,
    ) -> Vec<&'a Replica> {
        let all: Vec<&Replica> = svc
            .replicas
            .iter()
            .filter(|r| self.reaches(view, r))
            .collect();
        if !healthy_only {
            return all;
        }
        let usable: Vec<&Replica> = all.iter().copied().filter(|r| r.health.usable()).collect();
        if usable.is_empty() {
            all
        } else {
            usable
        }
    }

    /// The A (for `A`), AAAA (for `AAAA`) or both (for `ANY`) records of
    /// `members` in `view`, owned by `name`; none for other types.
    fn address_records(
        &self,
        view: &View,
        name: &Name,
        members: &[&Replica],
        kind: RecordType,
    ) -> Vec<Record> {
        let ttl = self.data.ttl;
        let mut out = Vec::new();
        if matches!(kind, RecordType::A | RecordType::ANY) {
            out.extend(
                members
                    .iter()
                    .filter_map(|r| self.address(view, r))
                    .map(|a| Record::from_rdata(name.clone(), ttl, RData::A(A(a)))),
            );
        }
        if matches!(kind, RecordType::AAAA | RecordType::ANY) {
            out.extend(
                members
                    .iter()
                    .filter_map(|r| self.address_v6(view, r))
                    .map(|a| Record::from_rdata(name.clone(), ttl, RData::AAAA(AAAA(a)))),
            );
        }
        out
    }

    fn rotate<T>(&self, mut items: Vec<T>, turn: Option<usize>) -> Vec<T> {
        if items.len() > 1 {
            let turn = turn.unwrap_or_else(|| self.rotation.fetch_add(1, Ordering::Relaxed));
            let len = items.len();
            items.rotate_left(turn % len);
        }
        items
    }

    fn name_of(&self, relative: &str) -> Name {
        Name::from_ascii(relative)
            .and_then(|n| n.append_domain(&self.origin))
            .unwrap_or_else(|_| self.origin.clone())
    }

    fn replica_name(&self, svc: &ZoneService, replica: &Replica) -> Name {
        self.name_of(&format!("{}-{}", svc.name, replica.number))
    }

    /// Every question the view has a prepared answer for, with how many
    /// round-robin turns its answer has: each service's names (bare and
    /// under the origin, `tasks.`, each replica, each SRV name) for A, AAAA
    /// and, for SRV names, SRV; and the PTR names of the replicas the view
    /// reaches. With `qualified_only`, only names under the origin (what
    /// a neighbour's zone answers on loopback). Names that the view gets
    /// NXDOMAIN for are left out: they take the general path.
    pub fn questions(&self, view: &View, qualified_only: bool) -> Vec<(String, RecordType, usize)> {
        let mut out = Vec::new();
        let mut add = |relative: String, kinds: &[RecordType], turns: usize| {
            if !qualified_only {
                for kind in kinds {
                    out.push((format!("{relative}."), *kind, turns));
                }
            }
            for kind in kinds {
                out.push((format!("{relative}.{}.", self.suffix), *kind, turns));
            }
        };
        const ADDRESSES: &[RecordType] = &[RecordType::A, RecordType::AAAA];
        for svc in self.data.services.iter().filter(|s| self.visible(view, s)) {
            let members = self.members(view, svc, true).len();
            if members == 0 {
                continue;
            }
            let name = svc.name.to_ascii_lowercase();
            add(name.clone(), ADDRESSES, members);
            add(
                format!("tasks.{name}"),
                ADDRESSES,
                self.members(view, svc, false).len(),
            );
            for replica in &svc.replicas {
                if self.address(view, replica).is_some() {
                    add(format!("{name}-{}", replica.number), ADDRESSES, 1);
                }
            }
            for port in &svc.ports {
                let mut labels = vec![port.port.to_string()];
                labels.extend(port.name.clone());
                for label in labels {
                    let srv = format!("_{label}._{}.{name}", port.protocol);
                    add(
                        srv,
                        &[RecordType::SRV, RecordType::A, RecordType::AAAA],
                        members,
                    );
                }
            }
        }
        if !qualified_only {
            for (_, replica) in self.replicas() {
                for network in &view.networks {
                    for ip in replica.ips_on(network) {
                        out.push((format!("{}.", reverse_name(ip)), RecordType::PTR, 1));
                    }
                }
            }
        }
        out
    }

    /// The key of the network the engine calls `name`, if the zone has it.
    pub fn key_of(&self, name: &str) -> Option<&str> {
        self.data
            .networks
            .iter()
            .find(|n| n.name == name)
            .map(|n| n.key.as_str())
    }

    /// The engine's name of network `key`.
    pub fn engine_name(&self, key: &str) -> Option<&str> {
        self.data
            .networks
            .iter()
            .find(|n| n.key == key)
            .map(|n| n.name.as_str())
    }

    /// Is `ip` the address of one of the zone's replicas on network `key`?
    pub fn has_replica_at(&self, key: &str, ip: IpAddr) -> bool {
        self.replicas().any(|(_, r)| r.ips_on(key).any(|a| a == ip))
    }

    /// The view of this zone's names for someone who sees `view` of the
    /// zone `home` (another project's): the networks of this zone that are,
    /// on the engine, among that view's. Empty when the two stacks share
    /// no network: then every name of this zone is NXDOMAIN to them.
    pub fn foreign_view(&self, home: &Zone, view: &View) -> View {
        let names: Vec<&str> = (view.networks.iter())
            .filter_map(|k| home.engine_name(k))
            .collect();
        self.view_of_networks(&names)
    }

    /// The view of the networks the engine calls `names` (those this
    /// zone has), in that order.
    pub fn view_of_networks(&self, names: &[&str]) -> View {
        View {
            networks: (names.iter())
                .filter_map(|n| self.key_of(n))
                .map(str::to_string)
                .collect(),
        }
    }

    /// Does the zone answer the reverse name `name` (`...in-addr.arpa`,
    /// `...ip6.arpa`) with a record, for `view`?
    pub fn answers_reverse(&self, view: &View, name: &str) -> bool {
        matches!(
            self.answer_turn(view, name, RecordType::PTR, Some(0)),
            Answer::Records { answers, .. } if !answers.is_empty()
        )
    }

    /// The views queries arriving as `arrival` can have: the default one
    /// (a source the zone knows nothing of), and one per replica address
    /// whose view differs from it (a replica on several networks sees
    /// them all).
    pub fn views(&self, arrival: &Arrival) -> (View, Vec<(IpAddr, View)>) {
        let unknown = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        let default = self.view(arrival, unknown);
        let Arrival::Network(key) = arrival else {
            return (default, Vec::new());
        };
        let mut special = Vec::new();
        for (_, replica) in self.replicas() {
            for ip in replica.ips_on(key) {
                let view = self.view(arrival, ip);
                if view != default {
                    special.push((ip, view));
                }
            }
        }
        (default, special)
    }

    /// The zone as one network's gateway sees it, one line per record,
    /// for people (`stack dns records`).
    pub fn render(&self, network: &str) -> Vec<String> {
        let view = View {
            networks: vec![network.to_string()],
        };
        let mut lines = Vec::new();
        for svc in self.data.services.iter().filter(|s| self.visible(&view, s)) {
            let members = self.members(&view, svc, false);
            if members.is_empty() {
                let name = self.name_of(&svc.name).to_ascii();
                lines.push(format!("{name:<40}      (nothing running)"));
                continue;
            }
            let answered = self.members(&view, svc, true);
            for replica in &members {
                let left_out = if answered.iter().any(|r| r.number == replica.number) {
                    ""
                } else {
                    ", left out of the service name"
                };
                let v4 = self
                    .address(&view, replica)
                    .map(|a| ("A   ", IpAddr::V4(a)));
                let v6 = self
                    .address_v6(&view, replica)
                    .map(|a| ("AAAA", IpAddr::V6(a)));
                for (kind, addr) in v4.into_iter().chain(v6) {
                    lines.push(format!(
                        "{:<40} {:>4} {kind} {:<15} {} ({}{left_out})",
                        self.name_of(&svc.name).to_ascii(),
                        self.data.ttl,
                        addr.to_string(),
                        self.replica_name(svc, replica)
                            .to_ascii()
                            .trim_end_matches('.'),
                        replica.health.describe(),
                    ));
                }
            }
            for port in &svc.ports {
                let name = format!("_{}._{}.{}", port_label(port), port.protocol, svc.name);
                for replica in &answered {
                    lines.push(format!(
                        "{:<40} {:>4} SRV  0 10 {} {}",
                        self.name_of(&name).to_ascii(),
                        self.data.ttl,
                        port.port,
                        self.replica_name(svc, replica).to_ascii(),
                    ));
                }
            }
        }
        lines
    }
}

impl Replica {
    /// Its addresses on network `key`, IPv4 then IPv6.
    pub fn ips_on<'a>(&'a self, key: &str) -> impl Iterator<Item = IpAddr> + 'a {
        let v4 = self.addresses.get(key).map(|a| IpAddr::V4(*a));
        let v6 = self.addresses_v6.get(key).map(|a| IpAddr::V6(*a));
        v4.into_iter().chain(v6)
    }
}

/// The reverse-lookup name of `ip`, without the trailing dot
/// (`5.2.9.10.in-addr.arpa`, or 32 nibbles under `ip6.arpa`).
pub fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.in-addr.arpa")
        }
        IpAddr::V6(v6) => {
            let mut labels: Vec<String> = Vec::with_capacity(33);
            for byte in v6.octets().iter().rev() {
                labels.push(format!("{:x}", byte & 0x0f));
                labels.push(format!("{:x}", byte >> 4));
            }
            labels.push("ip6.arpa".into());
            labels.join(".")
        }
    }
}

/// The address a reverse name (without its `in-addr.arpa` / `ip6.arpa`)
/// stands for; `None` for a partial or malformed one.
fn reverse_address(reverse: &str, v6: bool) -> Option<IpAddr> {
    let labels: Vec<&str> = reverse.split('.').collect();
    if v6 {
        if labels.len() != 32 {
            return None;
        }
        let mut octets = [0u8; 16];
        for (i, pair) in labels.chunks(2).enumerate() {
            let low = u8::from_str_radix(pair[0], 16).ok()?;
            let high = u8::from_str_radix(pair[1], 16).ok()?;
            if low > 15 || high > 15 || pair[0].len() != 1 || pair[1].len() != 1 {
                return None;
            }
            octets[15 - i] = (high << 4) | low;
        }
        return Some(IpAddr::V6(Ipv6Addr::from(octets)));
    }
    let octets: Vec<u8> = labels.iter().filter_map(|o| o.parse().ok()).collect();
    let [d, c, b, a] = octets.as_slice() else {
        return None;
    };
    Some(IpAddr::V4(Ipv4Addr::new(*a, *b, *c, *d)))
}

fn port_label(port: &ServicePort) -> String {
    port.name.clone().unwrap_or_else(|| port.port.to_string())
}

#[cfg(test)]
mod tests;
