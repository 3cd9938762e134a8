//! Just enough of the DNS wire format for the hot path: read a plain query
//! (one question, at most an OPT record) without allocating, and turn a
//! prepared answer into the reply to it. Anything unusual is left to
//! hickory ([`crate::server`]'s slow path), which parses everything.

/// The longest name on the wire (RFC 1035), in bytes.
pub const MAX_NAME: usize = 255;

/// The UDP payload size this server offers with EDNS(0): the size the DNS
/// flag day of 2020 settled on, which no path fragments.
pub const EDNS_UDP_SIZE: u16 = 1232;

/// A classic DNS reply's limit without EDNS.
pub const CLASSIC_UDP_SIZE: usize = 512;

/// A query, as far as the hot path needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Query {
    /// The question section: where it ends (the name starts at 12).
    pub question_end: usize,
    /// The record type asked.
    pub qtype: u16,
    /// The EDNS(0) payload size the client offered, when it sent an OPT.
    pub edns: Option<u16>,
}

/// Read `packet` as a plain query and write its lowercase name followed by
/// its type into `key` (the lookup key of prepared answers); `None` for
/// anything else (responses, other opcodes, several questions, classes
/// other than IN, compression in the question, EDNS versions above 0,
/// trailing records). Returns the query and the key's length.
pub fn read_query(packet: &[u8], key: &mut [u8; MAX_NAME + 2]) -> Option<(Query, usize)> {
    if packet.len() < 12 + 5 {
        return None;
    }
    let flags = u16::from_be_bytes([packet[2], packet[3]]);
    // QR = 0 (a query), opcode 0 (QUERY), no TC.
    if flags & 0xFA00 != 0 {
        return None;
    }
    let count = |i: usize| u16::from_be_bytes([packet[i], packet[i + 1]]);
    let (qd, an, ns, ar) = (count(4), count(6), count(8), count(10));
    if qd != 1 || an != 0 || ns != 0 || ar > 1 {
        return None;
    }
    let mut at = 12;
    let mut len = 0;
    loop {
        let label = usize::from(*packet.get(at)?);
        if label == 0 {
            key[len] = 0;
            len += 1;
            at += 1;
            break;
        }
        // A pointer (or reserved bits) in a question: not for the hot path.
        if label > 63 || len + label + 2 > MAX_NAME {
            return None;
        }
        let bytes = packet.get(at + 1..at + 1 + label)?;
        key[len] = label as u8;
        for (k, b) in key[len + 1..len + 1 + label].iter_mut().zip(bytes) {
            *k = b.to_ascii_lowercase();
        }
        len += label + 1;
        at += label + 1;
    }
    let fixed = packet.get(at..at + 4)?;
    let qtype = u16::from_be_bytes([fixed[0], fixed[1]]);
    let qclass = u16::from_be_bytes([fixed[2], fixed[3]]);
    if qclass != 1 || len == 1 {
        return None;
    }
    key[len] = fixed[0];
    key[len + 1] = fixed[1];
    let question_end = at + 4;
    let edns = if ar == 1 {
        Some(read_opt(packet.get(question_end..)?)?)
    } else if question_end == packet.len() {
        None
    } else {
        return None;
    };
    Some((
        Query {
            question_end,
            qtype,
            edns,
        },
        len + 2,
    ))
}

/// The payload size of an OPT record that is all of `rest`; `None` for
/// anything but a version-0 OPT owned by the root.
fn read_opt(rest: &[u8]) -> Option<u16> {
    // root name, type 41, class = payload size, ttl = ext-rcode/version/flags, rdlen.
    if rest.len() < 11 || rest[0] != 0 || rest[1..3] != [0, 41] {
        return None;
    }
    let size = u16::from_be_bytes([rest[3], rest[4]]);
    let version = rest[6];
    let rdlen = usize::from(u16::from_be_bytes([rest[9], rest[10]]));
    if version != 0 || rest.len() != 11 + rdlen {
        return None;
    }
    Some(size.max(CLASSIC_UDP_SIZE as u16))
}

/// Write into `out` the reply to `query` (`packet`) from `prepared`: a
/// whole response made by hickory for the same question in lowercase. Its
/// id, RD bit and question (the client's spelling: some resolvers check
/// the case they randomised) come from the query; an OPT record is added
/// when the query had one. When it does not fit the client's UDP size,
/// the reply is the question alone with TC set, and the client asks again
/// over TCP. Returns the reply's length.
pub fn write_reply(packet: &[u8], query: &Query, prepared: &[u8], out: &mut Vec<u8>) -> usize {
    out.clear();
    let limit = query.edns.map_or(CLASSIC_UDP_SIZE, |size| {
        usize::from(size.min(EDNS_UDP_SIZE))
    });
    let opt_len = if query.edns.is_some() { 11 } else { 0 };
    let fits = prepared.len() + opt_len <= limit;
    if fits {
        out.extend_from_slice(prepared);
    } else {
        out.extend_from_slice(&prepared[..query.question_end]);
        out[2] |= 0x02; // TC
        out[6..12].fill(0); // no answer, authority or additional records
    }
    out[0] = packet[0];
    out[1] = packet[1];
    // RD and CD as the client set them.
    out[2] = (out[2] & !0x01) | (packet[2] & 0x01);
    out[3] = (out[3] & !0x10) | (packet[3] & 0x10);
    out[12..query.question_end].copy_from_slice(&packet[12..query.question_end]);
    if query.edns.is_some() {
        let additional = u16::from_be_bytes([out[10], out[11]]) + 1;
        out[10..12].copy_from_slice(&additional.to_be_bytes());
        out.extend_from_slice(&[0, 0, 41]);
        out.extend_from_slice(&EDNS_UDP_SIZE.to_be_bytes());
        out.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    }
    out.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{Edns, Message, Query as HQuery};
    use hickory_proto::rr::{Name, RecordType};

    fn query(name: &str, kind: RecordType, edns: bool) -> Vec<u8> {
        let mut m = Message::new();
        m.set_id(0xBEEF);
        m.set_recursion_desired(true);
        m.add_query(HQuery::query(Name::from_ascii(name).unwrap(), kind));
        if edns {
            let mut e = Edns::new();
            e.set_max_payload(4096);
            m.set_edns(e);
        }
        m.to_vec().unwrap()
    }

    #[test]
    fn a_plain_query_gives_its_lowercase_key() {
        let packet = query("Web.Shop.Stack.", RecordType::AAAA, false);
        let mut key = [0u8; MAX_NAME + 2];
        let (q, len) = read_query(&packet, &mut key).unwrap();
        assert_eq!(&key[..len], b"\x03web\x04shop\x05stack\x00\x00\x1c");
        assert_eq!((q.qtype, q.edns, q.question_end), (28, None, packet.len()));
        let with_edns = query("web.", RecordType::A, true);
        let (q, _) = read_query(&with_edns, &mut key).unwrap();
        assert_eq!(q.edns, Some(4096));
    }

    #[test]
    fn unusual_queries_are_left_to_the_slow_path() {
        let mut key = [0u8; MAX_NAME + 2];
        let mut response = query("web.", RecordType::A, false);
        response[2] |= 0x80;
        assert_eq!(read_query(&response, &mut key), None);
        let mut chaos = query("web.", RecordType::A, false);
        let n = chaos.len();
        chaos[n - 1] = 3;
        assert_eq!(read_query(&chaos, &mut key), None);
        assert_eq!(read_query(&[0u8; 5], &mut key), None);
        let mut trailing = query("web.", RecordType::A, false);
        trailing.push(0);
        assert_eq!(read_query(&trailing, &mut key), None);
    }

    #[test]
    fn the_reply_takes_the_id_case_and_edns_of_the_query() {
        let packet = query("WEB.", RecordType::A, true);
        let mut key = [0u8; MAX_NAME + 2];
        let (q, _) = read_query(&packet, &mut key).unwrap();
        // A prepared answer for "web." A with one record.
        let mut prepared = Message::new();
        prepared.set_id(0);
        prepared.set_message_type(hickory_proto::op::MessageType::Response);
        prepared.add_query(HQuery::query(
            Name::from_ascii("web.").unwrap(),
            RecordType::A,
        ));
        prepared.add_answer(hickory_proto::rr::Record::from_rdata(
            Name::from_ascii("web.").unwrap(),
            2,
            hickory_proto::rr::RData::A(hickory_proto::rr::rdata::A::new(10, 0, 0, 2)),
        ));
        let prepared = prepared.to_vec().unwrap();
        let mut out = Vec::new();
        write_reply(&packet, &q, &prepared, &mut out);
        let reply = Message::from_vec(&out).unwrap();
        assert_eq!(reply.id(), 0xBEEF);
        assert!(reply.recursion_desired());
        assert_eq!(reply.queries()[0].name().to_ascii(), "WEB.");
        assert_eq!(reply.answers().len(), 1);
        assert_eq!(
            reply.extensions().as_ref().unwrap().max_payload(),
            EDNS_UDP_SIZE
        );
    }

    #[test]
    fn too_big_for_the_client_is_truncated() {
        let packet = query("web.", RecordType::A, false);
        let mut key = [0u8; MAX_NAME + 2];
        let (q, _) = read_query(&packet, &mut key).unwrap();
        let mut prepared = Message::new();
        prepared.set_message_type(hickory_proto::op::MessageType::Response);
        prepared.add_query(HQuery::query(
            Name::from_ascii("web.").unwrap(),
            RecordType::A,
        ));
        for i in 0..40u8 {
            prepared.add_answer(hickory_proto::rr::Record::from_rdata(
                Name::from_ascii("web.").unwrap(),
                2,
                hickory_proto::rr::RData::A(hickory_proto::rr::rdata::A::new(10, 0, 1, i)),
            ));
        }
        let prepared = prepared.to_vec().unwrap();
        assert!(prepared.len() > CLASSIC_UDP_SIZE);
        let mut out = Vec::new();
        write_reply(&packet, &q, &prepared, &mut out);
        let reply = Message::from_vec(&out).unwrap();
        assert!(reply.truncated());
        assert!(reply.answers().is_empty());
        assert_eq!(reply.queries().len(), 1);
    }
}
