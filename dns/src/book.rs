//! The answer book: every reply the hot path can give, prepared once per
//! zone change, so that answering is a hash lookup and a copy.
//!
//! For one way of arriving (loopback, or one network's gateway) the book
//! holds a page per view, and on each page, for each question (lowercase
//! wire name and type) the whole response message hickory builds for it
//! ([`crate::reply::decide`], the general path's own decision), once per
//! round-robin turn. [`crate::wire::write_reply`] then gives it the id,
//! flags, spelling and EDNS of the query it answers. Questions the book
//! lacks (NXDOMAIN, other types, names to forward) take the general path.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use hickory_proto::op::{Header, Query};
use hickory_proto::rr::{Name, RecordType};
use ipnet::IpNet;

use crate::reply::{decide, Decision};
use crate::zone::{Arrival, View, Zone};

/// Prepared replies for one way of arriving.
#[derive(Debug, Default)]
pub struct Book {
    pages: Vec<Page>,
    /// The page of each source address whose view is not the default's.
    by_source: HashMap<IpAddr, usize>,
    /// Who may ask at all (a gateway answers only the stack's networks);
    /// `None`: everyone (loopback).
    allowed: Option<Vec<IpNet>>,
}

#[derive(Debug, Default)]
struct Page {
    replies: HashMap<Box<[u8]>, Prepared>,
}

#[derive(Debug)]
struct Prepared {
    /// One whole response per round-robin turn.
    turns: Box<[Box<[u8]>]>,
    next: AtomicUsize,
}

impl Book {
    /// The book of `arrival`: the `own` zone's answers, and on loopback the
    /// names of `neighbours` (other projects' zones, under their origins).
    /// On a network other stacks share (`shared`), it answers only the project's own
    /// replicas: the others' askers take the general path, which answers
    /// each as its own project.
    pub fn new(own: &Zone, neighbours: &[&Zone], arrival: &Arrival, shared: bool) -> Book {
        let (default, special) = own.views(arrival);
        let mut book = Book {
            allowed: match arrival {
                Arrival::Loopback => None,
                Arrival::Network(key) if shared => Some(
                    (own.data().services.iter())
                        .flat_map(|s| s.replicas.iter())
                        .flat_map(|r| r.ips_on(key).collect::<Vec<_>>())
                        .map(IpNet::from)
                        .collect(),
                ),
                Arrival::Network(_) => Some(
                    own.data()
                        .networks
                        .iter()
                        .flat_map(|n| n.subnets.iter().copied())
                        .collect(),
                ),
            },
            ..Book::default()
        };
        let mut page = Page::for_view(own, &default, false);
        if *arrival == Arrival::Loopback {
            for zone in neighbours {
                let (view, _) = zone.views(&Arrival::Loopback);
                page.merge(Page::for_view(zone, &view, true));
            }
        }
        book.pages.push(page);
        let mut views: Vec<View> = Vec::new();
        for (source, view) in special {
            let index = match views.iter().position(|v| *v == view) {
                Some(i) => i,
                None => {
                    book.pages.push(Page::for_view(own, &view, false));
                    views.push(view);
                    views.len() - 1
                }
            };
            book.by_source.insert(source, index + 1);
        }
        book
    }

    /// The prepared reply to the question `key` (from
    /// [`crate::wire::read_query`]) asked by `source`, taking the next
    /// round-robin turn; `None` when the general path must answer (the
    /// source may not ask here, or the question is not prepared).
    pub fn reply(&self, source: IpAddr, key: &[u8]) -> Option<&[u8]> {
        if let Some(allowed) = &self.allowed {
            if !allowed.iter().any(|n| n.contains(&source)) {
                return None;
            }
        }
        let page = self.by_source.get(&source).copied().unwrap_or(0);
        let prepared = self.pages.get(page)?.replies.get(key)?;
        let turn = prepared.next.fetch_add(1, Ordering::Relaxed) % prepared.turns.len();
        Some(&prepared.turns[turn])
    }

    /// How many questions the book can answer (all pages).
    pub fn len(&self) -> usize {
        self.pages.iter().map(|p| p.replies.len()).sum()
    }

    /// Whether it can answer nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Page {
    fn for_view(zone: &Zone, view: &View, qualified_only: bool) -> Page {
        let mut page = Page::default();
        // The request the replies are made for: id 0, no flags; the real
        // query's id and flags are put in when it is answered.
        let request = Header::new();
        for (name, kind, turns) in zone.questions(view, qualified_only) {
            let Ok(owner) = Name::from_ascii(&name) else {
                continue;
            };
            let query = Query::query(owner, kind);
            let mut replies = Vec::with_capacity(turns.max(1));
            for turn in 0..turns.max(1) {
                let Decision::Reply(sections) =
                    decide(zone, view, &request, &name, kind, Some(turn))
                else {
                    break;
                };
                match sections.message(&query, None).to_vec() {
                    Ok(bytes) => replies.push(bytes.into_boxed_slice()),
                    Err(e) => {
                        tracing::debug!("cannot prepare the reply to {name} {kind}: {e}");
                        break;
                    }
                }
            }
            if replies.len() == turns.max(1) {
                page.replies.insert(
                    key(&name, kind),
                    Prepared {
                        turns: replies.into_boxed_slice(),
                        next: AtomicUsize::new(0),
                    },
                );
            }
        }
        page
    }

    /// Add `other`'s questions that this page does not have.
    fn merge(&mut self, other: Page) {
        for (key, prepared) in other.replies {
            self.replies.entry(key).or_insert(prepared);
        }
    }
}

/// The lookup key of `name` (lowercase, with the trailing dot) and `kind`:
/// the name in wire format, then the type, as `read_query` writes it.
fn key(name: &str, kind: RecordType) -> Box<[u8]> {
    let mut out = Vec::with_capacity(name.len() + 3);
    for label in name.trim_end_matches('.').split('.') {
        out.push(label.len() as u8);
        out.extend(label.bytes().map(|b| b.to_ascii_lowercase()));
    }
    out.push(0);
    out.extend_from_slice(&u16::from(kind).to_be_bytes());
    out.into_boxed_slice()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::lab;
    use crate::wire::{read_query, write_reply, MAX_NAME};
    use hickory_proto::op::Message;

    fn ask(book: &Book, source: &str, name: &str, kind: RecordType) -> Option<Message> {
        let mut m = Message::new();
        m.set_id(7);
        m.set_recursion_desired(true);
        m.add_query(Query::query(Name::from_ascii(name).unwrap(), kind));
        let packet = m.to_vec().unwrap();
        let mut k = [0u8; MAX_NAME + 2];
        let (q, len) = read_query(&packet, &mut k)?;
        let prepared = book.reply(source.parse().unwrap(), &k[..len])?;
        let mut out = Vec::new();
        write_reply(&packet, &q, prepared, &mut out);
        Some(Message::from_vec(&out).unwrap())
    }

    #[test]
    fn the_book_answers_what_the_zone_answers_turn_by_turn() {
        let zone = lab();
        let book = Book::new(&zone, &[], &Arrival::Loopback, false);
        assert!(!book.is_empty());
        let mut firsts = Vec::new();
        for _ in 0..4 {
            let reply =
                ask(&book, "127.0.0.1", "Tasks.Web.lab.stack.", RecordType::A).expect("prepared");
            assert_eq!(reply.id(), 7);
            assert!(reply.authoritative() && reply.recursion_available());
            assert_eq!(reply.queries()[0].name().to_ascii(), "Tasks.Web.lab.stack.");
            assert_eq!(reply.answers().len(), 2);
            firsts.push(reply.answers()[0].data().to_string());
        }
        assert_ne!(firsts[0], firsts[1], "round robin: {firsts:?}");
        assert_eq!(firsts[0], firsts[2]);
        // Only the healthy replica answers the service name.
        let web = ask(&book, "127.0.0.1", "web.", RecordType::A).expect("prepared");
        assert_eq!(web.answers().len(), 1);
        // A name of the zone without AAAA: NODATA with the SOA.
        let reply = ask(&book, "127.0.0.1", "web.", RecordType::AAAA).expect("prepared");
        assert!(reply.answers().is_empty());
        assert_eq!(reply.name_servers()[0].record_type(), RecordType::SOA);
        // SRV with the target's address; PTR of a replica.
        let srv = ask(
            &book,
            "127.0.0.1",
            "_http._tcp.web.lab.stack.",
            RecordType::SRV,
        )
        .expect("prepared");
        assert_eq!((srv.answers().len(), srv.additionals().len()), (1, 1));
        let ptr = ask(
            &book,
            "127.0.0.1",
            "5.2.9.10.in-addr.arpa.",
            RecordType::PTR,
        )
        .expect("prepared");
        assert_eq!(ptr.answers()[0].data().to_string(), "db-1.lab.stack.");
        // NXDOMAIN and forwarded names are the general path's.
        assert!(ask(&book, "127.0.0.1", "nothing.lab.stack.", RecordType::A).is_none());
        assert!(ask(&book, "127.0.0.1", "example.org.", RecordType::A).is_none());
    }

    #[test]
    fn a_gateway_book_has_the_views_of_its_sources() {
        let zone = lab();
        let book = Book::new(&zone, &[], &Arrival::Network("frontend".into()), false);
        // Not one of the stack's addresses: the general path refuses it.
        assert!(ask(&book, "192.0.2.1", "web.", RecordType::A).is_none());
        // `client` (frontend only) does not see `db`; `web-1`, on both
        // networks, does.
        let web = ask(&book, "10.9.1.4", "web.", RecordType::A).expect("prepared");
        assert_eq!(web.answers()[0].data().to_string(), "10.9.1.2");
        assert!(ask(&book, "10.9.1.4", "db.", RecordType::A).is_none());
        let db = ask(&book, "10.9.1.2", "db.", RecordType::A).expect("web-1 sees db");
        assert_eq!(db.answers()[0].data().to_string(), "10.9.2.5");
    }

    #[test]
    fn the_loopback_book_answers_the_neighbours_qualified_names() {
        let zone = lab();
        let other = crate::fixtures::lab_named("other");
        let book = Book::new(&zone, &[&other], &Arrival::Loopback, false);
        assert!(ask(&book, "127.0.0.1", "db.other.stack.", RecordType::A).is_some());
        assert!(ask(&book, "127.0.0.1", "db.lab.stack.", RecordType::A).is_some());
    }
}
