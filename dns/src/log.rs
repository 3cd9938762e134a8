//! The live query log (`stack dns log -f`): who asked what, and what they
//! got. Off unless someone follows it: with no follower, recording is one
//! atomic read per query. Bounded: a follower that falls behind loses the
//! oldest lines (and is told how many), the server never waits for it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use hickory_proto::op::Message;
use tokio::sync::broadcast;

/// How many entries wait for a slow follower before the oldest go.
const CAPACITY: usize = 4096;

/// One question and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// When it was answered.
    pub at: SystemTime,
    /// Who asked.
    pub source: SocketAddr,
    /// The name and type asked (`web.shop.stack. A`).
    pub question: String,
    /// The response code and the answers' data (`NOERROR 10.9.1.2`).
    pub outcome: String,
    /// Asked over TCP (a client retrying a truncated answer, or one that
    /// always does), not UDP.
    pub over_tcp: bool,
}

/// The log the server records into; cheap to clone.
#[derive(Debug, Clone)]
pub struct QueryLog {
    tx: broadcast::Sender<Arc<Entry>>,
}

impl Default for QueryLog {
    fn default() -> Self {
        QueryLog {
            tx: broadcast::channel(CAPACITY).0,
        }
    }
}

impl QueryLog {
    /// Follow the log from now on.
    pub fn follow(&self) -> broadcast::Receiver<Arc<Entry>> {
        self.tx.subscribe()
    }

    /// Record the UDP reply `reply` sent to `source`, when anyone follows.
    pub fn record(&self, source: SocketAddr, reply: &[u8]) {
        if self.tx.receiver_count() == 0 {
            return;
        }
        if let Ok(message) = Message::from_vec(reply) {
            self.push(source, &message, false);
        }
    }

    /// Record the TCP reply `reply` makes, sent to `source`; it is made
    /// only when anyone follows.
    pub fn record_tcp(&self, source: SocketAddr, reply: impl FnOnce() -> Message) {
        if self.tx.receiver_count() > 0 {
            self.push(source, &reply(), true);
        }
    }

    fn push(&self, source: SocketAddr, message: &Message, over_tcp: bool) {
        let question = message
            .queries()
            .first()
            .map(|q| format!("{} {}", q.name(), q.query_type()))
            .unwrap_or_default();
        // As dig names them: NOERROR, NXDOMAIN, REFUSED, SERVFAIL...
        let mut outcome = format!("{:?}", message.response_code()).to_uppercase();
        if message.truncated() {
            outcome.push_str(" (truncated: ask over TCP)");
        }
        for record in message.answers() {
            outcome.push(' ');
            outcome.push_str(&record.data().to_string());
        }
        let entry = Entry {
            at: SystemTime::now(),
            source,
            question,
            outcome,
            over_tcp,
        };
        // Nobody left since the check: nothing to do.
        let _ = self.tx.send(Arc::new(entry));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{MessageType, Query, ResponseCode};
    use hickory_proto::rr::{Name, RecordType};

    #[tokio::test]
    async fn followers_get_what_was_answered_and_nobody_pays_without_them() {
        let log = QueryLog::default();
        let mut reply = Message::new();
        reply.set_message_type(MessageType::Response);
        reply.set_response_code(ResponseCode::NXDomain);
        reply.add_query(Query::query(
            Name::from_ascii("db.").unwrap(),
            RecordType::A,
        ));
        let bytes = reply.to_vec().unwrap();
        let source: SocketAddr = "10.9.1.4:5353".parse().unwrap();
        log.record(source, &bytes); // no follower: dropped
        let mut follower = log.follow();
        log.record(source, &bytes);
        let entry = follower.recv().await.unwrap();
        assert_eq!(entry.question, "db. A");
        assert_eq!(entry.outcome, "NXDOMAIN");
        assert_eq!(entry.source, source);
        assert!(!entry.over_tcp);
        assert!(follower.try_recv().is_err(), "only what was answered since");
        log.record_tcp(source, || reply.clone());
        let entry = follower.recv().await.unwrap();
        assert!(entry.over_tcp && entry.outcome == "NXDOMAIN", "{entry:?}");
    }
}
