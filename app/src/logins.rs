//! The user's registry logins, as the docker CLI keeps them, looked up off
//! the runtime (files, credential helpers) and once per registry per run.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use reconciler::images::Logins;
use registry::{Auth, Credentials};

/// [`Logins`] from this user's docker CLI and Podman files.
#[derive(Debug)]
pub struct UserLogins {
    credentials: Credentials,
    seen: Mutex<BTreeMap<String, Option<Auth>>>,
}

impl UserLogins {
    /// The files the environment names (`DOCKER_CONFIG`, `REGISTRY_AUTH_FILE`...).
    pub fn from_env() -> UserLogins {
        UserLogins {
            credentials: Credentials::from_env(),
            seen: Mutex::default(),
        }
    }
}

#[async_trait]
impl Logins for UserLogins {
    async fn for_registry(&self, host: &str) -> Result<Option<Auth>, String> {
        let known = self
            .seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(host)
            .cloned();
        if let Some(known) = known {
            return Ok(known);
        }
        let credentials = self.credentials.clone();
        let asked = host.to_string();
        let found = tokio::task::spawn_blocking(move || credentials.lookup(&asked))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(host.into(), found.clone());
        Ok(found)
    }
}
