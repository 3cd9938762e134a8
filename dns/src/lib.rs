//! The embedded DNS server of stack networks, on hickory-server.
//!
//! [`zone`] decides what a name means for a stack (pure, no sockets),
//! [`stacks`] which stack's zone answers a query;
//! [`server`] answers queries on the listeners the agent opens (one per
//! network gateway, one on loopback), forwarding what is not the stack's
//! with [`forward`]; [`resolv`] reads the host's resolvers.

pub mod book;
pub mod forward;
pub mod log;
pub mod reply;
pub mod resolv;
pub mod server;
pub mod stacks;
pub mod wire;
pub mod zone;

#[cfg(test)]
mod fixtures;

pub use forward::Forwarder;
/// Record types, for callers of [`Zone::answer`].
pub use hickory_proto::rr::RecordType;
pub use server::DnsServer;
pub use stacks::Stacks;
pub use zone::{
    Answer, Arrival, Replica, ReplicaHealth, ServicePort, View, Zone, ZoneData, ZoneNetwork,
    ZoneService,
};
