//! File changes arrive in bursts (an editor's save, a checkout): what the
//! watchers act on is a burst, once it has settled.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// The longest a burst is collected for: a stream of changes that never
/// pauses is still acted on.
const LONGEST_BURST: Duration = Duration::from_secs(3);

/// The paths of the next burst of changes: from the first, until `quiet`
/// passes without one (at most [`LONGEST_BURST`]); `None` at `cancel` or
/// when the watcher is gone.
pub async fn next_burst(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<Vec<PathBuf>>,
    quiet: Duration,
    cancel: &CancellationToken,
) -> Option<BTreeSet<PathBuf>> {
    let first = tokio::select! {
        p = rx.recv() => p?,
        () = cancel.cancelled() => return None,
    };
    let mut paths: BTreeSet<PathBuf> = first.into_iter().collect();
    let until = tokio::time::Instant::now() + LONGEST_BURST;
    while let Ok(Some(more)) =
        tokio::time::timeout_at(until.min(tokio::time::Instant::now() + quiet), rx.recv()).await
    {
        paths.extend(more);
    }
    Some(paths)
}
