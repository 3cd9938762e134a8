//! Every stack's zone an agent knows, and which of them answers a query:
//! the one place that decides whose names a question is about and what
//! the asker may see of them. Pure, like [`crate::zone`]; the server and
//! `stack dns query` both ask here, so they cannot disagree.
//!
//! - On loopback (the host), a name under a project's origin is that
//!   project's, seen whole; bare names are the project's own.
//! - On a gateway, the asker belongs to a project: the one whose replica
//!   has the asking address on that network. Its own names and bare names
//!   are answered as its project's; another project's
//!   `<svc>.<project>.stack` through the networks the two share, so
//!   NXDOMAIN when they share none. A network stacks share (an external
//!   one) is served by each of their agents, and each answers every asker
//!   alike; an asker that is nobody's replica gets qualified names only.

use std::net::IpAddr;
use std::sync::Arc;

use crate::zone::{Arrival, View, Zone};

/// The project's own zone and the other projects' on the same engine.
#[derive(Debug, Clone)]
pub struct Stacks {
    own: Arc<Zone>,
    neighbours: Arc<Vec<Arc<Zone>>>,
}

impl Stacks {
    /// `own`'s zone among `neighbours`.
    pub fn new(own: Arc<Zone>, neighbours: Arc<Vec<Arc<Zone>>>) -> Stacks {
        Stacks { own, neighbours }
    }

    /// The project's own zone.
    pub fn own(&self) -> &Arc<Zone> {
        &self.own
    }

    /// The other projects' zones.
    pub fn neighbours(&self) -> &Arc<Vec<Arc<Zone>>> {
        &self.neighbours
    }

    /// Every zone: the project's own, then the neighbours'.
    fn all(&self) -> impl Iterator<Item = &Zone> {
        std::iter::once(self.own.as_ref()).chain(self.neighbours.iter().map(|z| z.as_ref()))
    }

    /// The zone that answers `name` asked from `source` as `arrival`, and
    /// the view it answers for; `None` when the source may not ask there
    /// (a gateway answers only the stack's networks).
    pub fn resolve(&self, arrival: &Arrival, source: IpAddr, name: &str) -> Option<(&Zone, View)> {
        if !self.own.serves(arrival, source) {
            return None;
        }
        let key = match arrival {
            Arrival::Loopback => {
                let zone = self.all().find(|z| z.owns(name)).unwrap_or(&self.own);
                return Some((zone, zone.view(arrival, source)));
            }
            Arrival::Network(key) => key,
        };
        let home: Option<(&Zone, View)> = self
            .home(key, source)
            .map(|(zone, theirs)| (zone, zone.view(&Arrival::Network(theirs), source)));
        let network = self.own.engine_name(key).unwrap_or_default();
        let seen_by = |zone: &Zone| match &home {
            Some((from, view)) => zone.foreign_view(from, view),
            None => zone.view_of_networks(&[network]),
        };
        let is_home = |zone: &Zone| home.as_ref().is_some_and(|(h, _)| std::ptr::eq(*h, zone));
        let owner = match self.all().find(|z| z.owns(name)) {
            Some(zone) => Some(zone),
            // Reverse names are nobody's by their suffix: the zone with a
            // replica at that address, as the asker sees it.
            None if is_reverse(name) => self.all().find(|z| match &home {
                Some((h, view)) if std::ptr::eq(*h, *z) => z.answers_reverse(view, name),
                _ => z.answers_reverse(&seen_by(z), name),
            }),
            None => None,
        };
        match (owner, &home) {
            (Some(zone), _) if !is_home(zone) => Some((zone, seen_by(zone))),
            (_, Some((zone, view))) => Some((zone, view.clone())),
            // Nobody's asker, no stack's name: nothing of any stack.
            (_, None) => Some((&self.own, View::default())),
        }
    }

    /// Who asks on the gateway of network `key` (the own zone's key) from
    /// `ip`: the zone of the asker's project, with the key of that network
    /// there. A replica of this project or another on the network belongs
    /// to its own project's zone; anyone else, to this project's when no
    /// other stack shares the network, and to none when it is shared.
    fn home(&self, key: &str, ip: IpAddr) -> Option<(&Zone, String)> {
        if self.own.has_replica_at(key, ip) {
            return Some((&self.own, key.to_string()));
        }
        let name = self.own.engine_name(key)?;
        let mut shared = false;
        for zone in self.neighbours.iter() {
            if let Some(theirs) = zone.key_of(name) {
                if zone.has_replica_at(theirs, ip) {
                    return Some((zone, theirs.to_string()));
                }
                shared = true;
            }
        }
        (!shared).then(|| (self.own.as_ref(), key.to_string()))
    }

    /// Does another project's zone have the network `key` of the own zone?
    pub fn shared(&self, key: &str) -> bool {
        self.own
            .engine_name(key)
            .is_some_and(|name| self.neighbours.iter().any(|z| z.key_of(name).is_some()))
    }
}

/// Is `name` a reverse-lookup name?
fn is_reverse(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name.ends_with(".in-addr.arpa") || name.ends_with(".ip6.arpa")
}

#[cfg(test)]
mod tests;
