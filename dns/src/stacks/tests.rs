//! Two stacks on one shared network (`proxy`, external to both), asked
//! from every side: project-qualified names cross where the stacks share
//! a network and nowhere else, and either agent answers alike.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use hickory_proto::rr::RecordType;

use super::*;
use crate::fixtures::{replica, service};
use crate::zone::{Answer, ReplicaHealth, ZoneData, ZoneNetwork};

fn net(key: &str, name: &str, third: u8) -> ZoneNetwork {
    ZoneNetwork {
        key: key.into(),
        name: name.into(),
        subnets: vec![format!("10.0.{third}.0/24").parse().unwrap()],
        gateway: Some(Ipv4Addr::new(10, 0, third, 1)),
        gateway_v6: None,
    }
}

/// `shop`: `web` on its own `back` and on `proxy`, `db` on `back` only.
fn shop() -> Zone {
    Zone::new(
        ZoneData {
            project: "shop".into(),
            ttl: 2,
            networks: vec![net("back", "shop_back", 1), net("proxy", "proxy", 2)],
            services: vec![
                service(
                    "web",
                    &["back", "proxy"],
                    vec![replica(
                        1,
                        ReplicaHealth::Unchecked,
                        &[("back", [10, 0, 1, 2]), ("proxy", [10, 0, 2, 2])],
                    )],
                ),
                service(
                    "db",
                    &["back"],
                    vec![replica(
                        1,
                        ReplicaHealth::Unchecked,
                        &[("back", [10, 0, 1, 3])],
                    )],
                ),
            ],
        },
        1,
    )
}

/// `edge`: `traefik` on `proxy` only, `api` on its `default` and on
/// `proxy`, `worker` on `default` only.
fn edge() -> Zone {
    Zone::new(
        ZoneData {
            project: "edge".into(),
            ttl: 2,
            networks: vec![net("default", "edge_default", 3), net("proxy", "proxy", 2)],
            services: vec![
                service(
                    "traefik",
                    &["proxy"],
                    vec![replica(
                        1,
                        ReplicaHealth::Unchecked,
                        &[("proxy", [10, 0, 2, 10])],
                    )],
                ),
                service(
                    "api",
                    &["default", "proxy"],
                    vec![replica(
                        1,
                        ReplicaHealth::Unchecked,
                        &[("default", [10, 0, 3, 2]), ("proxy", [10, 0, 2, 11])],
                    )],
                ),
                service(
                    "worker",
                    &["default"],
                    vec![replica(
                        1,
                        ReplicaHealth::Unchecked,
                        &[("default", [10, 0, 3, 3])],
                    )],
                ),
            ],
        },
        1,
    )
}

/// The agent of `own`, knowing `other`.
fn agent(own: Zone, other: Zone) -> Stacks {
    Stacks::new(Arc::new(own), Arc::new(vec![Arc::new(other)]))
}

fn ip(a: [u8; 4]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(a))
}

/// What `stacks` answers `name` (type `kind`) asked from `source` on the
/// gateway of `key`: the record data, or `NXDOMAIN` / `forward` / `refused`.
fn ask(stacks: &Stacks, key: &str, source: [u8; 4], name: &str, kind: RecordType) -> Vec<String> {
    let arrival = match key {
        "" => Arrival::Loopback,
        k => Arrival::Network(k.into()),
    };
    let Some((zone, view)) = stacks.resolve(&arrival, ip(source), name) else {
        return vec!["refused".into()];
    };
    match zone.answer(&view, name, kind) {
        Answer::Records { answers, .. } => answers.iter().map(|r| r.data().to_string()).collect(),
        Answer::NxDomain => vec!["NXDOMAIN".into()],
        Answer::Forward => vec!["forward".into()],
    }
}

fn a(stacks: &Stacks, key: &str, source: [u8; 4], name: &str) -> Vec<String> {
    ask(stacks, key, source, name, RecordType::A)
}

const WEB: [u8; 4] = [10, 0, 1, 2];
const DB: [u8; 4] = [10, 0, 1, 3];
const TRAEFIK: [u8; 4] = [10, 0, 2, 10];
const STRANGER: [u8; 4] = [10, 0, 2, 99];

#[test]
fn a_qualified_name_of_another_stack_answers_on_the_network_both_share() {
    let shop = agent(shop(), edge());
    assert_eq!(a(&shop, "back", WEB, "api.edge.stack."), ["10.0.2.11"]);
    assert_eq!(a(&shop, "back", WEB, "api-1.edge.stack"), ["10.0.2.11"]);
    assert_eq!(
        a(&shop, "back", WEB, "tasks.api.edge.stack."),
        ["10.0.2.11"]
    );
    // Its own names are still its own.
    assert_eq!(a(&shop, "back", WEB, "db"), ["10.0.1.3"]);
    assert_eq!(a(&shop, "back", WEB, "web.shop.stack."), ["10.0.1.2"]);
}

#[test]
fn stacks_that_share_no_network_see_nothing_of_each_other() {
    let shop = agent(shop(), edge());
    // db is on `back` only; worker on edge's `default` only.
    assert_eq!(a(&shop, "back", DB, "api.edge.stack."), ["NXDOMAIN"]);
    assert_eq!(a(&shop, "back", WEB, "worker.edge.stack."), ["NXDOMAIN"]);
    // A name of the other stack is never forwarded upstream.
    assert_eq!(a(&shop, "back", DB, "nothing.edge.stack."), ["NXDOMAIN"]);
}

#[test]
fn on_a_shared_network_each_asker_is_answered_as_its_own_stack_by_either_agent() {
    for stacks in [agent(shop(), edge()), agent(edge(), shop())] {
        let who = stacks.own().origin().to_string();
        // traefik is edge's: bare names are edge's, seen through `proxy`.
        assert_eq!(a(&stacks, "proxy", TRAEFIK, "api"), ["10.0.2.11"], "{who}");
        assert_eq!(
            a(&stacks, "proxy", TRAEFIK, "worker"),
            ["NXDOMAIN"],
            "{who}"
        );
        assert_eq!(
            a(&stacks, "proxy", TRAEFIK, "web.shop.stack."),
            ["10.0.2.2"],
            "{who}"
        );
        assert_eq!(
            a(&stacks, "proxy", TRAEFIK, "db.shop.stack."),
            ["NXDOMAIN"],
            "{who}"
        );
        // A container of neither stack: qualified names only.
        assert_eq!(
            a(&stacks, "proxy", STRANGER, "web.shop.stack."),
            ["10.0.2.2"],
            "{who}"
        );
        assert_eq!(
            a(&stacks, "proxy", STRANGER, "api.edge.stack."),
            ["10.0.2.11"],
            "{who}"
        );
        assert_ne!(a(&stacks, "proxy", STRANGER, "web"), ["10.0.2.2"], "{who}");
        assert_ne!(a(&stacks, "proxy", STRANGER, "api"), ["10.0.2.11"], "{who}");
    }
}

#[test]
fn reverse_names_of_another_stack_answer_where_its_replica_is_seen() {
    let shop = agent(shop(), edge());
    let ptr = |source, address: &str| {
        ask(
            &shop,
            "back",
            source,
            &format!("{address}.in-addr.arpa."),
            RecordType::PTR,
        )
    };
    assert_eq!(ptr(WEB, "11.2.0.10"), ["api-1.edge.stack."]);
    assert_eq!(ptr(WEB, "3.1.0.10"), ["db-1.shop.stack."]);
    // edge's `default` is nothing db (or web) sees.
    assert_eq!(ptr(DB, "11.2.0.10"), ["NXDOMAIN"]);
    assert_eq!(ptr(WEB, "2.3.0.10"), ["forward"]);
}

#[test]
fn the_host_sees_every_stack_whole_on_loopback() {
    let shop = agent(shop(), edge());
    assert_eq!(
        a(&shop, "", [127, 0, 0, 1], "worker.edge.stack."),
        ["10.0.3.3"]
    );
    assert_eq!(a(&shop, "", [127, 0, 0, 1], "db"), ["10.0.1.3"]);
}

#[test]
fn a_gateway_still_refuses_askers_outside_every_network_of_the_stack() {
    let shop = agent(shop(), edge());
    assert_eq!(a(&shop, "back", [10, 0, 3, 2], "web"), ["refused"]);
    assert_eq!(
        a(&shop, "back", [192, 0, 2, 1], "api.edge.stack."),
        ["refused"]
    );
}
