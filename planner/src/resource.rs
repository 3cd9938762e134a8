//! Networks and volumes as the engine creates them ([`NetworkSpec`],
//! [`VolumeSpec`]: the stack file's definitions lowered, labels settled),
//! and the fingerprints kept in their labels so a changed definition is
//! noticed instead of silently ignored.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::observed::labels::{self, compose};

/// A network to create, in the engine's terms: the adapter translates it
/// field by field and decides nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NetworkSpec {
    /// Engine-side name.
    pub name: String,
    /// Driver (`bridge` unless the file names another).
    pub driver: String,
    /// Driver options.
    pub driver_opts: BTreeMap<String, String>,
    /// No route out of it.
    pub internal: bool,
    /// Containers not of the stack may join it.
    pub attachable: bool,
    /// IPv4 addresses (`false` only where the engine can leave them out:
    /// the planner refuses it elsewhere).
    pub enable_ipv4: Option<bool>,
    /// IPv6 addresses.
    pub enable_ipv6: Option<bool>,
    /// Address management, when the file sets any.
    pub ipam: Option<IpamSpec>,
    /// Every label: the file's, then ours (project, key, hash).
    pub labels: BTreeMap<String, String>,
}

/// A network's address management.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IpamSpec {
    /// IPAM driver (the engine's default when `None`).
    pub driver: Option<String>,
    /// Address pools.
    pub pools: Vec<AddressPool>,
    /// Driver options.
    pub options: BTreeMap<String, String>,
}

/// One address pool of a network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AddressPool {
    /// Subnet in CIDR form.
    pub subnet: Option<String>,
    /// Range of addresses to hand out.
    pub ip_range: Option<String>,
    /// Gateway address.
    pub gateway: Option<String>,
    /// Reserved addresses by name.
    pub aux_addresses: BTreeMap<String, String>,
}

/// A named volume to create, in the engine's terms.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VolumeSpec {
    /// Engine-side name.
    pub name: String,
    /// Driver (the engine's default, `local`, when `None`).
    pub driver: Option<String>,
    /// Driver options (for NFS, `addr=` names the server as the file
    /// does; the executor resolves it to an address just before creating).
    pub driver_opts: BTreeMap<String, String>,
    /// Every label: the file's, then ours (project, key, hash).
    pub labels: BTreeMap<String, String>,
}

/// Network `key` of `project`, named `name` on the engine, lowered.
pub fn network_spec(project: &str, key: &str, name: &str, net: &schema::Network) -> NetworkSpec {
    let ipam = net.ipam.as_ref().map(|i| IpamSpec {
        driver: i.driver.clone(),
        pools: i
            .config
            .iter()
            .flatten()
            .map(|p| AddressPool {
                subnet: p.subnet.clone(),
                ip_range: p.ip_range.clone(),
                gateway: p.gateway.clone(),
                aux_addresses: p.aux_addresses.clone().unwrap_or_default(),
            })
            .collect(),
        options: i.options.clone().unwrap_or_default(),
    });
    NetworkSpec {
        name: name.to_string(),
        driver: net.driver.clone().unwrap_or_else(|| "bridge".into()),
        driver_opts: net.driver_opts.clone().unwrap_or_default(),
        internal: net.internal,
        attachable: net.attachable,
        enable_ipv4: net.enable_ipv4,
        enable_ipv6: net.enable_ipv6,
        ipam,
        labels: resource_labels(
            compose::NETWORK,
            project,
            key,
            &network_hash(net),
            net.labels.as_ref(),
        ),
    }
}

/// Volume `key` of `project`, named `name` on the engine, lowered.
pub fn volume_spec(project: &str, key: &str, name: &str, vol: &schema::Volume) -> VolumeSpec {
    VolumeSpec {
        name: name.to_string(),
        driver: vol.driver.clone(),
        driver_opts: vol.driver_opts.clone().unwrap_or_default(),
        labels: resource_labels(
            compose::VOLUME,
            project,
            key,
            &volume_hash(vol),
            vol.labels.as_ref(),
        ),
    }
}

/// Labels of a network or volume `stack` creates: the file's own, then
/// the project, the key in the stack file, the definition's hash, and
/// Compose's (`kind` is [`compose::NETWORK`] or [`compose::VOLUME`]).
pub fn resource_labels(
    kind: &str,
    project: &str,
    key: &str,
    hash: &str,
    own: Option<&BTreeMap<String, String>>,
) -> BTreeMap<String, String> {
    let mut labels = own.cloned().unwrap_or_default();
    labels.insert(labels::PROJECT.into(), project.into());
    labels.insert(labels::RESOURCE.into(), key.into());
    labels.insert(labels::RESOURCE_HASH.into(), hash.into());
    labels.insert(compose::PROJECT.into(), project.into());
    labels.insert(kind.into(), key.into());
    labels.insert(compose::VERSION.into(), env!("CARGO_PKG_VERSION").into());
    labels
}

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
