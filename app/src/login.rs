//! `login` and `logout`: a registry login, checked by the engine against
//! the registry (`/auth`) and filed where and how the docker CLI files it,
//! so `docker` and `stack` share it.

use std::fmt;

use planner::EngineKind;
use reconciler::engine::{Engine, RegistryFailure};
use reconciler::images::registry_hint;
use reconciler::EngineError;
use registry::{reference, Auth, Credentials, Stored};

use crate::{blocking, AppError, Result};

/// A login to check and keep.
#[derive(Clone, Default)]
pub struct LoginRequest {
    /// The registry (any spelling; Docker Hub when `None`).
    pub registry: Option<String>,
    /// The user.
    pub username: String,
    /// The password or access token. Secret.
    pub password: String,
}

/// Never shows the password.
impl fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginRequest")
            .field("registry", &self.registry)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// A login that was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedIn {
    /// The registry host.
    pub registry: String,
    /// Where it was filed.
    pub stored: Stored,
}

/// The registry a request names, normalised.
pub fn registry_of(registry: Option<&str>) -> String {
    reference::normalise(registry.unwrap_or(reference::DOCKER_HUB))
}

/// The login already on file for `registry`, if any (`login` with no
/// user checks it again, as `docker login` does).
pub async fn existing(registry: Option<&str>) -> Result<Option<Auth>> {
    let host = registry_of(registry);
    let credentials = Credentials::from_env();
    blocking(move || Ok(credentials.lookup(&host)?)).await
}

/// Check `auth` with the registry; once accepted, file it (with the
/// identity token the registry may give instead of the password).
pub async fn login(engine: &dyn Engine, mut auth: Auth) -> Result<LoggedIn> {
    let host = auth.server.clone();
    let token = engine
        .login(&auth)
        .await
        .map_err(|e| refused(&host, engine.capabilities().engine, e))?;
    if let Some(token) = token {
        auth.identity_token = Some(token);
        auth.password.clear();
    }
    let credentials = Credentials::from_env();
    let stored = blocking(move || Ok(credentials.store(&auth)?)).await?;
    Ok(LoggedIn {
        registry: host,
        stored,
    })
}

/// The login `request` describes.
pub fn auth_of(request: &LoginRequest) -> Auth {
    Auth::basic(
        &registry_of(request.registry.as_deref()),
        &request.username,
        &request.password,
    )
}

/// Forget the login for `registry`; `false` when there was none.
pub async fn logout(registry: Option<&str>) -> Result<bool> {
    let host = registry_of(registry);
    let credentials = Credentials::from_env();
    blocking(move || Ok(credentials.erase(&host)?)).await
}

fn refused(registry: &str, engine: EngineKind, error: EngineError) -> AppError {
    let (failure, message) = match error {
        EngineError::Registry {
            failure, message, ..
        } => (failure, message),
        other => return AppError::Engine(other),
    };
    let hint = match failure {
        RegistryFailure::Unauthorized => {
            "the user name or password is wrong (for a registry with tokens, give the token as the password)".to_string()
        }
        other => registry_hint(other, registry, engine),
    };
    AppError::Login {
        registry: registry.into(),
        message,
        hint,
    }
}
