//! What the stack's DNS answers: the zone read from the engine the way
//! the agent reads it (the agent need not run), and one question asked as
//! a given service would ask it.

use std::net::{IpAddr, Ipv4Addr};

use agent::dns_feed::{read_zone, DEFAULT_TTL};
use dns::{Answer, Arrival, RecordType, Zone};

use crate::{AppError, Result, Session};

/// The project's zone as it is now.
pub async fn zone(session: &Session) -> Result<Zone> {
    Ok(Zone::new(
        read_zone(&*session.engine, &session.name(), DEFAULT_TTL).await?,
        0,
    ))
}

/// Answer `name` as `from`'s first running replica (or the host, on
/// loopback) would be answered.
pub fn query(zone: &Zone, name: &str, kind: RecordType, from: Option<&str>) -> Result<Answer> {
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
    let view = zone.view(&arrival, IpAddr::V4(source));
    Ok(zone.answer(&view, name, kind))
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
