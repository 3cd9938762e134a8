//! Container output: the logs of a project's containers, merged into one
//! stream in arrival order, each chunk tagged with its container, and the
//! end of each container's output (it stopped) told apart. Following, it
//! also picks up the containers that start afterwards (a scale, a heal, a
//! replacement, a restart), as Compose does.

use std::collections::BTreeSet;

use futures::stream::{self, BoxStream, SelectAll, StreamExt};
use planner::{labels, ObservedContainer};
use reconciler::engine::{EngineEvent, LogLine, LogOptions};
use tokio_util::sync::CancellationToken;

use crate::containers::{select, Target};
use crate::{Result, Session};

/// What the merged output brings next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A chunk of container `.0`'s output.
    Line(usize, LogLine),
    /// Container `.0`'s output ended: it stopped.
    Ended(usize),
}

type Chunks = BoxStream<'static, (usize, Option<reconciler::engine::Result<LogLine>>)>;

/// The merged output of some containers.
pub struct Logs {
    /// The containers, in the order they were first followed; events name
    /// them by index.
    pub containers: Vec<ObservedContainer>,
    engine: std::sync::Arc<dyn reconciler::Engine>,
    target: Target,
    options: LogOptions,
    merged: SelectAll<Chunks>,
    /// Containers whose output is being read now.
    reading: BTreeSet<String>,
    /// When following: the project's engine events, to pick up starts.
    starts: Option<BoxStream<'static, reconciler::engine::Result<EngineEvent>>>,
}

impl Logs {
    /// The output of the session's containers `target` names.
    pub async fn open(session: &Session, target: &Target, options: LogOptions) -> Result<Logs> {
        // Subscribed before listing, so a start in between is not missed.
        let mut starts = options
            .follow
            .then(|| session.engine.events(&session.name()));
        if let Some(events) = starts.as_mut() {
            // Docker subscribes when the stream is first polled.
            let _ = futures::poll!(events.next());
        }
        let mut containers = select(session, target).await?;
        containers.sort_by(|a, b| a.name.cmp(&b.name));
        let mut logs = Logs {
            containers: Vec::new(),
            engine: session.engine.clone(),
            target: target.clone(),
            options,
            merged: SelectAll::new(),
            reading: BTreeSet::new(),
            starts,
        };
        for c in containers {
            logs.read(c, None);
        }
        Ok(logs)
    }

    /// The containers' names, by index.
    pub fn names(&self) -> Vec<String> {
        self.containers.iter().map(|c| c.name.clone()).collect()
    }

    /// Read `c`'s output (from `since`, Unix seconds, when given).
    fn read(&mut self, c: ObservedContainer, since: Option<i64>) {
        let index = match self.containers.iter().position(|k| k.id == c.id) {
            Some(i) => i,
            None => {
                self.containers.push(c.clone());
                self.containers.len() - 1
            }
        };
        let mut options = self.options.clone();
        if since.is_some() {
            options.since = since;
            options.tail = None;
        }
        self.reading.insert(c.id.clone());
        let chunks = self
            .engine
            .logs(&c.id, options)
            .map(move |chunk| (index, Some(chunk)))
            .chain(stream::once(async move { (index, None) }))
            .boxed();
        self.merged.push(chunks);
    }

    /// A container of the target started: follow it, unless already.
    async fn started(&mut self, event: &EngineEvent) -> Result<()> {
        if self.reading.contains(&event.id) {
            return Ok(());
        }
        let service = event.attributes.get(labels::SERVICE);
        let replica = event
            .attributes
            .get(labels::REPLICA)
            .and_then(|r| r.parse::<u32>().ok());
        let wanted = service
            .is_some_and(|s| self.target.services.is_empty() || self.target.services.contains(s))
            && self.target.index.is_none_or(|i| Some(i) == replica);
        if !wanted {
            return Ok(());
        }
        let project = event
            .attributes
            .get(labels::PROJECT)
            .cloned()
            .unwrap_or_default();
        let listed = self.engine.list_containers(&project).await?;
        if let Some(c) = listed.into_iter().find(|c| c.id == event.id) {
            // A new container's output from its beginning; a restarted
            // one's from now (its earlier output was shown already).
            let known = self.containers.iter().any(|k| k.id == c.id);
            let since = known.then(unix_now);
            self.read(c, since);
        }
        Ok(())
    }

    /// The next event; `None` once no container's output is being read
    /// (all stopped) or `cancel` fired.
    pub async fn next(&mut self, cancel: &CancellationToken) -> Option<Result<Event>> {
        loop {
            if self.merged.is_empty() {
                return None;
            }
            let start = async {
                match self.starts.as_mut() {
                    Some(events) => events.next().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                chunk = self.merged.next() => {
                    let (i, chunk) = chunk?;
                    return Some(match chunk {
                        Some(chunk) => chunk.map(|line| Event::Line(i, line)).map_err(Into::into),
                        None => {
                            if let Some(c) = self.containers.get(i) {
                                self.reading.remove(&c.id);
                            }
                            Ok(Event::Ended(i))
                        }
                    });
                }
                event = start => match event {
                    Some(Ok(e)) if e.kind == "container" && e.action == "start" => {
                        if let Err(err) = self.started(&e).await {
                            return Some(Err(err));
                        }
                    }
                    Some(Ok(_)) => {}
                    // The events stream broke: go on with what is followed.
                    Some(Err(_)) | None => self.starts = None,
                },
                () = cancel.cancelled() => return None,
            }
        }
    }
}

/// Now, in Unix seconds.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
