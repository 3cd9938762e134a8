//! Waiting on the engine's events for a project, the way both of the
//! agent's loops (healing and DNS) need it: a burst of events wakes the
//! caller once, and a broken stream (the engine restarted, the connection
//! dropped) is reopened after a doubling backoff. The caller reads the
//! whole state again after every wake, so nothing that happened while the
//! stream was down is missed.

use std::sync::Arc;
use std::time::Duration;

use futures::stream::BoxStream;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use reconciler::engine::{Engine, EngineEvent, Result};

/// Longest wait before reopening a broken stream.
const MAX_REOPEN_WAIT: Duration = Duration::from_secs(30);

/// A burst that never goes quiet still wakes the caller this soon, so a
/// busy engine cannot starve it.
const MAX_BURST: Duration = Duration::from_secs(1);

/// How many events a wake keeps for [`EventWatch::take_events`].
const MAX_KEPT: usize = 1024;

/// Why [`EventWatch::wait`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Events arrived (a whole burst).
    Events,
    /// The stream broke and was given up for now; it reopens on the next wait.
    Reopen,
    /// The timeout passed.
    Timeout,
    /// Shutdown was asked for.
    Shutdown,
}

/// An events subscription of one project (`""`: every project).
pub struct EventWatch {
    engine: Arc<dyn Engine>,
    project: String,
    stream: Option<BoxStream<'static, Result<EngineEvent>>>,
    first_wait: Duration,
    reopen_wait: Duration,
    /// Events seen since the last [`EventWatch::take_events`] (the newest
    /// [`MAX_KEPT`]).
    seen: Vec<EngineEvent>,
}

impl EventWatch {
    /// Watch `project`'s events on `engine`; a broken stream is reopened
    /// after `first_wait`, doubling up to 30 s while it keeps breaking.
    pub fn new(engine: Arc<dyn Engine>, project: &str, first_wait: Duration) -> EventWatch {
        EventWatch {
            engine,
            project: project.to_string(),
            stream: None,
            first_wait,
            reopen_wait: first_wait,
            seen: Vec::new(),
        }
    }

    /// Subscribe now unless subscribed: call before reading the state, so
    /// that what changes after the read wakes the next wait.
    pub fn open(&mut self) {
        if self.stream.is_none() {
            self.stream = Some(self.engine.events(&self.project));
        }
    }

    /// The current wait before reopening a broken stream (a caller whose
    /// engine calls fail can wait as long).
    pub fn reopen_wait(&self) -> Duration {
        self.reopen_wait
    }

    /// The events seen by the waits since the last call, oldest first.
    pub fn take_events(&mut self) -> Vec<EngineEvent> {
        std::mem::take(&mut self.seen)
    }

    fn keep(&mut self, event: EngineEvent) {
        if self.seen.len() == MAX_KEPT {
            self.seen.remove(0);
        }
        self.seen.push(event);
    }

    /// Wait for events (then for the rest of their burst: until `quiet`
    /// passes without one, or [`MAX_BURST`] at most), for `timeout`, or
    /// for `shutdown`.
    pub async fn wait(
        &mut self,
        timeout: Duration,
        quiet: Duration,
        shutdown: &CancellationToken,
    ) -> Wake {
        self.open();
        let Some(stream) = self.stream.as_mut() else {
            return Wake::Reopen;
        };
        tokio::select! {
            next = stream.next() => match next {
                Some(Ok(first)) => {
                    self.reopen_wait = self.first_wait;
                    let mut burst = vec![first];
                    let cap = tokio::time::sleep(MAX_BURST);
                    tokio::pin!(cap);
                    loop {
                        tokio::select! {
                            more = stream.next() => match more {
                                Some(Ok(e)) => burst.push(e),
                                _ => {
                                    self.stream = None;
                                    break;
                                }
                            },
                            _ = tokio::time::sleep(quiet) => break,
                            _ = &mut cap => break,
                        }
                    }
                    for e in burst {
                        self.keep(e);
                    }
                    Wake::Events
                }
                Some(Err(_)) | None => {
                    tracing::warn!("engine events stream ended; reopening in {:?}", self.reopen_wait);
                    self.stream = None;
                    tokio::select! {
                        _ = tokio::time::sleep(self.reopen_wait) => {}
                        _ = shutdown.cancelled() => return Wake::Shutdown,
                    }
                    self.reopen_wait = (self.reopen_wait * 2).min(MAX_REOPEN_WAIT);
                    Wake::Reopen
                }
            },
            _ = tokio::time::sleep(timeout) => Wake::Timeout,
            _ = shutdown.cancelled() => Wake::Shutdown,
        }
    }
}
