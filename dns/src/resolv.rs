//! The host's resolvers, from `/etc/resolv.conf`.

use std::net::{IpAddr, Ipv4Addr};

/// Where the host's resolver configuration lives.
pub const RESOLV_CONF: &str = "/etc/resolv.conf";

/// The `nameserver` addresses in a resolv.conf text, in order.
pub fn nameservers(text: &str) -> Vec<IpAddr> {
    text.lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            (words.next() == Some("nameserver"))
                .then(|| words.next())
                .flatten()
        })
        // A scoped IPv6 address (`fe80::1%eth0`) is of no use elsewhere.
        .filter_map(|a| a.parse().ok())
        .collect()
}

/// The host's resolvers (none when the file cannot be read).
pub fn host_nameservers() -> Vec<IpAddr> {
    std::fs::read_to_string(RESOLV_CONF)
        .map(|t| nameservers(&t))
        .unwrap_or_default()
}

/// What a container can use of the host's resolvers, as the engine does
/// it: loopback addresses mean nothing inside a container, so they are
/// dropped, and when nothing is left, public resolvers take their place.
pub fn for_containers(host: &[IpAddr]) -> Vec<IpAddr> {
    let usable: Vec<IpAddr> = host.iter().copied().filter(|a| !a.is_loopback()).collect();
    if usable.is_empty() {
        vec![
            IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8)),
            IpAddr::V4(Ipv4Addr::new(8, 8, 4, 4)),
        ]
    } else {
        usable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nameservers_in_order() {
        let text = "# generated\nsearch lan\nnameserver 10.0.0.1\nnameserver  fd00::53\noptions ndots:2\nnameserver fe80::1%eth0\n";
        let found: Vec<String> = nameservers(text).iter().map(ToString::to_string).collect();
        assert_eq!(found, ["10.0.0.1", "fd00::53"]);
    }

    #[test]
    fn containers_get_no_loopback_resolver() {
        let host: Vec<IpAddr> = vec!["127.0.0.53".parse().unwrap(), "10.0.0.1".parse().unwrap()];
        assert_eq!(
            for_containers(&host),
            vec!["10.0.0.1".parse::<IpAddr>().unwrap()]
        );
        let only_loopback = for_containers(&["127.0.0.53".parse().unwrap()]);
        assert_eq!(only_loopback.len(), 2);
    }
}
