//! Fingerprints of networks and volumes, kept in their labels so a changed
//! definition is noticed instead of silently ignored.

use serde::Serialize;
use sha2::{Digest, Sha256};

fn fingerprint(value: &impl Serialize) -> String {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    Sha256::digest(&bytes)
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Hash of a network definition.
pub fn network_hash(net: &schema::Network) -> String {
    fingerprint(net)
}

/// Hash of a volume definition (driver, options, labels, name).
pub fn volume_hash(vol: &schema::Volume) -> String {
    fingerprint(vol)
}
