//! Container output: the logs of a project's containers, merged into one
//! stream in arrival order, each chunk tagged with its container.

use futures::stream::{select_all, BoxStream, StreamExt};
use reconciler::engine::{LogLine, LogOptions};
use tokio_util::sync::CancellationToken;

use crate::{Result, Session};

/// The merged output of some containers.
pub struct Logs {
    /// The containers' names, sorted; chunks name them by index.
    pub containers: Vec<String>,
    merged: BoxStream<'static, (usize, reconciler::engine::Result<LogLine>)>,
}

impl Logs {
    /// The output of the session's containers of `services` (all when empty).
    pub async fn open(session: &Session, services: &[String], options: LogOptions) -> Result<Logs> {
        let engine = session.engine.clone();
        let mut containers = engine.list_containers(&session.name()).await?;
        containers.retain(|c| services.is_empty() || services.contains(&c.service));
        containers.sort_by(|a, b| a.name.cmp(&b.name));
        let streams = containers.iter().enumerate().map(|(i, c)| {
            engine
                .logs(&c.id, options.clone())
                .map(move |chunk| (i, chunk))
                .boxed()
        });
        Ok(Logs {
            containers: containers.iter().map(|c| c.name.clone()).collect(),
            merged: select_all(streams).boxed(),
        })
    }

    /// The next chunk and the index of its container; `None` once every
    /// stream ended or `cancel` fired.
    pub async fn next(&mut self, cancel: &CancellationToken) -> Option<Result<(usize, LogLine)>> {
        let next = tokio::select! {
            n = self.merged.next() => n,
            _ = cancel.cancelled() => None,
        };
        next.map(|(i, chunk)| Ok((i, chunk?)))
    }
}
