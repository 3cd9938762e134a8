//! The agent's loop: keep a project healed until told to stop.
//!
//! Each turn runs one [`Healer::reconcile`] pass, then waits for whichever
//! comes first: an engine event about the project (debounced, so a burst
//! of `die`/`destroy`/`start` events makes one pass), the pass's requeue
//! time (a pending backoff), a periodic resync, or shutdown. A broken
//! events stream is reopened with a doubling backoff ([`EventWatch`]), and
//! the next pass re-lists everything, so nothing in between is missed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use schema::Project;
use tokio_util::sync::CancellationToken;

use crate::heal::{Entry, Healer};
use crate::watch::{EventWatch, Wake};
use reconciler::engine::Engine;

/// What the loop needs from its host (the CLI, or a test).
pub trait AgentHost: Send {
    /// The project as it should run now (reloaded each pass, so a `stack
    /// up` with an edited file is followed), with its secret digests.
    /// `None` keeps the previous one (e.g. the file is being edited).
    fn load(&mut self) -> Option<(Arc<Project>, BTreeMap<String, String>)>;
    /// Services the user stopped: never acted on.
    fn stopped(&mut self) -> BTreeSet<String>;
    /// Something was done.
    fn record(&mut self, entry: &Entry);
    /// Take the project's lock for one pass without waiting; `None` while
    /// a `stack` command holds it (the pass is then put off).
    fn lock(&mut self) -> Option<Box<dyn Send>>;
}

/// Timings of the loop.
#[derive(Debug, Clone, Copy)]
pub struct LoopTiming {
    /// Look at everything at least this often, events or not.
    pub resync: Duration,
    /// Gather events for this long before a pass.
    pub debounce: Duration,
    /// First wait before reopening a broken events stream (doubles to 30 s).
    pub reconnect: Duration,
    /// A second look this long after a pass woken by events.
    pub follow_up: Duration,
}

impl Default for LoopTiming {
    fn default() -> Self {
        LoopTiming {
            resync: Duration::from_secs(30),
            // The engine lists a container as exited a little after its
            // `die` event: a pass 100 ms after a burst usually sees it,
            // and the follow-up 100 ms later catches the rest (bench/heal.sh:
            // p50 from ~830 ms with 50/300 ms to ~500 ms).
            debounce: Duration::from_millis(100),
            reconnect: Duration::from_millis(500),
            follow_up: Duration::from_millis(100),
        }
    }
}

/// Run until `shutdown` is cancelled.
pub async fn run(
    engine: Arc<dyn Engine>,
    mut healer: Healer,
    host: &mut dyn AgentHost,
    timing: LoopTiming,
    shutdown: CancellationToken,
) {
    let mut current: Option<(Arc<Project>, BTreeMap<String, String>)> = None;
    let mut watch: Option<EventWatch> = None;
    // After a pass woken by events, look once more shortly after: the
    // engine may list a state a moment after it announced it.
    let mut follow_up = false;
    loop {
        if let Some(loaded) = host.load() {
            current = Some(loaded);
        }
        let mut requeue = timing.resync;
        let guard = host.lock();
        if guard.is_none() {
            // `stack up` or `down` is at work: look again when it is done.
            requeue = timing.reconnect;
        }
        if let (Some((project, files)), Some(_guard)) = (&current, guard) {
            let name = project.project_name().to_string();
            let watch = watch
                .get_or_insert_with(|| EventWatch::new(engine.clone(), &name, timing.reconnect));
            watch.open();
            let stopped = host.stopped();
            // Shutdown does not wait for a pass: each step is idempotent,
            // and whatever a dropped pass left, the next run finishes.
            let pass = tokio::select! {
                pass = healer.reconcile(project, files, &stopped) => pass,
                _ = shutdown.cancelled() => return,
            };
            match pass {
                Ok(out) => {
                    tracing::debug!(
                        "pass done: {} action(s), next look in {:?}",
                        out.done.len(),
                        out.requeue
                    );
                    for e in &out.done {
                        host.record(e);
                    }
                    requeue = out.requeue.map_or(requeue, |r| r.min(requeue));
                    if std::mem::take(&mut follow_up) {
                        requeue = requeue.min(timing.follow_up);
                    }
                }
                Err(e) => {
                    tracing::warn!("cannot read the engine: {e}; trying again");
                    requeue = watch.reopen_wait();
                }
            }
        }
        let Some(watch) = watch.as_mut() else {
            tokio::select! {
                _ = tokio::time::sleep(requeue) => continue,
                _ = shutdown.cancelled() => return,
            }
        };
        let wake = watch.wait(requeue, timing.debounce, &shutdown).await;
        for event in watch.take_events() {
            healer.saw(&event);
        }
        match wake {
            Wake::Events => follow_up = true,
            Wake::Shutdown => return,
            Wake::Reopen | Wake::Timeout => {}
        }
    }
}
