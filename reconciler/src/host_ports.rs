//! Ports on this host: whether one is free, and which process holds it.
//!
//! The engine refuses to publish a port that any process holds, but only
//! when it starts the container, halfway through a run. Asking the kernel
//! first (a bind that is let go at once) refuses such a plan before
//! anything changes; `/proc/net/{tcp,udp}{,6}` gives the socket's inode
//! and `/proc/<pid>/fd` who has that socket open.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The engine's own port forwarder: a port it holds is a container's.
pub const ENGINE_PROXY: &str = "docker-proxy";

/// TCP or UDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    /// TCP (listening sockets).
    Tcp,
    /// UDP (bound sockets).
    Udp,
}

impl Proto {
    /// `tcp` -> TCP, `udp` -> UDP, anything else (sctp) -> `None`.
    pub fn parse(text: &str) -> Option<Proto> {
        match text {
            "tcp" | "" => Some(Proto::Tcp),
            "udp" => Some(Proto::Udp),
            _ => None,
        }
    }
}

/// A process holding a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortHolder {
    /// Its pid.
    pub pid: u32,
    /// Its command name (`/proc/<pid>/comm`).
    pub command: String,
}

impl std::fmt::Display for PortHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (pid {})", self.command, self.pid)
    }
}

/// Is `port` free on `ip` (all addresses when `None`)? `false` only when
/// the kernel says it is in use; other errors (no permission for a low
/// port as non-root, an address not on this host) say nothing about it.
pub fn is_free(ip: Option<IpAddr>, port: u16, proto: Proto) -> bool {
    let addr = SocketAddr::new(ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)), port);
    let result = match proto {
        Proto::Tcp => std::net::TcpListener::bind(addr).map(drop),
        Proto::Udp => std::net::UdpSocket::bind(addr).map(drop),
    };
    !matches!(result, Err(e) if e.kind() == std::io::ErrorKind::AddrInUse)
}

/// The process holding `port`, when it can be seen (root sees all).
pub fn holder(port: u16, proto: Proto) -> Option<PortHolder> {
    let tables: &[&str] = match proto {
        Proto::Tcp => &["/proc/net/tcp", "/proc/net/tcp6"],
        Proto::Udp => &["/proc/net/udp", "/proc/net/udp6"],
    };
    let inodes: Vec<u64> = tables
        .iter()
        .filter_map(|t| std::fs::read_to_string(t).ok())
        .flat_map(|text| socket_inodes(&text, port, proto))
        .collect();
    if inodes.is_empty() {
        return None;
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for proc in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = proc
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(proc.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|t| wanted.iter().any(|w| t.as_os_str() == w.as_str()))
        });
        if holds {
            let command = std::fs::read_to_string(proc.path().join("comm"))
                .map(|c| c.trim().to_string())
                .unwrap_or_default();
            return Some(PortHolder { pid, command });
        }
    }
    None
}

/// The inodes of sockets bound to `port` in one `/proc/net/*` table
/// (listening ones only, for TCP).
fn socket_inodes(table: &str, port: u16, proto: Proto) -> Vec<u64> {
    const LISTEN: &str = "0A";
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let local = cols.get(1)?;
            let state = cols.get(3)?;
            let inode = cols.get(9)?.parse::<u64>().ok()?;
            let p = u16::from_str_radix(local.rsplit(':').next()?, 16).ok()?;
            let listening = proto == Proto::Udp || *state == LISTEN;
            (p == port && listening && inode != 0).then_some(inode)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_port_is_not_free_and_its_holder_is_found() {
        let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = held.local_addr().unwrap().port();
        assert!(!is_free(
            Some("127.0.0.1".parse().unwrap()),
            port,
            Proto::Tcp
        ));
        let who = holder(port, Proto::Tcp).expect("this process holds it");
        assert_eq!(who.pid, std::process::id());
        drop(held);
        assert!(is_free(
            Some("127.0.0.1".parse().unwrap()),
            port,
            Proto::Tcp
        ));
    }

    #[test]
    fn proc_net_lines_are_read() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0 100 0 0 10 0\n   1: 0100007F:1F90 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0 100 0 0 10 0\n";
        assert_eq!(socket_inodes(table, 8080, Proto::Tcp), vec![4242]);
        assert_eq!(socket_inodes(table, 8081, Proto::Tcp), Vec::<u64>::new());
    }
}
