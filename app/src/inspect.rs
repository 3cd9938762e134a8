//! What runs: the containers of a project with their state (`ps`), and how
//! a service's containers differ from the file (`plan --why`).

use std::collections::BTreeMap;

use planner::{hash, labels, Health, RunState};
use reconciler::engine::{ContainerListing, Selection};
use serde_json::Value;

use crate::{AppError, Result, Session};

/// One container of `ps`: what `docker compose ps` shows of it, and the
/// namespaces it shares.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// What the engine lists.
    pub listing: ContainerListing,
    /// Its project.
    pub project: String,
    /// A one-off container of `stack run`.
    pub one_off: bool,
    /// Namespaces it shares: `network_mode of web-1`.
    pub shares: Vec<String>,
}

impl Row {
    /// The container name.
    pub fn name(&self) -> &str {
        &self.listing.observed.name
    }

    /// Its service.
    pub fn service(&self) -> &str {
        &self.listing.observed.service
    }

    /// Its exit code, once exited (0 otherwise, as Compose shows it).
    pub fn exit_code(&self) -> i64 {
        match self.listing.observed.state {
            RunState::Exited { code } => code,
            _ => 0,
        }
    }

    /// `healthy`, `unhealthy`, `starting`; empty without a healthcheck.
    pub fn health(&self) -> &'static str {
        match self.listing.observed.health {
            Some(Health::Healthy) => "healthy",
            Some(Health::Unhealthy) => "unhealthy",
            Some(Health::Starting) => "starting",
            None => "",
        }
    }
}

/// Which containers `ps` lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PsRequest {
    /// Only these services (all when empty).
    pub services: Vec<String>,
    /// Stopped ones too (by default, running ones only, as Compose).
    pub all: bool,
    /// Only those in one of these states (`running`, `exited`, `paused`...).
    pub status: Vec<String>,
}

/// A state the engine lists without `--all`: the process exists.
fn is_up(state: &str) -> bool {
    matches!(state, "running" | "paused" | "restarting")
}

/// The project's containers by service and replica; its one-offs (after
/// them) only with `all` or a `status` filter, as Compose lists them.
pub async fn ps(session: &Session, request: &PsRequest) -> Result<Vec<Row>> {
    let name = session.name();
    let all = request.all || !request.status.is_empty();
    let mut selections = vec![(Selection::Project(name.clone()), false)];
    if all {
        selections.push((Selection::OneOffs(name.clone()), true));
    }
    let mut rows: Vec<Row> = Vec::new();
    for (selection, one_off) in selections {
        for listing in session.engine.list_listings(&selection).await? {
            let parents: BTreeMap<String, String> = listing
                .observed
                .labels
                .get(labels::PARENTS)
                .and_then(|p| serde_json::from_str(p).ok())
                .unwrap_or_default();
            rows.push(Row {
                listing,
                project: name.clone(),
                one_off,
                // `network_mode:web-1` -> `network_mode of web-1`.
                shares: parents.keys().map(|k| k.replacen(':', " of ", 1)).collect(),
            });
        }
    }
    rows.retain(|r| {
        let state = r.listing.state.as_str();
        (request.services.is_empty() || request.services.iter().any(|s| s == r.service()))
            && (all || is_up(state))
            && (request.status.is_empty() || request.status.iter().any(|s| s == state))
    });
    rows.sort_by(|a, b| {
        let key = |r: &Row| {
            (
                r.one_off,
                r.service().to_string(),
                r.listing.observed.replica,
            )
        };
        key(a).cmp(&key(b)).then_with(|| a.name().cmp(b.name()))
    });
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

/// A project on the engine, as `ls` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRow {
    /// Its name.
    pub name: String,
    /// How many of its containers are in each state.
    pub states: BTreeMap<String, usize>,
    /// The stack files its containers were created from.
    pub config_files: Vec<String>,
}

/// The `stack` projects on the engine, by name: those with a running
/// container, or every one with `all`.
pub async fn projects(engine: &dyn reconciler::Engine, all: bool) -> Result<Vec<ProjectRow>> {
    let listed = engine
        .list_listings(&Selection::Project(String::new()))
        .await?;
    let mut projects: BTreeMap<String, ProjectRow> = BTreeMap::new();
    for l in listed.into_iter().filter(|l| all || is_up(&l.state)) {
        let Some(name) = l.observed.labels.get(labels::PROJECT).cloned() else {
            continue;
        };
        let row = projects.entry(name.clone()).or_insert_with(|| ProjectRow {
            name,
            states: BTreeMap::new(),
            config_files: Vec::new(),
        });
        *row.states.entry(l.state.clone()).or_default() += 1;
        let files = l.observed.labels.get(labels::compose::CONFIG_FILES);
        for f in files.into_iter().flat_map(|f| f.split(',')) {
            if !f.is_empty() && !row.config_files.iter().any(|k| k == f) {
                row.config_files.push(f.to_string());
            }
        }
    }
    Ok(projects.into_values().collect())
}
