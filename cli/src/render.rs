//! How results look: plans (one line per step with its reason, as
//! Terraform prints them) and the application layer's errors.

use app::AppError;
use planner::{Action, Plan};

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
pub fn plan_text(plan: &Plan) -> String {
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

/// Print an error of the application layer: load reports as they are,
/// each blocker with its hint, the rest as `error: ...`.
pub fn error(e: &AppError) {
    match e {
        AppError::Load(report) => eprintln!("{report}"),
        AppError::Refused(blockers) => {
            for b in blockers {
                eprintln!("error: {}\n  = help: {}", b.message, b.hint);
            }
        }
        AppError::Declined => eprintln!("{e}"),
        AppError::Cancelled => {}
        other => eprintln!("error: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use planner::Blocker;

    #[test]
    fn a_refused_plan_never_says_no_changes() {
        let mut plan = Plan::default();
        assert!(plan_text(&plan).contains("No changes"));
        plan.blockers.push(Blocker {
            message: "volume `p_data` exists with another definition".into(),
            hint: "keep the old definition".into(),
        });
        let text = plan_text(&plan);
        assert!(!text.contains("No changes"), "{text}");
        assert!(text.contains("Refused: 1 problem above"), "{text}");
    }
}
