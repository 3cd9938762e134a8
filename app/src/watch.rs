//! `up --watch` (and `agent --watch`): converge again whenever the stack
//! file, an env file or `.env` changes. Changes are debounced (editors
//! write in bursts); a file that no longer loads is reported and ignored,
//! and the running stack is left as it is until the file is fixed.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use notify::event::ModifyKind;
use notify::{EventKind, RecursiveMode, Watcher};
use tokio_util::sync::CancellationToken;

use crate::up::{converge, UpRequest};
use crate::{AppError, Inputs, Result, Session, Sink};

/// Quiet time after the last change before reloading.
const DEBOUNCE: Duration = Duration::from_millis(150);

/// The files whose changes matter, and the directories to watch for them
/// (directories, because editors replace files by renaming).
fn watched(inputs: &Inputs) -> std::io::Result<(BTreeSet<PathBuf>, BTreeSet<PathBuf>)> {
    let cwd = std::env::current_dir()?;
    let project_dir = inputs
        .stack
        .project_directory
        .as_ref()
        .map(|d| cwd.join(d))
        .or_else(|| {
            inputs
                .stack
                .files
                .first()
                .and_then(|f| cwd.join(f).parent().map(PathBuf::from))
        })
        .unwrap_or_else(|| cwd.clone());
    let opts = inputs.options()?;
    let mut files: BTreeSet<PathBuf> = schema::stack_files(&opts)
        .unwrap_or_default()
        .into_iter()
        .collect();
    if inputs.stack.files.is_empty() {
        // A default file or an override file that appears counts too.
        let dir = files
            .first()
            .and_then(|f| f.parent().map(PathBuf::from))
            .unwrap_or_else(|| cwd.clone());
        let names = schema::DEFAULT_FILE_NAMES
            .iter()
            .chain(schema::OVERRIDE_FILE_NAMES);
        files.extend(names.map(|n| dir.join(n)));
    }
    files.extend(inputs.stack.env_files.iter().map(|f| cwd.join(f)));
    files.insert(project_dir.join(".env"));
    let dirs = files
        .iter()
        .filter_map(|f| f.parent().map(PathBuf::from))
        .collect();
    Ok((files, dirs))
}

/// Is this event a new content, a new file, or one gone?
fn changes_content(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Create(_)
            | EventKind::Remove(_)
            | EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Name(_) | ModifyKind::Any)
            | EventKind::Any
    )
}

/// Watch until `cancel`, converging with `request` after each change.
pub async fn run(
    inputs: &Inputs,
    request: &UpRequest,
    sink: &Arc<dyn Sink>,
    cancel: &CancellationToken,
) -> Result<()> {
    let (files, dirs) = watched(inputs)?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // Only a change of content or of which file is there: reading the
        // file (as the reload itself does) must not trigger another reload.
        if let Some(e) = event.ok().filter(|e| changes_content(&e.kind)) {
            let _ = tx.send(e.paths);
        }
    })?;
    for d in &dirs {
        watcher.watch(d, RecursiveMode::NonRecursive)?;
    }
    sink.note("Watching the stack file and env files for changes (Ctrl-C to stop).");
    loop {
        // Once the burst of writes settled.
        let Some(paths) = crate::changes::next_burst(&mut rx, DEBOUNCE, cancel).await else {
            return Ok(());
        };
        if !paths.iter().any(|p| files.contains(p)) {
            continue;
        }
        sink.note("Change detected; reloading.");
        let session = match Session::open(inputs, &request.plan.services).await {
            Ok(session) => session,
            Err(e @ AppError::Load(_)) => {
                sink.error(&e);
                sink.note("The stack file has errors (above); the running stack is left as it is.");
                continue;
            }
            Err(e) => return Err(e),
        };
        sink.diagnostics(&session.warnings);
        // Services the user stopped stay stopped: an edit of the file is
        // not a `stack start`.
        let files = session.agent_files().await?;
        let stopped = crate::blocking(move || Ok(files.stopped())).await?;
        let mut this = request.clone();
        if this.plan.services.is_empty() && !stopped.is_empty() {
            this.plan.services = session
                .project
                .services
                .keys()
                .filter(|s| !stopped.contains(*s))
                .cloned()
                .collect();
            if this.plan.services.is_empty() {
                sink.note("Every service is stopped (`stack start` or `stack up` brings them back); nothing to apply.");
                continue;
            }
        }
        // A failed convergence is reported; the watch goes on.
        if let Err(e) = converge(&session, &this, sink, cancel, true).await {
            sink.error(&e);
        }
    }
}
