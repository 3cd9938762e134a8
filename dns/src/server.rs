//! The server: hickory-server listeners, each with the view it serves,
//! answering from the current [`Zone`] and forwarding the rest.
//!
//! The zone is swapped whole when the stack changes ([`DnsServer::set_zone`]);
//! a query reads whichever zone is current when it arrives. The zones of
//! the engine's other projects are answered on loopback too
//! ([`DnsServer::set_neighbours`]), so one host port serves every stack.
//! Listeners are opened and closed to match the stack's networks
//! ([`DnsServer::sync`]).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use hickory_proto::op::{Header, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::Record;
use hickory_server::authority::MessageResponseBuilder;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::ServerFuture;
use tokio::net::{TcpListener, UdpSocket};

use crate::forward::Forwarder;
use crate::zone::{Answer, Arrival, Zone};

/// How long a TCP client may stay idle.
const TCP_IDLE: Duration = Duration::from_secs(5);

/// The project's own zone, and the other projects' (for loopback).
#[derive(Clone)]
struct Zones {
    own: Arc<Zone>,
    neighbours: Arc<Vec<Arc<Zone>>>,
}

type SharedZones = Arc<RwLock<Zones>>;

fn read(zones: &SharedZones) -> Zones {
    match zones.read() {
        Ok(z) => z.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

fn write(zones: &SharedZones) -> std::sync::RwLockWriteGuard<'_, Zones> {
    match zones.write() {
        Ok(z) => z,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Answers the queries of one listener.
struct Handler {
    zones: SharedZones,
    arrival: Arrival,
    forwarder: Arc<Forwarder>,
}

impl Handler {
    /// The zone that answers `name`: on loopback, another project's when
    /// the name is in it; the project's own otherwise.
    fn zone_for(&self, name: &str) -> Arc<Zone> {
        let zones = read(&self.zones);
        if self.arrival == Arrival::Loopback {
            if let Some(i) = zones.neighbours.iter().position(|z| z.owns(name)) {
                return zones.neighbours[i].clone();
            }
        }
        zones.own
    }
}

#[async_trait::async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler>(
        &self,
        request: &Request,
        mut response: R,
    ) -> ResponseInfo {
        let builder = MessageResponseBuilder::from_message_request(request);
        if request.message_type() != MessageType::Query || request.op_code() != OpCode::Query {
            let msg = builder.error_msg(request.header(), ResponseCode::NotImp);
            return send(&mut response, msg).await;
        }
        let info = match request.request_info() {
            Ok(info) => info,
            Err(_) => {
                let msg = builder.error_msg(request.header(), ResponseCode::FormErr);
                return send(&mut response, msg).await;
            }
        };
        let name = info.query.name().to_string();
        let zone = self.zone_for(&name);
        if !zone.serves(&self.arrival, request.src().ip()) {
            tracing::debug!(
                "refused {name} from {}: not in the stack's networks",
                request.src()
            );
            let msg = builder.error_msg(request.header(), ResponseCode::Refused);
            return send(&mut response, msg).await;
        }
        let view = zone.view(&self.arrival, request.src().ip());
        let mut header = Header::response_from_request(request.header());
        header.set_recursion_available(true);
        let soa = [zone.soa()];
        match zone.answer(&view, &name, info.query.query_type()) {
            Answer::Records {
                answers,
                additionals,
            } => {
                header.set_authoritative(true);
                let negative: &[Record] = if answers.is_empty() { &soa } else { &[] };
                let msg = builder.build(header, &answers, &[], negative, &additionals);
                send(&mut response, msg).await
            }
            Answer::NxDomain => {
                header.set_authoritative(true);
                header.set_response_code(ResponseCode::NXDomain);
                let msg = builder.build(header, &[], &[], &soa, &[]);
                send(&mut response, msg).await
            }
            Answer::Forward => match self.forwarder.ask(info.query.original()).await {
                Some(reply) => {
                    header.set_response_code(reply.response_code());
                    let msg = builder.build(
                        header,
                        reply.answers(),
                        reply.name_servers(),
                        &[],
                        reply.additionals(),
                    );
                    send(&mut response, msg).await
                }
                None => {
                    tracing::debug!("no upstream answered for {name}");
                    header.set_response_code(ResponseCode::ServFail);
                    let msg = builder.build(header, &[], &[], &[], &[]);
                    send(&mut response, msg).await
                }
            },
        }
    }
}

async fn send<'a, R: ResponseHandler>(
    response: &mut R,
    msg: hickory_server::authority::MessageResponse<
        '_,
        'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
    >,
) -> ResponseInfo {
    match response.send_response(msg).await {
        Ok(info) => info,
        Err(e) => {
            tracing::debug!("cannot send a DNS answer: {e}");
            let mut header = Header::new();
            header.set_response_code(ResponseCode::ServFail);
            header.into()
        }
    }
}

struct Listener {
    arrival: Arrival,
    server: ServerFuture<Handler>,
}

/// The stack's DNS server: a zone and the listeners that serve it.
pub struct DnsServer {
    zones: SharedZones,
    forwarder: Arc<Forwarder>,
    listeners: BTreeMap<SocketAddr, Listener>,
}

impl DnsServer {
    /// A server answering from `zone`, forwarding with `forwarder`; it
    /// listens nowhere until [`DnsServer::listen`] or [`DnsServer::sync`].
    pub fn new(zone: Zone, forwarder: Forwarder) -> DnsServer {
        DnsServer {
            zones: Arc::new(RwLock::new(Zones {
                own: Arc::new(zone),
                neighbours: Arc::new(Vec::new()),
            })),
            forwarder: Arc::new(forwarder),
            listeners: BTreeMap::new(),
        }
    }

    /// Answer from `zone` from now on.
    pub fn set_zone(&self, zone: Zone) {
        write(&self.zones).own = Arc::new(zone);
    }

    /// Answer the names of these other projects' zones on loopback (a
    /// gateway's view never includes another project).
    pub fn set_neighbours(&self, zones: Vec<Zone>) {
        write(&self.zones).neighbours = Arc::new(zones.into_iter().map(Arc::new).collect());
    }

    /// The zone answered from now.
    pub fn zone(&self) -> Arc<Zone> {
        read(&self.zones).own
    }

    /// Listen on `addr` (UDP and TCP) for queries of `arrival`'s view.
    /// Port 0 picks a free port; the address listened on is returned.
    pub async fn listen(
        &mut self,
        addr: SocketAddr,
        arrival: Arrival,
    ) -> std::io::Result<SocketAddr> {
        let udp = UdpSocket::bind(addr).await?;
        let bound = udp.local_addr()?;
        let tcp = TcpListener::bind(bound).await?;
        let mut server = ServerFuture::new(Handler {
            zones: self.zones.clone(),
            arrival: arrival.clone(),
            forwarder: self.forwarder.clone(),
        });
        server.register_socket(udp);
        server.register_listener(tcp, TCP_IDLE);
        tracing::info!("DNS listening on {bound} ({arrival:?})");
        self.listeners.insert(bound, Listener { arrival, server });
        Ok(bound)
    }

    /// Stop listening on `addr`.
    pub async fn close(&mut self, addr: SocketAddr) {
        if let Some(mut listener) = self.listeners.remove(&addr) {
            if let Err(e) = listener.server.shutdown_gracefully().await {
                tracing::debug!("closing DNS listener {addr}: {e}");
            }
            tracing::info!("DNS no longer listening on {addr}");
        }
    }

    /// Listen exactly on `wanted`: close the others, open the missing
    /// ones. Returns the addresses that could not be opened, with why.
    pub async fn sync(
        &mut self,
        wanted: &BTreeMap<SocketAddr, Arrival>,
    ) -> Vec<(SocketAddr, std::io::Error)> {
        let stale: Vec<SocketAddr> = self
            .listeners
            .iter()
            .filter(|(addr, l)| wanted.get(addr) != Some(&l.arrival))
            .map(|(addr, _)| *addr)
            .collect();
        for addr in stale {
            self.close(addr).await;
        }
        let mut failed = Vec::new();
        for (addr, arrival) in wanted {
            if !self.listeners.contains_key(addr) {
                if let Err(e) = self.listen(*addr, arrival.clone()).await {
                    failed.push((*addr, e));
                }
            }
        }
        failed
    }

    /// Where it listens now.
    pub fn listening(&self) -> impl Iterator<Item = (&SocketAddr, &Arrival)> {
        self.listeners.iter().map(|(a, l)| (a, &l.arrival))
    }

    /// Close every listener.
    pub async fn shutdown(mut self) {
        let addrs: Vec<SocketAddr> = self.listeners.keys().copied().collect();
        for addr in addrs {
            self.close(addr).await;
        }
    }
}

#[cfg(test)]
mod tests;
