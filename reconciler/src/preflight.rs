//! Checks run after planning and before executing, so a plan that cannot
//! work is refused before anything changes: bind mount sources that must
//! exist, and NFS servers that must answer.

use std::path::Path;

use planner::{Action, Plan};
use schema::{MountType, Project};

use crate::nfs;

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
    /// An NFS server does not answer.
    #[error(transparent)]
    Nfs(#[from] nfs::PreflightError),
}

/// Check `plan` before it runs. `network` also checks that NFS servers
/// answer (`--skip-preflight` turns that off).
pub async fn check(project: &Project, plan: &Plan, network: bool) -> Result<(), PreflightError> {
    let mut nfs_keys = Vec::new();
    for step in &plan.steps {
        match &step.action {
            Action::CreateVolume { key, .. } | Action::RecreateVolume { key, .. } => {
                nfs_keys.push(key.clone())
            }
            Action::CreateContainer { spec } | Action::RecreateContainer { spec, .. } => {
                for v in spec.service.volumes.iter().flatten() {
                    if v.kind == MountType::Volume {
                        nfs_keys.extend(v.source.clone());
                    }
                }
                for m in spec
                    .mounts
                    .iter()
                    .filter(|m| m.kind == MountType::Bind && !m.create_host_path)
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
    if network {
        nfs::check_servers(project, nfs_keys).await?;
    }
    Ok(())
}
