//! How results look: plans (one line per step with its reason, as
//! Terraform prints them) and the application layer's errors.

use app::AppError;
use planner::{Blocker, BlockerKind, Change, EngineKind, Plan};

/// The marker of a step, by its verb.
fn marker(verb: &str) -> &'static str {
    match verb {
        "create" => "+",
        "recreate" | "rename" => "~",
        "start" | "restart" => ">",
        "remove" => "-",
        _ => "*",
    }
}

/// A plan for people: one line per step with its reason, then a summary.
pub fn plan_text<A: Change>(plan: &Plan<A>) -> String {
    let mut out = String::new();
    let width = plan
        .steps
        .iter()
        .map(|s| s.action.verb().len() + 1 + s.action.subject().len())
        .max()
        .unwrap_or(0);
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for s in &plan.steps {
        let word = s.action.verb();
        let mark = marker(word);
        *counts.entry(word).or_default() += 1;
        let what = format!("{} {}", s.action.verb(), s.action.subject());
        out.push_str(&format!("{mark} {what:<width$}  {}\n", s.reason));
    }
    for w in &plan.warnings {
        out.push_str(&format!("! {w}\n"));
    }
    for b in &plan.blockers {
        out.push_str(&format!("✘ {}\n{}", b.message, help(b, plan.engine)));
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

/// A blocker's hint, and the command of the engine in use that does
/// what it says, where there is one: `  = help: ...` lines.
fn help(b: &Blocker, engine: EngineKind) -> String {
    let mut out = format!("  = help: {}\n", b.hint);
    let tool = match engine {
        EngineKind::Docker => "docker",
        EngineKind::Podman => "podman",
        EngineKind::Fake => return out,
    };
    let name = &b.subject;
    let command = match b.kind {
        BlockerKind::MissingNetwork => format!("{tool} network create {name}"),
        BlockerKind::MissingVolume => format!("{tool} volume create {name}"),
        BlockerKind::VolumeChanged => format!(
            "{tool} run --rm -v {name}:/from -v \"$PWD/{name}-backup\":/to busybox:1.36 cp -a /from/. /to/"
        ),
        _ => return out,
    };
    out.push_str(&format!("  = e.g.: `{command}`\n"));
    out
}

/// Print an error of the application layer: load reports as they are,
/// each blocker with its hint, the rest as `error: ...`.
pub fn error(e: &AppError) {
    match e {
        AppError::Load(report) => eprintln!("{report}"),
        AppError::Refused { blockers, engine } => {
            for b in blockers {
                eprint!("error: {}\n{}", b.message, help(b, *engine));
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

    #[test]
    fn a_refused_plan_never_says_no_changes() {
        let mut plan: Plan = Plan::default();
        assert!(plan_text(&plan).contains("No changes"));
        plan.blockers.push(Blocker {
            kind: BlockerKind::VolumeChanged,
            subject: "p_data".into(),
            message: "volume `p_data` exists with another definition".into(),
            hint: "keep the old definition".into(),
        });
        let text = plan_text(&plan);
        assert!(!text.contains("No changes"), "{text}");
        assert!(text.contains("Refused: 1 problem above"), "{text}");
    }

    #[test]
    fn advice_names_the_command_of_the_engine_in_use() {
        let missing = Blocker {
            kind: BlockerKind::MissingNetwork,
            subject: "proxy".into(),
            message: "external network `proxy` does not exist".into(),
            hint: "create it first".into(),
        };
        assert!(help(&missing, EngineKind::Docker).contains("`docker network create proxy`"));
        assert!(help(&missing, EngineKind::Podman).contains("`podman network create proxy`"));
        assert!(!help(&missing, EngineKind::Fake).contains("e.g."));
    }
}
