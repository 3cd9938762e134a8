//! Policies of the stack file as types, parsed once when the file loads:
//! `restart`, `deploy.update_config.order` and `failure_action`. Each
//! reads and writes the exact words Compose uses, so printed files and
//! the config hash are what they were as strings.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

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

string_forms!(RestartPolicy, UpdateOrder, FailureAction);

#[cfg(test)]
mod tests {
    use super::*;

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
        let json = serde_json::to_string(&RestartPolicy::OnFailure {
            max_retries: Some(5),
        });
        assert_eq!(json.unwrap(), "\"on-failure:5\"");
    }
}
