//! The agent's end of `stack dns log -f`: a unix socket in the agent's
//! state directory (0700, the socket 0600: only its user connects), each
//! connection a follower of the DNS server's query log, one line per
//! answer. Nothing is recorded while nobody follows.

use std::path::PathBuf;

use dns::log::{Entry, QueryLog};
use tokio::io::AsyncWriteExt;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

/// Serve `log` on the socket at `path` until `shutdown`, then remove it.
pub async fn serve(path: PathBuf, log: QueryLog, shutdown: CancellationToken) {
    // A socket left by an agent that was killed.
    let _ = tokio::fs::remove_file(&path).await;
    let listener = match UnixListener::bind(&path) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(
                "dns: no query log: cannot listen on {}: {e}",
                path.display()
            );
            return;
        }
    };
    if let Err(e) = set_owner_only(&path).await {
        tracing::warn!("dns: no query log: {}: {e}", path.display());
        let _ = tokio::fs::remove_file(&path).await;
        return;
    }
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = shutdown.cancelled() => break,
        };
        match accepted {
            Ok((stream, _)) => {
                tokio::spawn(follow(stream, log.clone(), shutdown.clone()));
            }
            Err(e) => tracing::debug!("dns: query log: {e}"),
        }
    }
    let _ = tokio::fs::remove_file(&path).await;
}

async fn set_owner_only(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    tokio::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).await
}

/// Write each answer to `stream` until the reader goes or the agent stops.
async fn follow(mut stream: UnixStream, log: QueryLog, shutdown: CancellationToken) {
    let mut entries = log.follow();
    loop {
        let line = tokio::select! {
            e = entries.recv() => match e {
                Ok(entry) => line(&entry),
                Err(RecvError::Lagged(n)) => format!("... {n} answers left out (the reader fell behind)\n"),
                Err(RecvError::Closed) => return,
            },
            () = shutdown.cancelled() => return,
        };
        if stream.write_all(line.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// `12:01:02.345  10.9.1.4:40211  db.lab.stack. A  NXDOMAIN`, in local
/// time; `(tcp)` after the outcome of a query that came over TCP.
fn line(entry: &Entry) -> String {
    let at = jiff::Timestamp::try_from(entry.at)
        .map(|t| {
            t.to_zoned(jiff::tz::TimeZone::system())
                .strftime("%H:%M:%S%.3f")
                .to_string()
        })
        .unwrap_or_default();
    let tcp = if entry.over_tcp { " (tcp)" } else { "" };
    format!(
        "{at}  {:<22} {:<40} {}{tcp}\n",
        entry.source.to_string(),
        entry.question,
        entry.outcome
    )
}
