//! Running a plan's steps in dependency order, in parallel: each step
//! starts once every step it names in `after` is done, and nothing new
//! starts after a failure or a cancel (what runs is let finish). What a
//! step does is the caller's, so any kind of [`Change`] is scheduled the
//! same way: the container executor's, and a swarm realiser's later.

use futures::future::BoxFuture;
use planner::{Change, Step};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How a run of the steps ended, step by step.
#[derive(Debug)]
pub struct Outcome<E> {
    /// Steps that were started.
    pub started: Vec<bool>,
    /// Steps that finished well.
    pub done: Vec<bool>,
    /// Steps that failed.
    pub failed: Vec<bool>,
    /// The first failure (a step's error, or the scheduler's own).
    pub failure: Option<E>,
}

impl<E> Outcome<E> {
    /// Did every step finish well?
    pub fn complete(&self) -> bool {
        self.failure.is_none() && self.done.iter().all(|d| *d)
    }

    /// The steps that a failure kept from starting, directly or through
    /// another step (steps come after what they follow, so one pass in
    /// order finds them all).
    pub fn held_back<A>(&self, steps: &[Step<A>]) -> Vec<bool> {
        let mut held = self.failed.clone();
        for (i, step) in steps.iter().enumerate() {
            if !self.started[i] && step.after.iter().any(|d| held[*d]) {
                held[i] = true;
            }
        }
        held
    }
}

/// Run `steps` with `run(index)`; `panicked` makes the error of a step
/// whose task panicked.
pub async fn in_order<A: Change, E: Send + 'static>(
    steps: &[Step<A>],
    cancel: &CancellationToken,
    run: impl Fn(usize) -> BoxFuture<'static, Result<(), E>>,
    panicked: impl Fn(String) -> E,
) -> Outcome<E> {
    let n = steps.len();
    let mut outcome = Outcome {
        started: vec![false; n],
        done: vec![false; n],
        failed: vec![false; n],
        failure: None,
    };
    let mut tasks = JoinSet::new();
    loop {
        if outcome.failure.is_none() && !cancel.is_cancelled() {
            for (i, step) in steps.iter().enumerate() {
                if !outcome.started[i] && step.after.iter().all(|d| outcome.done[*d]) {
                    outcome.started[i] = true;
                    let step = run(i);
                    tasks.spawn(async move { (i, step.await) });
                }
            }
        }
        match tasks.join_next().await {
            None => break,
            Some(Ok((i, Ok(())))) => outcome.done[i] = true,
            Some(Ok((i, Err(e)))) => {
                outcome.failed[i] = true;
                outcome.failure.get_or_insert(e);
            }
            Some(Err(join)) => {
                outcome.failure.get_or_insert(panicked(join.to_string()));
            }
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A change that is only a name.
    #[derive(Debug)]
    struct Named(&'static str);

    impl Change for Named {
        fn verb(&self) -> &'static str {
            "do"
        }
        fn subject(&self) -> String {
            self.0.to_string()
        }
        fn is_resource(&self) -> bool {
            false
        }
    }

    fn step(name: &'static str, after: Vec<usize>) -> Step<Named> {
        Step {
            action: Named(name),
            reason: String::new(),
            after,
            waits: Vec::new(),
        }
    }

    #[tokio::test]
    async fn steps_run_after_what_they_follow_and_a_failure_holds_back_the_rest() {
        // a; b after a; c after b; d alone. b fails.
        let steps = vec![
            step("a", vec![]),
            step("b", vec![0]),
            step("c", vec![1]),
            step("d", vec![]),
        ];
        let ran = Arc::new(Mutex::new(Vec::new()));
        let names = ["a", "b", "c", "d"];
        let outcome = in_order(
            &steps,
            &CancellationToken::new(),
            |i| {
                let ran = ran.clone();
                Box::pin(async move {
                    ran.lock().unwrap().push(names[i]);
                    if names[i] == "b" {
                        Err("b failed".to_string())
                    } else {
                        Ok(())
                    }
                })
            },
            |e| e,
        )
        .await;
        let ran = ran.lock().unwrap().clone();
        assert!(ran.contains(&"a") && ran.contains(&"b") && !ran.contains(&"c"));
        let a = ran.iter().position(|s| *s == "a");
        let b = ran.iter().position(|s| *s == "b");
        assert!(a < b, "{ran:?}");
        assert_eq!(outcome.failure.as_deref(), Some("b failed"));
        assert!(!outcome.complete());
        assert_eq!(outcome.held_back(&steps), vec![false, true, true, false]);
    }

    #[tokio::test]
    async fn nothing_starts_once_cancelled() {
        let steps = vec![step("a", vec![])];
        let cancel = CancellationToken::new();
        cancel.cancel();
        let outcome = in_order(
            &steps,
            &cancel,
            |_| Box::pin(async { Ok::<(), String>(()) }),
            |e| e,
        )
        .await;
        assert_eq!(outcome.started, vec![false]);
        assert!(outcome.failure.is_none() && !outcome.complete());
    }
}
