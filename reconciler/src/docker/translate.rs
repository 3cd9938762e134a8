//! Lowered specs -> the Docker API's request bodies. Translation only:
//! what to create was settled by the planner, and what the engine in use
//! cannot do was refused there, so nothing here decides or checks.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bollard::models::{
    ContainerCreateBody, DeviceMapping, EndpointIpamConfig, EndpointSettings, HealthConfig,
    HostConfig, HostConfigLogConfig, Ipam, IpamConfig, Mount, MountBindOptions,
    MountBindOptionsPropagationEnum, MountTmpfsOptions, MountType, MountVolumeOptions,
    NetworkAttachmentConfig, NetworkCreateRequest, NetworkingConfig, PortBinding as ApiPortBinding,
    ResourcesUlimits, RestartPolicy, RestartPolicyNameEnum, ServiceSpec, ServiceSpecMode,
    ServiceSpecModeReplicated, ServiceSpecUpdateConfig, ServiceSpecUpdateConfigFailureActionEnum,
    ServiceSpecUpdateConfigOrderEnum, TaskSpec, TaskSpecContainerSpec, VolumeCreateRequest,
};
use planner::{
    ApiVersion, Attachment, ContainerSpec, MountKind, Namespace, NetworkSpec, Networking,
    Recursion, Ref, Restart, VolumeSpec,
};

use crate::engine::{CreateRequest, ServiceRequest, UpdateFailure};

fn nanos(d: Option<Duration>) -> Option<i64> {
    d.and_then(|d| i64::try_from(d.as_nanos()).ok())
}

/// How a namespace reference reads in the API (`container:<id>`, `host`...).
fn namespace_mode(ns: &Namespace, refs: &BTreeMap<Ref, String>) -> String {
    match ns {
        Namespace::Service(r) => format!("container:{}", refs.get(r).cloned().unwrap_or_default()),
        Namespace::Container(name) => format!("container:{name}"),
        Namespace::Mode(m) => m.clone(),
    }
}

/// The endpoint of `a`; `macs`: the engine takes a MAC address per
/// endpoint (API 1.44 and later; before, the container has one, see
/// [`create_body`]).
pub(super) fn endpoint(a: &Attachment, macs: bool) -> EndpointSettings {
    let ipam = (a.ipv4_address.is_some() || a.ipv6_address.is_some()).then(|| EndpointIpamConfig {
        ipv4_address: a.ipv4_address.clone(),
        ipv6_address: a.ipv6_address.clone(),
        ..Default::default()
    });
    EndpointSettings {
        aliases: Some(a.aliases.clone()),
        ipam_config: ipam,
        links: (!a.links.is_empty()).then(|| a.links.clone()),
        mac_address: a.mac_address.clone().filter(|_| macs),
        ..Default::default()
    }
}

/// Does an engine of `api` take MAC addresses per endpoint?
pub(super) fn endpoint_macs(api: ApiVersion) -> bool {
    api >= ApiVersion(1, 44)
}

/// The container-wide MAC address an engine of `api` takes instead (API
/// < 1.44): the first network's, the one it joins at create.
pub(super) fn container_mac(spec: &planner::ContainerSpec, api: ApiVersion) -> Option<String> {
    match &spec.networking {
        Networking::Networks(list) if !endpoint_macs(api) => {
            list.first().and_then(|a| a.mac_address.clone())
        }
        _ => None,
    }
}

/// The API's create body for a resolved request, for an engine of `api`.
pub(super) fn create_body(req: &CreateRequest, api: ApiVersion) -> ContainerCreateBody {
    let macs = endpoint_macs(api);
    let spec = &req.spec;
    let o = &spec.options;
    let mut labels: HashMap<String, String> = spec.labels.clone().into_iter().collect();
    labels.extend(req.state_labels.clone());

    let mut exposed: Vec<String> = spec.expose.clone();
    let mut bindings: HashMap<String, Option<Vec<ApiPortBinding>>> = HashMap::new();
    for p in &spec.ports {
        let key = format!("{}/{}", p.target, p.protocol);
        if !exposed.contains(&key) {
            exposed.push(key.clone());
        }
        bindings
            .entry(key)
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(ApiPortBinding {
                host_ip: p.host_ip.clone(),
                host_port: p.published.clone(),
            });
    }

    let (network_mode, networking_config) = match &spec.networking {
        Networking::Networks(list) => match list.first() {
            Some(first) => (
                Some(first.network.clone()),
                Some(NetworkingConfig {
                    endpoints_config: Some(HashMap::from([(
                        first.network.clone(),
                        endpoint(first, macs),
                    )])),
                }),
            ),
            None => (None, None),
        },
        Networking::Shared(ns) => (Some(namespace_mode(ns, &req.refs)), None),
        Networking::Mode(m) => (Some(m.clone()), None),
    };

    let (binds, mounts) = mounts(spec, &req.anonymous_volumes);
    let volumes_from: Vec<String> = spec
        .volumes_from
        .iter()
        .map(|(ns, ro)| {
            let target = match ns {
                Namespace::Service(r) => req.refs.get(r).cloned().unwrap_or_default(),
                Namespace::Container(n) | Namespace::Mode(n) => n.clone(),
            };
            if *ro {
                format!("{target}:ro")
            } else {
                target
            }
        })
        .collect();

    let tmpfs: HashMap<String, String> = spec.tmpfs.clone().into_iter().collect();
    let resources = &spec.resources;

    let host_config = HostConfig {
        network_mode,
        pid_mode: spec.pid.as_ref().map(|ns| namespace_mode(ns, &req.refs)),
        ipc_mode: spec.ipc.as_ref().map(|ns| namespace_mode(ns, &req.refs)),
        uts_mode: o.uts.clone(),
        userns_mode: o.userns_mode.clone(),
        binds: (!binds.is_empty()).then_some(binds),
        mounts: (!mounts.is_empty()).then_some(mounts),
        volumes_from: (!volumes_from.is_empty()).then_some(volumes_from),
        port_bindings: (!bindings.is_empty()).then_some(bindings),
        restart_policy: spec.restart.map(|restart| {
            let (name, max) = match restart {
                Restart::Always => (RestartPolicyNameEnum::ALWAYS, None),
                Restart::UnlessStopped => (RestartPolicyNameEnum::UNLESS_STOPPED, None),
                Restart::OnFailure { max_retries } => {
                    (RestartPolicyNameEnum::ON_FAILURE, max_retries)
                }
            };
            RestartPolicy {
                name: Some(name),
                maximum_retry_count: max.map(i64::from),
            }
        }),
        init: o.init,
        privileged: o.privileged,
        readonly_rootfs: o.read_only,
        cap_add: o.cap_add.clone(),
        cap_drop: o.cap_drop.clone(),
        security_opt: o.security_opt.clone(),
        dns: if req.resolvers.is_empty() {
            o.dns.clone()
        } else {
            Some(req.resolvers.clone())
        },
        dns_search: o.dns_search.clone(),
        dns_options: o.dns_options.clone(),
        extra_hosts: (!spec.extra_hosts.is_empty()).then(|| spec.extra_hosts.clone()),
        sysctls: o.sysctls.clone().map(|s| s.into_iter().collect()),
        ulimits: (!resources.ulimits.is_empty()).then(|| {
            (resources.ulimits.iter())
                .map(|(name, soft, hard)| ResourcesUlimits {
                    name: Some(name.clone()),
                    soft: Some(*soft),
                    hard: Some(*hard),
                })
                .collect()
        }),
        tmpfs: (!tmpfs.is_empty()).then_some(tmpfs),
        shm_size: resources.shm_size,
        memory: resources.memory,
        memory_reservation: resources.memory_reservation,
        memory_swap: resources.memory_swap,
        nano_cpus: resources.nano_cpus,
        cpu_shares: resources.cpu_shares,
        cpuset_cpus: resources.cpuset.clone(),
        pids_limit: resources.pids,
        oom_score_adj: o.oom_score_adj,
        group_add: o.group_add.clone(),
        runtime: o.runtime.clone(),
        cgroup_parent: o.cgroup_parent.clone(),
        devices: (!spec.devices.is_empty()).then(|| {
            (spec.devices.iter())
                .map(|d| DeviceMapping {
                    path_on_host: Some(d.host.clone()),
                    path_in_container: Some(d.container.clone()),
                    cgroup_permissions: Some(d.permissions.clone()),
                })
                .collect()
        }),
        log_config: (o.log_driver.is_some() || o.log_options.is_some()).then(|| {
            HostConfigLogConfig {
                typ: o.log_driver.clone(),
                config: o.log_options.clone().map(|o| o.into_iter().collect()),
            }
        }),
        ..Default::default()
    };

    ContainerCreateBody {
        image: Some(spec.image.clone()),
        cmd: spec.command.clone(),
        entrypoint: spec.entrypoint.clone(),
        env: Some(spec.env.clone()),
        labels: Some(labels),
        hostname: o.hostname.clone(),
        domainname: o.domainname.clone(),

        user: o.user.clone(),
        working_dir: o.working_dir.clone(),
        tty: o.tty,
        open_stdin: o.stdin_open,
        attach_stdin: spec.stdin_once.then_some(true),
        stdin_once: spec.stdin_once.then_some(true),
        stop_signal: o.stop_signal.clone(),
        stop_timeout: spec
            .stop_grace
            .and_then(|d| i64::try_from(d.as_secs()).ok()),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        healthcheck: spec.healthcheck.as_ref().map(|h| HealthConfig {
            test: Some(h.test.clone()),
            interval: nanos(h.interval),
            timeout: nanos(h.timeout),
            retries: h.retries.map(i64::from),
            start_period: nanos(h.start_period),
            start_interval: nanos(h.start_interval),
        }),
        host_config: Some(host_config),
        networking_config,
        ..Default::default()
    }
}

/// The spec's mounts as the API takes them: most through `Mounts`; a bind
/// with SELinux relabelling through the older `Binds` (`src:dst:rw,z`),
/// the only form that takes it, as Compose does. An anonymous volume of
/// the container being replaced (`anonymous`, by target) is mounted again.
fn mounts(spec: &ContainerSpec, anonymous: &BTreeMap<String, String>) -> (Vec<String>, Vec<Mount>) {
    let mut binds = Vec::new();
    let mut mounts = Vec::new();
    for m in &spec.mounts {
        let source = m
            .source
            .clone()
            .or_else(|| anonymous.get(&m.target).cloned());
        if let (MountKind::Bind, Some(relabel), Some(source)) = (m.kind, &m.selinux, &source) {
            let mut options = vec![if m.read_only { "ro" } else { "rw" }, relabel.as_str()];
            options.extend(m.propagation.as_deref());
            binds.push(format!("{source}:{}:{}", m.target, options.join(",")));
            continue;
        }
        let bind = (m.kind == MountKind::Bind
            && (m.propagation.is_some() || m.recursion.is_some()))
        .then(|| MountBindOptions {
            propagation: m.propagation.as_deref().and_then(propagation),
            non_recursive: (m.recursion == Some(Recursion::Disabled)).then_some(true),
            read_only_non_recursive: (m.recursion == Some(Recursion::Writable)).then_some(true),
            read_only_force_recursive: (m.recursion == Some(Recursion::Readonly)).then_some(true),
            ..Default::default()
        });
        let volume =
            (m.kind == MountKind::Volume && (m.nocopy || m.subpath.is_some())).then(|| {
                MountVolumeOptions {
                    no_copy: m.nocopy.then_some(true),
                    subpath: m.subpath.clone(),
                    ..Default::default()
                }
            });
        mounts.push(Mount {
            target: Some(m.target.clone()),
            source,
            typ: Some(match m.kind {
                MountKind::Bind => MountType::BIND,
                MountKind::Tmpfs => MountType::TMPFS,
                MountKind::Npipe => MountType::NPIPE,
                MountKind::Image => MountType::IMAGE,
                MountKind::Cluster => MountType::CLUSTER,
                MountKind::Volume => MountType::VOLUME,
            }),
            read_only: Some(m.read_only),
            bind_options: bind,
            volume_options: volume,
            tmpfs_options: (m.kind == MountKind::Tmpfs).then(|| MountTmpfsOptions {
                size_bytes: m.tmpfs_size.and_then(|s| i64::try_from(s).ok()),
                mode: m.tmpfs_mode.map(i64::from),
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    (binds, mounts)
}

/// The API's word for a propagation the stack file names (validated at
/// load, so an unknown word cannot reach here; it is left to the engine's
/// default if it does).
fn propagation(word: &str) -> Option<MountBindOptionsPropagationEnum> {
    use MountBindOptionsPropagationEnum as P;
    Some(match word {
        "private" => P::PRIVATE,
        "rprivate" => P::RPRIVATE,
        "shared" => P::SHARED,
        "rshared" => P::RSHARED,
        "slave" => P::SLAVE,
        "rslave" => P::RSLAVE,
        _ => return None,
    })
}

/// The API's create body for a network.
pub(super) fn network_body(spec: NetworkSpec) -> NetworkCreateRequest {
    let ipam = spec.ipam.map(|i| Ipam {
        driver: i.driver,
        config: Some(
            (i.pools.into_iter())
                .map(|p| IpamConfig {
                    subnet: p.subnet,
                    ip_range: p.ip_range,
                    gateway: p.gateway,
                    auxiliary_addresses: (!p.aux_addresses.is_empty())
                        .then(|| p.aux_addresses.into_iter().collect()),
                })
                .collect(),
        ),
        options: (!i.options.is_empty()).then(|| i.options.into_iter().collect()),
    });
    NetworkCreateRequest {
        name: spec.name,
        driver: Some(spec.driver),
        internal: Some(spec.internal),
        attachable: Some(spec.attachable),
        // Engines before API 1.47 ignore the field (IPv4 is always on);
        // the planner refuses `false` there.
        enable_ipv4: spec.enable_ipv4,
        enable_ipv6: spec.enable_ipv6,
        ipam,
        options: (!spec.driver_opts.is_empty()).then(|| spec.driver_opts.into_iter().collect()),
        labels: Some(spec.labels.into_iter().collect()),
        ..Default::default()
    }
}

/// The API's create body for a volume.
pub(super) fn volume_body(spec: VolumeSpec) -> VolumeCreateRequest {
    VolumeCreateRequest {
        name: Some(spec.name),
        driver: spec.driver,
        driver_opts: (!spec.driver_opts.is_empty()).then(|| spec.driver_opts.into_iter().collect()),
        labels: Some(spec.labels.into_iter().collect()),
        ..Default::default()
    }
}

/// The API's spec of a swarm service. The request's command is the
/// image's CMD replaced (a swarm's `Args`; its `Command` would replace
/// the ENTRYPOINT).
pub(super) fn service_body(request: ServiceRequest) -> ServiceSpec {
    let update = &request.update;
    ServiceSpec {
        name: Some(request.name),
        labels: Some(request.labels.into_iter().collect()),
        task_template: Some(TaskSpec {
            container_spec: Some(TaskSpecContainerSpec {
                image: Some(request.image),
                args: request.command,
                env: Some(request.env),
                ..Default::default()
            }),
            networks: Some(
                (request.networks.into_iter())
                    .map(|target| NetworkAttachmentConfig {
                        target: Some(target),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }),
        mode: Some(ServiceSpecMode {
            replicated: Some(ServiceSpecModeReplicated {
                replicas: i64::try_from(request.replicas).ok(),
            }),
            ..Default::default()
        }),
        update_config: Some(ServiceSpecUpdateConfig {
            parallelism: i64::try_from(update.parallelism).ok(),
            delay: i64::try_from(update.delay.as_nanos()).ok(),
            failure_action: Some(match update.on_failure {
                UpdateFailure::Pause => ServiceSpecUpdateConfigFailureActionEnum::PAUSE,
                UpdateFailure::Continue => ServiceSpecUpdateConfigFailureActionEnum::CONTINUE,
                UpdateFailure::Rollback => ServiceSpecUpdateConfigFailureActionEnum::ROLLBACK,
            }),
            order: Some(if update.start_first {
                ServiceSpecUpdateConfigOrderEnum::START_FIRST
            } else {
                ServiceSpecUpdateConfigOrderEnum::STOP_FIRST
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The create body of replica 1 of `app` in `yaml`.
    fn body(yaml: &str, api: ApiVersion) -> ContainerCreateBody {
        let loaded = schema::load_str(yaml, "p").unwrap_or_else(|d| panic!("{d:?}"));
        let p = loaded.project;
        let request = CreateRequest {
            spec: planner::container_spec(&p, "app", &p.services["app"], 1),
            refs: BTreeMap::new(),
            state_labels: BTreeMap::new(),
            anonymous_volumes: BTreeMap::from([("/cache".to_string(), "anon-1".to_string())]),
            resolvers: Vec::new(),
        };
        create_body(&request, api)
    }

    #[test]
    fn mounts_keep_every_option_of_the_file() {
        let yaml = "services:\n  app:\n    image: busybox:1.36\n    volumes:\n      - /srv/a:/a:ro,z\n      - /srv/b:/b:Z,rshared\n      - {type: bind, source: /srv/c, target: /c, bind: {propagation: private, recursive: disabled}}\n      - {type: volume, source: data, target: /data, volume: {nocopy: true, subpath: sub}}\n      - /cache\n      - {type: tmpfs, target: /t, tmpfs: {size: 1k, mode: 0o1777}}\nvolumes:\n  data: {}\n";
        let host = body(yaml, ApiVersion(1, 45))
            .host_config
            .unwrap_or_default();
        assert_eq!(
            host.binds.unwrap_or_default(),
            vec!["/srv/a:/a:ro,z", "/srv/b:/b:rw,Z,rshared"]
        );
        let mounts = host.mounts.unwrap_or_default();
        let at = |target: &str| {
            mounts
                .iter()
                .find(|m| m.target.as_deref() == Some(target))
                .cloned()
                .unwrap_or_else(|| panic!("no mount at {target}: {mounts:?}"))
        };
        let c = at("/c").bind_options.unwrap_or_default();
        assert_eq!(
            c.propagation,
            Some(MountBindOptionsPropagationEnum::PRIVATE)
        );
        assert_eq!(c.non_recursive, Some(true));
        let data = at("/data");
        assert_eq!(data.source.as_deref(), Some("p_data"));
        let options = data.volume_options.unwrap_or_default();
        assert_eq!(
            (options.no_copy, options.subpath.as_deref()),
            (Some(true), Some("sub"))
        );
        // The replaced container's anonymous volume, mounted again.
        assert_eq!(at("/cache").source.as_deref(), Some("anon-1"));
        let tmpfs = at("/t").tmpfs_options.unwrap_or_default();
        assert_eq!((tmpfs.size_bytes, tmpfs.mode), (Some(1024), Some(0o1777)));
    }

    #[test]
    fn the_engine_restarts_only_what_the_file_gives_it() {
        let policy = |fields: &str| {
            let yaml = format!("services:\n  app:\n    image: busybox:1.36\n{fields}");
            body(&yaml, ApiVersion(1, 41))
                .host_config
                .and_then(|h| h.restart_policy)
                .map(|p| (p.name, p.maximum_retry_count))
        };
        assert_eq!(
            policy("    restart: on-failure:3\n"),
            Some((Some(RestartPolicyNameEnum::ON_FAILURE), Some(3)))
        );
        assert_eq!(
            policy("    restart: unless-stopped\n"),
            Some((Some(RestartPolicyNameEnum::UNLESS_STOPPED), None))
        );
        assert_eq!(policy("    restart: \"no\"\n"), None);
        // `deploy.restart_policy` is the agent's: the engine gets none.
        assert_eq!(
            policy("    restart: always\n    deploy: {restart_policy: {condition: any}}\n"),
            None
        );
    }

    #[test]
    fn networks_are_created_as_lowered() {
        let p = schema::load_str(
            "services:\n  app:\n    image: busybox:1.36\nnetworks:\n  lan:\n    driver_opts: {com.docker.network.bridge.name: br-lan}\n    internal: true\n    labels: {team: a}\n    ipam:\n      config:\n        - {subnet: 10.9.0.0/24, gateway: 10.9.0.1, aux_addresses: {printer: 10.9.0.5}}\n",
            "p",
        )
        .unwrap_or_else(|d| panic!("{d:?}"))
        .project;
        let spec = planner::resource::network_spec("p", "lan", "p_lan", &p.networks["lan"]);
        let body = network_body(spec);
        assert_eq!(
            (body.name.as_str(), body.driver.as_deref()),
            ("p_lan", Some("bridge"))
        );
        assert_eq!(body.internal, Some(true));
        let labels = body.labels.unwrap_or_default();
        assert_eq!(labels.get("team").map(String::as_str), Some("a"));
        assert_eq!(
            labels.get("com.docker.compose.network").map(String::as_str),
            Some("lan")
        );
        let pool = &body.ipam.and_then(|i| i.config).unwrap_or_default()[0];
        assert_eq!(pool.gateway.as_deref(), Some("10.9.0.1"));
        assert_eq!(
            pool.auxiliary_addresses
                .as_ref()
                .and_then(|a| a.get("printer"))
                .map(String::as_str),
            Some("10.9.0.5")
        );
    }
}
