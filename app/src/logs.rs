//! Container output: the logs of a project's containers, merged into one
//! stream in arrival order, each chunk tagged with its container, and the
//! end of each container's output (it stopped) told apart.

use futures::stream::{self, select_all, BoxStream, StreamExt};
use planner::ObservedContainer;
use reconciler::engine::{LogLine, LogOptions};
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

/// The merged output of some containers.
pub struct Logs {
    /// The containers, by name; events name them by index.
    pub containers: Vec<ObservedContainer>,
    merged: BoxStream<'static, (usize, Option<reconciler::engine::Result<LogLine>>)>,
}

impl Logs {
    /// The output of the session's containers `target` names.
    pub async fn open(session: &Session, target: &Target, options: LogOptions) -> Result<Logs> {
        let engine = session.engine.clone();
        let mut containers = select(session, target).await?;
        containers.sort_by(|a, b| a.name.cmp(&b.name));
        let streams: Vec<_> = containers
            .iter()
            .enumerate()
            .map(|(i, c)| {
                engine
                    .logs(&c.id, options.clone())
                    .map(move |chunk| (i, Some(chunk)))
                    .chain(stream::once(async move { (i, None) }))
                    .boxed()
            })
            .collect();
        Ok(Logs {
            containers,
            merged: select_all(streams).boxed(),
        })
    }

    /// The containers' names, by index.
    pub fn names(&self) -> Vec<String> {
        self.containers.iter().map(|c| c.name.clone()).collect()
    }

    /// The next event; `None` once every stream ended or `cancel` fired.
    pub async fn next(&mut self, cancel: &CancellationToken) -> Option<Result<Event>> {
        let next = tokio::select! {
            n = self.merged.next() => n,
            _ = cancel.cancelled() => None,
        };
        next.map(|(i, chunk)| match chunk {
            Some(chunk) => Ok(Event::Line(i, chunk?)),
            None => Ok(Event::Ended(i)),
        })
    }
}
