//! Isolated networks and the stack's DNS against the real engine, with
//! the isolation lab from `examples/`. No name outside the stack is
//! resolved: forwarding goes to an upstream server this test runs on
//! loopback.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use stack_e2e::{
    ask_dns, ask_dns_at, docker, free_port, network_gateway, try_docker, wait_until, DockerCleanup,
    TestStack,
};

const LAB: &str = include_str!("../examples/isolation-lab/stack.yaml");

fn name(s: &TestStack, service: &str) -> String {
    format!("{}-{service}-1", s.project)
}

/// `up -d --wait` with the agent's DNS on its own loopback port, once the
/// agent answers there.
fn up_with_dns(s: &TestStack, extra: &[&str]) -> u16 {
    let port = free_port();
    let port_arg = port.to_string();
    let mut args = vec!["up", "-d", "--wait", "--dns-port", &port_arg];
    args.extend(extra);
    s.ok(&args);
    let apex = format!("{}.stack.", s.project);
    wait_until(Duration::from_secs(10), "the agent's DNS", || {
        ask_dns(port, &apex, "SOA").is_ok()
    });
    port
}

/// The container's address on `network` (empty while it does not exist).
fn address_of(container: &str, network: &str) -> String {
    let format = format!("{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}");
    try_docker(&["inspect", "-f", &format, container]).unwrap_or_default()
}

#[test]
fn the_isolation_lab_resolves_and_reaches_only_within_networks() {
    let s = TestStack::new("dnslab", LAB);
    let port = up_with_dns(&s, &[]);
    let (client, web, db) = (name(&s, "client"), name(&s, "web"), name(&s, "db"));
    let zone = format!("{}.stack", s.project);

    // From client (frontend only): web by both names, db not at all.
    assert_eq!(
        s.fetch(&client, "http://web/"),
        (0, "hello from web\n".into())
    );
    let fqdn = format!("http://web.{zone}/");
    assert_eq!(s.fetch(&client, &fqdn), (0, "hello from web\n".into()));
    let (code, out) = s.exec(&client, &["nslookup", "db"]);
    assert!(code != 0 && out.contains("NXDOMAIN"), "{out}");
    let (code, out) = s.exec(&client, &["nslookup", &format!("db.{zone}")]);
    assert!(code != 0 && out.contains("NXDOMAIN"), "{out}");
    assert_ne!(s.exec(&client, &["ping", "-c", "1", "-W", "1", "db"]).0, 0);
    let db_ip = address_of(&db, &format!("{}_backend", s.project));
    let knock = format!("echo | nc -w 2 {db_ip} 5432");
    let (_, out) = s.exec(&client, &["timeout", "5", "sh", "-c", &knock]);
    assert!(!out.contains("db says hello"), "client reached db: {out}");

    // From web (both networks): db by both names, and it answers.
    let (code, out) = s.exec(&web, &["nslookup", &format!("db.{zone}")]);
    assert!(code == 0 && out.contains(&db_ip), "{out}");
    let (_, out) = s.exec(
        &web,
        &["timeout", "5", "sh", "-c", "echo | nc -w 2 db 5432"],
    );
    assert!(out.contains("db says hello"), "{out}");

    // The host asks on loopback and sees every network.
    let web_ips = ask_dns(port, &format!("web.{zone}."), "A").expect("web from the host");
    assert_eq!(web_ips.len(), 1, "{web_ips:?}");
    assert_eq!(
        ask_dns(port, &format!("db.{zone}."), "A"),
        Ok(vec![db_ip.clone()])
    );
    // On the IPv6 loopback too.
    assert_eq!(
        ask_dns_at(
            Ipv6Addr::LOCALHOST.into(),
            port,
            &format!("db.{zone}."),
            "A"
        ),
        Ok(vec![db_ip.clone()])
    );
    let srv = ask_dns(port, &format!("_5432._tcp.db.{zone}."), "SRV").expect("srv");
    assert!(srv.contains(&format!("0 10 5432 db-1.{zone}.")), "{srv:?}");
    let reverse: Vec<&str> = db_ip.split('.').rev().collect();
    assert_eq!(
        ask_dns(port, &format!("{}.in-addr.arpa.", reverse.join(".")), "PTR"),
        Ok(vec![format!("db-1.{zone}.")])
    );
    assert_eq!(
        ask_dns(port, &format!("nothing.{zone}."), "A"),
        Err("NXDomain".into())
    );

    // Where the agent listens, and what resolves where, for people.
    let status = s.ok(&["agent", "status"]);
    assert!(
        status.contains(&format!("127.0.0.1:{port} every network"))
            && status.contains(&format!("[::1]:{port} every network"))
            && status.contains("network backend"),
        "{status}"
    );
    let records = s.ok(&["dns", "records"]);
    let (front, back) = records
        .split_once("network backend")
        .expect("both networks");
    assert!(!front.contains(&format!("db.{zone}")), "{records}");
    assert!(back.contains(&format!("db.{zone}")), "{records}");
    // `backend` has no route out.
    let backend = format!("{}_backend", s.project);
    assert_eq!(
        docker(&["network", "inspect", "-f", "{{.Internal}}", &backend]).trim(),
        "true"
    );
}

const HEALTH: &str = r#"
services:
  api:
    image: busybox:1.36
    init: true
    command: ["sh", "-c", "touch /tmp/ok && exec sleep 3600"]
    deploy: {replicas: 2}
    healthcheck:
      test: ["CMD-SHELL", "test -f /tmp/ok"]
      interval: 1s
      timeout: 1s
      retries: 1
"#;

#[test]
fn an_unhealthy_replica_leaves_the_service_name_and_comes_back() {
    let s = TestStack::new("dnshealth", HEALTH);
    let port = up_with_dns(&s, &[]);
    let api = format!("api.{}.stack.", s.project);
    let answers = || ask_dns(port, &api, "A").unwrap_or_default();
    wait_until(Duration::from_secs(5), "both replicas answered", || {
        answers().len() == 2
    });

    let second = format!("{}-api-2", s.project);
    let network = format!("{}_default", s.project);
    let old_ip = address_of(&second, &network);
    let id = || try_docker(&["inspect", "-f", "{{.Id}}", &second]).unwrap_or_default();
    let old_id = id();
    let removed = s.exec(&second, &["rm", "/tmp/ok"]);
    assert_eq!(removed.0, 0, "{removed:?}");
    // The engine sees it fail within one interval plus the probe's
    // timeout; the DNS follows the engine's event within 1 s (a second of
    // slack for a loaded machine).
    wait_until(Duration::from_secs(4), "api-2 out of the answers", || {
        !answers().contains(&old_ip)
    });
    // The agent replaces the unhealthy replica; once the new one is
    // healthy it is answered again (the engine may give it the same address).
    wait_until(
        Duration::from_secs(20),
        "a healthy new api-2 back in the answers",
        || {
            let new_id = id();
            !new_id.is_empty()
                && new_id != old_id
                && answers().contains(&address_of(&second, &network))
                && answers().len() == 2
        },
    );
    let tasks = format!("tasks.api.{}.stack.", s.project);
    assert_eq!(ask_dns(port, &tasks, "A").map(|a| a.len()), Ok(2));
}

#[test]
fn names_outside_the_stack_go_to_the_upstream_resolver() {
    // The upstream: a DNS server of its own on loopback that knows `printer`.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (upstream, upstream_addr) = runtime.block_on(async {
        let zone = dns::Zone::new(
            dns::ZoneData {
                project: "office".into(),
                ttl: 2,
                networks: vec![dns::ZoneNetwork {
                    key: "lan".into(),
                    name: "office_lan".into(),
                    subnets: vec![],
                    gateway: None,
                    gateway_v6: None,
                }],
                services: vec![dns::ZoneService {
                    name: "printer".into(),
                    networks: vec!["lan".into()],
                    ports: vec![],
                    replicas: vec![dns::Replica {
                        number: 1,
                        health: dns::ReplicaHealth::Unchecked,
                        addresses: [("lan".to_string(), Ipv4Addr::new(192, 0, 2, 7))].into(),
                        addresses_v6: Default::default(),
                    }],
                }],
            },
            1,
        );
        let mut server =
            dns::DnsServer::new(zone, dns::Forwarder::new(vec![], Duration::from_secs(1)));
        let addr = server
            .listen(
                SocketAddr::from(([127, 0, 0, 1], 0)),
                dns::Arrival::Loopback,
            )
            .await
            .expect("upstream on loopback");
        (server, addr)
    });
    let s = TestStack::new("dnsfwd", LAB);
    let upstream_arg = upstream_addr.to_string();
    let port = up_with_dns(&s, &["--dns-upstream", &upstream_arg]);
    assert_eq!(ask_dns(port, "printer.", "A"), Ok(vec!["192.0.2.7".into()]));
    // From a container: the engine's resolver asks the stack's DNS on the
    // network gateway, which asks the upstream.
    let (code, out) = s.exec(&name(&s, "client"), &["nslookup", "printer"]);
    assert!(code == 0 && out.contains("192.0.2.7"), "{out}");
    runtime.block_on(upstream.shutdown());
}

#[test]
fn a_subnet_overlapping_another_network_is_refused_before_any_change() {
    let other = format!("test-overlap-{}", std::process::id());
    // This run's own range (two test runs may share an engine).
    let n = std::process::id() % 250;
    let theirs = format!("10.213.{n}.0/24");
    let ours = format!("10.213.{n}.128/25");
    docker(&["network", "create", "--subnet", &theirs, &other]);
    let _guard = DockerCleanup::remove("network", &other);
    let yaml = format!("services:\n  app:\n    image: busybox:1.36\n    command: [sleep, '3600']\n    networks: [lan]\nnetworks:\n  lan:\n    ipam:\n      config:\n        - subnet: {ours}\n");
    let s = TestStack::new("overlap", &yaml);
    let out = s.run(&["up", "-d"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("network `lan`: subnet {ours} overlaps {theirs}"))
            && err.contains(&other),
        "{err}"
    );
    assert!(s.containers().is_empty() && s.networks().is_empty());
}

#[test]
fn an_external_network_is_used_and_survives_down() {
    let ext = format!("test-extnet-{}", std::process::id());
    docker(&["network", "create", &ext]);
    let _guard = DockerCleanup::remove("network", &ext);
    let yaml = format!(
        "services:\n  app:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n    networks: [shared]\nnetworks:\n  shared:\n    external: true\n    name: {ext}\n"
    );
    let s = TestStack::new("extnet", &yaml);
    s.ok(&["up", "-d", "--no-agent"]);
    let joined = docker(&[
        "inspect",
        "-f",
        "{{json .NetworkSettings.Networks}}",
        &name(&s, "app"),
    ]);
    assert!(joined.contains(&ext), "{joined}");
    s.ok(&["down", "--timeout", "1"]);
    assert_eq!(
        docker(&["network", "ls", "-q", "--filter", &format!("name=^{ext}$")])
            .trim()
            .len(),
        12
    );
}

#[test]
fn network_settings_reach_the_engine_and_containers_ask_the_gateway_first() {
    let yaml = r#"
services:
  a:
    image: busybox:1.36
    init: true
    command: [sleep, "3600"]
    networks:
      lan:
        ipv4_address: 10.214.0.10
        aliases: [alpha]
  b:
    image: busybox:1.36
    init: true
    command: [sleep, "3600"]
    networks: [lan]
networks:
  lan:
    attachable: true
    labels: {tier: lab}
    driver_opts: {com.docker.network.driver.mtu: "1400"}
    ipam:
      config:
        - subnet: 10.214.0.0/24
          gateway: 10.214.0.254
"#;
    // Addresses of this run's own (two test runs may share an engine).
    let own = format!("10.214.{}.", std::process::id() % 250);
    let yaml = yaml.replace("10.214.0.", &own);
    let s = TestStack::new("netopts", &yaml);
    let port = up_with_dns(&s, &[]);
    let lan = format!("{}_lan", s.project);
    let inspect = |f: &str| {
        docker(&["network", "inspect", "-f", f, &lan])
            .trim()
            .to_string()
    };
    assert_eq!(inspect("{{.Attachable}}"), "true");
    assert_eq!(inspect("{{index .Labels \"tier\"}}"), "lab");
    assert_eq!(
        inspect("{{index .Options \"com.docker.network.driver.mtu\"}}"),
        "1400"
    );
    assert_eq!(
        inspect("{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}"),
        format!("{own}0/24 {own}254")
    );

    let (a, b) = (name(&s, "a"), name(&s, "b"));
    let a_ip = format!("{own}10");
    assert_eq!(address_of(&a, &lan), a_ip);
    let resolvers = docker(&["inspect", "-f", "{{json .HostConfig.Dns}}", &b]);
    assert!(
        resolvers.starts_with(&format!("[\"{own}254\"")),
        "the gateway first: {resolvers}"
    );
    // The alias through the engine, the service through the stack's DNS.
    let (code, out) = s.exec(&b, &["nslookup", "alpha"]);
    assert!(code == 0 && out.contains(&a_ip), "{out}");
    let (code, out) = s.exec(&b, &["nslookup", &format!("a.{}.stack", s.project)]);
    assert!(code == 0 && out.contains(&a_ip), "{out}");
    assert_eq!(
        ask_dns(port, &format!("a.{}.stack.", s.project), "A"),
        Ok(vec![a_ip.clone()])
    );
}

#[test]
fn the_host_port_answers_for_every_stack_on_the_engine() {
    let solo = "services:\n  solo:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n";
    let a = TestStack::new("dnsa", solo);
    let b = TestStack::new("dnsb", solo);
    let port = up_with_dns(&a, &[]);
    b.ok(&["up", "-d", "--no-agent"]);
    let b_ip = address_of(&name(&b, "solo"), &format!("{}_default", b.project));
    let b_name = format!("solo.{}.stack.", b.project);
    wait_until(
        Duration::from_secs(5),
        "the other stack's name on this agent's port",
        || ask_dns(port, &b_name, "A") == Ok(vec![b_ip.clone()]),
    );
    // Containers of one stack still see nothing of the other.
    let (code, out) = a.exec(
        &name(&a, "solo"),
        &["nslookup", b_name.trim_end_matches('.')],
    );
    assert!(code != 0 && out.contains("NXDOMAIN"), "{out}");
}

/// The gateway address of one of the stack's networks.
fn gateway_of(s: &TestStack, network: &str) -> String {
    network_gateway(&format!("{}_{network}", s.project))
}

#[test]
fn a_gateway_answers_only_the_stacks_own_containers() {
    let s = TestStack::new("dnsrefuse", LAB);
    up_with_dns(&s, &[]);
    let gateway = gateway_of(&s, "frontend");
    let zone = format!("{}.stack", s.project);
    let client = name(&s, "client");
    // The stack's own container asks its gateway and gets an answer.
    wait_until(Duration::from_secs(10), "the gateway listener", || {
        let (code, _) = s.exec(&client, &["nslookup", &format!("web.{zone}"), &gateway]);
        code == 0
    });
    // A container on the engine's default bridge, and one on a network of
    // nobody's stack, reach the gateway address but get REFUSED, for the
    // stack's names and for anything that would be forwarded.
    let unrelated = format!("{}-unrelated", s.project);
    docker(&["network", "create", &unrelated]);
    let _cleanup = DockerCleanup::remove("network", &unrelated);
    for network in ["bridge", unrelated.as_str()] {
        for asked in [format!("web.{zone}"), "example.org".to_string()] {
            let out = std::process::Command::new("docker")
                .args(["run", "--rm", "--network", network, "busybox:1.36"])
                .args(["nslookup", &asked, &gateway])
                .output()
                .expect("docker run");
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(!out.status.success(), "{network} asked {asked}: {text}");
            assert!(text.contains("REFUSED"), "{network} asked {asked}: {text}");
        }
    }
}

#[test]
fn a_network_whose_definition_changed_is_recreated_with_its_containers_reconnected() {
    let n = std::process::id() % 250;
    let yaml = |subnet: &str, labels: &str| {
        format!("services:\n  web:\n    image: busybox:1.36\n    init: true\n    command: [sh, -c, 'mkdir -p /www && echo up > /www/index.html && exec httpd -f -p 80 -h /www']\n    networks: [lan]\n  client:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n    networks: [lan]\nnetworks:\n  lan:\n    labels: {{{labels}}}\n    ipam:\n      config:\n        - subnet: {subnet}\n")
    };
    let first = format!("10.215.{n}.0/25");
    let s = TestStack::new("netrecreate", &yaml(&first, ""));
    s.ok(&["up", "-d", "--no-agent"]);
    let (web, client) = (name(&s, "web"), name(&s, "client"));
    let lan = format!("{}_lan", s.project);
    let ids = s.containers();
    // New labels, same subnet: the containers are taken off and put back,
    // as Compose does.
    s.write(&yaml(&first, "tier: lan"));
    let plan = s.run(&["plan"]);
    let shown = String::from_utf8_lossy(&plan.stdout);
    assert!(
        shown.contains(&format!("recreate network {lan}"))
            && shown.contains("its definition changed"),
        "{shown}"
    );
    s.ok(&["up", "-d", "--no-agent"]);
    let labels = docker(&["network", "inspect", "-f", "{{json .Labels}}", &lan]);
    assert!(labels.contains("\"tier\":\"lan\""), "{labels}");
    assert_eq!(
        s.containers(),
        ids,
        "containers are reconnected, not recreated"
    );
    assert_eq!(s.fetch(&client, "http://web/"), (0, "up\n".into()));
    s.assert_converged();

    // A new subnet moves the gateway, where the containers ask the
    // stack's DNS: they are recreated, asking the new one.
    s.write(&yaml(&format!("10.215.{n}.128/25"), "tier: lan"));
    s.ok(&["up", "-d", "--no-agent"]);
    let subnet = docker(&[
        "network",
        "inspect",
        "-f",
        "{{range .IPAM.Config}}{{.Subnet}}{{end}}",
        &lan,
    ]);
    assert_eq!(subnet.trim(), format!("10.215.{n}.128/25"));
    let renewed = s.containers();
    assert!(
        renewed.keys().eq(ids.keys())
            && renewed
                .values()
                .all(|id| !ids.values().any(|old| old == id)),
        "{renewed:?}"
    );
    let resolvers = docker(&["inspect", "-f", "{{json .HostConfig.Dns}}", &web]);
    assert!(
        resolvers.starts_with(&format!("[\"10.215.{n}.129\"")),
        "{resolvers}"
    );
    let addr = address_of(&web, &lan);
    assert!(addr.starts_with(&format!("10.215.{n}.")), "{addr}");
    assert_eq!(s.fetch(&client, "http://web/"), (0, "up\n".into()));
    s.assert_converged();
}

#[test]
fn dns_query_answers_as_the_named_service_would_be_answered() {
    let s = TestStack::new("dnsquery", LAB);
    s.ok(&["up", "-d", "--no-agent"]);
    let zone = format!("{}.stack", s.project);
    let db_ip = address_of(&name(&s, "db"), &format!("{}_backend", s.project));
    // From web (both networks): db resolves.
    let out = s.ok(&["dns", "query", &format!("db.{zone}"), "--from", "web"]);
    assert!(out.contains(&db_ip), "{out}");
    // From client (frontend only): NXDOMAIN, exit 1.
    let denied = s.run(&["dns", "query", &format!("db.{zone}"), "--from", "client"]);
    assert_eq!(denied.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&denied.stdout).contains("NXDOMAIN"));
    // The host sees every network; SRV records come from `expose`.
    assert!(s
        .ok(&["dns", "query", &format!("db.{zone}")])
        .contains(&db_ip));
    let srv = s.ok(&[
        "dns",
        "query",
        &format!("_5432._tcp.db.{zone}"),
        "--type",
        "SRV",
    ]);
    assert!(srv.contains("5432"), "{srv}");
}

const DUAL_STACK: &str = r#"
services:
  web:
    image: busybox:1.36
    init: true
    command: ["sleep", "3600"]
    networks: [v6]
  client:
    image: busybox:1.36
    init: true
    command: ["sleep", "3600"]
    networks: [v6]
networks:
  v6:
    enable_ipv6: true
    ipam:
      config:
        - subnet: 10.231.7.0/24
        - subnet: fd00:231:7::/64
"#;

#[test]
fn an_ipv6_network_gets_aaaa_ptr_and_a_listener_on_its_ipv6_gateway() {
    let s = TestStack::new("dnsv6", DUAL_STACK);
    let port = up_with_dns(&s, &[]);
    let (web, client) = (name(&s, "web"), name(&s, "client"));
    let network = format!("{}_v6", s.project);
    let format =
        format!("{{{{(index .NetworkSettings.Networks \"{network}\").GlobalIPv6Address}}}}");
    let web_v6 = docker(&["inspect", "-f", &format, &web]).trim().to_string();
    assert!(
        web_v6.starts_with("fd00:231:7:"),
        "web has an IPv6 address: {web_v6:?}"
    );

    // The host, on loopback: AAAA and the IPv6 PTR.
    let fqdn = format!("web.{}.stack.", s.project);
    assert_eq!(ask_dns(port, &fqdn, "AAAA"), Ok(vec![web_v6.clone()]));
    let ptr = dns::zone::reverse_name(web_v6.parse().expect("an IPv6 address"));
    assert_eq!(
        ask_dns(port, &format!("{ptr}."), "PTR"),
        Ok(vec![format!("web-1.{}.stack.", s.project)])
    );

    // client asks the IPv6 gateway itself (fd00:231:7::1, port 53).
    let (code, out) = s.exec(&client, &["nslookup", "-type=AAAA", "web", "fd00:231:7::1"]);
    assert!(code == 0 && out.contains(&web_v6), "{out}");
    let (code, out) = s.exec(&client, &["nslookup", "web", "fd00:231:7::1"]);
    let web_v4 = address_of(&web, &network);
    assert!(code == 0 && out.contains(&web_v4), "{out}");
}

/// Ask `name` (A) of the server on `127.0.0.1:port` over TCP; the reply
/// is not read further than its arrival.
fn ask_over_tcp(port: u16, name: &str) {
    use hickory_resolver::proto::op::{Message, Query};
    use hickory_resolver::proto::rr::{Name, RecordType};
    use std::io::{Read, Write};
    let mut query = Message::new();
    query.set_id(7).set_recursion_desired(true);
    query.add_query(Query::query(
        Name::from_ascii(name).expect("name"),
        RecordType::A,
    ));
    let bytes = query.to_vec().expect("encodes");
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(3)));
    let mut framed = u16::try_from(bytes.len())
        .expect("short")
        .to_be_bytes()
        .to_vec();
    framed.extend_from_slice(&bytes);
    if stream.write_all(&framed).is_ok() {
        let mut length = [0u8; 2];
        let _ = stream.read_exact(&mut length);
    }
}

#[test]
fn dns_log_follows_who_asked_what_and_what_they_got() {
    use std::io::{BufRead, BufReader};
    use std::sync::{Arc, Mutex};
    let s = TestStack::new("dnslog", LAB);
    let port = up_with_dns(&s, &[]);
    let mut follower = s
        .command(&["dns", "log", "-f"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("stack dns log -f");
    let seen = Arc::new(Mutex::new(String::new()));
    let reader = {
        let seen = seen.clone();
        let stdout = follower.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let mut all = seen.lock().unwrap_or_else(|p| p.into_inner());
                all.push_str(&line);
                all.push('\n');
            }
        })
    };
    let client = name(&s, "client");
    let client_ip = address_of(&client, &format!("{}_frontend", s.project));
    // Ask until the follower is connected and the answers show. (Bare
    // `web` is answered by the engine's own resolver in the container and
    // never reaches the stack's DNS; the qualified name does.)
    let web = format!("web.{}.stack", s.project);
    wait_until(
        Duration::from_secs(20),
        "the log to show client's questions",
        || {
            let _ = s.exec(&client, &["nslookup", "db"]);
            let _ = s.exec(&client, &["nslookup", &web]);
            let all = seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
            all.lines()
                .any(|l| l.contains(&client_ip) && l.contains("db. A") && l.contains("NXDOMAIN"))
                && all
                    .lines()
                    .any(|l| l.contains(&format!("{web}. A")) && l.contains("NOERROR"))
        },
    );
    // Over TCP too (what a client does after a truncated answer).
    wait_until(
        Duration::from_secs(10),
        "the log to show a TCP query",
        || {
            ask_over_tcp(port, &format!("{web}."));
            let all = seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
            all.lines()
                .any(|l| l.contains("127.0.0.1") && l.contains("NOERROR") && l.ends_with("(tcp)"))
        },
    );
    let _ = follower.kill();
    let _ = follower.wait();
    let _ = reader.join();
}

#[test]
fn stacks_on_a_shared_external_network_reach_each_other_by_qualified_name() {
    let shared = format!("test-shared-{}", std::process::id());
    docker(&["network", "create", &shared]);
    let _guard = DockerCleanup::remove("network", &shared);
    let external = format!("networks:\n  proxy:\n    external: true\n    name: {shared}\n");
    let sleeper = "    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n";
    // `shop`: web on its default network and on the shared one, db on
    // its default only. `edge`: front on the shared network only (as a
    // reverse proxy is), api on both.
    let shop = TestStack::new(
        "shop",
        &format!("services:\n  web:\n{sleeper}    networks: [default, proxy]\n  db:\n{sleeper}{external}"),
    );
    let edge = TestStack::new(
        "edge",
        &format!("services:\n  front:\n{sleeper}    networks: [proxy]\n  api:\n{sleeper}    networks: [default, proxy]\n{external}"),
    );
    up_with_dns(&shop, &[]);
    up_with_dns(&edge, &[]);
    let (web, db, front) = (name(&shop, "web"), name(&shop, "db"), name(&edge, "front"));
    let api_ip = address_of(&name(&edge, "api"), &shared);
    let web_ip = address_of(&web, &shared);
    let api = format!("api.{}.stack", edge.project);
    let lookup =
        |s: &TestStack, container: &str, asked: &str| s.exec(container, &["nslookup", asked]);
    // web reaches edge's api through the network they share, by the
    // name that says which stack's api it means.
    wait_until(
        Duration::from_secs(15),
        "api's qualified name from web",
        || {
            let (code, out) = lookup(&shop, &web, &api);
            code == 0 && out.contains(&api_ip)
        },
    );
    // db shares no network with edge: nothing of it.
    let (code, out) = lookup(&shop, &db, &api);
    assert!(code != 0 && out.contains("NXDOMAIN"), "{out}");
    // front is on the shared network only: it asks the stack's DNS on
    // that network's gateway, which both stacks' agents serve.
    let resolvers = docker(&["inspect", "-f", "{{json .HostConfig.Dns}}", &front]);
    let gateway = network_gateway(&shared);
    assert!(
        resolvers.starts_with(&format!("[\"{gateway}\"")),
        "{resolvers}"
    );
    let web_name = format!("web.{}.stack", shop.project);
    wait_until(
        Duration::from_secs(15),
        "web's qualified name from front",
        || {
            let (code, out) = lookup(&edge, &front, &web_name);
            code == 0 && out.contains(&web_ip)
        },
    );
    let (code, out) = lookup(&edge, &front, &format!("db.{}.stack", shop.project));
    assert!(code != 0 && out.contains("NXDOMAIN"), "{out}");
    // `stack dns query` and `records` say the same without a container.
    let out = shop.ok(&["dns", "query", &api, "--from", "web"]);
    assert!(out.contains(&api_ip), "{out}");
    let records = shop.ok(&["dns", "records", "--network", &shared]);
    assert!(
        records.contains(&format!("shared with stack `{}`", edge.project))
            && records.contains(&api),
        "{records}"
    );
    shop.ok(&["down", "-t", "1"]);
    edge.ok(&["down", "-t", "1"]);
}

#[test]
fn a_mac_address_reaches_the_engine_on_the_main_network() {
    // The service's own, and a network's on its main network (before API
    // 1.44 both are the container's single MAC address).
    let yaml = "services:\n  a:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n    mac_address: 02:42:ac:11:00:99\n  b:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n    networks:\n      back: {mac_address: '02:42:ac:11:00:98'}\nnetworks:\n  back: {}\n";
    let s = TestStack::new("mac", yaml);
    s.ok(&["up", "-d", "--no-agent"]);
    let mac = |container: &str, network: &str| {
        let format = format!("{{{{(index .NetworkSettings.Networks \"{network}\").MacAddress}}}}");
        docker(&["inspect", "-f", &format, container])
            .trim()
            .to_string()
    };
    assert_eq!(
        mac(&name(&s, "a"), &format!("{}_default", s.project)),
        "02:42:ac:11:00:99"
    );
    assert_eq!(
        mac(&name(&s, "b"), &format!("{}_back", s.project)),
        "02:42:ac:11:00:98"
    );
    s.assert_converged();
    // A change of address recreates the container with the new one.
    s.write(&yaml.replace("00:99", "00:97"));
    s.ok(&["up", "-d", "--no-agent"]);
    assert_eq!(
        mac(&name(&s, "a"), &format!("{}_default", s.project)),
        "02:42:ac:11:00:97"
    );
}
