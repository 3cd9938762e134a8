//! `stack plan`: what `up` would do, with the reason for every step, like
//! `terraform plan -detailed-exitcode`: exit 0 when converged, 2 when
//! changes are pending, 1 on errors. `--why SERVICE` shows the exact
//! fields that differ between the running containers and the file.

use std::process::ExitCode;

use crate::flags::{OutputFormat, UpFlags};
use crate::project::ProjectArgs;
use crate::render::plan_text;

/// Arguments of `stack plan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    flags: UpFlags,
    /// Print the plan as JSON.
    #[arg(long, value_enum, default_value = "text")]
    format: OutputFormat,
    /// Show, field by field, how the running containers of this service
    /// differ from the file.
    #[arg(long, value_name = "SERVICE")]
    why: Option<String>,
    /// Services to plan for (default: all).
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::completion::services))]
    services: Vec<String>,
}

/// Exit status of a plan with changes pending.
const PENDING: u8 = 2;

/// Run `stack plan`.
pub async fn run(project: &ProjectArgs, args: &Args) -> anyhow::Result<ExitCode> {
    let session = project.session(&args.services).await?;
    if let Some(service) = &args.why {
        return why(&session, service).await;
    }
    let request = args.flags.request(&args.services);
    let planned = app::up::prepare(&session, &request, false, &app::sink::Silent).await?;
    let plan = planned.plan;
    match args.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&plan)?),
        OutputFormat::Text => print!("{}", plan_text(&plan)),
    }
    Ok(if !plan.blockers.is_empty() {
        ExitCode::FAILURE
    } else if plan.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(PENDING)
    })
}

/// The fields that differ between each container of `service` and the file.
async fn why(session: &app::Session, service: &str) -> anyhow::Result<ExitCode> {
    let differences = app::inspect::why(session, service).await?;
    let mut any = false;
    for d in differences {
        if d.fields.is_empty() {
            println!("{}: definition unchanged", d.container);
            continue;
        }
        any = true;
        println!("{}:", d.container);
        for (field, old, new) in d.fields {
            println!("  {field}: {old} -> {new}");
        }
    }
    Ok(if any {
        ExitCode::from(PENDING)
    } else {
        ExitCode::SUCCESS
    })
}
