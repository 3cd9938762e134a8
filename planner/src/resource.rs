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

/// Hash of a volume definition (driver, options, labels, name), with the
/// defaults left out: `driver: local` and empty `labels` or `driver_opts`
/// define the same volume as no such key at all.
pub fn volume_hash(vol: &schema::Volume) -> String {
    let mut canonical = vol.clone();
    if canonical.driver.as_deref() == Some("local") {
        canonical.driver = None;
    }
    if canonical.labels.as_ref().is_some_and(|l| l.is_empty()) {
        canonical.labels = None;
    }
    if canonical.driver_opts.as_ref().is_some_and(|o| o.is_empty()) {
        canonical.driver_opts = None;
    }
    fingerprint(&canonical)
}

/// Was the volume labelled `hash` made from the definition `vol`? Labels
/// written before defaults were left out (the hash of the definition as
/// written) match too, so upgrading never blocks an existing volume.
pub fn volume_matches(hash: &str, vol: &schema::Volume) -> bool {
    hash == volume_hash(vol) || hash == fingerprint(vol)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_spelled_out_are_the_same_volume() {
        let bare = schema::Volume::default();
        let spelled = schema::Volume {
            driver: Some("local".into()),
            labels: Some(Default::default()),
            driver_opts: Some(Default::default()),
            ..Default::default()
        };
        assert_eq!(volume_hash(&bare), volume_hash(&spelled));
        assert!(
            volume_matches(&fingerprint(&spelled), &spelled),
            "old labels"
        );
        let other = schema::Volume {
            driver: Some("nfs-plugin".into()),
            ..Default::default()
        };
        assert!(!volume_matches(&volume_hash(&bare), &other));
    }
}
