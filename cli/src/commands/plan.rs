//! `stack plan`: what `up` would do, with the reason for every step, like
//! `terraform plan -detailed-exitcode`: exit 0 when converged, 2 when
//! changes are pending, 1 on errors. `--why SERVICE` shows the exact
//! fields that differ between the running containers and the file.

use std::process::ExitCode;

use planner::{hash, labels, Action, Plan};
use serde_json::Value;

use crate::commands::up::{image_options, make_plan, Planned, UpFlags};
use crate::project::ProjectArgs;
use crate::session::Session;

/// Arguments of `stack plan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    flags: UpFlags,
    /// Print the plan as JSON.
    #[arg(long, value_enum, default_value = "text")]
    format: crate::commands::OutputFormat,
    /// Show, field by field, how the running containers of this service
    /// differ from the file.
    #[arg(long, value_name = "SERVICE")]
    why: Option<String>,
    /// Services to plan for (default: all).
    services: Vec<String>,
}

/// The marker and the counting word of an action.
fn marker(action: &Action) -> (&'static str, &'static str) {
    match action {
        Action::CreateNetwork { .. }
        | Action::CreateVolume { .. }
        | Action::CreateContainer { .. } => ("+", "create"),
        Action::RecreateContainer { .. }
        | Action::RecreateVolume { .. }
        | Action::RecreateNetwork { .. } => ("~", "recreate"),
        Action::StartContainer { .. } => (">", "start"),
        Action::RestartContainer { .. } => (">", "restart"),
        Action::AdoptContainer { .. } => ("~", "rename"),
        Action::RemoveContainer { .. }
        | Action::RemoveNetwork { .. }
        | Action::RemoveVolume { .. } => ("-", "remove"),
    }
}

/// A plan for people: one line per step with its reason, then a summary.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let width = plan
        .steps
        .iter()
        .map(|s| s.action.verb().len() + 1 + s.action.subject().len())
        .max()
        .unwrap_or(0);
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for s in &plan.steps {
        let (mark, word) = marker(&s.action);
        *counts.entry(word).or_default() += 1;
        let what = format!("{} {}", s.action.verb(), s.action.subject());
        out.push_str(&format!("{mark} {what:<width$}  {}\n", s.reason));
    }
    for w in &plan.warnings {
        out.push_str(&format!("! {w}\n"));
    }
    for b in &plan.blockers {
        out.push_str(&format!("✘ {}\n  = help: {}\n", b.message, b.hint));
    }
    if !plan.blockers.is_empty() {
        let n = plan.blockers.len();
        out.push_str(&format!(
            "Refused: {n} problem{} above must be fixed before anything changes.\n",
            if n == 1 { "" } else { "s" }
        ));
    } else if plan.steps.is_empty() {
        out.push_str("No changes: the stack runs as the file says.\n");
    } else {
        let summary: Vec<String> = ["create", "recreate", "start", "restart", "remove"]
            .iter()
            .filter_map(|w| counts.get(w).map(|n| format!("{n} to {w}")))
            .collect();
        out.push_str(&format!("Plan: {}.\n", summary.join(", ")));
    }
    out
}

/// Run `stack plan`.
pub async fn run(project: &ProjectArgs, args: &Args) -> anyhow::Result<ExitCode> {
    let Some(session) = Session::open(project, &args.services).await? else {
        return Ok(ExitCode::FAILURE);
    };
    if let Some(service) = &args.why {
        return why(&session, service).await;
    }
    let Some(Planned { plan, .. }) = make_plan(
        &session,
        &args.flags,
        &args.services,
        image_options(&args.flags, false),
        &|_| {},
    )
    .await?
    else {
        return Ok(ExitCode::FAILURE);
    };
    match args.format {
        crate::commands::OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&plan)?),
        crate::commands::OutputFormat::Text => print!("{}", render(&plan)),
    }
    Ok(if !plan.blockers.is_empty() {
        ExitCode::FAILURE
    } else if plan.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// The fields that differ between each container of `service` and the file.
async fn why(session: &Session, service: &str) -> anyhow::Result<ExitCode> {
    let Some(svc) = session.project.services.get(service) else {
        anyhow::bail!("no service named `{service}` in the stack");
    };
    let new = hash::definition(svc);
    let containers = session.engine.list_containers(&session.name()).await?;
    let mut any = false;
    for c in containers.iter().filter(|c| c.service == service) {
        let old: Value = c
            .labels
            .get(labels::CONFIG)
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or(Value::Null);
        let fields = hash::changed_fields(&old, &new);
        if fields.is_empty() {
            println!("{}: definition unchanged", c.name);
            continue;
        }
        any = true;
        println!("{}:", c.name);
        for f in fields {
            let pick = |v: &Value| -> String {
                f.split('.')
                    .try_fold(v, |v, k| v.get(k))
                    .map_or_else(|| "(unset)".to_string(), ToString::to_string)
            };
            println!("  {f}: {} -> {}", pick(&old), pick(&new));
        }
    }
    Ok(if any {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use planner::Blocker;

    #[test]
    fn a_refused_plan_never_says_no_changes() {
        let mut plan = Plan::default();
        assert!(render(&plan).contains("No changes"));
        plan.blockers.push(Blocker {
            message: "volume `p_data` exists with another definition".into(),
            hint: "keep the old definition".into(),
        });
        let text = render(&plan);
        assert!(!text.contains("No changes"), "{text}");
        assert!(text.contains("Refused: 1 problem above"), "{text}");
    }
}
