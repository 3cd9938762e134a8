//! The stack's DNS fed from the fake engine: the zone read from what runs,
//! and the served answers following events.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agent::dns_feed::{read_zone, serve, DnsOptions};
use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use planner::{plan_up, Desired, Health, UpOptions};
use reconciler::fake::FakeEngine;
use reconciler::{observe, Executor};
use tokio_util::sync::CancellationToken;

const LAB: &str = r#"
services:
  web:
    image: busybox:1.36
    networks: [frontend, backend]
    ports: [{target: 80, name: http}]
    expose: ["9000/udp"]
    healthcheck: {test: ["CMD", "true"]}
    deploy: {replicas: 2}
  client:
    image: busybox:1.36
    networks: [frontend]
  db:
    image: busybox:1.36
    networks: [backend]
networks:
  frontend: {}
  backend: {}
"#;

async fn up(engine: &FakeEngine) {
    up_as(engine, "p").await;
}

async fn up_as(engine: &FakeEngine, name: &str) {
    let p = load_named(LAB, name);
    let observed = observe(engine, &p).await.unwrap();
    let desired = Desired {
        project: &p,
        files: BTreeMap::new(),
    };
    let plan = plan_up(&desired, &observed, &UpOptions::default());
    Executor::new(
        Arc::new(engine.clone()),
        Arc::new(p.clone()),
        BTreeMap::new(),
    )
    .execute(plan)
    .await
    .unwrap();
}

fn lab_engine() -> FakeEngine {
    let e = FakeEngine::new();
    e.add_image("busybox:1.36", "sha256:aaa");
    e
}

#[tokio::test]
async fn the_zone_is_read_from_labels_addresses_and_health() {
    let e = lab_engine();
    up(&e).await;
    let data = read_zone(&e, "p", 2).await.unwrap();
    let keys: Vec<&str> = data.networks.iter().map(|n| n.key.as_str()).collect();
    assert_eq!(keys, ["backend", "frontend"]);
    assert!(data
        .networks
        .iter()
        .all(|n| n.gateway.is_some() && !n.subnets.is_empty()));
    let web = data.services.iter().find(|s| s.name == "web").unwrap();
    assert_eq!(web.networks, ["backend", "frontend"]);
    assert_eq!(web.replicas.len(), 2);
    assert!(web.replicas.iter().all(|r| r.addresses.len() == 2));
    let ports: Vec<(Option<&str>, u16, &str)> = web
        .ports
        .iter()
        .map(|p| (p.name.as_deref(), p.port, p.protocol.as_str()))
        .collect();
    assert_eq!(ports, [(Some("http"), 80, "tcp"), (None, 9000, "udp")]);
    let db = data.services.iter().find(|s| s.name == "db").unwrap();
    assert_eq!(db.networks, ["backend"]);
}

/// Ask `server` for `name` over UDP.
async fn ask(server: SocketAddr, name: &str) -> Option<Message> {
    let client = dns::Forwarder::new(vec![server], Duration::from_secs(1));
    client
        .ask(&Query::query(
            Name::from_ascii(name).unwrap(),
            RecordType::A,
        ))
        .await
}

async fn addresses(server: SocketAddr, name: &str) -> Result<usize, ResponseCode> {
    match ask(server, name).await {
        Some(m) if m.response_code() == ResponseCode::NoError => Ok(m.answers().len()),
        Some(m) => Err(m.response_code()),
        None => Err(ResponseCode::ServFail),
    }
}

/// Wait until `check` holds, or fail after `limit`.
async fn eventually<F, Fut>(limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The agent's DNS for project `p` on `engine`, on a free loopback port;
/// only events can explain a quick change (the resync is an hour).
struct Serving {
    server: SocketAddr,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Serving {
    fn start(engine: &FakeEngine) -> Serving {
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .unwrap()
            .port();
        let options = DnsOptions {
            loopback_port: Some(port),
            // The fake's gateways are not on this host: those listeners
            // fail, with a warning.
            upstreams: vec![],
            resync: Duration::from_secs(3600),
            ..DnsOptions::default()
        };
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(serve(
            Arc::new(engine.clone()),
            "p".into(),
            options,
            shutdown.clone(),
        ));
        Serving {
            server: ([127, 0, 0, 1], port).into(),
            shutdown,
            task,
        }
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.unwrap();
    }
}

#[tokio::test]
async fn served_answers_follow_health_events() {
    let e = lab_engine();
    up(&e).await;
    let serving = Serving::start(&e);
    let server = serving.server;
    eventually(Duration::from_secs(5), || async {
        addresses(server, "web.p.stack.").await == Ok(2)
    })
    .await;
    assert_eq!(addresses(server, "db.p.stack.").await, Ok(1));
    assert_eq!(
        addresses(server, "nothing.p.stack.").await,
        Err(ResponseCode::NXDomain)
    );

    e.set_health("p-web-2", Health::Unhealthy);
    e.push_event("container", "health_status: unhealthy", "p-web-2");
    eventually(Duration::from_secs(1), || async {
        addresses(server, "web.p.stack.").await == Ok(1)
    })
    .await;
    assert_eq!(addresses(server, "tasks.web.p.stack.").await, Ok(2));

    e.kill("p-db-1", 137);
    e.push_event("container", "die", "p-db-1");
    eventually(Duration::from_secs(1), || async {
        addresses(server, "db.p.stack.").await == Err(ResponseCode::NXDomain)
    })
    .await;
    serving.stop().await;
}

#[tokio::test]
async fn the_loopback_listener_answers_for_every_project() {
    let e = lab_engine();
    up(&e).await;
    up_as(&e, "q").await;
    let serving = Serving::start(&e);
    let server = serving.server;
    eventually(Duration::from_secs(5), || async {
        addresses(server, "db.p.stack.").await == Ok(1)
    })
    .await;
    assert_eq!(addresses(server, "web.q.stack.").await, Ok(2));
    assert_eq!(
        addresses(server, "web.r.stack.").await,
        Err(ResponseCode::NXDomain)
    );
    serving.stop().await;
}

/// Load `yaml` as the stack file of project `name` (from memory).
fn load_named(yaml: &str, name: &str) -> schema::Project {
    schema::load_str(yaml, name)
        .unwrap_or_else(|d| panic!("{d}"))
        .project
}
