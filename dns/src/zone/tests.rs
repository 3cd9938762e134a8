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
