//! The one place a zone's [`Answer`] becomes the sections of a response:
//! used for the prepared answers of the hot path, the general UDP path and
//! TCP alike, so all three say the same thing.

use hickory_proto::op::{Edns, Header, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Record, RecordType};

use crate::zone::{Answer, View, Zone};

/// A response, before it goes on the wire.
#[derive(Debug, Clone)]
pub struct Sections {
    /// Flags and response code (the id and RD of the request).
    pub header: Header,
    /// Answer section.
    pub answers: Vec<Record>,
    /// Authority section (the SOA of a negative answer).
    pub authority: Vec<Record>,
    /// Additional section (addresses of SRV targets).
    pub additionals: Vec<Record>,
}

impl Sections {
    /// Only a header: an error response (`Refused`, `NotImp`...).
    pub fn error(request: &Header, code: ResponseCode) -> Sections {
        let mut header = Header::response_from_request(request);
        header.set_recursion_available(true);
        header.set_response_code(code);
        Sections {
            header,
            answers: Vec::new(),
            authority: Vec::new(),
            additionals: Vec::new(),
        }
    }

    /// As a message with no question (a reply to a query too broken to
    /// have one).
    pub fn bare(self) -> Message {
        let mut message = Message::new();
        message.set_header(self.header);
        message.set_message_type(MessageType::Response);
        message
    }

    /// As a whole message answering `query`, with an OPT record offering
    /// `edns_size` when the request had one.
    pub fn message(self, query: &Query, edns_size: Option<u16>) -> Message {
        let mut message = Message::new();
        message.set_header(self.header);
        message.set_message_type(MessageType::Response);
        message.add_query(query.clone());
        message.insert_answers(self.answers);
        message.insert_name_servers(self.authority);
        message.insert_additionals(self.additionals);
        if let Some(size) = edns_size {
            let mut edns = Edns::new();
            edns.set_max_payload(size);
            message.set_edns(edns);
        }
        message
    }
}

/// What to do with a question the zone was asked.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Reply with these sections.
    Reply(Sections),
    /// Not the stack's: ask upstream.
    Forward,
}

/// The reply of `zone`, for `view`, to `name` of type `kind`, asked with
/// `request`'s header; `turn` fixes the round-robin turn (prepared
/// answers) or leaves it to the zone (`None`).
pub fn decide(
    zone: &Zone,
    view: &View,
    request: &Header,
    name: &str,
    kind: RecordType,
    turn: Option<usize>,
) -> Decision {
    if request.message_type() != MessageType::Query || request.op_code() != OpCode::Query {
        return Decision::Reply(Sections::error(request, ResponseCode::NotImp));
    }
    let mut header = Header::response_from_request(request);
    header.set_recursion_available(true);
    let (answers, additionals) = match zone.answer_turn(view, name, kind, turn) {
        Answer::Forward => return Decision::Forward,
        Answer::NxDomain => {
            header.set_authoritative(true);
            header.set_response_code(ResponseCode::NXDomain);
            (Vec::new(), Vec::new())
        }
        Answer::Records {
            answers,
            additionals,
        } => {
            header.set_authoritative(true);
            (answers, additionals)
        }
    };
    // A negative answer (NXDOMAIN, or the name without records of the
    // type) carries the SOA, so clients cache it for its minimum TTL.
    let authority = if answers.is_empty() {
        vec![zone.soa()]
    } else {
        Vec::new()
    };
    Decision::Reply(Sections {
        header,
        answers,
        authority,
        additionals,
    })
}
