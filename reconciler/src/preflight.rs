//! Checks run after planning and before executing, so a plan that cannot
//! work is refused before anything changes: bind mount sources that must
//! exist, host ports that a process of this host holds, and NFS servers
//! that must answer.

use std::path::Path;

use planner::MountKind;
use planner::{Action, Plan};
use schema::Project;

use crate::{host_ports, nfs};

/// Why a plan was refused before it ran.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    /// A bind mount source is missing and may not be created.
    #[error("service `{service}`: bind mount source {path} does not exist, and `create_host_path: false` forbids creating it\n  = help: create it first, or drop `create_host_path: false`")]
    BindSource {
        /// The service.
        service: String,
        /// The host path.
        path: String,
    },
    /// A process of the host holds a port a new container would publish.
    #[error("service `{service}`: host port {port}/{protocol} is in use by {holder}\n  = help: stop {holder}, or publish another host port for `{service}`")]
    PortInUse {
        /// The service.
        service: String,
        /// The host port.
        port: u16,
        /// `tcp` or `udp`.
        protocol: String,
        /// Who holds it, as far as this host shows.
        holder: String,
    },
    /// An NFS server does not answer.
    #[error(transparent)]
    Nfs(#[from] nfs::PreflightError),
    /// The checks of this host did not run to their end.
    #[error("the checks before any change did not finish: {0}")]
    Interrupted(String),
}

/// What the checks may look at.
#[derive(Debug, Clone, Copy)]
pub struct Checks {
    /// Ask NFS servers whether they answer (`--skip-preflight` turns it off).
    pub network: bool,
    /// The engine runs on this host, so its ports are this host's.
    pub local_engine: bool,
}

/// Refuse a host port that a process (not a container: those the plan
/// already names) holds. Only new containers are checked: a replacement
/// takes over its predecessor's ports.
fn check_port(spec: &planner::ContainerSpec) -> Result<(), PreflightError> {
    for binding in &spec.ports {
        let Some(port) = binding.fixed_host_port() else {
            continue;
        };
        let Some(proto) = host_ports::Proto::parse(&binding.protocol) else {
            continue;
        };
        let ip = binding
            .host_ip
            .as_deref()
            .filter(|ip| !ip.is_empty())
            .and_then(|ip| ip.parse().ok());
        if host_ports::is_free(ip, port, proto) {
            continue;
        }
        let holder = host_ports::holder(port, proto);
        if holder
            .as_ref()
            .is_some_and(|h| h.command == host_ports::ENGINE_PROXY)
        {
            // A container's: the plan's own port check speaks of those.
            continue;
        }
        return Err(PreflightError::PortInUse {
            service: spec.of.service.clone(),
            port,
            protocol: binding.protocol.clone(),
            holder: holder.map_or_else(
                || "another process (run as root to see which)".to_string(),
                |h| h.to_string(),
            ),
        });
    }
    Ok(())
}

/// Check `plan` before it runs.
pub async fn check(project: &Project, plan: &Plan, checks: Checks) -> Result<(), PreflightError> {
    // Ports bound and /proc and paths read: on the blocking pool.
    let local = plan.clone();
    let nfs_keys = tokio::task::spawn_blocking(move || host_checks(&local, checks))
        .await
        .map_err(|e| PreflightError::Interrupted(e.to_string()))??;
    if checks.network {
        // Engine names back to the file's keys.
        let keys = nfs_keys
            .iter()
            .filter_map(|n| {
                (project.volumes.iter())
                    .find(|(k, v)| *k == n || v.name.as_ref() == Some(n))
                    .map(|(k, _)| k.clone())
            })
            .collect();
        nfs::check_servers(project, keys).await?;
    }
    Ok(())
}

/// The checks of this host (ports, bind sources); the volumes the plan
/// makes (by key) or mounts (by name), whose NFS servers are asked next.
fn host_checks(plan: &Plan, checks: Checks) -> Result<Vec<String>, PreflightError> {
    let mut nfs_keys = Vec::new();
    for step in &plan.steps {
        match &step.action {
            Action::CreateVolume { key, .. } | Action::RecreateVolume { key, .. } => {
                nfs_keys.push(key.clone())
            }
            Action::CreateContainer { spec } | Action::RecreateContainer { spec, .. } => {
                if checks.local_engine && matches!(step.action, Action::CreateContainer { .. }) {
                    check_port(spec)?;
                }
                // Named volumes it mounts, by their name on the engine.
                nfs_keys.extend(
                    (spec.mounts.iter())
                        .filter(|m| m.kind == MountKind::Volume)
                        .filter_map(|m| m.source.clone()),
                );
                for m in spec
                    .mounts
                    .iter()
                    .filter(|m| m.kind == MountKind::Bind && !m.create_host_path)
                {
                    if let Some(source) = m.source.as_ref().filter(|s| !Path::new(s).exists()) {
                        return Err(PreflightError::BindSource {
                            service: spec.of.service.clone(),
                            path: source.clone(),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    Ok(nfs_keys)
}
