//! The server: listeners, each with the view it serves, answering from the
//! current [`Zone`] and forwarding the rest.
//!
//! UDP, the hot path, is a loop of this module's own: one socket per core
//! on each address (`SO_REUSEPORT`, so the kernel spreads queries over
//! them), each query looked up in the [`Book`] of prepared replies and
//! answered by a copy. A query the book lacks (NXDOMAIN, other types,
//! names to forward, anything unusual) is parsed by hickory and answered
//! by [`reply::decide`], the decision the book was made from; TCP is
//! hickory-server's, with the same decision.
//!
//! The zone is swapped whole when the stack changes ([`DnsServer::set_zone`]),
//! and the books with it: the work is done once per change, not per query.
//! The zones of the engine's other projects are answered on loopback too
//! ([`DnsServer::set_neighbours`]), so one host port serves every stack.
//! Listeners are opened and closed to match the stack's networks
//! ([`DnsServer::sync`]).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use hickory_proto::op::{Header, Message, Query, ResponseCode};
use hickory_proto::rr::Record;
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
use hickory_server::authority::MessageResponseBuilder;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::ServerFuture;
use tokio::net::{TcpListener, UdpSocket};
use tokio_util::sync::CancellationToken;

use crate::book::Book;
use crate::forward::Forwarder;
use crate::log::QueryLog;
use crate::reply::{self, Decision, Sections};
use crate::stacks::Stacks;
use crate::wire::{self, CLASSIC_UDP_SIZE, EDNS_UDP_SIZE, MAX_NAME};
use crate::zone::{Arrival, Zone};
use batch::Batch;

/// How long a TCP client may stay idle.
const TCP_IDLE: Duration = Duration::from_secs(5);

/// The largest UDP query read (anything longer is not a query of ours).
const MAX_QUERY: usize = 4096;

/// The zones of every stack, and the books made from them, one per way
/// of arriving.
#[derive(Clone)]
struct Zones {
    stacks: Stacks,
    books: Arc<HashMap<Arrival, Arc<Book>>>,
}

impl Zones {
    fn new(own: Arc<Zone>, neighbours: Arc<Vec<Arc<Zone>>>) -> Zones {
        let stacks = Stacks::new(own, neighbours);
        let others: Vec<&Zone> = stacks.neighbours().iter().map(|z| z.as_ref()).collect();
        let own = stacks.own();
        let arrivals = std::iter::once(Arrival::Loopback).chain(
            own.data()
                .networks
                .iter()
                .map(|n| Arrival::Network(n.key.clone())),
        );
        let books = arrivals
            .map(|arrival| {
                let shared = matches!(&arrival, Arrival::Network(k) if stacks.shared(k));
                let book = Book::new(own, &others, &arrival, shared);
                (arrival, Arc::new(book))
            })
            .collect();
        Zones {
            books: Arc::new(books),
            stacks,
        }
    }

    /// The decision for `query` asked by `source` as `arrival`: refused
    /// when the source may not ask there, else that of the zone
    /// [`Stacks::resolve`] picks.
    fn decide(
        &self,
        arrival: &Arrival,
        source: SocketAddr,
        header: &Header,
        query: &Query,
    ) -> Decision {
        let name = query.name().to_string();
        match self.stacks.resolve(arrival, source.ip(), &name) {
            Some((zone, view)) => {
                reply::decide(zone, &view, header, &name, query.query_type(), None)
            }
            None => {
                tracing::debug!("refused {name} from {source}: not in the stack's networks");
                Decision::Reply(Sections::error(header, ResponseCode::Refused))
            }
        }
    }
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

/// The reply to `query` when no zone has it: the first upstream's answer,
/// or SERVFAIL.
async fn forwarded(forwarder: &Forwarder, header: &Header, query: &Query) -> Sections {
    match forwarder.ask(query).await {
        Some(reply) => {
            let mut sections = Sections::error(header, reply.response_code());
            sections.answers = reply.answers().to_vec();
            sections.authority = reply.name_servers().to_vec();
            sections.additionals = reply.additionals().to_vec();
            sections
        }
        None => {
            tracing::debug!("no upstream answered for {}", query.name());
            Sections::error(header, ResponseCode::ServFail)
        }
    }
}

/// Answers the TCP queries of one listener (hickory parses and frames).
struct Handler {
    zones: SharedZones,
    arrival: Arrival,
    forwarder: Arc<Forwarder>,
    log: QueryLog,
}

#[async_trait::async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler>(
        &self,
        request: &Request,
        mut response: R,
    ) -> ResponseInfo {
        let builder = MessageResponseBuilder::from_message_request(request);
        let Ok(info) = request.request_info() else {
            let msg = builder.error_msg(request.header(), ResponseCode::FormErr);
            return send(&mut response, msg).await;
        };
        let query = info.query.original().clone();
        let decision =
            read(&self.zones).decide(&self.arrival, request.src(), request.header(), &query);
        let sections = match decision {
            Decision::Reply(sections) => sections,
            Decision::Forward => forwarded(&self.forwarder, request.header(), &query).await,
        };
        self.log
            .record_tcp(request.src(), || sections.clone().message(&query, None));
        let msg = builder.build(
            sections.header,
            &sections.answers,
            &sections.authority,
            std::iter::empty(),
            &sections.additionals,
        );
        send(&mut response, msg).await
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
    /// Stops the UDP loops.
    udp: CancellationToken,
    tcp: ServerFuture<Handler>,
}

/// The stack's DNS server: a zone and the listeners that serve it.
pub struct DnsServer {
    zones: SharedZones,
    forwarder: Arc<Forwarder>,
    log: QueryLog,
    listeners: BTreeMap<SocketAddr, Listener>,
}

impl DnsServer {
    /// A server answering from `zone`, forwarding with `forwarder`; it
    /// listens nowhere until [`DnsServer::listen`] or [`DnsServer::sync`].
    pub fn new(zone: Zone, forwarder: Forwarder) -> DnsServer {
        DnsServer {
            zones: Arc::new(RwLock::new(Zones::new(
                Arc::new(zone),
                Arc::new(Vec::new()),
            ))),
            forwarder: Arc::new(forwarder),
            log: QueryLog::default(),
            listeners: BTreeMap::new(),
        }
    }

    /// The live log of the queries answered, UDP and TCP (empty unless
    /// followed).
    pub fn query_log(&self) -> QueryLog {
        self.log.clone()
    }

    /// Answer from `zone` from now on.
    pub fn set_zone(&self, zone: Zone) {
        let neighbours = read(&self.zones).stacks.neighbours().clone();
        self.swap(Zones::new(Arc::new(zone), neighbours));
    }

    /// Answer the names of these other projects' zones on loopback (a
    /// gateway's view never includes another project).
    pub fn set_neighbours(&self, zones: Vec<Zone>) {
        let own = read(&self.zones).stacks.own().clone();
        self.swap(Zones::new(
            own,
            Arc::new(zones.into_iter().map(Arc::new).collect()),
        ));
    }

    /// Both at once: the answer books are prepared once, not per part.
    pub fn set_zones(&self, own: Zone, neighbours: Vec<Zone>) {
        let neighbours = Arc::new(neighbours.into_iter().map(Arc::new).collect());
        self.swap(Zones::new(Arc::new(own), neighbours));
    }

    fn swap(&self, zones: Zones) {
        *write(&self.zones) = zones;
    }

    /// The zone answered from now.
    pub fn zone(&self) -> Arc<Zone> {
        read(&self.zones).stacks.own().clone()
    }

    /// Listen on `addr` (UDP and TCP) for queries of `arrival`'s view.
    /// Port 0 picks a free port; the address listened on is returned.
    pub async fn listen(
        &mut self,
        addr: SocketAddr,
        arrival: Arrival,
    ) -> std::io::Result<SocketAddr> {
        let first = reuse_port_socket(addr)?;
        let bound = first.local_addr()?;
        let mut sockets = vec![first];
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        for _ in 1..cores {
            sockets.push(reuse_port_socket(bound)?);
        }
        // A gateway's TCP port may be shared by the agents of every stack
        // on that network (they answer alike, see `Zones::home`); the
        // loopback port is one agent's: a second agent's bind fails here,
        // before any of its UDP sockets serves.
        let tcp = tcp_listener(bound, matches!(arrival, Arrival::Network(_)))?;
        let stop = CancellationToken::new();
        for socket in sockets {
            let udp = Udp {
                socket: Arc::new(socket),
                arrival: arrival.clone(),
                zones: self.zones.clone(),
                forwarder: self.forwarder.clone(),
                log: self.log.clone(),
            };
            tokio::spawn(udp.serve(stop.clone()));
        }
        let mut server = ServerFuture::new(Handler {
            zones: self.zones.clone(),
            arrival: arrival.clone(),
            forwarder: self.forwarder.clone(),
            log: self.log.clone(),
        });
        server.register_listener(tcp, TCP_IDLE);
        tracing::info!("DNS listening on {bound} ({arrival:?})");
        self.listeners.insert(
            bound,
            Listener {
                arrival,
                udp: stop,
                tcp: server,
            },
        );
        Ok(bound)
    }

    /// Stop listening on `addr`.
    pub async fn close(&mut self, addr: SocketAddr) {
        if let Some(mut listener) = self.listeners.remove(&addr) {
            listener.udp.cancel();
            if let Err(e) = listener.tcp.shutdown_gracefully().await {
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

/// A UDP socket on `addr` that other sockets of this process may share
/// (`SO_REUSEPORT`: the kernel spreads the queries over them, one per
/// core). Only sockets of the same user can join the group.
fn reuse_port_socket(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let socket = socket(addr, socket2::Type::DGRAM, socket2::Protocol::UDP)?;
    socket.set_reuse_port(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

/// The TCP listener on `addr`; with `shared`, other processes of the
/// same user may listen there too (`SO_REUSEPORT`).
fn tcp_listener(addr: SocketAddr, shared: bool) -> std::io::Result<TcpListener> {
    let socket = socket(addr, socket2::Type::STREAM, socket2::Protocol::TCP)?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(shared)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    TcpListener::from_std(socket.into())
}

/// A non-blocking socket for `addr`. An IPv6 one may bind an address
/// the kernel still calls tentative (a new network's gateway, during
/// duplicate address detection), rather than fail for a second or two.
fn socket(
    addr: SocketAddr,
    kind: socket2::Type,
    protocol: socket2::Protocol,
) -> std::io::Result<socket2::Socket> {
    let socket = socket2::Socket::new(socket2::Domain::for_address(addr), kind, Some(protocol))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
        socket.set_freebind_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// One UDP socket's loop.
struct Udp {
    socket: Arc<UdpSocket>,
    arrival: Arrival,
    zones: SharedZones,
    forwarder: Arc<Forwarder>,
    log: QueryLog,
}

impl Udp {
    /// Answer queries until `stop`, a batch at a time: those the book
    /// has answered by a copy and sent together, the others through the
    /// general path afterwards. The buffers are made once.
    async fn serve(self, stop: CancellationToken) {
        let mut batch = Batch::new(MAX_QUERY);
        let mut key = [0u8; MAX_NAME + 2];
        let mut general = [false; batch::BATCH];
        loop {
            let received = tokio::select! {
                r = batch.receive(&self.socket) => r,
                () = stop.cancelled() => return,
            };
            let n = match received {
                Ok(n) => n,
                Err(e) => {
                    // ICMP errors of earlier replies surface here; the
                    // socket itself is fine.
                    tracing::debug!("DNS receive: {e}");
                    continue;
                }
            };
            let book = self.book();
            for (i, general) in general.iter_mut().enumerate().take(n) {
                *general = !batch.answer(i, |query, source, out| {
                    let Some((parsed, key_len)) = wire::read_query(query, &mut key) else {
                        return false;
                    };
                    let Some(prepared) = book.reply(source.ip(), &key[..key_len]) else {
                        return false;
                    };
                    wire::write_reply(query, &parsed, prepared, out);
                    true
                });
            }
            batch.send(&self.socket).await;
            for (reply, to) in batch.queued() {
                self.log.record(to, reply);
            }
            for i in (0..n).filter(|i| general[*i]) {
                if let Some((query, source)) = batch.datagram(i) {
                    self.general(query, source).await;
                }
            }
        }
    }

    fn book(&self) -> Arc<Book> {
        let zones = match self.zones.read() {
            Ok(z) => z,
            Err(poisoned) => poisoned.into_inner(),
        };
        zones.books.get(&self.arrival).cloned().unwrap_or_default()
    }

    async fn send(&self, reply: &[u8], to: SocketAddr) {
        if let Err(e) = self.socket.send_to(reply, to).await {
            tracing::debug!("cannot send a DNS answer to {to}: {e}");
        }
        self.log.record(to, reply);
    }

    /// A query the book does not have: parsed by hickory, decided as the
    /// book's answers were; forwarding runs apart, not to hold the loop.
    async fn general(&self, packet: &[u8], source: SocketAddr) {
        let request = match Message::from_vec(packet) {
            Ok(m) => m,
            Err(_) => {
                // Answer FORMERR when at least the header reads.
                if let Ok(header) = Header::read(&mut BinDecoder::new(packet)) {
                    if header.message_type() == hickory_proto::op::MessageType::Query {
                        let sections = Sections::error(&header, ResponseCode::FormErr);
                        if let Ok(bytes) = sections.bare().to_vec() {
                            self.send(&bytes, source).await;
                        }
                    }
                }
                return;
            }
        };
        let Some(query) = request.queries().first().cloned() else {
            let sections = Sections::error(request.header(), ResponseCode::FormErr);
            if let Ok(bytes) = sections.bare().to_vec() {
                self.send(&bytes, source).await;
            }
            return;
        };
        let edns = request.extensions().as_ref().map(|e| e.max_payload());
        let decision = read(&self.zones).decide(&self.arrival, source, request.header(), &query);
        match decision {
            Decision::Reply(sections) => {
                let bytes = encode(sections, &query, edns);
                self.send(&bytes, source).await;
            }
            Decision::Forward => {
                let socket = self.socket.clone();
                let forwarder = self.forwarder.clone();
                let header = *request.header();
                let log = self.log.clone();
                tokio::spawn(async move {
                    let sections = forwarded(&forwarder, &header, &query).await;
                    let bytes = encode(sections, &query, edns);
                    if let Err(e) = socket.send_to(&bytes, source).await {
                        tracing::debug!("cannot send a DNS answer to {source}: {e}");
                    }
                    log.record(source, &bytes);
                });
            }
        }
    }
}

/// `sections` on the wire for a UDP client that offered `edns` (its
/// payload size, when it sent an OPT): truncated, with TC set, when the
/// reply does not fit, so the client asks again over TCP.
fn encode(sections: Sections, query: &Query, edns: Option<u16>) -> Vec<u8> {
    let limit = edns.map_or(CLASSIC_UDP_SIZE, |size| {
        usize::from(size.clamp(CLASSIC_UDP_SIZE as u16, EDNS_UDP_SIZE))
    });
    let offered = edns.map(|_| EDNS_UDP_SIZE);
    let mut header = sections.header;
    let whole = sections.message(query, offered);
    match whole.to_vec() {
        Ok(bytes) if bytes.len() <= limit => bytes,
        _ => {
            header.set_truncated(true);
            let question_only = Sections {
                header,
                answers: Vec::new(),
                authority: Vec::new(),
                additionals: Vec::new(),
            };
            question_only
                .message(query, offered)
                .to_vec()
                .unwrap_or_default()
        }
    }
}

mod batch;
#[cfg(test)]
mod tests;
