//! `stack ps`: the project's containers with service, replica, state,
//! health and ports; `--format json` prints one JSON array.

use std::process::ExitCode;

use planner::{Health, RunState};
use serde::Serialize;

use crate::project::ProjectArgs;
use crate::session::Session;

/// Arguments of `stack ps`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: crate::commands::OutputFormat,
    /// Only these services.
    services: Vec<String>,
}

/// One row of `ps`.
#[derive(Debug, Serialize)]
struct Row {
    name: String,
    service: String,
    replica: u32,
    state: String,
    exit_code: Option<i64>,
    health: Option<String>,
    ports: Vec<String>,
    shares: Vec<String>,
}

fn state_word(s: &RunState) -> (String, Option<i64>) {
    match s {
        RunState::Created => ("created".into(), None),
        RunState::Running => ("running".into(), None),
        RunState::Exited { code } => ("exited".into(), Some(*code)),
        RunState::Dead => ("dead".into(), None),
    }
}

/// Run `stack ps`.
pub async fn run(project: &ProjectArgs, args: &Args) -> anyhow::Result<ExitCode> {
    let Some(session) = Session::open(project, &[]).await? else {
        return Ok(ExitCode::FAILURE);
    };
    let mut containers = session.engine.list_containers(&session.name()).await?;
    containers.retain(|c| args.services.is_empty() || args.services.contains(&c.service));
    containers.sort_by(|a, b| (&a.service, a.replica).cmp(&(&b.service, b.replica)));
    let mut rows = Vec::new();
    for c in containers {
        let status = session.engine.inspect_container(&c.id).await?;
        let (state, exit_code) = state_word(&c.state);
        let parents: std::collections::BTreeMap<String, String> = c
            .labels
            .get(planner::labels::PARENTS)
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or_default();
        rows.push(Row {
            name: c.name,
            service: c.service,
            replica: c.replica,
            state,
            exit_code,
            health: status.health.map(|h| match h {
                Health::Healthy => "healthy".into(),
                Health::Unhealthy => "unhealthy".into(),
                Health::Starting => "starting".into(),
            }),
            ports: status.ports,
            // `network_mode:web-1` -> `network_mode of web-1`.
            shares: parents.keys().map(|k| k.replacen(':', " of ", 1)).collect(),
        });
    }
    if matches!(args.format, crate::commands::OutputFormat::Json) {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    let w = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    let sw = rows
        .iter()
        .map(|r| r.service.len())
        .max()
        .unwrap_or(7)
        .max(7);
    println!(
        "{:<w$}  {:<sw$}  {:<7}  {:<12}  {:<9}  PORTS / SHARES",
        "NAME", "SERVICE", "REPLICA", "STATE", "HEALTH"
    );
    for r in rows {
        let state = match r.exit_code {
            Some(code) => format!("{} ({code})", r.state),
            None => r.state,
        };
        let mut extra = r.ports.join(", ");
        if !r.shares.is_empty() {
            if !extra.is_empty() {
                extra.push_str("; ");
            }
            extra.push_str(&format!("shares {}", r.shares.join(", ")));
        }
        println!(
            "{:<w$}  {:<sw$}  {:<7}  {:<12}  {:<9}  {extra}",
            r.name,
            r.service,
            r.replica,
            state,
            r.health.unwrap_or_else(|| "-".into())
        );
    }
    Ok(ExitCode::SUCCESS)
}
