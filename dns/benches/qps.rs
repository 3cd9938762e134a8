//! Queries per second and latency of the stack's DNS server on loopback,
//! with 100 services (3 healthy replicas each) in the zone.
//!
//!   cargo bench -p stack-dns --bench qps [-- SECONDS CLIENTS]
//!
//! The server runs on one runtime thread, the load generator on another
//! (the machine has two cores): CLIENTS sockets each keep one query in
//! flight for SECONDS (default 5 s, 32 clients), asking service names,
//! replica names and SRV records in turn. Every answer is checked
//! (NOERROR with records); a query unanswered within 1 s counts as lost.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use dns::{
    Arrival, DnsServer, Forwarder, Replica, ReplicaHealth, ServicePort, Zone, ZoneData,
    ZoneNetwork, ZoneService,
};
use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RecordType};

const SERVICES: u8 = 100;

fn zone() -> Zone {
    let services = (0..SERVICES)
        .map(|i| ZoneService {
            name: format!("svc{i:03}"),
            networks: vec!["default".into()],
            ports: vec![ServicePort {
                name: Some("http".into()),
                port: 80,
                protocol: "tcp".into(),
            }],
            replicas: (1..=3u8)
                .map(|r| Replica {
                    number: u32::from(r),
                    health: ReplicaHealth::Healthy,
                    addresses: [("default".to_string(), Ipv4Addr::new(10, 10, i, r + 1))].into(),
                    addresses_v6: Default::default(),
                })
                .collect(),
        })
        .collect();
    Zone::new(
        ZoneData {
            project: "bench".into(),
            ttl: 2,
            networks: vec![ZoneNetwork {
                key: "default".into(),
                name: "bench_default".into(),
                subnets: vec!["10.10.0.0/16".parse().expect("subnet")],
                gateway: Some(Ipv4Addr::new(10, 10, 0, 1)),
                gateway_v6: None,
            }],
            services,
        },
        1,
    )
}

/// The queries a client cycles through, encoded (the id is set per send).
fn queries() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for i in 0..SERVICES {
        for (name, kind) in [
            (format!("svc{i:03}.bench.stack."), RecordType::A),
            (format!("svc{i:03}-2.bench.stack."), RecordType::A),
            (
                format!("_http._tcp.svc{i:03}.bench.stack."),
                RecordType::SRV,
            ),
            (format!("svc{i:03}."), RecordType::A),
        ] {
            let mut m = Message::new();
            m.set_recursion_desired(true)
                .add_query(Query::query(Name::from_ascii(&name).expect("name"), kind));
            out.push(m.to_vec().expect("encode"));
        }
    }
    out
}

/// One client: one query in flight until `until`; latencies in µs, and lost queries.
async fn client(
    server: SocketAddr,
    queries: Vec<Vec<u8>>,
    offset: usize,
    until: Instant,
) -> (Vec<u32>, usize) {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind");
    socket.connect(server).await.expect("connect");
    let mut buf = vec![0u8; 1500];
    let mut latencies = Vec::new();
    let mut lost = 0;
    let mut id: u16 = 0;
    let mut i = offset;
    while Instant::now() < until {
        let mut query = queries[i % queries.len()].clone();
        i += 1;
        id = id.wrapping_add(1);
        query[..2].copy_from_slice(&id.to_be_bytes());
        let sent = Instant::now();
        socket.send(&query).await.expect("send");
        loop {
            match tokio::time::timeout(Duration::from_secs(1), socket.recv(&mut buf)).await {
                Ok(Ok(n)) if n >= 12 && buf[..2] == id.to_be_bytes() => {
                    let rcode = buf[3] & 0x0f;
                    let answers = u16::from_be_bytes([buf[6], buf[7]]);
                    assert!(
                        rcode == 0 && answers > 0,
                        "bad answer: rcode {rcode}, {answers} records"
                    );
                    let micros = sent.elapsed().as_micros();
                    latencies.push(u32::try_from(micros).unwrap_or(u32::MAX));
                    break;
                }
                Ok(Ok(_)) => continue, // a late answer to an earlier, lost query
                Ok(Err(e)) => panic!("recv: {e}"),
                Err(_) => {
                    lost += 1;
                    break;
                }
            }
        }
    }
    (latencies, lost)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let seconds: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(5);
    let clients: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(32);

    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("server runtime");
    let (server, addr) = server_rt.block_on(async {
        let mut server = DnsServer::new(zone(), Forwarder::new(vec![], Duration::from_secs(2)));
        let addr = server
            .listen(SocketAddr::from(([127, 0, 0, 1], 0)), Arrival::Loopback)
            .await
            .expect("listen");
        (server, addr)
    });

    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let queries = queries();
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let results = client_rt.block_on(async {
        let tasks: Vec<_> = (0..clients)
            .map(|c| tokio::spawn(client(addr, queries.clone(), c * 7, until)))
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.expect("client task"));
        }
        out
    });
    let elapsed = started.elapsed().as_secs_f64();
    let lost: usize = results.iter().map(|(_, l)| l).sum();
    let mut all: Vec<u32> = results.into_iter().flat_map(|(l, _)| l).collect();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    println!(
        "{} services, {clients} clients, {seconds} s: {} answers, {:.0} queries/s, latency p50 {} µs, p99 {} µs, p99.9 {} µs, max {} µs, lost {lost}",
        SERVICES,
        all.len(),
        all.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        pct(0.999),
        all.last().copied().unwrap_or(0),
    );
    server_rt.block_on(server.shutdown());
}
