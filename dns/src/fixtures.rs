//! A stack to test against: the isolation lab (`web` on `frontend` and
//! `backend`, `client` on `frontend`, `db` on `backend`, `idle` with
//! nothing running), on 10.9.1.0/24 and 10.9.2.0/24, project `Lab`.

use std::net::Ipv4Addr;

use crate::zone::*;

/// Replica `number` with IPv4 addresses by network key.
pub fn replica(number: u32, health: ReplicaHealth, addrs: &[(&str, [u8; 4])]) -> Replica {
    Replica {
        number,
        health,
        addresses: addrs
            .iter()
            .map(|(n, a)| (n.to_string(), Ipv4Addr::from(*a)))
            .collect(),
        addresses_v6: Default::default(),
    }
}

/// A service on `networks` with no ports.
pub fn service(name: &str, networks: &[&str], replicas: Vec<Replica>) -> ZoneService {
    ZoneService {
        name: name.into(),
        networks: networks.iter().map(|n| n.to_string()).collect(),
        ports: vec![],
        replicas,
    }
}

/// The lab's zone (`web-1` healthy, `web-2` unhealthy; `web` serves `http` on 80/tcp and 9000/udp).
pub fn lab() -> Zone {
    lab_named("Lab")
}

/// The lab's zone under another project name.
pub fn lab_named(project: &str) -> Zone {
    let net = |key: &str, third: u8| ZoneNetwork {
        key: key.into(),
        name: format!("{}_{key}", project.to_ascii_lowercase()),
        subnets: vec![format!("10.9.{third}.0/24").parse().unwrap()],
        gateway: Some(Ipv4Addr::new(10, 9, third, 1)),
        gateway_v6: None,
    };
    let mut web = service(
        "web",
        &["frontend", "backend"],
        vec![
            replica(
                1,
                ReplicaHealth::Healthy,
                &[("frontend", [10, 9, 1, 2]), ("backend", [10, 9, 2, 2])],
            ),
            replica(
                2,
                ReplicaHealth::Unhealthy,
                &[("frontend", [10, 9, 1, 3]), ("backend", [10, 9, 2, 3])],
            ),
        ],
    );
    web.ports = vec![
        ServicePort {
            name: Some("http".into()),
            port: 80,
            protocol: "tcp".into(),
        },
        ServicePort {
            name: None,
            port: 9000,
            protocol: "udp".into(),
        },
    ];
    Zone::new(
        ZoneData {
            project: project.into(),
            ttl: 2,
            networks: vec![net("frontend", 1), net("backend", 2)],
            services: vec![
                web,
                service(
                    "client",
                    &["frontend"],
                    vec![replica(
                        1,
                        ReplicaHealth::Unchecked,
                        &[("frontend", [10, 9, 1, 4])],
                    )],
                ),
                service(
                    "db",
                    &["backend"],
                    vec![replica(
                        1,
                        ReplicaHealth::Unchecked,
                        &[("backend", [10, 9, 2, 5])],
                    )],
                ),
                service("idle", &["frontend"], vec![]),
            ],
        },
        1,
    )
}
