//! What the stack's DNS answers: the zone read from the engine the way
//! the agent reads it (the agent need not run), and one question asked as
//! a given service would ask it.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use agent::dns_feed::{read_zones, DEFAULT_TTL};
use dns::{Answer, Arrival, RecordType, Stacks, Zone};

use crate::{AppError, Result, Session};

/// The project's zone as it is now, among the other stacks' on the engine.
pub async fn stacks(session: &Session) -> Result<Stacks> {
    let (own, others) = read_zones(&*session.engine, &session.name(), DEFAULT_TTL).await?;
    Ok(Stacks::new(
        Arc::new(Zone::new(own, 0)),
        Arc::new(
            others
                .into_iter()
                .map(|d| Arc::new(Zone::new(d, 0)))
                .collect(),
        ),
    ))
}

/// The other stacks on the project's network `key` (a shared one), each
/// with its own key for it.
pub fn sharing<'a>(stacks: &'a Stacks, key: &str) -> Vec<(&'a Zone, String)> {
    let Some(name) = stacks.own().engine_name(key) else {
        return Vec::new();
    };
    (stacks.neighbours().iter())
        .filter_map(|z| Some((z.as_ref(), z.key_of(name)?.to_string())))
        .collect()
}

/// Answer `name` as `from`'s first running replica (or the host, on
/// loopback) would be answered: by its own stack's zone, or by another
/// stack's for that stack's qualified names.
pub fn query(stacks: &Stacks, name: &str, kind: RecordType, from: Option<&str>) -> Result<Answer> {
    let zone = stacks.own();
    let (arrival, source) = match from {
        None => (Arrival::Loopback, Ipv4Addr::LOCALHOST),
        Some(service) => {
            let asker = zone
                .data()
                .services
                .iter()
                .find(|s| s.name == service)
                .ok_or_else(|| {
                    AppError::Invalid(format!("the stack has no service `{service}`"))
                })?;
            let (key, addr) = asker
                .networks
                .iter()
                .find_map(|key| {
                    asker
                        .replicas
                        .iter()
                        .find_map(|r| r.addresses.get(key).map(|a| (key.clone(), *a)))
                })
                .ok_or_else(|| {
                    AppError::Invalid(format!(
                        "`{service}` has no running replica on a network of the stack; start it first"
                    ))
                })?;
            (Arrival::Network(key), addr)
        }
    };
    match stacks.resolve(&arrival, IpAddr::V4(source), name) {
        Some((zone, view)) => Ok(zone.answer(&view, name, kind)),
        None => Err(AppError::Invalid(format!(
            "{source} may not ask the stack's DNS there"
        ))),
    }
}

/// Follow the agent's live query log: `line` is called with each line
/// (who asked, what, and what they got) until the agent stops or
/// `cancel`.
pub async fn follow_log(
    session: &Session,
    cancel: &tokio_util::sync::CancellationToken,
    line: &mut dyn FnMut(&str),
) -> Result<()> {
    use tokio::io::AsyncBufReadExt;
    let project = session.name();
    let socket = {
        let project = project.clone();
        crate::blocking(move || Ok(agent::files::AgentFiles::open(&project)?.dns_log_socket()))
            .await?
    };
    let stream = tokio::net::UnixStream::connect(&socket).await.map_err(|e| {
        AppError::Invalid(format!(
            "no agent serves the DNS of `{project}` ({e}): `stack up -d` starts it, `stack agent status` tells"
        ))
    })?;
    let mut lines = tokio::io::BufReader::new(stream).lines();
    loop {
        let next = tokio::select! {
            l = lines.next_line() => l?,
            () = cancel.cancelled() => return Ok(()),
        };
        match next {
            Some(text) => line(&text),
            None => return Ok(()),
        }
    }
}
