//! Secrets and configs: their content read once per run, the digests that
//! make a change of content recreate the containers using it, and the
//! copies those containers bind-mount.
//!
//! Contract:
//! - content never reaches a label, an environment variable, an argument
//!   list or `docker inspect`: containers mount a copy kept in the
//!   persistent [`StateDir`] (`<project>/files/`, 0700), written with the
//!   `mode` (default 0444), `uid` and `gid` the service asks for;
//! - the digests in labels are keyed (HMAC-SHA256 under a key kept 0600
//!   in the state directory), so a label reader cannot test guesses of a
//!   short secret against them.
//!
//! As Compose does without Swarm: secrets at `/run/secrets/<name>` (a
//! relative `target` is under `/run/secrets`), configs at `target` (default
//! `/<name>`), from `file:`, `environment:` or inline `content:`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use hmac::{Hmac, Mac};
use schema::Project;
use sha2::Sha256;

use crate::state::{StateDir, StateError};

/// The name of the digest key in the persistent state directory.
const KEY_FILE: &str = "digest.key";

/// Why the files could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    /// A source file cannot be read.
    #[error("{kind} `{name}`: cannot read {file}: {source}")]
    Read {
        /// `secret` or `config`.
        kind: &'static str,
        /// Its name.
        name: String,
        /// The file.
        file: String,
        /// Cause.
        source: std::io::Error,
    },
    /// An external secret or config: only Swarm has a store for them.
    #[error("{kind} `{name}` is external: without Swarm there is no store to take it from\n  = help: give it a `file:`, `environment:` or `content:` source")]
    External {
        /// `secret` or `config`.
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// A service uses a secret or config the file does not define.
    #[error("service `{service}` uses {kind} `{name}`, which the file does not define\n  = help: add it under top-level `{kind}s:`")]
    Undefined {
        /// The service.
        service: String,
        /// `secret` or `config`.
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// The state directory or a copy cannot be written.
    #[error(transparent)]
    State(#[from] StateError),
}

pub use planner::{file_uses as uses, FileUse};

/// The copy's file name of `u`: one per content source and permissions.
fn copy_name(u: &FileUse) -> String {
    let safe: String = u
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let id = |v: Option<u32>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
    format!(
        "{}-{safe}-{}-{}-{:o}",
        u.kind.as_str(),
        id(u.uid),
        id(u.gid),
        u.mode
    )
}

/// The directory holding a project's copies.
pub fn copies_dir(project: &str) -> Result<StateDir, StateError> {
    StateDir::persistent()?.subdir(project)?.subdir("files")
}

/// The host path of the copy a container mounts for `file`.
pub fn copy_path(project: &str, file: &FileUse) -> Result<PathBuf, StateError> {
    copies_dir(project)?.file(&copy_name(file))
}

/// The content of every secret and config with a source, keyed
/// `secret:<name>` / `config:<name>`.
fn contents(
    project: &Project,
    environment: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, Vec<u8>>, FilesError> {
    let mut out = BTreeMap::new();
    for (kind, objects) in [("secret", &project.secrets), ("config", &project.configs)] {
        for (name, obj) in objects {
            let content = if let Some(file) = &obj.file {
                std::fs::read(file).map_err(|source| FilesError::Read {
                    kind,
                    name: name.clone(),
                    file: file.clone(),
                    source,
                })?
            } else if let Some(c) = &obj.content {
                c.clone().into_bytes()
            } else if let Some(var) = &obj.environment {
                environment
                    .get(var)
                    .cloned()
                    .unwrap_or_default()
                    .into_bytes()
            } else {
                continue;
            };
            out.insert(format!("{kind}:{name}"), content);
        }
    }
    Ok(out)
}

/// Keyed digest of a secret's or config's content.
fn digest(key: &[u8], content: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        // HMAC takes keys of any length; this is never reached.
        return String::new();
    };
    mac.update(content);
    mac.finalize()
        .into_bytes()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Read every secret and config the services use, write the copies they
/// mount, and return the keyed digests (`secret:<name>` -> digest) for
/// the config hash. Projects with none touch no state directory.
pub fn prepare(
    project: &Project,
    environment: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, FilesError> {
    let name = project.project_name().to_string();
    let mut used = Vec::new();
    for (service, svc) in &project.services {
        for u in uses(svc) {
            let objects = match u.kind {
                planner::FileKind::Secret => &project.secrets,
                planner::FileKind::Config => &project.configs,
            };
            match objects.get(&u.name) {
                None => {
                    return Err(FilesError::Undefined {
                        service: service.clone(),
                        kind: u.kind.as_str(),
                        name: u.name,
                    })
                }
                Some(obj) if obj.external => {
                    return Err(FilesError::External {
                        kind: u.kind.as_str(),
                        name: u.name,
                    })
                }
                Some(_) => used.push(u),
            }
        }
    }
    if project.secrets.is_empty() && project.configs.is_empty() {
        return Ok(BTreeMap::new());
    }
    let contents = contents(project, environment)?;
    let key = StateDir::persistent()?.key(KEY_FILE)?;
    if !used.is_empty() {
        let dir = copies_dir(&name)?;
        for u in &used {
            let content = contents
                .get(&format!("{}:{}", u.kind.as_str(), u.name))
                .map_or(&[][..], Vec::as_slice);
            write_copy(&dir, u, content)?;
        }
    }
    Ok(contents
        .iter()
        .map(|(k, content)| (k.clone(), digest(&key, content)))
        .collect())
}

/// Write the copy for `u`, unless it is already there with that content.
/// A new content replaces the file (a new inode): running containers keep
/// what they mounted until they are recreated, which the digest makes
/// happen.
fn write_copy(dir: &StateDir, u: &FileUse, content: &[u8]) -> Result<(), FilesError> {
    let name = copy_name(u);
    if dir.read(&name)?.as_deref() == Some(content) {
        return Ok(());
    }
    dir.write_mode(&name, content, u.mode)?;
    if u.uid.is_some() || u.gid.is_some() {
        let path = dir.file(&name)?;
        let uid = u.uid.map(nix::unistd::Uid::from_raw);
        let gid = u.gid.map(nix::unistd::Gid::from_raw);
        if let Err(e) = nix::unistd::chown(&path, uid, gid) {
            tracing::warn!(
                "{} `{}`: cannot give {} to uid {:?} gid {:?} ({e}); it keeps your ownership",
                u.kind.as_str(),
                u.name,
                path.display(),
                u.uid,
                u.gid
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_keyed() {
        let a = digest(b"key one, 32 bytes long, or so..", b"hunter2");
        let b = digest(b"key two, 32 bytes long, or so..", b"hunter2");
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert_eq!(a, digest(b"key one, 32 bytes long, or so..", b"hunter2"));
    }
}
