//! The typed model of a stack file after loading: every value in one
//! normalised form, serialized with the field names `docker compose config`
//! uses so the two outputs can be compared.

pub mod forms;
pub mod ports;
pub mod service;
pub mod volumes;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use forms::{Command, Dict, StringMap, Strings, Text};
pub use ports::PortConfig;
pub use service::*;
pub use volumes::{MountType, ServiceVolume};

use forms::string_map;

/// A fully loaded stack: what the planner takes as desired state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Project {
    /// Project name (after `-p`, `STACK_PROJECT_NAME`, `name:`, directory);
    /// set by every load, so `None` only in a project made by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<crate::policy::ProjectName>,
    /// Legacy `version:` key: accepted and ignored, like Compose.
    #[serde(default, skip_serializing)]
    pub version: Option<Text>,
    /// Other stack files pulled in (resolved by the loader).
    #[serde(default, skip_serializing)]
    pub include: Option<service::Raw>,
    /// Services by name.
    #[serde(default)]
    pub services: BTreeMap<String, Service>,
    /// Networks by name.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "nullable_map"
    )]
    pub networks: BTreeMap<String, Network>,
    /// Named volumes by name.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "nullable_map"
    )]
    pub volumes: BTreeMap<String, Volume>,
    /// Secrets by name.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "nullable_map"
    )]
    pub secrets: BTreeMap<String, FileObject>,
    /// Configs by name.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "nullable_map"
    )]
    pub configs: BTreeMap<String, FileObject>,
    /// AI models (kept as written; `up` refuses services that use them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<service::Raw>,
    /// Where the project was loaded from: not part of the file, set by the
    /// loader.
    #[serde(skip)]
    pub origin: Origin,
    /// Services of the file that no active profile enables (set by the
    /// loader): not in `services`, and yet not orphans either.
    #[serde(skip)]
    pub disabled_services: std::collections::BTreeSet<String>,
}

/// Where a project was loaded from. Containers carry it in Compose's
/// labels, which `docker compose ls` and dashboards read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The project directory.
    pub working_dir: std::path::PathBuf,
    /// The stack files merged, in order.
    pub config_files: Vec<std::path::PathBuf>,
}

impl Project {
    /// The project's name: what its engine objects are named and labelled
    /// after (empty only for a project made by hand without one).
    pub fn project_name(&self) -> &str {
        self.name.as_ref().map_or("", |n| n.as_str())
    }

    /// `named` and every service they depend on, transitively; all
    /// services when `named` is empty.
    pub fn with_dependencies(&self, named: &[String]) -> std::collections::BTreeSet<String> {
        if named.is_empty() {
            return self.services.keys().cloned().collect();
        }
        let mut out = std::collections::BTreeSet::new();
        let mut queue: Vec<String> = named.to_vec();
        while let Some(s) = queue.pop() {
            if !out.insert(s.clone()) {
                continue;
            }
            if let Some(svc) = self.services.get(&s) {
                queue.extend(svc.depends_on.iter().flat_map(|d| d.keys().cloned()));
            }
        }
        out
    }

    /// `named` and the services that depend on them with `restart: true`,
    /// transitively: what a restart of `named` restarts, as in Compose.
    pub fn with_restart_dependents(&self, named: &[String]) -> std::collections::BTreeSet<String> {
        let mut set: std::collections::BTreeSet<String> = named.iter().cloned().collect();
        let follows = |svc: &Service, set: &std::collections::BTreeSet<String>| {
            svc.depends_on
                .iter()
                .flatten()
                .any(|(dep, d)| d.restart && set.contains(dep))
        };
        while let Some(more) = self
            .services
            .iter()
            .find(|(name, svc)| !set.contains(*name) && follows(svc, &set))
            .map(|(name, _)| name.clone())
        {
            set.insert(more);
        }
        set
    }

    /// Set replica counts from `--scale` / `stack scale` (`SERVICE=N`),
    /// over what the file says.
    pub fn apply_scale(&mut self, scale: &[String]) -> Result<(), ScaleError> {
        for s in scale {
            let bad = |why: String| ScaleError {
                given: s.clone(),
                why,
            };
            let (name, n) = s
                .split_once('=')
                .ok_or_else(|| bad("takes SERVICE=N".into()))?;
            let n: u32 = n
                .parse()
                .map_err(|_| bad(format!("`{n}` is not a number")))?;
            let svc = self
                .services
                .get_mut(name)
                .ok_or_else(|| bad(format!("no service named `{name}`")))?;
            if n > 1 && svc.container_name.is_some() {
                return Err(bad(format!(
                    "`{name}` has a fixed container_name, so it cannot run more than one replica"
                )));
            }
            svc.deploy.get_or_insert_with(Default::default).replicas = Some(n);
            svc.scale = None;
        }
        Ok(())
    }

    /// The image `service` runs: its `image:`, or, for a service that only
    /// builds, `<project>-<service>` as Compose names it.
    pub fn image_of(&self, service: &str, svc: &Service) -> String {
        svc.image
            .clone()
            .unwrap_or_else(|| format!("{}-{service}", self.project_name()))
    }
}

/// A `--scale SERVICE=N` that cannot apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--scale {given}: {why}")]
pub struct ScaleError {
    /// What was given.
    pub given: String,
    /// What is wrong with it.
    pub why: String,
}

/// `name: {}` and `name:` (null) both mean "all defaults".
fn nullable_map<'de, D, T>(d: D) -> Result<BTreeMap<String, T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    let map = Option::<BTreeMap<String, Option<T>>>::deserialize(d)?.unwrap_or_default();
    Ok(map
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect())
}

/// A top-level network.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Engine-side name (default `<project>_<key>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Driver (`bridge` by default on one engine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Driver options.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_map"
    )]
    pub driver_opts: Option<StringMap>,
    /// Address management.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipam: Option<Ipam>,
    /// Use an existing network; never create or delete it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
    /// No route out of the network.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub internal: bool,
    /// Other containers may attach.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub attachable: bool,
    /// IPv4 enabled (kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_ipv4: Option<bool>,
    /// IPv6 enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_ipv6: Option<bool>,
    /// Labels.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_map"
    )]
    pub labels: Option<StringMap>,
}

/// IP address management of a network.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ipam {
    /// IPAM driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Address pools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Vec<IpamPool>>,
    /// Driver options.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_map"
    )]
    pub options: Option<StringMap>,
}

/// One address pool.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpamPool {
    /// Subnet in CIDR form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    /// Range of addresses to hand out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<String>,
    /// Gateway address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// Reserved addresses.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_map"
    )]
    pub aux_addresses: Option<StringMap>,
}

/// A top-level named volume.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Volume {
    /// Engine-side name (default `<project>_<key>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Volume driver (`local` by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Driver options (for NFS: `type`, `o`, `device`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_map"
    )]
    pub driver_opts: Option<StringMap>,
    /// Use an existing volume; never create or delete it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
    /// Labels.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_map"
    )]
    pub labels: Option<StringMap>,
    /// Our NFS shorthand; the loader expands it into `driver_opts`.
    #[serde(default, skip_serializing)]
    pub nfs: Option<NfsShorthand>,
}

/// `nfs: {server, path, options}`: shorthand for the local driver's NFS options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NfsShorthand {
    /// NFS server host name or address.
    pub server: String,
    /// Exported path on the server.
    pub path: String,
    /// Mount options (`rw`, `nfsvers=4`...).
    #[serde(default)]
    pub options: Vec<String>,
}

/// A top-level secret or config.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileObject {
    /// Engine-side name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// File whose content is mounted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Environment variable whose value is mounted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Inline content (configs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Managed outside the stack.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
    /// Labels.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_map"
    )]
    pub labels: Option<StringMap>,
    /// Driver (Swarm; kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Driver options (Swarm; kept as written).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_map"
    )]
    pub driver_opts: Option<StringMap>,
    /// Template driver (Swarm; kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_driver: Option<String>,
}
