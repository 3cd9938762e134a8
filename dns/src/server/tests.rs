//! The server over loopback sockets, asked by hickory's own resolver.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use hickory_resolver::config::{NameServerConfig, NameServerConfigGroup, ResolverConfig};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::rr::RecordType;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::Resolver;

use super::*;
use crate::fixtures::lab;
use crate::zone::{ZoneData, ZoneNetwork, ZoneService};

fn loopback() -> SocketAddr {
    (Ipv4Addr::LOCALHOST, 0).into()
}

/// A resolver that asks only `server`, once, without caching.
fn client(server: SocketAddr) -> Resolver<TokioConnectionProvider> {
    let group = NameServerConfigGroup::from_ips_clear(&[server.ip()], server.port(), true);
    let config = ResolverConfig::from_parts(None, vec![], group);
    let mut builder = Resolver::builder_with_config(config, TokioConnectionProvider::default());
    let opts = builder.options_mut();
    opts.attempts = 1;
    opts.timeout = Duration::from_secs(5);
    opts.cache_size = 0;
    opts.ndots = 0;
    builder.build()
}

async fn a(
    resolver: &Resolver<TokioConnectionProvider>,
    name: &str,
) -> Result<Vec<String>, String> {
    match resolver.lookup(name, RecordType::A).await {
        Ok(found) => {
            let mut out: Vec<String> = found.iter().map(ToString::to_string).collect();
            out.sort();
            Ok(out)
        }
        Err(e) if e.is_nx_domain() => Err("NXDOMAIN".into()),
        Err(e) => Err(format!("{e} {:?}", e.kind())),
    }
}

async fn serving(zone: Zone, forwarder: Forwarder, arrival: Arrival) -> (DnsServer, SocketAddr) {
    let mut server = DnsServer::new(zone, forwarder);
    let addr = server
        .listen(loopback(), arrival)
        .await
        .expect("bind loopback");
    (server, addr)
}

/// The lab, with loopback counted inside its `frontend` network, so a
/// test client on 127.0.0.1 may ask on a gateway listener.
fn lab_reachable() -> Zone {
    let mut data = lab().data().clone();
    if let Some(frontend) = data.networks.iter_mut().find(|n| n.key == "frontend") {
        frontend
            .subnets
            .push("127.0.0.0/8".parse().expect("subnet"));
    }
    Zone::new(data, 1)
}

fn no_upstream() -> Forwarder {
    Forwarder::new(vec![], Duration::from_millis(100))
}

#[tokio::test]
async fn answers_the_stack_over_udp_and_tcp() {
    let (server, addr) = serving(lab(), no_upstream(), Arrival::Loopback).await;
    let resolver = client(addr);
    assert_eq!(
        a(&resolver, "web.lab.stack.").await,
        Ok(vec!["10.9.1.2".into()])
    );
    assert_eq!(
        a(&resolver, "db.lab.stack.").await,
        Ok(vec!["10.9.2.5".into()])
    );
    assert_eq!(
        a(&resolver, "nothing.lab.stack.").await,
        Err("NXDOMAIN".into())
    );
    let srv = resolver
        .srv_lookup("_http._tcp.web.lab.stack.")
        .await
        .expect("srv");
    assert_eq!(srv.iter().map(|s| s.port()).collect::<Vec<_>>(), [80]);
    let ptr = resolver
        .reverse_lookup(IpAddr::from([10, 9, 2, 5]))
        .await
        .expect("ptr");
    assert_eq!(
        ptr.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["db-1.lab.stack."]
    );

    // The same over TCP.
    let mut config = ResolverConfig::new();
    config.add_name_server(NameServerConfig::new(addr, Protocol::Tcp));
    let tcp = Resolver::builder_with_config(config, TokioConnectionProvider::default()).build();
    assert_eq!(
        a(&tcp, "client.lab.stack.").await,
        Ok(vec!["10.9.1.4".into()])
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_network_listener_serves_its_view_only() {
    let (server, addr) = serving(
        lab_reachable(),
        no_upstream(),
        Arrival::Network("frontend".into()),
    )
    .await;
    let resolver = client(addr);
    assert_eq!(
        a(&resolver, "client.lab.stack.").await,
        Ok(vec!["10.9.1.4".into()])
    );
    assert_eq!(a(&resolver, "db.lab.stack.").await, Err("NXDOMAIN".into()));
    assert_eq!(
        a(&resolver, "db.").await,
        Err("NXDOMAIN".into()),
        "never forwarded"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_new_zone_is_answered_at_once() {
    let (server, addr) = serving(lab(), no_upstream(), Arrival::Loopback).await;
    let resolver = client(addr);
    let mut data = lab().data().clone();
    data.services[0].replicas[0].health = crate::zone::ReplicaHealth::Unhealthy;
    data.services[0].replicas[1].health = crate::zone::ReplicaHealth::Healthy;
    server.set_zone(Zone::new(data, 2));
    assert_eq!(
        a(&resolver, "web.lab.stack.").await,
        Ok(vec!["10.9.1.3".into()])
    );
    server.shutdown().await;
}

/// An upstream resolver on loopback: another server whose zone has a
/// `printer`.
async fn upstream() -> (DnsServer, SocketAddr) {
    let zone = Zone::new(
        ZoneData {
            project: "office".into(),
            ttl: 2,
            networks: vec![ZoneNetwork {
                key: "lan".into(),
                name: "office_lan".into(),
                subnets: vec![],
                gateway: None,
                gateway_v6: None,
            }],
            services: vec![ZoneService {
                name: "printer".into(),
                networks: vec!["lan".into()],
                ports: vec![],
                replicas: vec![crate::zone::Replica {
                    number: 1,
                    health: crate::zone::ReplicaHealth::Unchecked,
                    addresses: [("lan".to_string(), Ipv4Addr::new(192, 0, 2, 7))].into(),
                    addresses_v6: Default::default(),
                }],
            }],
        },
        1,
    );
    serving(zone, no_upstream(), Arrival::Loopback).await
}

#[tokio::test]
async fn forwards_outside_names_to_the_first_upstream_that_answers() {
    let (up, up_addr) = upstream().await;
    // A first upstream that refuses (nothing listens there).
    let dead = std::net::UdpSocket::bind(loopback()).expect("bind");
    let dead_addr = dead.local_addr().expect("addr");
    drop(dead);
    let forwarder = Forwarder::new(vec![dead_addr, up_addr], Duration::from_secs(2));
    let (server, addr) = serving(lab(), forwarder, Arrival::Loopback).await;
    let resolver = client(addr);
    assert_eq!(a(&resolver, "printer.").await, Ok(vec!["192.0.2.7".into()]));
    assert_eq!(
        a(&resolver, "scanner.office.stack.").await,
        Err("NXDOMAIN".into()),
        "our .stack names are never forwarded"
    );
    server.shutdown().await;
    up.shutdown().await;
}

#[tokio::test]
async fn servfail_within_the_deadline_when_no_upstream_answers() {
    // An upstream that takes queries and never answers.
    let silent = tokio::net::UdpSocket::bind(loopback()).await.expect("bind");
    let deadline = Duration::from_millis(300);
    let forwarder = Forwarder::new(vec![silent.local_addr().expect("addr")], deadline);
    let (server, addr) = serving(lab(), forwarder, Arrival::Loopback).await;
    let resolver = client(addr);
    let started = Instant::now();
    let answer = a(&resolver, "printer.").await;
    let took = started.elapsed();
    let err = answer.expect_err("no answer");
    assert!(
        err.contains("ServFail") || err.contains("SERVFAIL"),
        "{err}"
    );
    assert!(took < Duration::from_secs(4), "took {took:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn sync_opens_and_closes_listeners() {
    let mut server = DnsServer::new(lab_reachable(), no_upstream());
    let free = std::net::UdpSocket::bind(loopback()).expect("bind");
    let addr = free.local_addr().expect("addr");
    drop(free);
    let wanted: BTreeMap<SocketAddr, Arrival> = [(addr, Arrival::Network("backend".into()))].into();
    assert!(server.sync(&wanted).await.is_empty());
    assert_eq!(
        a(&client(addr), "db.lab.stack.").await,
        Ok(vec!["10.9.2.5".into()])
    );
    let moved: BTreeMap<SocketAddr, Arrival> = [(addr, Arrival::Network("frontend".into()))].into();
    assert!(server.sync(&moved).await.is_empty());
    assert_eq!(
        a(&client(addr), "db.lab.stack.").await,
        Err("NXDOMAIN".into())
    );
    assert!(server.sync(&BTreeMap::new()).await.is_empty());
    assert_eq!(server.listening().count(), 0);
}

#[tokio::test]
async fn other_projects_are_answered_on_loopback_only() {
    let mut server = DnsServer::new(lab_reachable(), no_upstream());
    let host = server
        .listen(loopback(), Arrival::Loopback)
        .await
        .expect("bind");
    let gateway = server
        .listen(loopback(), Arrival::Network("frontend".into()))
        .await
        .expect("bind");
    let (office, _) = upstream().await;
    let office_zone = Zone::new(office.zone().data().clone(), 1);
    office.shutdown().await;
    server.set_neighbours(vec![office_zone]);
    assert_eq!(
        a(&client(host), "printer.office.stack.").await,
        Ok(vec!["192.0.2.7".into()])
    );
    assert_eq!(
        a(&client(host), "web.lab.stack.").await,
        Ok(vec!["10.9.1.2".into()])
    );
    assert_eq!(
        a(&client(gateway), "printer.office.stack.").await,
        Err("NXDOMAIN".into())
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_gateway_refuses_askers_outside_the_stack_and_forwards_nothing_for_them() {
    // An upstream that would answer anything forwarded to it.
    let (office, office_addr) = upstream().await;
    let forwarder = Forwarder::new(vec![office_addr], Duration::from_secs(1));
    // 127.0.0.1 is in none of the lab's networks.
    let (server, addr) = serving(lab(), forwarder, Arrival::Network("frontend".into())).await;
    let resolver = client(addr);
    for name in ["web.lab.stack.", "printer.office.stack.", "example.org."] {
        let err = a(&resolver, name).await.expect_err("refused");
        assert!(err.contains("Refused"), "{name}: {err}");
    }
    // The host still asks on loopback.
    let (host, host_addr) = serving(lab(), no_upstream(), Arrival::Loopback).await;
    assert_eq!(
        a(&client(host_addr), "web.lab.stack.").await,
        Ok(vec!["10.9.1.2".into()])
    );
    host.shutdown().await;
    server.shutdown().await;
    office.shutdown().await;
}

#[tokio::test]
async fn the_query_log_shows_prepared_and_general_answers_alike() {
    let (server, addr) = serving(lab(), no_upstream(), Arrival::Loopback).await;
    let mut log = server.query_log().follow();
    let resolver = client(addr);
    // Prepared (in the book) and general (NXDOMAIN) answers.
    assert_eq!(
        a(&resolver, "web-1.lab.stack.").await,
        Ok(vec!["10.9.1.2".into()])
    );
    assert_eq!(
        a(&resolver, "nothing.lab.stack.").await,
        Err("NXDOMAIN".into())
    );
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let entry = tokio::time::timeout(Duration::from_secs(5), log.recv())
            .await
            .expect("logged in time")
            .expect("entry");
        seen.push(format!("{} {}", entry.question, entry.outcome));
    }
    assert!(
        seen.contains(&"web-1.lab.stack. A NOERROR 10.9.1.2".to_string()),
        "{seen:?}"
    );
    assert!(
        seen.contains(&"nothing.lab.stack. A NXDOMAIN".to_string()),
        "{seen:?}"
    );
    server.shutdown().await;
}
