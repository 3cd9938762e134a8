//! `stack events [--json] [SERVICE...]`: the project's container events as
//! they happen, in Compose's two formats.

use std::io::Write;
use std::process::ExitCode;

use app::events::ContainerEvent;

use crate::project::ProjectArgs;
use crate::signals::cancel_on_signal;

/// Arguments of `stack events`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// One JSON object per event.
    #[arg(long)]
    json: bool,
    /// Services (default: all).
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::completion::services))]
    services: Vec<String>,
}

/// Run `stack events`.
pub async fn run(project: &ProjectArgs, args: &Args) -> anyhow::Result<ExitCode> {
    let session = project.session_or_named(&args.services).await?;
    let cancel = cancel_on_signal(false)?;
    let json = args.json;
    let mut print = |e: &ContainerEvent| {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", if json { as_json(e) } else { as_text(e) })?;
        out.flush()
    };
    app::events::follow(&session, &args.services, &cancel, &mut print).await?;
    Ok(ExitCode::SUCCESS)
}

fn time(e: &ContainerEvent) -> jiff::Zoned {
    jiff::Timestamp::from_nanosecond(i128::from(e.event.time_nanos))
        .unwrap_or_default()
        .to_zoned(jiff::tz::TimeZone::system())
}

/// `{"time": ..., "type": "container", "service", "id", "action", "attributes"}`.
fn as_json(e: &ContainerEvent) -> String {
    serde_json::json!({
        "time": time(e).timestamp().to_string(),
        "type": "container",
        "service": e.service,
        "id": e.event.id,
        "action": e.event.action,
        "attributes": e.event.attributes,
    })
    .to_string()
}

/// `2026-12-02 22:04:18.123456 container start <id> (name=..., image=...)`.
fn as_text(e: &ContainerEvent) -> String {
    let attributes = e
        .event
        .attributes
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{} container {} {} ({attributes})",
        time(e).strftime("%Y-%m-%d %H:%M:%S%.6f"),
        e.event.action,
        e.event.id
    )
}
