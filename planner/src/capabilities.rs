//! What the engine in use can do, as data the planner and the executor
//! consult instead of asking "is this Docker?". The adapter reads it once,
//! when it connects.

use serde::{Deserialize, Serialize};

/// Which engine answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum EngineKind {
    /// Docker Engine.
    #[default]
    Docker,
    /// Podman serving the Docker API.
    Podman,
    /// The in-memory engine of the tests.
    Fake,
}

impl std::fmt::Display for EngineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EngineKind::Docker => "Docker Engine",
            EngineKind::Podman => "Podman",
            EngineKind::Fake => "the fake engine",
        })
    }
}

/// An engine API version, `major.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ApiVersion(pub u32, pub u32);

impl ApiVersion {
    /// `1.41` -> `ApiVersion(1, 41)`.
    pub fn parse(text: &str) -> Option<ApiVersion> {
        let (major, minor) = text.trim().split_once('.')?;
        Some(ApiVersion(major.parse().ok()?, minor.parse().ok()?))
    }
}

impl std::fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

/// What the engine can do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// Which engine.
    pub engine: EngineKind,
    /// The API version both sides speak (negotiated).
    pub api_version: ApiVersion,
    /// The engine restarts containers by their restart policy.
    pub restart_policies: bool,
    /// Containers reach a server on their network's gateway (the stack's
    /// DNS listens there); not so for rootless engines.
    pub dns_on_gateways: bool,
    /// IPv6 networks can be created.
    pub ipv6: bool,
    /// The engine is a swarm manager.
    pub swarm: bool,
    /// The engine runs on this host: paths, ports and processes this
    /// process sees are the engine's.
    pub local_paths: bool,
}

impl Default for Capabilities {
    /// A local, rootful Docker Engine of API 1.41 (the oldest we support).
    fn default() -> Self {
        Capabilities {
            engine: EngineKind::Docker,
            api_version: ApiVersion(1, 41),
            restart_policies: true,
            dns_on_gateways: true,
            ipv6: true,
            swarm: false,
            local_paths: true,
        }
    }
}

impl Capabilities {
    /// Does the engine speak at least API `major.minor`?
    pub fn api_at_least(&self, major: u32, minor: u32) -> bool {
        self.api_version >= ApiVersion(major, minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(ApiVersion::parse("1.41"), Some(ApiVersion(1, 41)));
        assert!(ApiVersion(1, 5) < ApiVersion(1, 41));
        assert!(Capabilities::default().api_at_least(1, 41));
        assert!(!Capabilities::default().api_at_least(1, 44));
        assert_eq!(ApiVersion::parse("one"), None);
    }
}
