//! What runs: the containers of a project with their state (`ps`), and how
//! a service's containers differ from the file (`plan --why`).

use std::collections::BTreeMap;

use planner::{hash, labels, Health, RunState};
use serde::Serialize;
use serde_json::Value;

use crate::{AppError, Result, Session};

/// One container of `ps`.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Container name.
    pub name: String,
    /// Its service.
    pub service: String,
    /// Its replica number.
    pub replica: u32,
    /// `created`, `running`, `exited`, `dead`.
    pub state: String,
    /// Exit code, once exited.
    pub exit_code: Option<i64>,
    /// `healthy`, `unhealthy`, `starting`, when it has a healthcheck.
    pub health: Option<String>,
    /// Published and exposed ports.
    pub ports: Vec<String>,
    /// Namespaces it shares: `network_mode of web-1`.
    pub shares: Vec<String>,
}

fn state_word(s: &RunState) -> (String, Option<i64>) {
    match s {
        RunState::Created => ("created".into(), None),
        RunState::Running => ("running".into(), None),
        RunState::Exited { code } => ("exited".into(), Some(*code)),
        RunState::Dead => ("dead".into(), None),
    }
}

/// The containers of `services` (all when empty), by service and replica.
pub async fn ps(session: &Session, services: &[String]) -> Result<Vec<Row>> {
    let mut containers = session.engine.list_containers(&session.name()).await?;
    containers.retain(|c| services.is_empty() || services.contains(&c.service));
    containers.sort_by(|a, b| (&a.service, a.replica).cmp(&(&b.service, b.replica)));
    let mut rows = Vec::new();
    for c in containers {
        let status = session.engine.inspect_container(&c.id).await?;
        let (state, exit_code) = state_word(&c.state);
        let parents: BTreeMap<String, String> = c
            .labels
            .get(labels::PARENTS)
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or_default();
        rows.push(Row {
            name: c.name,
            service: c.service,
            replica: c.replica,
            state,
            exit_code,
            health: status.health.map(|h| {
                match h {
                    Health::Healthy => "healthy",
                    Health::Unhealthy => "unhealthy",
                    Health::Starting => "starting",
                }
                .to_string()
            }),
            ports: status.ports,
            // `network_mode:web-1` -> `network_mode of web-1`.
            shares: parents.keys().map(|k| k.replacen(':', " of ", 1)).collect(),
        });
    }
    Ok(rows)
}

/// How one container differs from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The container.
    pub container: String,
    /// Each field that differs: (dotted path, running value, file's value).
    pub fields: Vec<(String, String, String)>,
}

/// The fields that differ between each container of `service` and the file.
pub async fn why(session: &Session, service: &str) -> Result<Vec<Difference>> {
    let Some(svc) = session.project.services.get(service) else {
        return Err(AppError::Invalid(format!(
            "no service named `{service}` in the stack"
        )));
    };
    let new = hash::definition(svc);
    let containers = session.engine.list_containers(&session.name()).await?;
    Ok(containers
        .iter()
        .filter(|c| c.service == service)
        .map(|c| {
            let old: Value = c
                .labels
                .get(labels::CONFIG)
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or(Value::Null);
            let fields = hash::changed_fields(&old, &new)
                .into_iter()
                .map(|f| {
                    let pick = |v: &Value| -> String {
                        f.split('.')
                            .try_fold(v, |v, k| v.get(k))
                            .map_or_else(|| "(unset)".to_string(), ToString::to_string)
                    };
                    (f.clone(), pick(&old), pick(&new))
                })
                .collect();
            Difference {
                container: c.name.clone(),
                fields,
            }
        })
        .collect())
}
