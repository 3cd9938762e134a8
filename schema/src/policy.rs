//! Policies of the stack file as types, parsed once when the file loads:
//! `restart`, `pull_policy`, `deploy.update_config.order`,
//! `failure_action`, the namespace references of `network_mode`,
//! `pid`, `ipc` and `volumes_from`, and the project's name. Each
//! reads and writes the exact words Compose uses, so printed files and
//! the config hash are what they were as strings.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A project's name, `[a-z0-9][a-z0-9_-]*` as Compose allows: checked
/// once, where it is made, so every name a project carries is one the
/// engine's objects can be named after.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProjectName(String);

impl ProjectName {
    /// `name`, when it is a valid project name.
    pub fn new(name: &str) -> Option<ProjectName> {
        let mut chars = name.chars();
        let valid = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        valid.then(|| ProjectName(name.to_string()))
    }

    /// `name` made valid as Compose makes a directory's name one:
    /// lowercased, without the characters a name cannot hold, and
    /// without leading `_` and `-`; `None` when nothing is left.
    pub fn normalized(name: &str) -> Option<ProjectName> {
        let lowered: String = name
            .to_lowercase()
            .chars()
            .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
            .collect();
        ProjectName::new(lowered.trim_start_matches(['_', '-']))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ProjectName {
    type Error = String;

    fn try_from(name: String) -> Result<ProjectName, String> {
        ProjectName::new(&name).ok_or_else(|| {
            format!("`{name}` is not a project name (lowercase letters, digits, `-` and `_`, starting with a letter or digit)")
        })
    }
}

impl fmt::Display for ProjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<ProjectName> for String {
    fn from(name: ProjectName) -> String {
        name.0
    }
}

impl AsRef<str> for ProjectName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// `restart:`: what the engine does when a container ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum RestartPolicy {
    /// `no`: never restart.
    No,
    /// `always`.
    Always,
    /// `on-failure[:max]`: after a non-zero exit, at most `max` times.
    OnFailure {
        /// Most restarts, when bounded.
        max_retries: Option<u32>,
    },
    /// `unless-stopped`.
    UnlessStopped,
}

impl RestartPolicy {
    /// The engine's name of the policy (`on-failure` without its count).
    pub fn name(self) -> &'static str {
        match self {
            RestartPolicy::No => "no",
            RestartPolicy::Always => "always",
            RestartPolicy::OnFailure { .. } => "on-failure",
            RestartPolicy::UnlessStopped => "unless-stopped",
        }
    }

    /// The most restarts after failures, when bounded.
    pub fn max_retries(self) -> Option<u32> {
        match self {
            RestartPolicy::OnFailure { max_retries } => max_retries,
            _ => None,
        }
    }

    /// Restarted even after it ended well (`always`, `unless-stopped`).
    pub fn restarts_finished(self) -> bool {
        matches!(self, RestartPolicy::Always | RestartPolicy::UnlessStopped)
    }
}

/// A word that is not one of a policy's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    given: String,
    what: &'static str,
    valid: &'static str,
    /// The words, for a did-you-mean.
    words: &'static [&'static str],
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not {}; ", self.given, self.what)?;
        if let Some(near) = crate::diag::did_you_mean(&self.given, self.words.iter().copied()) {
            write!(f, "did you mean `{near}`? ")?;
        }
        write!(f, "use {}", self.valid)
    }
}

impl std::error::Error for PolicyError {}

impl FromStr for RestartPolicy {
    type Err = PolicyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || PolicyError {
            given: s.to_string(),
            what: "a restart policy",
            valid: "no, always, unless-stopped, on-failure or on-failure:<max retries>",
            words: &["no", "always", "unless-stopped", "on-failure"],
        };
        Ok(match s {
            "no" => RestartPolicy::No,
            "always" => RestartPolicy::Always,
            "unless-stopped" => RestartPolicy::UnlessStopped,
            "on-failure" => RestartPolicy::OnFailure { max_retries: None },
            other => {
                let n = other.strip_prefix("on-failure:").ok_or_else(bad)?;
                RestartPolicy::OnFailure {
                    max_retries: Some(n.parse().map_err(|_| bad())?),
                }
            }
        })
    }
}

impl fmt::Display for RestartPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.max_retries() {
            Some(n) => write!(f, "on-failure:{n}"),
            None => f.write_str(self.name()),
        }
    }
}

/// `pull_policy:`: when a service's image is pulled (or built).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum PullPolicy {
    /// Pull every time.
    Always,
    /// Never pull; a missing image is an error.
    Never,
    /// Pull when missing (`missing`, or `if_not_present` as written).
    Missing {
        /// Written `if_not_present`, Compose's older spelling.
        if_not_present: bool,
    },
    /// Build the image, even when one is present.
    Build,
    /// Pull when missing or last pulled longer ago than this: `daily`,
    /// `weekly`, `every_<duration>`, kept as written.
    Refresh {
        /// The word as written.
        written: String,
        /// The window.
        every: std::time::Duration,
    },
}

impl PullPolicy {
    /// How old a present image may be before it is pulled again.
    pub fn refresh(&self) -> Option<std::time::Duration> {
        match self {
            PullPolicy::Refresh { every, .. } => Some(*every),
            _ => None,
        }
    }
}

impl FromStr for PullPolicy {
    type Err = PolicyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const DAY: u64 = 24 * 3600;
        let refresh = |secs: u64| PullPolicy::Refresh {
            written: s.to_string(),
            every: std::time::Duration::from_secs(secs),
        };
        Ok(match s {
            "always" => PullPolicy::Always,
            "never" => PullPolicy::Never,
            "missing" => PullPolicy::Missing {
                if_not_present: false,
            },
            "if_not_present" => PullPolicy::Missing {
                if_not_present: true,
            },
            "build" => PullPolicy::Build,
            "daily" => refresh(DAY),
            "weekly" => refresh(7 * DAY),
            other => {
                let every = other
                    .strip_prefix("every_")
                    .and_then(|d| crate::units::Duration::parse(d).ok())
                    .ok_or_else(|| PolicyError {
                        given: s.to_string(),
                        what: "a pull policy",
                        valid: "always, never, missing, if_not_present, build, daily, weekly or every_<duration>",
                        words: &["always", "never", "missing", "if_not_present", "build", "daily", "weekly"],
                    })?;
                PullPolicy::Refresh {
                    written: s.to_string(),
                    every: every.0,
                }
            }
        })
    }
}

impl fmt::Display for PullPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PullPolicy::Always => "always",
            PullPolicy::Never => "never",
            PullPolicy::Missing {
                if_not_present: false,
            } => "missing",
            PullPolicy::Missing {
                if_not_present: true,
            } => "if_not_present",
            PullPolicy::Build => "build",
            PullPolicy::Refresh { written, .. } => written,
        })
    }
}

/// `update_config.order` / `rollback_config.order`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum UpdateOrder {
    /// The old replica stops before the new one starts.
    StopFirst,
    /// The new replica starts (and is ready) before the old one stops.
    StartFirst,
}

impl FromStr for UpdateOrder {
    type Err = PolicyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "stop-first" => Ok(UpdateOrder::StopFirst),
            "start-first" => Ok(UpdateOrder::StartFirst),
            _ => Err(PolicyError {
                given: s.to_string(),
                what: "an update order",
                valid: "start-first or stop-first",
                words: &["start-first", "stop-first"],
            }),
        }
    }
}

impl fmt::Display for UpdateOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UpdateOrder::StopFirst => "stop-first",
            UpdateOrder::StartFirst => "start-first",
        })
    }
}

/// `update_config.failure_action`: what a failed rolling update does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum FailureAction {
    /// Stop the update; replicas not yet replaced keep running (default).
    Pause,
    /// Go on with the next replicas.
    Continue,
    /// Return the updated replicas to the previous definition.
    Rollback,
}

impl FromStr for FailureAction {
    type Err = PolicyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pause" => Ok(FailureAction::Pause),
            "continue" => Ok(FailureAction::Continue),
            "rollback" => Ok(FailureAction::Rollback),
            _ => Err(PolicyError {
                given: s.to_string(),
                what: "a failure action",
                valid: "pause, continue or rollback",
                words: &["pause", "continue", "rollback"],
            }),
        }
    }
}

impl fmt::Display for FailureAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FailureAction::Pause => "pause",
            FailureAction::Continue => "continue",
            FailureAction::Rollback => "rollback",
        })
    }
}

/// Whose namespace a container joins (`network_mode`, `pid`, `ipc`):
/// another service's replica, a container outside the stack, or a mode
/// of the engine (`host`, `none`, `bridge`, `shareable`...).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum NamespaceRef {
    /// `service:<name>`.
    Service(String),
    /// `container:<name>`.
    Container(String),
    /// Anything else, as written.
    Mode(String),
}

impl NamespaceRef {
    /// The service it borrows from, for `service:<name>`.
    pub fn service(&self) -> Option<&str> {
        match self {
            NamespaceRef::Service(s) => Some(s),
            _ => None,
        }
    }

    /// Does it share another's namespace (a service's or a container's)?
    pub fn shares(&self) -> bool {
        !matches!(self, NamespaceRef::Mode(_))
    }

    /// The engine's mode, for anything but a reference.
    pub fn mode(&self) -> Option<&str> {
        match self {
            NamespaceRef::Mode(m) => Some(m),
            _ => None,
        }
    }
}

impl FromStr for NamespaceRef {
    type Err = PolicyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let named = |prefix: &'static str, valid: &'static str| {
            let name = s.strip_prefix(prefix)?;
            Some(if name.is_empty() {
                Err(PolicyError {
                    given: s.to_string(),
                    what: "a namespace reference",
                    valid,
                    words: &[],
                })
            } else {
                Ok(name.to_string())
            })
        };
        if let Some(name) = named("service:", "`service:<name>` with the name of a service") {
            return name.map(NamespaceRef::Service);
        }
        if let Some(name) = named("container:", "`container:<name>` with a container's name") {
            return name.map(NamespaceRef::Container);
        }
        Ok(NamespaceRef::Mode(s.to_string()))
    }
}

impl fmt::Display for NamespaceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NamespaceRef::Service(name) => write!(f, "service:{name}"),
            NamespaceRef::Container(name) => write!(f, "container:{name}"),
            NamespaceRef::Mode(mode) => f.write_str(mode),
        }
    }
}

/// One `volumes_from` entry: `<service>[:ro|rw]`, `service:<name>[:..]`
/// or `container:<name>[:..]`, kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VolumesFrom {
    /// Whose volumes: a service's or a container's (never a mode).
    pub source: NamespaceRef,
    /// Mounted read-only (`:ro`).
    pub read_only: bool,
    /// The entry as written (printed back as it was).
    written: String,
}

impl FromStr for VolumesFrom {
    type Err = PolicyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (rest, access) = match s.rsplit_once(':') {
            Some((rest, a @ ("ro" | "rw"))) => (rest, Some(a)),
            _ => (s, None),
        };
        let source = match rest.parse()? {
            NamespaceRef::Mode(name) => NamespaceRef::Service(name),
            named => named,
        };
        if source.service() == Some("") {
            return Err(PolicyError {
                given: s.to_string(),
                what: "a `volumes_from` entry",
                valid: "<service>, <service>:ro or container:<name>[:ro]",
                words: &[],
            });
        }
        Ok(VolumesFrom {
            source,
            read_only: access == Some("ro"),
            written: s.to_string(),
        })
    }
}

impl fmt::Display for VolumesFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

macro_rules! string_forms {
    ($($t:ty),*) => {$(
        impl TryFrom<String> for $t {
            type Error = PolicyError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }
        impl From<$t> for String {
            fn from(p: $t) -> String {
                p.to_string()
            }
        }
    )*};
}

string_forms!(
    RestartPolicy,
    PullPolicy,
    UpdateOrder,
    FailureAction,
    NamespaceRef,
    VolumesFrom
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_names_are_checked_and_normalised_as_compose_does() {
        let name = |s: &str| ProjectName::new(s).map(|n| n.to_string());
        assert_eq!(name("my-app_1").as_deref(), Some("my-app_1"));
        assert_eq!(name("My App"), None);
        assert_eq!(name("-x"), None);
        let normalized = |s: &str| ProjectName::normalized(s).map(|n| n.to_string());
        assert_eq!(normalized("My App.v2").as_deref(), Some("myappv2"));
        assert_eq!(normalized("__x").as_deref(), Some("x"));
        assert_eq!(normalized("..."), None);
    }

    #[test]
    fn policies_read_and_write_compose_words() {
        for word in [
            "no",
            "always",
            "unless-stopped",
            "on-failure",
            "on-failure:3",
        ] {
            let p: RestartPolicy = word.parse().unwrap();
            assert_eq!(p.to_string(), word);
        }
        assert_eq!(
            "on-failure:2"
                .parse::<RestartPolicy>()
                .unwrap()
                .max_retries(),
            Some(2)
        );
        assert!("sometimes".parse::<RestartPolicy>().is_err());
        assert!("on-failure:x".parse::<RestartPolicy>().is_err());
        assert_eq!(
            "start-first".parse::<UpdateOrder>(),
            Ok(UpdateOrder::StartFirst)
        );
        assert!("sideways".parse::<UpdateOrder>().is_err());
        let near = "start_first"
            .parse::<UpdateOrder>()
            .unwrap_err()
            .to_string();
        assert!(near.contains("did you mean `start-first`?"), "{near}");
        assert_eq!(
            "rollback".parse::<FailureAction>(),
            Ok(FailureAction::Rollback)
        );
        for word in [
            "always",
            "if_not_present",
            "missing",
            "build",
            "daily",
            "every_12h",
        ] {
            let p: PullPolicy = word.parse().unwrap();
            assert_eq!(p.to_string(), word);
        }
        assert_eq!(
            "every_90m".parse::<PullPolicy>().unwrap().refresh(),
            Some(std::time::Duration::from_secs(5400))
        );
        assert!("often".parse::<PullPolicy>().is_err());
        assert!("every_sometimes".parse::<PullPolicy>().is_err());
        let json = serde_json::to_string(&RestartPolicy::OnFailure {
            max_retries: Some(5),
        });
        assert_eq!(json.unwrap(), "\"on-failure:5\"");
    }

    #[test]
    fn namespace_references_read_and_print_as_written() {
        let web: NamespaceRef = "service:web".parse().unwrap();
        assert_eq!(web, NamespaceRef::Service("web".into()));
        assert_eq!(web.to_string(), "service:web");
        assert!(web.shares());
        let host: NamespaceRef = "host".parse().unwrap();
        assert_eq!((host.mode(), host.shares()), (Some("host"), false));
        assert!("container:".parse::<NamespaceRef>().is_err());
        let from: VolumesFrom = "data:ro".parse().unwrap();
        assert_eq!(from.source, NamespaceRef::Service("data".into()));
        assert!(from.read_only);
        assert_eq!(from.to_string(), "data:ro");
        let outside: VolumesFrom = "container:backup".parse().unwrap();
        assert_eq!(outside.source, NamespaceRef::Container("backup".into()));
        assert!(!outside.read_only);
    }
}
