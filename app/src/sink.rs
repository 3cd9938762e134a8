//! Where a use case reports what it does: the CLI renders it for a
//! terminal, plain lines, JSON or nothing; tests collect it.

use std::sync::Arc;

use planner::Plan;
use reconciler::Progress;

/// Receives a use case's progress. Step updates come through
/// [`Progress`], the rest through these methods.
pub trait Sink: Progress + Send + Sync {
    /// A message outside any step (pulls, builds, "nothing to do").
    fn note(&self, message: &str);
    /// A status line about waiting (for a lock, for stops to land); never
    /// part of a command's result.
    fn status(&self, message: &str);
    /// A plan about to be applied, when the use case shows it first
    /// (`up --watch` after an edit).
    fn plan(&self, plan: &Plan);
    /// Ask the person at the terminal; `true` without one.
    fn confirm(&self, question: &str) -> bool;
    /// A use case that goes on after an error (a watch) reports it here.
    fn error(&self, error: &crate::AppError);
    /// Findings of a load that succeeded (lint warnings, unset variables).
    fn diagnostics(&self, diagnostics: &[schema::Diagnostic]);
}

/// A sink that drops everything and says yes: for tests and for callers
/// that report nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Progress for Silent {
    fn update(&self, _: usize, _: &planner::Step, _: reconciler::StepStatus) {}
}

impl Sink for Silent {
    fn note(&self, _: &str) {}
    fn status(&self, _: &str) {}
    fn plan(&self, _: &Plan) {}
    fn confirm(&self, _: &str) -> bool {
        true
    }
    fn error(&self, _: &crate::AppError) {}
    fn diagnostics(&self, _: &[schema::Diagnostic]) {}
}

/// A sink as an executor's progress.
pub fn steps(sink: &Arc<dyn Sink>) -> Arc<dyn Progress> {
    Arc::new(Steps(sink.clone()))
}

struct Steps(Arc<dyn Sink>);

impl Progress for Steps {
    fn update(&self, index: usize, step: &planner::Step, status: reconciler::StepStatus) {
        self.0.update(index, step, status);
    }
}
