//! NFS volumes, written the way Compose users write them (`driver: local`,
//! `driver_opts: {type: nfs, o: "addr=...", device: ":/path"}`).
//!
//! The engine's local driver only tries the mount when a container starts,
//! and then reports a bare `mount: invalid argument`. So before anything is
//! created, [`preflight`] checks that each NFS server answers on TCP (port
//! 2049, or the `port=` option) within 3 s, and names the volume, the
//! services using it and the server when it does not. A host name in
//! `addr=` is resolved to an address ([`resolve_addr`]) because the local
//! driver passes it to the kernel as is, which wants an address.

use std::time::Duration;

use schema::{MountType, Project, StringMap};
use tokio::net::TcpStream;

/// How long a server has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// Where an NFS volume's server is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NfsServer {
    /// `addr=` as written (host name or address).
    pub addr: String,
    /// `port=`, else 2049.
    pub port: u16,
}

/// The server of a volume, when its driver options describe an NFS mount.
pub fn server(opts: &StringMap) -> Option<NfsServer> {
    if !matches!(opts.get("type").map(String::as_str), Some("nfs" | "nfs4")) {
        return None;
    }
    let o = opts.get("o")?;
    let option = |key: &str| {
        o.split(',')
            .find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
            .map(str::to_string)
    };
    Some(NfsServer {
        addr: option("addr")?,
        port: option("port").and_then(|p| p.parse().ok()).unwrap_or(2049),
    })
}

/// A server that did not pass the preflight.
#[derive(Debug, thiserror::Error)]
#[error(
    "NFS volume `{volume}` (used by {services}): {problem}\n  = help: check that {server} is up and exports the path, and that nothing blocks TCP port {port} from this host; skip this check with --skip-preflight"
)]
pub struct PreflightError {
    /// The volume key.
    pub volume: String,
    /// Services mounting it, as text.
    pub services: String,
    /// `addr=`.
    pub server: String,
    /// Port tried.
    pub port: u16,
    /// What went wrong.
    pub problem: String,
}

/// Services of `project` mounting the volume `key`.
fn users(project: &Project, key: &str) -> Vec<String> {
    project
        .services
        .iter()
        .filter(|(_, s)| {
            s.volumes
                .iter()
                .flatten()
                .any(|v| v.kind == MountType::Volume && v.source.as_deref() == Some(key))
        })
        .map(|(n, _)| format!("`{n}`"))
        .collect()
}

/// Check that the servers of the NFS volumes among `keys` answer.
pub async fn check_servers(project: &Project, mut keys: Vec<String>) -> Result<(), PreflightError> {
    keys.sort();
    keys.dedup();
    for key in keys {
        let Some(vol) = project.volumes.get(&key) else {
            continue;
        };
        let Some(srv) = vol.driver_opts.as_ref().and_then(server) else {
            continue;
        };
        let fail = |problem: String| PreflightError {
            volume: key.clone(),
            services: match users(project, &key) {
                u if u.is_empty() => "no service".into(),
                u => u.join(", "),
            },
            server: srv.addr.clone(),
            port: srv.port,
            problem,
        };
        let connect = TcpStream::connect((srv.addr.as_str(), srv.port));
        match tokio::time::timeout(TIMEOUT, connect).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                return Err(fail(format!(
                    "server {}:{} does not answer: {e}",
                    srv.addr, srv.port
                )))
            }
            Err(_) => {
                return Err(fail(format!(
                    "server {}:{} does not answer within {}s",
                    srv.addr,
                    srv.port,
                    TIMEOUT.as_secs()
                )))
            }
        }
    }
    Ok(())
}

/// Driver options with a host name in `addr=` replaced by its address.
pub async fn resolve_addr(opts: &StringMap) -> Result<StringMap, String> {
    let Some(srv) = server(opts) else {
        return Ok(opts.clone());
    };
    if srv.addr.parse::<std::net::IpAddr>().is_ok() {
        return Ok(opts.clone());
    }
    let lookup = tokio::net::lookup_host((srv.addr.as_str(), srv.port));
    let addr = match tokio::time::timeout(TIMEOUT, lookup).await {
        Ok(Ok(mut addrs)) => addrs
            .next()
            .ok_or_else(|| format!("NFS server `{}` has no address", srv.addr))?,
        Ok(Err(e)) => return Err(format!("cannot resolve NFS server `{}`: {e}", srv.addr)),
        Err(_) => {
            return Err(format!(
                "resolving NFS server `{}` took longer than 3s",
                srv.addr
            ))
        }
    };
    let mut out = opts.clone();
    if let Some(o) = out.get_mut("o") {
        *o = o
            .split(',')
            .map(|kv| match kv.strip_prefix("addr=") {
                Some(_) => format!("addr={}", addr.ip()),
                None => kv.to_string(),
            })
            .collect::<Vec<_>>()
            .join(",");
    }
    Ok(out)
}

/// The first NFS volume `service` mounts, with its server, for explaining
/// a container that did not start.
pub fn mounted_by(project: &Project, service: &str) -> Option<(String, NfsServer)> {
    let svc = project.services.get(service)?;
    svc.volumes
        .iter()
        .flatten()
        .filter(|v| v.kind == MountType::Volume)
        .filter_map(|v| v.source.as_deref())
        .find_map(|key| {
            let srv = project
                .volumes
                .get(key)?
                .driver_opts
                .as_ref()
                .and_then(server)?;
            Some((key.to_string(), srv))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(o: &str) -> StringMap {
        [("type", "nfs"), ("o", o), ("device", ":/export")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reads_server_and_port() {
        assert_eq!(
            server(&opts("addr=10.0.0.5,rw,nfsvers=4")),
            Some(NfsServer {
                addr: "10.0.0.5".into(),
                port: 2049
            })
        );
        assert_eq!(
            server(&opts("addr=nas,port=20490")).map(|s| s.port),
            Some(20490)
        );
        assert_eq!(server(&StringMap::new()), None);
    }

    #[tokio::test]
    async fn host_names_become_addresses() {
        let resolved = resolve_addr(&opts("addr=localhost,rw")).await.unwrap();
        let o = &resolved["o"];
        assert!(o == "addr=127.0.0.1,rw" || o == "addr=::1,rw", "{o}");
        let kept = resolve_addr(&opts("addr=10.0.0.5,rw")).await.unwrap();
        assert_eq!(kept["o"], "addr=10.0.0.5,rw");
    }
}
