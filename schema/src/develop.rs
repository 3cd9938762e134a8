//! `develop.watch`: Compose's rules for applying file changes to running
//! containers (`stack watch`). The service keeps `develop` as written (so
//! `config` prints it as Compose does); the rules are read from it here,
//! and checked at load.

use serde::Deserialize;

use crate::model::{Command, Dict, Service};

/// What to do when a watched file changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum WatchAction {
    /// Copy the change into the container.
    #[serde(rename = "sync")]
    Sync,
    /// Build the image again and recreate the service.
    #[serde(rename = "rebuild")]
    Rebuild,
    /// Restart the service's containers.
    #[serde(rename = "restart")]
    Restart,
    /// Copy, then restart.
    #[serde(rename = "sync+restart")]
    SyncRestart,
    /// Copy, then run `exec.command` in the container.
    #[serde(rename = "sync+exec")]
    SyncExec,
}

impl WatchAction {
    /// Whether the action copies files into the container.
    pub fn syncs(self) -> bool {
        matches!(
            self,
            WatchAction::Sync | WatchAction::SyncRestart | WatchAction::SyncExec
        )
    }
}

/// The command of a `sync+exec` rule.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchExec {
    /// The command and its arguments.
    pub command: Command,
    /// As this user.
    #[serde(default)]
    pub user: Option<String>,
    /// With extended privileges.
    #[serde(default)]
    pub privileged: bool,
    /// In this directory.
    #[serde(default)]
    pub working_dir: Option<String>,
    /// On top of the container's environment.
    #[serde(default)]
    pub environment: Option<Dict>,
}

/// One `develop.watch` rule.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchRule {
    /// The host path watched (absolute after loading).
    pub path: String,
    /// What a change does.
    pub action: WatchAction,
    /// Where `path` lands in the container (sync actions).
    #[serde(default)]
    pub target: Option<String>,
    /// Changes under these patterns (relative to `path`) are ignored.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Only changes under these patterns count (all when empty).
    #[serde(default)]
    pub include: Vec<String>,
    /// Copy everything once when watching starts.
    #[serde(default)]
    pub initial_sync: bool,
    /// The command of `sync+exec`.
    #[serde(default)]
    pub exec: Option<WatchExec>,
}

#[derive(Deserialize)]
struct Develop {
    #[serde(default)]
    watch: Vec<WatchRule>,
}

/// The service's watch rules, or what is wrong with them.
pub fn watch_rules(svc: &Service) -> Result<Vec<WatchRule>, String> {
    let Some(develop) = &svc.develop else {
        return Ok(Vec::new());
    };
    let develop = Develop::deserialize(develop).map_err(|e| e.to_string())?;
    for rule in &develop.watch {
        if rule.action.syncs() && rule.target.is_none() {
            return Err(format!(
                "the `{}` rule for `{}` needs a `target`: where the files go in the container",
                action_name(rule.action),
                rule.path
            ));
        }
        if rule.action == WatchAction::SyncExec && rule.exec.is_none() {
            return Err(format!(
                "the `sync+exec` rule for `{}` needs `exec: {{command: ...}}`",
                rule.path
            ));
        }
    }
    Ok(develop.watch)
}

fn action_name(action: WatchAction) -> &'static str {
    match action {
        WatchAction::Sync => "sync",
        WatchAction::Rebuild => "rebuild",
        WatchAction::Restart => "restart",
        WatchAction::SyncRestart => "sync+restart",
        WatchAction::SyncExec => "sync+exec",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(develop: serde_json::Value) -> Service {
        Service {
            develop: Some(develop),
            ..Service::default()
        }
    }

    #[test]
    fn rules_read_as_compose_writes_them() {
        let svc = service(serde_json::json!({"watch": [
            {"path": "/src", "action": "sync", "target": "/app", "ignore": ["node_modules/"]},
            {"path": "/src/package.json", "action": "rebuild"},
            {"path": "/conf", "action": "sync+exec", "target": "/etc/app", "exec": {"command": ["kill", "-HUP", "1"]}},
        ]}));
        let rules = watch_rules(&svc).expect("valid");
        assert_eq!(rules.len(), 3);
        assert_eq!(rules[0].action, WatchAction::Sync);
        assert_eq!(rules[0].ignore, ["node_modules/"]);
        assert!(rules[2].action.syncs());
    }

    #[test]
    fn a_sync_needs_a_target_and_an_exec_a_command() {
        let no_target = service(serde_json::json!({"watch": [{"path": "/src", "action": "sync"}]}));
        assert!(watch_rules(&no_target)
            .unwrap_err()
            .contains("needs a `target`"));
        let no_exec = service(
            serde_json::json!({"watch": [{"path": "/s", "action": "sync+exec", "target": "/t"}]}),
        );
        assert!(watch_rules(&no_exec).unwrap_err().contains("exec"));
        let bad = service(serde_json::json!({"watch": [{"path": "/s", "action": "teleport"}]}));
        assert!(watch_rules(&bad).unwrap_err().contains("teleport"));
    }
}
