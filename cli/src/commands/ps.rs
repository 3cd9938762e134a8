//! `stack ps`: the project's containers with service, replica, state,
//! health and ports; `--format json` prints one JSON array.

use std::process::ExitCode;

use crate::flags::OutputFormat;
use crate::project::ProjectArgs;

/// Arguments of `stack ps`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: OutputFormat,
    /// Only these services.
    services: Vec<String>,
}

/// Run `stack ps`.
pub async fn run(project: &ProjectArgs, args: &Args) -> anyhow::Result<ExitCode> {
    let session = project.session(&[]).await?;
    let rows = app::inspect::ps(&session, &args.services).await?;
    if args.format == OutputFormat::Json {
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
