//! Progress of a running plan, in Compose's words: `Container NAME` /
//! `Network NAME` / `Volume NAME` with `Creating`, `Created`, `Started`...
//! Live lines with the elapsed time on a terminal, plain lines otherwise
//! (` Container p-web-1  Created`, as `docker compose --progress plain`),
//! JSON events for machines (`{"id": ..., "status": ...}`, as
//! `--progress json`), nothing with `--quiet`. Beyond Compose, a step's
//! reason goes with it: after its line in parentheses, or as `details`.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use planner::{Action, Plan, Step};
use reconciler::{Progress, StepStatus};

/// How to show progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Live lines on a terminal.
    Terminal,
    /// One line per change.
    Plain,
    /// One JSON object per change.
    Json,
    /// Nothing.
    Quiet,
}

/// `--progress`: how progress is shown, for every command.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressArg {
    /// Live lines on a terminal, plain lines otherwise.
    #[default]
    Auto,
    /// Live lines.
    Tty,
    /// One line per change.
    Plain,
    /// One JSON object per change.
    Json,
    /// Nothing.
    Quiet,
}

static PROGRESS: std::sync::OnceLock<ProgressArg> = std::sync::OnceLock::new();

/// Set `--progress` for the process (once, at start).
pub fn set_progress(progress: ProgressArg) {
    let _ = PROGRESS.set(progress);
}

impl Mode {
    /// Pick the mode from the command's flags, then `--progress`, then
    /// whether stdout is a terminal.
    pub fn choose(quiet: bool, json: bool) -> Mode {
        match PROGRESS.get().copied().unwrap_or_default() {
            _ if quiet => Mode::Quiet,
            _ if json => Mode::Json,
            ProgressArg::Quiet => Mode::Quiet,
            ProgressArg::Json => Mode::Json,
            ProgressArg::Plain => Mode::Plain,
            ProgressArg::Tty => Mode::Terminal,
            ProgressArg::Auto if std::io::stdout().is_terminal() => Mode::Terminal,
            ProgressArg::Auto => Mode::Plain,
        }
    }
}

/// Prints progress in one of the [`Mode`]s.
pub struct Reporter {
    mode: Mode,
    yes: bool,
    no_start: bool,
    multi: MultiProgress,
    bars: Mutex<BTreeMap<usize, ProgressBar>>,
}

impl Reporter {
    /// A reporter in `mode`.
    pub fn new(mode: Mode) -> Self {
        Reporter {
            mode,
            yes: false,
            no_start: false,
            multi: MultiProgress::new(),
            bars: Mutex::new(BTreeMap::new()),
        }
    }

    /// Answer yes to every question (`-y`).
    pub fn assume_yes(self, yes: bool) -> Self {
        Reporter { yes, ..self }
    }

    /// Containers are created, not started (`create`, `up --no-start`).
    pub fn no_start(self, no_start: bool) -> Self {
        Reporter { no_start, ..self }
    }

    /// This reporter as the application layer's sink.
    pub fn sink(self) -> std::sync::Arc<dyn app::Sink> {
        std::sync::Arc::new(self)
    }

    /// A message outside any step (pulls, builds, notes).
    fn print_note(&self, message: &str) {
        match self.mode {
            Mode::Quiet => {}
            // Compose's "tail" messages.
            Mode::Json => eprintln!("{}", serde_json::json!({ "tail": true, "text": message })),
            Mode::Terminal => {
                let _ = self.multi.println(message);
            }
            Mode::Plain => eprintln!("{message}"),
        }
    }

    fn bar(&self, index: usize) -> ProgressBar {
        let mut bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
        bars.entry(index)
            .or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template(" {spinner} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.enable_steady_tick(Duration::from_millis(100));
                bar
            })
            .clone()
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

impl app::Sink for Reporter {
    fn note(&self, message: &str) {
        self.print_note(message);
    }

    fn status(&self, message: &str) {
        eprintln!("{message}");
    }

    fn plan(&self, plan: &Plan) {
        self.print_note(crate::render::plan_text(plan).trim_end());
    }

    fn confirm(&self, question: &str) -> bool {
        use std::io::{BufRead, Write};
        if self.yes || !std::io::stdin().is_terminal() {
            return true;
        }
        // A person answers: the wait must not hold a runtime thread.
        tokio::task::block_in_place(|| {
            eprint!("{question} [y/N] ");
            let _ = std::io::stderr().flush();
            let mut answer = String::new();
            if std::io::stdin().lock().read_line(&mut answer).is_err() {
                return false;
            }
            matches!(answer.trim(), "y" | "Y" | "yes")
        })
    }

    fn error(&self, error: &app::AppError) {
        crate::render::error(error);
    }

    fn diagnostics(&self, diagnostics: &[schema::Diagnostic]) {
        crate::project::print_diagnostics(diagnostics);
    }
}

/// How Compose names what a step is about, what it says while the step
/// runs, and what it says once it is done.
struct Words {
    id: String,
    working: &'static str,
    done: &'static [&'static str],
}

impl Words {
    fn of(action: &Action, no_start: bool) -> Words {
        let (id, working, done): (String, &'static str, &'static [&'static str]) = match action {
            Action::CreateNetwork { network, .. } => (
                format!("Network {}", network.name),
                "Creating",
                &["Created"],
            ),
            Action::RecreateNetwork { network, .. } => (
                format!("Network {}", network.name),
                "Recreate",
                &["Recreated"],
            ),
            Action::RemoveNetwork { name } => (format!("Network {name}"), "Removing", &["Removed"]),
            Action::CreateVolume { volume, .. } => {
                (format!("Volume {}", volume.name), "Creating", &["Created"])
            }
            Action::RecreateVolume { volume, .. } => (
                format!("Volume {}", volume.name),
                "Recreate",
                &["Recreated"],
            ),
            Action::RemoveVolume { name } => (format!("Volume {name}"), "Removing", &["Removed"]),
            Action::CreateContainer { spec } if no_start => {
                (format!("Container {}", spec.name), "Creating", &["Created"])
            }
            Action::CreateContainer { spec } => (
                format!("Container {}", spec.name),
                "Creating",
                &["Created", "Started"],
            ),
            Action::RecreateContainer { spec, .. } if no_start => (
                format!("Container {}", spec.name),
                "Recreate",
                &["Recreated"],
            ),
            Action::RecreateContainer { spec, .. } => (
                format!("Container {}", spec.name),
                "Recreate",
                &["Recreated", "Started"],
            ),
            // Finishing a rename an interrupted run left: stack's own.
            Action::AdoptContainer { spec, .. } => {
                (format!("Container {}", spec.name), "Renaming", &["Renamed"])
            }
            Action::StartContainer { name, .. } => {
                (format!("Container {name}"), "Starting", &["Started"])
            }
            Action::RestartContainer { name, .. } => {
                (format!("Container {name}"), "Restarting", &["Restarted"])
            }
            Action::RemoveContainer { name, .. } => (
                format!("Container {name}"),
                "Stopping",
                &["Stopped", "Removed"],
            ),
        };
        Words { id, working, done }
    }
}

impl Progress for Reporter {
    fn update(&self, index: usize, step: &Step, status: StepStatus) {
        let Words { id, working, done } = Words::of(&step.action, self.no_start);
        match self.mode {
            Mode::Quiet => {}
            Mode::Json => {
                let event = |status: &str, details: &str| {
                    let mut event = serde_json::json!({"id": id, "status": status});
                    if !details.is_empty() {
                        event["details"] = details.into();
                    }
                    eprintln!("{event}");
                };
                match &status {
                    StepStatus::Waiting(on) => event("Waiting", &format!("for {on}")),
                    StepStatus::Running => event(working, &step.reason),
                    StepStatus::Done(_) => done.iter().for_each(|d| event(d, "")),
                    StepStatus::Failed(e) => event("Error", e),
                }
            }
            Mode::Plain => match &status {
                StepStatus::Waiting(on) => eprintln!(" {id}  Waiting (for {on})"),
                StepStatus::Running => eprintln!(" {id}  {working} ({})", step.reason),
                StepStatus::Done(_) => done.iter().for_each(|d| eprintln!(" {id}  {d}")),
                StepStatus::Failed(e) => eprintln!(" {id}  Error {e}"),
            },
            Mode::Terminal => {
                let bar = self.bar(index);
                let last = done.last().copied().unwrap_or_default();
                match &status {
                    StepStatus::Waiting(on) => bar.set_message(format!("{id}  Waiting (for {on})")),
                    StepStatus::Running => {
                        bar.set_message(format!("{id}  {working} ({})", step.reason))
                    }
                    StepStatus::Done(d) => {
                        bar.finish_with_message(format!("✔ {id}  {last}  {}", secs(*d)))
                    }
                    StepStatus::Failed(e) => bar.finish_with_message(format!("✘ {id}  Error {e}")),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_named_and_told_in_composes_words() {
        let yaml = "services:\n  web:\n    image: busybox:1.36\n";
        let project = schema::load_str(yaml, "p").expect("loads").project;
        let desired = planner::Desired {
            project: &project,
            files: BTreeMap::new(),
        };
        let mut observed = planner::Observed::default();
        observed
            .images
            .insert("busybox:1.36".into(), "sha256:x".into());
        let plan = planner::plan_up(&desired, &observed, &planner::UpOptions::default());
        let words: Vec<(String, &str, Vec<&str>)> = plan
            .steps
            .iter()
            .map(|s| {
                let w = Words::of(&s.action, false);
                (w.id, w.working, w.done.to_vec())
            })
            .collect();
        assert_eq!(
            words,
            [
                ("Network p_default".to_string(), "Creating", vec!["Created"]),
                (
                    "Container p-web-1".to_string(),
                    "Creating",
                    vec!["Created", "Started"]
                ),
            ]
        );
        let created = Words::of(&plan.steps[1].action, true);
        assert_eq!(created.done, ["Created"], "no Started with --no-start");
    }
}
