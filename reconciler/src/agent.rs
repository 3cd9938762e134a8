//! The agent's loop: keep a project healed until told to stop.
//!
//! Each turn runs one [`Healer::reconcile`] pass, then waits for whichever
//! comes first: an engine event about the project (debounced, so a burst
//! of `die`/`destroy`/`start` events makes one pass), the pass's requeue
//! time (a pending backoff), a periodic resync, or shutdown. When the
//! events stream breaks (the engine restarted, the connection dropped),
//! it is opened again with a doubling backoff, and the next pass re-lists
//! everything, so nothing that happened in between is missed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use schema::Project;
use tokio_util::sync::CancellationToken;

use crate::engine::Engine;
use crate::heal::{Entry, Healer};

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
            debounce: Duration::from_millis(50),
            reconnect: Duration::from_millis(500),
            follow_up: Duration::from_millis(300),
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
    let mut events = None;
    let mut reconnect_wait = timing.reconnect;
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
            if events.is_none() {
                events = Some(engine.events(&project.name.clone().unwrap_or_default()));
            }
            let stopped = host.stopped();
            match healer.reconcile(project, files, &stopped).await {
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
                    requeue = reconnect_wait;
                }
            }
        }
        let Some(stream) = events.as_mut() else {
            tokio::select! {
                _ = tokio::time::sleep(requeue) => continue,
                _ = shutdown.cancelled() => return,
            }
        };
        tokio::select! {
            next = stream.next() => match next {
                Some(Ok(_)) => {
                    reconnect_wait = timing.reconnect;
                    follow_up = true;
                    // Let the rest of a burst arrive (until it has been quiet
                    // for `debounce`), then make one pass.
                    loop {
                        tokio::select! {
                            more = stream.next() => if !matches!(more, Some(Ok(_))) { events = None; break },
                            _ = tokio::time::sleep(timing.debounce) => break,
                        }
                    }
                }
                Some(Err(_)) | None => {
                    tracing::warn!("engine events stream ended; reopening in {reconnect_wait:?}");
                    events = None;
                    tokio::select! {
                        _ = tokio::time::sleep(reconnect_wait) => {}
                        _ = shutdown.cancelled() => return,
                    }
                    reconnect_wait = (reconnect_wait * 2).min(Duration::from_secs(30));
                }
            },
            _ = tokio::time::sleep(requeue) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}
