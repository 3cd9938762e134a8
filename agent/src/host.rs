//! The agent in this process: it takes the agent lock, heals the project
//! as the last `stack up` applied it (see [`crate::files::AppliedRun`]),
//! serves its DNS, and keeps a history of what it did.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reconciler::lock::{LockError, ProjectLock};
use reconciler::Engine;
use schema::Project;
use tokio_util::sync::CancellationToken;

use crate::dns_feed::{self, DnsOptions};
use crate::files::AgentFiles;
use crate::heal::{Backoff, Entry, Healer, SystemClock, HISTORY_LEN};
use crate::runtime::{AgentHost, LoopTiming};
use crate::{AgentError, Options};

/// Reloads the stack every pass and writes the history file.
struct Host {
    /// How to load the files when no `up` has been recorded yet.
    fallback: schema::Options,
    project: String,
    files: AgentFiles,
    history: Vec<Entry>,
    load_failed: bool,
}

impl Host {
    /// The model the last `up` applied, loaded from its record, with its
    /// scale and digests.
    fn applied(&self) -> Option<(Arc<Project>, BTreeMap<String, String>)> {
        let run = self.files.applied()?;
        let mut project = match schema::load_guarded(&run.options()) {
            Ok(loaded) => loaded.project,
            Err(report) => {
                tracing::warn!("the record of the last `stack up` does not load:\n{report}");
                return None;
            }
        };
        if let Err(e) = project.apply_scale(&run.scale) {
            tracing::warn!("the record of the last `stack up`: {e}");
            return None;
        }
        Some((Arc::new(project), run.digests))
    }
}

impl AgentHost for Host {
    fn load(&mut self) -> Option<(Arc<Project>, BTreeMap<String, String>)> {
        // What the last `up` applied, once one did; the files themselves
        // only before that (an agent started on its own, or by systemd).
        if let Some(applied) = self.applied() {
            return Some(applied);
        }
        match schema::load_guarded(&self.fallback) {
            Ok(loaded) => {
                self.load_failed = false;
                let environment = &self.fallback.environment;
                let files = match reconciler::files::prepare(&loaded.project, environment) {
                    Ok(files) => files,
                    Err(e) => {
                        tracing::warn!("{e}; healing with the last good stack file");
                        return None;
                    }
                };
                Some((Arc::new(loaded.project), files))
            }
            Err(diags) => {
                if !self.load_failed {
                    tracing::warn!(
                        "the stack file does not load; healing with the last good one:\n{diags}"
                    );
                }
                self.load_failed = true;
                None
            }
        }
    }

    fn lock(&mut self) -> Option<Box<dyn Send>> {
        ProjectLock::acquire(&self.project, "agent")
            .ok()
            .map(|l| Box::new(l) as Box<dyn Send>)
    }

    fn stopped(&mut self) -> BTreeSet<String> {
        self.files.stopped()
    }

    fn record(&mut self, entry: &Entry) {
        self.history.push(entry.clone());
        if self.history.len() > HISTORY_LEN {
            self.history.drain(..self.history.len() - HISTORY_LEN);
        }
        if let Err(e) = self.files.write_history(&self.history) {
            tracing::warn!("cannot write the agent history: {e}");
        }
    }
}

/// What an agent in this process serves.
pub struct Serve {
    /// The project.
    pub project: String,
    /// How to load its files before any `up` was recorded.
    pub fallback: schema::Options,
    /// Its settings.
    pub options: Options,
    /// The engine.
    pub engine: Arc<dyn Engine>,
}

/// Run the agent in this process until `shutdown`: heal the stack and
/// serve its DNS, and run `beside` (e.g. a file watch) alongside once the
/// agent lock is held (it reports its own errors). Returns `false`
/// without doing anything when another agent already runs for the project.
pub async fn serve<F>(
    request: Serve,
    shutdown: &CancellationToken,
    beside: F,
) -> Result<bool, AgentError>
where
    F: Future<Output = ()>,
{
    let Serve {
        project,
        fallback,
        options,
        engine,
    } = request;
    // Someone looking at the lock holds it for an instant: try again
    // briefly (not longer: a real agent may be on its way out, and then
    // this one must not take over from a `stack down`).
    let deadline = Instant::now() + Duration::from_millis(200);
    let _lock = loop {
        match ProjectLock::acquire_agent(&project) {
            Ok(l) => break l,
            Err(LockError::Busy { .. }) if Instant::now() >= deadline => return Ok(false),
            Err(LockError::Busy { .. }) => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(e) => return Err(e.into()),
        }
    };
    let files = AgentFiles::open(&project)?;
    let dns_options = options.dns().map(|d| DnsOptions {
        status_file: Some((files.state().clone(), files.dns_status_name())),
        log_socket: Some(files.dns_log_socket()),
        ..d
    });
    let healer = Healer::new(
        engine.clone(),
        Backoff {
            initial: options.backoff,
            ..Backoff::default()
        },
        Arc::new(SystemClock),
    )
    .with_grace(options.grace);
    let mut host = Host {
        fallback,
        project: project.clone(),
        history: files.history(),
        files,
        load_failed: false,
    };
    tracing::info!("agent for project `{project}` started");
    let heal = crate::runtime::run(
        engine.clone(),
        healer,
        &mut host,
        LoopTiming::default(),
        shutdown.clone(),
    );
    let dns = async {
        if let Some(dns_options) = dns_options {
            dns_feed::serve(engine, project.clone(), dns_options, shutdown.clone()).await;
        }
    };
    tokio::join!(heal, dns, beside);
    tracing::info!("agent for project `{project}` stopped");
    Ok(true)
}
