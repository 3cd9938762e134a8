//! Progress of a running plan: one line per resource with its state and
//! elapsed time on a terminal, plain lines otherwise, JSON events for
//! machines, nothing with `--quiet`.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use planner::{Plan, Step};
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
    multi: MultiProgress,
    bars: Mutex<BTreeMap<usize, ProgressBar>>,
}

impl Reporter {
    /// A reporter in `mode`.
    pub fn new(mode: Mode) -> Self {
        Reporter {
            mode,
            yes: false,
            multi: MultiProgress::new(),
            bars: Mutex::new(BTreeMap::new()),
        }
    }

    /// Answer yes to every question (`-y`).
    pub fn assume_yes(self, yes: bool) -> Self {
        Reporter { yes, ..self }
    }

    /// This reporter as the application layer's sink.
    pub fn sink(self) -> std::sync::Arc<dyn app::Sink> {
        std::sync::Arc::new(self)
    }

    /// A message outside any step (pulls, builds, notes).
    fn print_note(&self, message: &str) {
        match self.mode {
            Mode::Quiet => {}
            Mode::Json => eprintln!("{}", serde_json::json!({ "note": message })),
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

impl Progress for Reporter {
    fn update(&self, index: usize, step: &Step, status: StepStatus) {
        let verb = step.action.verb();
        let subject = step.action.subject();
        match self.mode {
            Mode::Quiet => {}
            Mode::Json => {
                let (state, extra) = match &status {
                    StepStatus::Waiting(m) => ("waiting", serde_json::json!(m)),
                    StepStatus::Running => ("running", serde_json::json!(step.reason)),
                    StepStatus::Done(d) => ("done", serde_json::json!(d.as_millis() as u64)),
                    StepStatus::Failed(e) => ("failed", serde_json::json!(e)),
                };
                eprintln!(
                    "{}",
                    serde_json::json!({"step": index, "action": verb, "subject": subject, "status": state, "detail": extra})
                );
            }
            Mode::Plain => match &status {
                StepStatus::Waiting(m) => eprintln!("{verb} {subject}: {m}"),
                StepStatus::Running => eprintln!("{verb} {subject} ({})", step.reason),
                StepStatus::Done(d) => eprintln!("{verb} {subject}: done in {}", secs(*d)),
                StepStatus::Failed(e) => eprintln!("{verb} {subject}: failed: {e}"),
            },
            Mode::Terminal => {
                let bar = self.bar(index);
                match &status {
                    StepStatus::Waiting(m) => bar.set_message(format!("{verb} {subject}  {m}")),
                    StepStatus::Running => {
                        bar.set_message(format!("{verb} {subject}  ({})", step.reason))
                    }
                    StepStatus::Done(d) => {
                        bar.finish_with_message(format!("✔ {verb} {subject}  {}", secs(*d)))
                    }
                    StepStatus::Failed(e) => {
                        bar.finish_with_message(format!("✘ {verb} {subject}  {e}"))
                    }
                }
            }
        }
    }
}
