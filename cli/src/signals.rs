//! Signals at the edge: the first Ctrl-C (or SIGTERM for the agent) asks
//! the running use case to stop gracefully; a second Ctrl-C ends the
//! process at once with 130, as Compose does.

use tokio_util::sync::CancellationToken;

/// Exit status of a process ended by SIGINT (128 + 2).
const INTERRUPTED: i32 = 130;

/// A token cancelled at the first Ctrl-C (and, with `term`, SIGTERM).
pub fn cancel_on_signal(term: bool) -> std::io::Result<CancellationToken> {
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    let mut sigterm = term
        .then(|| tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()))
        .transpose()?;
    tokio::spawn(async move {
        let terminate = async {
            match sigterm.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = tokio::signal::ctrl_c() => if r.is_err() { return },
            _ = terminate => {}
        }
        on_signal.cancel();
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("forced to stop");
            std::process::exit(INTERRUPTED);
        }
    });
    Ok(cancel)
}
