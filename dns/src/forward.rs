//! Forwarding what is not the stack's to upstream resolvers: each in
//! turn, all within one deadline, so a client gets SERVFAIL in time
//! instead of a hang when none answers.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// Asks upstream resolvers.
#[derive(Debug, Clone)]
pub struct Forwarder {
    upstreams: Vec<SocketAddr>,
    deadline: Duration,
}

impl Forwarder {
    /// Ask `upstreams` in order; give up after `deadline` in all.
    pub fn new(upstreams: Vec<SocketAddr>, deadline: Duration) -> Forwarder {
        Forwarder {
            upstreams,
            deadline,
        }
    }

    /// The upstream resolvers, in the order they are asked.
    pub fn upstreams(&self) -> &[SocketAddr] {
        &self.upstreams
    }

    /// The first answer any upstream gives for `query`, or `None` when
    /// none answered within the deadline. A truncated UDP answer is asked
    /// again over TCP.
    pub async fn ask(&self, query: &Query) -> Option<Message> {
        let started = Instant::now();
        let id: u16 = rand::random();
        let mut message = Message::new();
        message
            .set_id(id)
            .set_message_type(MessageType::Query)
            .set_op_code(OpCode::Query)
            .set_recursion_desired(true)
            .add_query(query.clone());
        let bytes = message.to_vec().ok()?;
        for (i, upstream) in self.upstreams.iter().enumerate() {
            let left = self.deadline.checked_sub(started.elapsed())?;
            // Share what is left among the upstreams not asked yet.
            let share = left / (self.upstreams.len() - i) as u32;
            let answer = tokio::time::timeout(share, udp(*upstream, &bytes, id)).await;
            match answer {
                Ok(Ok(reply)) if reply.truncated() => {
                    let left = self.deadline.checked_sub(started.elapsed())?;
                    match tokio::time::timeout(left, tcp(*upstream, &bytes, id)).await {
                        Ok(Ok(full)) => return Some(full),
                        _ => return Some(reply),
                    }
                }
                Ok(Ok(reply)) => return Some(reply),
                Ok(Err(e)) => tracing::debug!("upstream {upstream}: {e}"),
                Err(_) => tracing::debug!("upstream {upstream}: no answer within {share:?}"),
            }
        }
        None
    }
}

fn reply_to(bytes: &[u8], id: u16) -> Option<Message> {
    Message::from_vec(bytes)
        .ok()
        .filter(|m| m.id() == id && m.message_type() == MessageType::Response)
}

async fn udp(upstream: SocketAddr, query: &[u8], id: u16) -> std::io::Result<Message> {
    let local: SocketAddr = if upstream.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    let socket = UdpSocket::bind(local).await?;
    socket.connect(upstream).await?;
    socket.send(query).await?;
    let mut buf = vec![0u8; 4096];
    loop {
        let n = socket.recv(&mut buf).await?;
        if let Some(reply) = reply_to(&buf[..n], id) {
            return Ok(reply);
        }
    }
}

async fn tcp(upstream: SocketAddr, query: &[u8], id: u16) -> std::io::Result<Message> {
    let mut stream = TcpStream::connect(upstream).await?;
    let len = u16::try_from(query.len()).map_err(std::io::Error::other)?;
    stream.write_all(&len.to_be_bytes()).await?;
    stream.write_all(query).await?;
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).await?;
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut buf).await?;
    reply_to(&buf, id).ok_or_else(|| std::io::Error::other("not an answer to the query"))
}
