//! Checks that need the whole model: references between services and
//! resources, dependency cycles, ports two services both want, subnets that
//! overlap, settings that contradict each other. Each finding points at the
//! place in the file that has to change.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::diag::{did_you_mean, Diagnostic};
use crate::graph::ServiceGraph;
use crate::locate::span_of;
use crate::model::{MountType, Project, Service};
use crate::yaml::Node;
use crate::NamespaceRef;

/// Validate `project`; findings go to `diags`.
pub fn validate(project: &Project, tree: &Node, diags: &mut Vec<Diagnostic>) {
    let mut v = Validator {
        project,
        tree,
        diags,
    };
    for (name, svc) in &project.services {
        v.service(name, svc);
    }
    v.cycles();
    v.published_ports();
    v.subnets();
    v.volumes();
    v.externals();
    crate::values::check(project, tree, diags);
}

/// Published host ports so far: (host ip, protocol) -> (first, last, service).
type PortClaims = BTreeMap<(String, String), Vec<(u16, u16, String)>>;

struct Validator<'a> {
    project: &'a Project,
    tree: &'a Node,
    diags: &'a mut Vec<Diagnostic>,
}

fn suggest<'a>(word: &str, names: impl Iterator<Item = &'a String>) -> Option<String> {
    let names: Vec<&str> = names.map(String::as_str).collect();
    Some(match did_you_mean(word, names.iter().copied()) {
        Some(s) => format!("did you mean `{s}`?"),
        None if names.is_empty() => "none are defined".to_string(),
        None => format!("defined: {}", names.join(", ")),
    })
}

impl Validator<'_> {
    fn err(
        &mut self,
        code: &'static str,
        service: &str,
        path: &[&str],
        message: String,
        hint: Option<String>,
    ) {
        let mut d = Diagnostic::error(code, span_of(self.tree, path), message).for_service(service);
        d.hint = hint;
        self.diags.push(d);
    }

    /// As [`Validator::err`], pointing at the value at `path` rather than
    /// at its key.
    fn err_at_value(
        &mut self,
        service: &str,
        path: &[&str],
        message: String,
        hint: Option<String>,
    ) {
        let span = crate::locate::value_span(self.tree, path).or_else(|| span_of(self.tree, path));
        let mut d = Diagnostic::error("invalid-value", span, message).for_service(service);
        d.hint = hint;
        self.diags.push(d);
    }

    fn service(&mut self, name: &str, svc: &Service) {
        let services = &self.project.services;
        fn at<'p>(name: &'p str, rest: &[&'p str]) -> Vec<&'p str> {
            let mut p = vec!["services", name];
            p.extend_from_slice(rest);
            p
        }
        // An unresolved `extends` was reported already; its image is unknown.
        // A provider service has no container (refused by `up`, but valid).
        let no_image = svc.image.is_none() && svc.build.is_none() && svc.provider.is_none();
        if no_image && svc.extends.is_none() {
            self.err(
                "no-image",
                name,
                &at(name, &[]),
                "has neither `image` nor `build`".into(),
                Some("add `image: busybox:1.36` (or another image), or a `build:` context".into()),
            );
        }
        if let Err(why) = crate::develop::watch_rules(svc) {
            self.err(
                "invalid-watch",
                name,
                &at(name, &["develop"]),
                format!("`develop.watch`: {why}"),
                Some("each rule takes `path`, `action` (sync, rebuild, restart, sync+restart, sync+exec), and `target` for the sync actions".into()),
            );
        }
        let borrowed: Vec<&str> = svc
            .borrowed_services()
            .into_iter()
            .map(|(_, s)| s)
            .collect();
        for dep in svc.depends_on.iter().flat_map(|d| d.keys()) {
            // Implied by network_mode/pid/ipc/volumes_from: reported there.
            if !services.contains_key(dep) && !borrowed.contains(&dep.as_str()) {
                self.err(
                    "unknown-service",
                    name,
                    &at(name, &["depends_on", dep]),
                    format!("depends on `{dep}`, which is not a service of this stack"),
                    suggest(dep, services.keys()),
                );
            }
        }
        for (field, value) in [
            ("network_mode", &svc.network_mode),
            ("pid", &svc.pid),
            ("ipc", &svc.ipc),
        ] {
            let Some(value) = value else { continue };
            if let Some(other) = value.service() {
                if !services.contains_key(other) {
                    self.err(
                        "unknown-service",
                        name,
                        &at(name, &[field]),
                        format!("`{field}: {value}` names `{other}`, which is not a service of this stack"),
                        suggest(other, services.keys()),
                    );
                } else if other == name {
                    self.err(
                        "self-reference",
                        name,
                        &at(name, &[field]),
                        format!("`{field}` cannot share its own namespace"),
                        None,
                    );
                }
            }
        }
        if let Some(mode) = &svc.network_mode {
            let known = mode.shares()
                || matches!(mode.mode(), Some("none" | "host" | "bridge" | "default"));
            if !known {
                self.err(
                    "network-mode",
                    name,
                    &at(name, &["network_mode"]),
                    format!("`network_mode: {mode}` is not a network mode"),
                    Some("use none, host, bridge, service:<name> or container:<name>; to join a network use `networks:`".into()),
                );
            }
            let shares = mode.shares();
            if shares && svc.ports.as_ref().is_some_and(|p| !p.is_empty()) {
                self.err(
                    "sidecar-ports",
                    name,
                    &at(name, &["ports"]),
                    format!("shares the network namespace of `{mode}` and cannot publish ports of its own"),
                    Some(format!("publish the ports on `{}` instead", match mode {
                        NamespaceRef::Service(n) | NamespaceRef::Container(n) => n.as_str(),
                        NamespaceRef::Mode(m) => m.as_str(),
                    })),
                );
            }
            if shares && svc.networks.is_some() {
                self.err(
                    "sidecar-networks",
                    name,
                    &at(name, &["networks"]),
                    format!("shares the network namespace of `{mode}` and cannot join networks of its own"),
                    Some("remove `networks:` here; the sidecar is on its parent's networks".into()),
                );
            }
            if matches!(mode.mode(), Some("host" | "none")) && svc.networks.is_some() {
                self.err(
                    "network-mode",
                    name,
                    &at(name, &["networks"]),
                    format!("`network_mode: {mode}` cannot be combined with `networks:`"),
                    Some("use one or the other".into()),
                );
            }
        }
        for (i, entry) in svc.volumes_from.iter().flatten().enumerate() {
            let Some(other) = entry.source.service() else {
                continue;
            };
            if !services.contains_key(other) {
                self.err(
                    "unknown-service",
                    name,
                    &at(name, &["volumes_from", &i.to_string()]),
                    format!("`volumes_from` names `{other}`, which is not a service of this stack"),
                    suggest(other, services.keys()).map(|h| {
                        format!("{h} (for a container outside the stack write `container:{other}`)")
                    }),
                );
            }
        }
        for link in svc.links.iter().flatten() {
            let other = link.split(':').next().unwrap_or(link);
            if !services.contains_key(other) {
                self.err(
                    "unknown-service",
                    name,
                    &at(name, &["links", link]),
                    format!("`links` names `{other}`, which is not a service of this stack"),
                    suggest(other, services.keys()),
                );
            }
        }
        for (net, cfg) in svc.networks.iter().flatten() {
            if !self.project.networks.contains_key(net) {
                self.err(
                    "unknown-network",
                    name,
                    &at(name, &["networks", net]),
                    format!("joins the network `{net}`, which is not defined under top-level `networks:`"),
                    suggest(net, self.project.networks.keys()).map(|h| format!("{h}; or declare it: `networks: {{{net}: {{}}}}`")),
                );
                continue;
            }
            if let Some(addr) = cfg.as_ref().and_then(|c| c.ipv4_address.as_deref()) {
                self.static_address(name, net, addr);
            }
        }
        for (i, vol) in svc.volumes.iter().flatten().enumerate() {
            let idx = i.to_string();
            if !vol.target.starts_with('/') {
                self.err(
                    "volume-target",
                    name,
                    &at(name, &["volumes", &idx, "target"]),
                    format!(
                        "mount target `{}` is not an absolute path in the container",
                        vol.target
                    ),
                    Some(format!(
                        "write `/{}`, or `{}:/path` to mount the volume `{}`",
                        vol.target, vol.target, vol.target
                    )),
                );
            }
            if let Some(bind) = &vol.bind {
                let choices: [(&str, &Option<String>, &[&str]); 3] = [
                    (
                        "propagation",
                        &bind.propagation,
                        &[
                            "rprivate", "private", "rshared", "shared", "rslave", "slave",
                        ],
                    ),
                    ("selinux", &bind.selinux, &["z", "Z"]),
                    (
                        "recursive",
                        &bind.recursive,
                        &["enabled", "disabled", "writable", "readonly"],
                    ),
                ];
                for (field, value, allowed) in choices {
                    if let Some(value) = value.as_deref().filter(|v| !allowed.contains(v)) {
                        self.err_at_value(
                            name,
                            &at(name, &["volumes", &idx, "bind", field]),
                            format!(
                                "`bind.{field}: {value}` is not one of {}",
                                allowed.join(", ")
                            ),
                            Some(format!(
                                "write one of {}, or remove `{field}`",
                                allowed.join(", ")
                            )),
                        );
                    }
                }
            }
            if vol.kind == MountType::Volume {
                if let Some(src) = &vol.source {
                    if !self.project.volumes.contains_key(src) {
                        self.err(
                            "unknown-volume",
                            name,
                            &at(name, &["volumes", &idx]),
                            format!("mounts the volume `{src}`, which is not defined under top-level `volumes:`"),
                            suggest(src, self.project.volumes.keys()).map(|h| {
                                format!("{h}; declare it with `volumes: {{{src}: {{}}}}`, or write `./{src}` for a host directory")
                            }),
                        );
                    }
                }
            }
        }
        for (kind, refs, defined) in [
            ("secret", &svc.secrets, &self.project.secrets),
            ("config", &svc.configs, &self.project.configs),
        ] {
            for r in refs.iter().flatten() {
                if !defined.contains_key(&r.source) {
                    let field = if kind == "secret" {
                        "secrets"
                    } else {
                        "configs"
                    };
                    self.err(
                        "unknown-reference",
                        name,
                        &at(name, &[field, &r.source]),
                        format!(
                            "uses the {kind} `{}`, which is not defined under top-level `{field}:`",
                            r.source
                        ),
                        suggest(&r.source, defined.keys()),
                    );
                }
            }
        }
        let replicas = svc.replicas();
        if replicas > 1 && svc.container_name.is_some() {
            self.err(
                "container-name-replicas",
                name,
                &at(name, &["container_name"]),
                format!("has `container_name` and {replicas} replicas; container names are unique"),
                Some("remove `container_name` (containers are named <project>-<service>-<n>) or use one replica".into()),
            );
        }
        for (dep, cond) in svc.depends_on.iter().flatten() {
            let Some(dep_svc) = services.get(dep) else {
                continue;
            };
            let has_check = dep_svc
                .healthcheck
                .as_ref()
                .is_some_and(|h| !h.is_disabled() && h.test.is_some());
            if cond.condition == crate::model::Condition::ServiceHealthy && !has_check {
                self.diags.push(
                    Diagnostic::warning(
                        "no-healthcheck",
                        span_of(self.tree, &at(name, &["depends_on", dep])),
                        format!(
                            "waits for `{dep}` to be healthy, but `{dep}` defines no healthcheck"
                        ),
                    )
                    .for_service(name)
                    .with_hint(format!(
                        "add a `healthcheck:` to `{dep}`, unless its image defines one"
                    )),
                );
            }
        }
    }

    fn static_address(&mut self, service: &str, net: &str, addr: &str) {
        let path = ["services", service, "networks", net, "ipv4_address"];
        let Ok(ip) = addr.parse::<IpAddr>() else {
            self.err(
                "ip-address",
                service,
                &path,
                format!("`ipv4_address: {addr}` is not an IP address"),
                None,
            );
            return;
        };
        let subnets: Vec<IpNet> = self
            .network_subnets(net)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        if subnets.is_empty() {
            self.err(
                "ip-address",
                service,
                &path,
                format!("has the static address {addr} on `{net}`, but `{net}` declares no subnet"),
                Some(format!(
                    "add `ipam: {{config: [{{subnet: ...}}]}}` to the network `{net}`"
                )),
            );
        } else if !subnets.iter().any(|s| s.contains(&ip)) {
            let list: Vec<String> = subnets.iter().map(ToString::to_string).collect();
            self.err(
                "ip-address",
                service,
                &path,
                format!(
                    "the static address {addr} is outside the subnet of `{net}` ({})",
                    list.join(", ")
                ),
                None,
            );
        }
    }

    fn network_subnets(&self, net: &str) -> Vec<(IpNet, usize)> {
        let Some(n) = self.project.networks.get(net) else {
            return Vec::new();
        };
        n.ipam
            .iter()
            .flat_map(|i| i.config.iter().flatten())
            .enumerate()
            .filter_map(|(i, p)| p.subnet.as_deref()?.parse::<IpNet>().ok().map(|s| (s, i)))
            .collect()
    }

    fn cycles(&mut self) {
        for cycle in ServiceGraph::new(self.project).cycles() {
            let first = cycle[0].clone();
            let second = cycle.get(1).cloned().unwrap_or_default();
            self.err(
                "dependency-cycle",
                &first,
                &["services", &first, "depends_on", &second],
                format!("dependency cycle: {}", cycle.join(" -> ")),
                Some("services cannot wait for each other; remove one of these depends_on (or network_mode/volumes_from) links".into()),
            );
        }
    }

    fn published_ports(&mut self) {
        // (host ip, protocol) -> [(first port, last port, service)]
        let mut taken: PortClaims = BTreeMap::new();
        for (name, svc) in &self.project.services {
            let replicas = svc.replicas();
            for port in svc.ports.iter().flatten() {
                let Some((lo, hi)) = port.published_range() else {
                    if port.published.is_some() {
                        self.err(
                            "port",
                            name,
                            &["services", name, "ports"],
                            format!(
                                "`{}` is not a host port or range",
                                port.published.as_deref().unwrap_or_default()
                            ),
                            None,
                        );
                    }
                    continue;
                };
                let published = port.published.as_deref().unwrap_or_default();
                let at = ["services", name.as_str(), "ports", published];
                if replicas > 1 && u32::from(hi - lo) + 1 < replicas {
                    self.err(
                        "port-replicas",
                        name,
                        &at,
                        format!(
                            "publishes host port{} {} for {replicas} replicas; each replica needs its own host port",
                            if lo == hi { "" } else { "s" },
                            port.published.as_deref().unwrap_or_default()
                        ),
                        Some(format!(
                            "publish a range, e.g. \"{lo}-{}:{}\", or leave the host port out to get random ones",
                            u32::from(lo) + replicas - 1,
                            port.target
                        )),
                    );
                }
                let ip = port.host_ip.clone().unwrap_or_else(|| "0.0.0.0".into());
                let key = (ip.clone(), port.protocol.clone());
                let wildcard = ["0.0.0.0", "::"];
                let clash = taken.iter().find_map(|((other_ip, proto), list)| {
                    let same_addr = other_ip == &ip
                        || wildcard.contains(&other_ip.as_str())
                        || wildcard.contains(&ip.as_str());
                    if !same_addr || proto != &port.protocol {
                        return None;
                    }
                    list.iter().find(|(a, b, _)| lo <= *b && *a <= hi).cloned()
                });
                if let Some((a, b, other)) = clash {
                    let other_desc = if a == b {
                        a.to_string()
                    } else {
                        format!("{a}-{b}")
                    };
                    let who = if &other == name {
                        "this service".to_string()
                    } else {
                        format!("`{other}`")
                    };
                    self.err(
                        "duplicate-port",
                        name,
                        &at,
                        format!(
                            "host port {}/{} is also published by {who} ({other_desc})",
                            port.published.as_deref().unwrap_or_default(),
                            port.protocol
                        ),
                        Some("two containers cannot listen on the same host port; change one of them".into()),
                    );
                }
                taken.entry(key).or_default().push((lo, hi, name.clone()));
            }
        }
    }

    fn subnets(&mut self) {
        let mut seen: Vec<(IpNet, String)> = Vec::new();
        let nets: Vec<String> = self.project.networks.keys().cloned().collect();
        for net in nets {
            let Some(n) = self.project.networks.get(&net) else {
                continue;
            };
            let pools: Vec<_> = n
                .ipam
                .iter()
                .flat_map(|i| i.config.iter().flatten())
                .cloned()
                .collect();
            for (i, pool) in pools.iter().enumerate() {
                let idx = i.to_string();
                let path = [
                    "networks",
                    net.as_str(),
                    "ipam",
                    "config",
                    idx.as_str(),
                    "subnet",
                ];
                let Some(subnet) = &pool.subnet else { continue };
                let parsed: IpNet = match subnet.parse() {
                    Ok(s) => s,
                    Err(_) => {
                        self.resource_err(
                            "network",
                            &path,
                            format!("network `{net}`: `{subnet}` is not a subnet in CIDR form"),
                            Some("write it like 172.28.0.0/16".into()),
                        );
                        continue;
                    }
                };
                if parsed != parsed.trunc() {
                    self.resource_err(
                        "network",
                        &path,
                        format!("network `{net}`: `{subnet}` has host bits set"),
                        Some(format!("did you mean {}?", parsed.trunc())),
                    );
                }
                if let Some(gw) = &pool.gateway {
                    let gw_path = [
                        "networks",
                        net.as_str(),
                        "ipam",
                        "config",
                        idx.as_str(),
                        "gateway",
                    ];
                    match gw.parse::<IpAddr>() {
                        Ok(ip) if parsed.contains(&ip) => {}
                        Ok(_) => self.resource_err(
                            "network",
                            &gw_path,
                            format!("network `{net}`: gateway {gw} is outside the subnet {subnet}"),
                            None,
                        ),
                        Err(_) => self.resource_err(
                            "network",
                            &gw_path,
                            format!("network `{net}`: gateway `{gw}` is not an IP address"),
                            None,
                        ),
                    }
                }
                if let Some((other, other_net)) = seen
                    .iter()
                    .find(|(s, _)| s.contains(&parsed.network()) || parsed.contains(&s.network()))
                {
                    self.resource_err(
                        "network",
                        &path,
                        format!("network `{net}`: subnet {parsed} overlaps {other} of network `{other_net}`"),
                        Some("give each network its own address range".into()),
                    );
                }
                seen.push((parsed, net.clone()));
            }
        }
    }

    fn resource_err(
        &mut self,
        code: &'static str,
        path: &[&str],
        message: String,
        hint: Option<String>,
    ) {
        let mut d = Diagnostic::error(code, span_of(self.tree, path), message);
        d.hint = hint;
        self.diags.push(d);
    }

    /// Static checks of NFS volume options (the network preflight is the
    /// reconciler's, before anything is created). Findings point at the
    /// option as written: in `driver_opts`, or in our `nfs:` shorthand.
    fn volumes(&mut self) {
        for (name, vol) in &self.project.volumes {
            let Some(opts) = &vol.driver_opts else {
                continue;
            };
            if !matches!(opts.get("type").map(String::as_str), Some("nfs" | "nfs4")) {
                continue;
            }
            let written = |opt: &'static str, short: &'static str| -> Vec<&str> {
                let short_path = ["volumes", name.as_str(), "nfs", short];
                if crate::locate::value_span(self.tree, &short_path).is_some() {
                    short_path.to_vec()
                } else {
                    vec!["volumes", name.as_str(), "driver_opts", opt]
                }
            };
            let o = opts.get("o").cloned().unwrap_or_default();
            if !o.split(',').any(|opt| opt.starts_with("addr=")) {
                self.resource_err(
                    "nfs",
                    &written("o", "server"),
                    format!("NFS volume `{name}` has no `addr=` in its `o` option"),
                    Some("write `o: \"addr=<server>,rw,nfsvers=4\"`, or use `nfs: {server: ..., path: ...}`".into()),
                );
            }
            match opts.get("device") {
                Some(d) if d.starts_with(':') => {}
                Some(d) => self.resource_err(
                    "nfs",
                    &written("device", "path"),
                    format!("NFS volume `{name}`: device `{d}` must start with `:` followed by the exported path"),
                    Some(format!("write `device: \":{}\"`", d.trim_start_matches(|c: char| c != '/'))),
                ),
                None => self.resource_err(
                    "nfs",
                    &written("device", "path"),
                    format!("NFS volume `{name}` has no `device` option"),
                    Some("write `device: \":/exported/path\"`".into()),
                ),
            }
            for opt in o.split(',').filter(|s| !s.is_empty()) {
                let key = opt.split('=').next().unwrap_or(opt);
                if !NFS_OPTIONS.contains(&key) {
                    let hint = match did_you_mean(key, NFS_OPTIONS.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "see `man 5 nfs` for mount options".into(),
                    };
                    self.resource_err(
                        "nfs-option",
                        &written("o", "options"),
                        format!("NFS volume `{name}`: unknown mount option `{key}`"),
                        Some(hint),
                    );
                }
            }
        }
    }

    fn externals(&mut self) {
        for (name, vol) in &self.project.volumes {
            if vol.external && (vol.driver.is_some() || vol.driver_opts.is_some()) {
                self.resource_err(
                    "external",
                    &["volumes", name, "external"],
                    format!(
                        "volume `{name}` is external, so its driver and options cannot be set here"
                    ),
                    Some("remove `driver`/`driver_opts`, or `external: true`".into()),
                );
            }
        }
        for (name, net) in &self.project.networks {
            if net.external
                && (net.driver.is_some() || net.ipam.as_ref().is_some_and(|i| i.config.is_some()))
            {
                self.resource_err("external", &["networks", name, "external"], format!("network `{name}` is external, so its driver and addresses cannot be set here"), Some("remove `driver`/`ipam`, or `external: true`".into()));
            }
        }
    }
}

/// Mount options of the Linux NFS client (`man 5 nfs`), plus the generic ones.
const NFS_OPTIONS: &[&str] = &[
    "addr",
    "clientaddr",
    "mountaddr",
    "mountport",
    "mountproto",
    "mountvers",
    "port",
    "proto",
    "nfsvers",
    "vers",
    "rw",
    "ro",
    "soft",
    "hard",
    "softreval",
    "nosoftreval",
    "timeo",
    "retrans",
    "rsize",
    "wsize",
    "ac",
    "noac",
    "acregmin",
    "acregmax",
    "acdirmin",
    "acdirmax",
    "actimeo",
    "bg",
    "fg",
    "nconnect",
    "max_connect",
    "rdirplus",
    "nordirplus",
    "retry",
    "sec",
    "sharecache",
    "nosharecache",
    "resvport",
    "noresvport",
    "lookupcache",
    "fsc",
    "nofsc",
    "sloppy",
    "lock",
    "nolock",
    "intr",
    "nointr",
    "cto",
    "nocto",
    "acl",
    "noacl",
    "local_lock",
    "minorversion",
    "namlen",
    "udp",
    "tcp",
    "rdma",
    "noatime",
    "atime",
    "nodiratime",
    "relatime",
    "nosuid",
    "suid",
    "nodev",
    "dev",
    "noexec",
    "exec",
    "sync",
    "async",
    "defaults",
    "_netdev",
];
