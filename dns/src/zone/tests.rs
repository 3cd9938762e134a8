use super::*;
use crate::fixtures::lab;

fn on(zone: &Zone, network: &str) -> View {
    zone.view(
        &Arrival::Network(network.into()),
        IpAddr::from([10, 9, 9, 9]),
    )
}

fn addresses(answer: Answer) -> Vec<String> {
    let Answer::Records { answers, .. } = answer else {
        panic!("expected records, got {answer:?}");
    };
    let mut out: Vec<String> = answers.iter().map(|r| r.data().to_string()).collect();
    out.sort();
    out
}

#[test]
fn service_name_answers_healthy_replicas_on_the_view() {
    let zone = lab();
    let front = on(&zone, "frontend");
    assert_eq!(
        addresses(zone.answer(&front, "web", RecordType::A)),
        ["10.9.1.2"]
    );
    assert_eq!(
        addresses(zone.answer(&front, "WEB.lab.stack.", RecordType::A)),
        ["10.9.1.2"]
    );
    let back = on(&zone, "backend");
    assert_eq!(
        addresses(zone.answer(&back, "web.lab.stack", RecordType::A)),
        ["10.9.2.2"]
    );
}

#[test]
fn all_unhealthy_answers_them_rather_than_nothing_and_warns() {
    let mut data = lab().data().clone();
    data.services[0].replicas[0].health = ReplicaHealth::Starting;
    let starting_only = {
        let mut d = data.clone();
        d.services[0].replicas[1].health = ReplicaHealth::Starting;
        Zone::new(d, 3)
    };
    assert!(starting_only.warnings().is_empty(), "every start begins so");
    let zone = Zone::new(data, 2);
    let front = on(&zone, "frontend");
    assert_eq!(
        addresses(zone.answer(&front, "web", RecordType::A)),
        ["10.9.1.2", "10.9.1.3"]
    );
    assert_eq!(zone.warnings().len(), 1);
    assert!(zone.warnings()[0].contains("`web`"));
    assert!(lab().warnings().is_empty());
}

#[test]
fn tasks_and_replica_names() {
    let zone = lab();
    let front = on(&zone, "frontend");
    assert_eq!(
        addresses(zone.answer(&front, "tasks.web", RecordType::A)),
        ["10.9.1.2", "10.9.1.3"]
    );
    assert_eq!(
        addresses(zone.answer(&front, "tasks.web.lab.stack", RecordType::A)),
        ["10.9.1.2", "10.9.1.3"]
    );
    assert_eq!(
        addresses(zone.answer(&front, "web-2.lab.stack", RecordType::A)),
        ["10.9.1.3"]
    );
    assert_eq!(
        zone.answer(&front, "web-7.lab.stack", RecordType::A),
        Answer::NxDomain
    );
}

#[test]
fn other_networks_services_are_nxdomain_never_forwarded() {
    let zone = lab();
    let front = on(&zone, "frontend");
    assert_eq!(zone.answer(&front, "db", RecordType::A), Answer::NxDomain);
    assert_eq!(
        zone.answer(&front, "db.lab.stack", RecordType::A),
        Answer::NxDomain
    );
    assert_eq!(
        zone.answer(&front, "tasks.db", RecordType::A),
        Answer::NxDomain
    );
    assert_eq!(
        zone.answer(&front, "db-1.lab.stack", RecordType::A),
        Answer::NxDomain
    );
    let back = on(&zone, "backend");
    assert_eq!(
        addresses(zone.answer(&back, "db", RecordType::A)),
        ["10.9.2.5"]
    );
    assert_eq!(
        zone.answer(&back, "client", RecordType::A),
        Answer::NxDomain
    );
}

#[test]
fn a_replica_on_two_networks_sees_both() {
    let zone = lab();
    let from_web = zone.view(
        &Arrival::Network("frontend".into()),
        IpAddr::from([10, 9, 1, 2]),
    );
    assert_eq!(
        addresses(zone.answer(&from_web, "db.lab.stack", RecordType::A)),
        ["10.9.2.5"]
    );
    // Its own service is answered with the address on the arrival network.
    assert_eq!(
        addresses(zone.answer(&from_web, "web", RecordType::A)),
        ["10.9.1.2"]
    );
    let from_client = zone.view(
        &Arrival::Network("frontend".into()),
        IpAddr::from([10, 9, 1, 4]),
    );
    assert_eq!(
        zone.answer(&from_client, "db.lab.stack", RecordType::A),
        Answer::NxDomain
    );
}

#[test]
fn loopback_sees_every_network() {
    let zone = lab();
    let host = zone.view(&Arrival::Loopback, IpAddr::from([127, 0, 0, 1]));
    assert_eq!(
        addresses(zone.answer(&host, "db.lab.stack", RecordType::A)),
        ["10.9.2.5"]
    );
    assert_eq!(
        addresses(zone.answer(&host, "client.lab.stack", RecordType::A)),
        ["10.9.1.4"]
    );
}

#[test]
fn outside_names_are_forwarded_other_stack_names_are_not() {
    let zone = lab();
    let front = on(&zone, "frontend");
    assert_eq!(
        zone.answer(&front, "example.org.", RecordType::A),
        Answer::Forward
    );
    assert_eq!(
        zone.answer(&front, "printer", RecordType::A),
        Answer::Forward
    );
    assert_eq!(
        zone.answer(&front, "nope.lab.stack", RecordType::A),
        Answer::NxDomain
    );
    assert_eq!(
        zone.answer(&front, "web.other.stack", RecordType::A),
        Answer::NxDomain
    );
}

#[test]
fn nothing_running_is_nxdomain() {
    let zone = lab();
    assert_eq!(
        zone.answer(&on(&zone, "frontend"), "idle", RecordType::A),
        Answer::NxDomain
    );
}

#[test]
fn other_types_of_a_known_name_are_empty_answers() {
    let zone = lab();
    let front = on(&zone, "frontend");
    assert_eq!(
        addresses(zone.answer(&front, "web", RecordType::AAAA)),
        Vec::<String>::new()
    );
    assert_eq!(
        addresses(zone.answer(&front, "lab.stack", RecordType::A)),
        Vec::<String>::new()
    );
    let Answer::Records { answers, .. } = zone.answer(&front, "lab.stack.", RecordType::SOA) else {
        panic!("apex");
    };
    assert_eq!(answers[0].record_type(), RecordType::SOA);
}

#[test]
fn srv_by_port_name_and_number_with_target_addresses() {
    let zone = lab();
    let front = on(&zone, "frontend");
    let Answer::Records {
        answers,
        additionals,
    } = zone.answer(&front, "_http._tcp.web.lab.stack", RecordType::SRV)
    else {
        panic!("srv");
    };
    assert_eq!(answers.len(), 1, "only the healthy replica");
    assert_eq!(answers[0].data().to_string(), "0 10 80 web-1.lab.stack.");
    assert_eq!(additionals[0].data().to_string(), "10.9.1.2");
    assert_eq!(
        addresses(zone.answer(&front, "_9000._udp.web.lab.stack", RecordType::SRV)),
        ["0 10 9000 web-1.lab.stack."]
    );
    assert_eq!(
        zone.answer(&front, "_9000._tcp.web.lab.stack", RecordType::SRV),
        Answer::NxDomain
    );
    assert_eq!(
        zone.answer(
            &on(&zone, "frontend"),
            "_5432._tcp.db.lab.stack",
            RecordType::SRV
        ),
        Answer::NxDomain
    );
}

#[test]
fn ptr_for_visible_replicas_nxdomain_for_the_rest_of_the_stacks_subnets() {
    let zone = lab();
    let front = on(&zone, "frontend");
    assert_eq!(
        addresses(zone.answer(&front, "4.1.9.10.in-addr.arpa.", RecordType::PTR)),
        ["client-1.lab.stack."]
    );
    assert_eq!(
        zone.answer(&front, "5.2.9.10.in-addr.arpa.", RecordType::PTR),
        Answer::NxDomain
    );
    assert_eq!(
        zone.answer(&front, "1.1.168.192.in-addr.arpa.", RecordType::PTR),
        Answer::Forward
    );
}

#[test]
fn answers_rotate() {
    let mut data = lab().data().clone();
    data.services[0].replicas[1].health = ReplicaHealth::Healthy;
    let zone = Zone::new(data, 1);
    let front = on(&zone, "frontend");
    let first = |z: &Zone| match z.answer(&front, "web", RecordType::A) {
        Answer::Records { answers, .. } => answers[0].data().to_string(),
        other => panic!("{other:?}"),
    };
    let a = first(&zone);
    let b = first(&zone);
    assert_ne!(a, b);
}

#[test]
fn render_shows_each_networks_view() {
    let zone = lab();
    let front = zone.render("frontend").join("\n");
    assert!(front.contains("web.lab.stack."), "{front}");
    assert!(front.contains("left out of the service name"), "{front}");
    assert!(front.contains("_http._tcp.web.lab.stack."), "{front}");
    assert!(!front.contains("db.lab.stack"), "{front}");
    assert!(zone.render("backend").join("\n").contains("db.lab.stack."));
}

/// The lab with IPv6 on `frontend` (fd00:9:1::/64): `web-1` and `client`
/// have addresses of both families there.
fn dual_stack() -> Zone {
    let mut data = lab().data().clone();
    let frontend = data
        .networks
        .iter_mut()
        .find(|n| n.key == "frontend")
        .expect("frontend");
    frontend
        .subnets
        .push("fd00:9:1::/64".parse().expect("subnet"));
    frontend.gateway_v6 = Some("fd00:9:1::1".parse().expect("gateway"));
    for svc in &mut data.services {
        for replica in &mut svc.replicas {
            if let Some(v4) = replica.addresses.get("frontend") {
                let last = v4.octets()[3];
                let v6: Ipv6Addr = format!("fd00:9:1::{last:x}").parse().expect("address");
                replica.addresses_v6.insert("frontend".into(), v6);
            }
        }
    }
    Zone::new(data, 1)
}

#[test]
fn aaaa_answers_the_ipv6_addresses_and_a_the_ipv4_ones() {
    let zone = dual_stack();
    let front = on(&zone, "frontend");
    assert_eq!(
        addresses(zone.answer(&front, "web", RecordType::AAAA)),
        ["fd00:9:1::2"]
    );
    assert_eq!(
        addresses(zone.answer(&front, "web", RecordType::A)),
        ["10.9.1.2"]
    );
    assert_eq!(
        addresses(zone.answer(&front, "tasks.web.lab.stack", RecordType::AAAA)),
        ["fd00:9:1::2", "fd00:9:1::3"]
    );
    // `db` has no IPv6: its name exists, with no AAAA record (not NXDOMAIN).
    let back = on(&zone, "backend");
    assert_eq!(
        addresses(zone.answer(&back, "db", RecordType::AAAA)),
        Vec::<String>::new()
    );
}

#[test]
fn ptr_answers_ipv6_addresses_under_ip6_arpa() {
    let zone = dual_stack();
    let front = on(&zone, "frontend");
    let name = reverse_name("fd00:9:1::4".parse().expect("address"));
    assert!(
        name.ends_with(".1.0.0.0.9.0.0.0.0.0.d.f.ip6.arpa"),
        "{name}"
    );
    assert_eq!(
        addresses(zone.answer(&front, &name, RecordType::PTR)),
        ["client-1.lab.stack."]
    );
    // An address of the stack's subnet that nobody has: NXDOMAIN; one
    // elsewhere: not ours.
    let nobody = reverse_name("fd00:9:1::99".parse().expect("address"));
    assert_eq!(
        zone.answer(&front, &nobody, RecordType::PTR),
        Answer::NxDomain
    );
    let elsewhere = reverse_name("2001:db8::1".parse().expect("address"));
    assert_eq!(
        zone.answer(&front, &elsewhere, RecordType::PTR),
        Answer::Forward
    );
    assert_eq!(
        zone.answer(&front, "1.0.ip6.arpa", RecordType::PTR),
        Answer::Forward
    );
}

#[test]
fn a_replica_asking_over_ipv6_gets_its_own_view() {
    let zone = dual_stack();
    // web-1 asks on frontend's IPv6 gateway: it is on backend too.
    let view = zone.view(
        &Arrival::Network("frontend".into()),
        "fd00:9:1::2".parse().expect("address"),
    );
    assert_eq!(
        addresses(zone.answer(&view, "db", RecordType::A)),
        ["10.9.2.5"]
    );
    assert!(zone.serves(
        &Arrival::Network("frontend".into()),
        "fd00:9:1::4".parse().expect("address")
    ));
}
