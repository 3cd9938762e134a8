//! Desired state + observed state -> an ordered plan of actions.
//!
//! Every step says why it exists ("recreate web-1: environment.API_URL
//! changed") and which earlier steps it must follow; container steps also
//! carry the `depends_on` conditions to wait for before they run. The plan
//! is a DAG the reconciler executes in parallel. Nothing here performs I/O.

use std::collections::{BTreeMap, BTreeSet};

use schema::{Condition, Project, RestartPolicy, Service, ServiceGraph, UpdateOrder};

/// What a failed rolling update does (the stack file's policy, typed at load).
pub use schema::FailureAction;
use serde::Serialize;
use serde_json::Value;

use crate::hash::{changed_fields, config_hash, definition, HashInputs};
use crate::observed::{
    labels, NetworkAddresses, Observed, ObservedContainer, ObservedResource, PublishedPort,
    RunState,
};
use crate::resource::{
    network_hash, network_spec, volume_matches, volume_spec, NetworkSpec, VolumeSpec,
};
use crate::spec::{container_name, container_spec, ContainerSpec, Mount, Networking, Ref};

/// What the user wants, with what the planner cannot read itself.
#[derive(Debug, Clone)]
pub struct Desired<'a> {
    /// The loaded stack.
    pub project: &'a Project,
    /// `secret:<name>` / `config:<name>` -> digest of the file's content.
    pub files: BTreeMap<String, String>,
}

/// How `up` may change things.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// Only these services (and what they depend on); empty means all.
    pub services: Vec<String>,
    /// Only the named services, not what they depend on (`--no-deps`):
    /// their dependency conditions are not waited for either.
    pub no_deps: bool,
    /// Recreate every container, changed or not.
    pub force_recreate: bool,
    /// Never recreate; only create missing containers and start stopped ones.
    pub no_recreate: bool,
    /// Remove containers of services no longer in the stack file.
    pub remove_orphans: bool,
    /// Say nothing of them (`COMPOSE_IGNORE_ORPHANS`).
    pub ignore_orphans: bool,
    /// Recreate named volumes whose definition changed (their data is lost).
    pub recreate_volumes: bool,
    /// A one-off of this service is about to run (`stack run`): its
    /// networks and volumes are made as for any selected service, but
    /// none of its replicas is created, started or changed.
    pub one_off: Option<String>,
}

/// One thing to do.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Create a network of the stack.
    CreateNetwork {
        /// Key in the stack file.
        key: String,
        /// What to create (shown by its engine-side name).
        #[serde(rename = "name", serialize_with = "by_name")]
        network: NetworkSpec,
    },
    /// A network whose definition changed, as Compose v2 does it: stop its
    /// containers and take them off it, remove it, create it with the new
    /// definition, and put them back on it (started again if they ran).
    RecreateNetwork {
        /// Key in the stack file.
        key: String,
        /// What to create again (shown by its engine-side name).
        #[serde(rename = "name", serialize_with = "by_name")]
        network: NetworkSpec,
        /// The project's containers on it: id, name, whether it runs, and
        /// how it joins the network again.
        #[serde(skip)]
        users: Vec<NetworkUser>,
    },
    /// Remove the containers using a named volume, then the volume, and
    /// create it again with its new definition (`--recreate-volumes`).
    RecreateVolume {
        /// Key in the stack file.
        key: String,
        /// What to create again (shown by its engine-side name).
        #[serde(rename = "name", serialize_with = "by_name")]
        volume: VolumeSpec,
        /// Ids of the containers that mount it.
        users: Vec<String>,
    },
    /// Create a named volume of the stack.
    CreateVolume {
        /// Key in the stack file.
        key: String,
        /// What to create (shown by its engine-side name).
        #[serde(rename = "name", serialize_with = "by_name")]
        volume: VolumeSpec,
    },
    /// Create and start a container.
    CreateContainer {
        /// What to create.
        spec: Box<ContainerSpec>,
    },
    /// Create the replacement under a temporary name, then stop and remove
    /// the old container, give the new one its name and start it: a create
    /// the engine refuses, or a kill in between, leaves the old one as it
    /// was.
    RecreateContainer {
        /// The container to replace.
        old_id: String,
        /// What to create.
        spec: Box<ContainerSpec>,
        /// How, when this is one batch of a rolling update.
        #[serde(skip_serializing_if = "Option::is_none")]
        update: Option<Rolling>,
    },
    /// Give a container an interrupted run left under a temporary name
    /// (`-next`, `-old`) its own name and its service's network aliases.
    AdoptContainer {
        /// Container id.
        id: String,
        /// The name it has now.
        from: String,
        /// What it is (its name, networks and aliases).
        spec: Box<ContainerSpec>,
    },
    /// Stop and start an existing container (with its hooks).
    RestartContainer {
        /// Container id.
        id: String,
        /// Container name.
        name: String,
        /// Its service.
        service: String,
    },
    /// Start an existing container.
    StartContainer {
        /// Container id.
        id: String,
        /// Container name.
        name: String,
        /// Its service.
        service: String,
    },
    /// Stop (if running) and remove a container.
    RemoveContainer {
        /// Container id.
        id: String,
        /// Container name.
        name: String,
        /// Its service (whose `stop_grace_period` applies).
        service: String,
        /// Remove its anonymous volumes too (only `down -v`).
        anonymous_volumes: bool,
    },
    /// Remove a network of the stack.
    RemoveNetwork {
        /// Engine-side name.
        name: String,
    },
    /// Remove a named volume of the stack (only `down -v`).
    RemoveVolume {
        /// Engine-side name.
        name: String,
    },
}

/// What a plan's step does, as people read it: a verb and what it is
/// about. Container actions ([`Action`]) are one kind; a realiser for
/// another engine (a swarm's services) brings its own, and the plan, its
/// ordering and its rendering stay the same.
pub trait Change {
    /// A short verb for display (`create`, `recreate`, `remove`...).
    fn verb(&self) -> &'static str;
    /// What it is about, e.g. `network shop_default`, `web-1`.
    fn subject(&self) -> String;
    /// Is it about a network or volume (what the rest is made on)?
    fn is_resource(&self) -> bool;
}

impl Change for Action {
    fn verb(&self) -> &'static str {
        match self {
            Action::CreateNetwork { .. }
            | Action::CreateVolume { .. }
            | Action::CreateContainer { .. } => "create",
            Action::RecreateContainer { .. }
            | Action::RecreateVolume { .. }
            | Action::RecreateNetwork { .. } => "recreate",
            Action::StartContainer { .. } => "start",
            Action::RestartContainer { .. } => "restart",
            Action::AdoptContainer { .. } => "rename",
            Action::RemoveContainer { .. }
            | Action::RemoveNetwork { .. }
            | Action::RemoveVolume { .. } => "remove",
        }
    }

    fn subject(&self) -> String {
        match self {
            Action::CreateNetwork { network, .. } | Action::RecreateNetwork { network, .. } => {
                format!("network {}", network.name)
            }
            Action::RemoveNetwork { name } => format!("network {name}"),
            Action::CreateVolume { volume, .. } | Action::RecreateVolume { volume, .. } => {
                format!("volume {}", volume.name)
            }
            Action::RemoveVolume { name } => format!("volume {name}"),
            Action::CreateContainer { spec } | Action::RecreateContainer { spec, .. } => {
                spec.name.clone()
            }
            Action::AdoptContainer { from, spec, .. } => format!("{from} to {}", spec.name),
            Action::StartContainer { name, .. }
            | Action::RestartContainer { name, .. }
            | Action::RemoveContainer { name, .. } => name.clone(),
        }
    }

    fn is_resource(&self) -> bool {
        matches!(
            self,
            Action::CreateNetwork { .. }
                | Action::RecreateNetwork { .. }
                | Action::RemoveNetwork { .. }
                | Action::CreateVolume { .. }
                | Action::RecreateVolume { .. }
                | Action::RemoveVolume { .. }
        )
    }
}

/// A network or volume, as its engine-side name (the plan's JSON shows
/// what is created by name; the adapter gets the whole spec).
fn by_name<S: serde::Serializer, T: Named>(spec: &T, out: S) -> Result<S::Ok, S::Error> {
    out.serialize_str(spec.name())
}

/// What [`by_name`] shows.
trait Named {
    fn name(&self) -> &str;
}

impl Named for NetworkSpec {
    fn name(&self) -> &str {
        &self.name
    }
}

impl Named for VolumeSpec {
    fn name(&self) -> &str {
        &self.name
    }
}

/// A container on a network that is recreated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkUser {
    /// Container id.
    pub id: String,
    /// Container name.
    pub name: String,
    /// Its service.
    pub service: String,
    /// Running now (started again afterwards).
    pub running: bool,
    /// How it joins the new network.
    pub attachment: crate::spec::Attachment,
}

/// How one replica of a rolling update is replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rolling {
    /// Start the new replica and wait until it is ready before the old one
    /// goes; otherwise stop the old one first.
    pub start_first: bool,
    /// Wait this long before the batch starts (`update_config.delay`;
    /// zero for the first batch).
    pub delay: std::time::Duration,
    /// After it is ready, watch the new replica this long for failure.
    pub monitor: std::time::Duration,
    /// On failure.
    pub failure_action: FailureAction,
}

/// Rolling-update settings of a service (`deploy.update_config`).
fn rolling(svc: &Service) -> (usize, Rolling) {
    let cfg = svc
        .deploy
        .as_ref()
        .and_then(|d| d.update_config.clone())
        .unwrap_or_default();
    let has_check = svc
        .healthcheck
        .as_ref()
        .is_some_and(|h| !h.is_disabled() && h.test.is_some());
    let publishes = svc
        .ports
        .as_ref()
        .is_some_and(|p| p.iter().any(|p| p.published.is_some()));
    let start_first = match cfg.order {
        Some(order) => order == UpdateOrder::StartFirst,
        // A new replica cannot take a host port its predecessor holds.
        None => has_check && !publishes,
    };
    let failure_action = cfg.failure_action.unwrap_or(FailureAction::Pause);
    let parallelism = cfg.parallelism.filter(|p| *p > 0).unwrap_or(1) as usize;
    (
        parallelism,
        Rolling {
            start_first,
            delay: cfg.delay.map(|d| d.0).unwrap_or_default(),
            monitor: cfg.monitor.map(|d| d.0).unwrap_or_default(),
            failure_action,
        },
    )
}

/// A `depends_on` condition to satisfy before a container step runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Wait {
    /// The dependency.
    pub service: String,
    /// What it must reach.
    pub condition: Condition,
    /// `required: false`: if it never gets there, go on without it.
    pub required: bool,
}

/// One step of a plan: a [`Change`] (by default, a container action),
/// why, and what it follows.
#[derive(Debug, Clone, Serialize)]
pub struct Step<A = Action> {
    /// The action.
    #[serde(flatten)]
    pub action: A,
    /// Why.
    pub reason: String,
    /// Indices of the steps that must finish first.
    pub after: Vec<usize>,
    /// Conditions on dependencies to wait for before running.
    pub waits: Vec<Wait>,
}

/// Something that stops a plan from being applied: its kind and subject
/// for programs (the CLI adds the engine's own command where one helps),
/// its message and hint for people. The hint names no engine's command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Blocker {
    /// What kind of problem.
    pub kind: BlockerKind,
    /// What it is about, by its name on the engine: the network, the
    /// volume, the image, or the service.
    pub subject: String,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub hint: String,
}

/// The kinds of [`Blocker`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BlockerKind {
    /// A network's subnet overlaps one the engine has (subject: the
    /// stack's network key).
    SubnetOverlap,
    /// An external network is not on the engine (subject: its name).
    MissingNetwork,
    /// An external volume is not on the engine (subject: its name).
    MissingVolume,
    /// A volume's definition changed; recreating it loses its data
    /// (subject: its name).
    VolumeChanged,
    /// A service's image is not on the engine (subject: the image).
    MissingImage,
    /// A field the engine in use cannot give (subject: the service).
    Unsupported,
    /// A host port another project's container publishes (subject: the
    /// service).
    PortTaken,
}

/// An ordered plan of [`Change`]s (by default, container actions).
#[derive(Debug, Clone, Serialize)]
pub struct Plan<A = Action> {
    /// Steps, each after the steps it names in `after`.
    pub steps: Vec<Step<A>>,
    /// Things the user should know that need no action (orphans kept...).
    pub warnings: Vec<String>,
    /// Reasons the plan must not run.
    pub blockers: Vec<Blocker>,
    /// The engine it was made for (what advice on its blockers names).
    pub engine: crate::EngineKind,
}

impl<A> Default for Plan<A> {
    fn default() -> Self {
        Plan {
            steps: Vec::new(),
            warnings: Vec::new(),
            blockers: Vec::new(),
            engine: crate::EngineKind::default(),
        }
    }
}

impl<A> Plan<A> {
    /// Whether applying the plan would change nothing.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    fn push(
        &mut self,
        action: A,
        reason: impl Into<String>,
        after: Vec<usize>,
        waits: Vec<Wait>,
    ) -> usize {
        self.steps.push(Step {
            action,
            reason: reason.into(),
            after,
            waits,
        });
        self.steps.len() - 1
    }
}

/// A blocker for each subnet of `net` that overlaps a subnet of a network
/// already on the engine (the engine would refuse it halfway through).
fn overlaps(key: &str, net: &NetworkSpec, others: &[NetworkAddresses]) -> Vec<Blocker> {
    let pools = net.ipam.iter().flat_map(|i| &i.pools);
    let wanted: Vec<ipnet::IpNet> = pools
        .filter_map(|p| p.subnet.as_deref()?.parse().ok())
        .collect();
    let mut out = Vec::new();
    for subnet in &wanted {
        for other in others {
            let clash = other
                .subnets
                .iter()
                .filter_map(|s| s.parse::<ipnet::IpNet>().ok())
                .find(|o| o.contains(&subnet.network()) || subnet.contains(&o.network()));
            if let Some(theirs) = clash {
                let owner = other
                    .project()
                    .map(|p| format!(" (project `{p}`)"))
                    .unwrap_or_default();
                out.push(Blocker {
                    kind: BlockerKind::SubnetOverlap,
                    subject: key.to_string(),
                    message: format!(
                        "network `{key}`: subnet {subnet} overlaps {theirs} of the engine's network `{}`{owner}",
                        other.name
                    ),
                    hint: format!(
                        "pick a subnet of `{key}` outside {theirs} (or remove `ipam` and let the engine choose one), or remove the network `{}` if it is no longer used",
                        other.name
                    ),
                });
            }
        }
    }
    out
}

/// `named` and the sidecars that run once per replica of one of them
/// (sharing its network, pid or ipc namespace without a count of their
/// own), transitively: scaling a service scales these with it.
pub fn with_sidecars(project: &Project, named: &[String]) -> Vec<String> {
    let mut out: BTreeSet<String> = named.iter().cloned().collect();
    loop {
        let more: Vec<String> = project
            .services
            .iter()
            .filter(|(name, svc)| {
                !out.contains(*name)
                    && svc.scale.is_none()
                    && svc.deploy.as_ref().is_none_or(|d| d.replicas.is_none())
                    && svc
                        .borrowed_services()
                        .iter()
                        .any(|(field, parent)| *field != "volumes_from" && out.contains(*parent))
            })
            .map(|(name, _)| name.clone())
            .collect();
        if more.is_empty() {
            return out.into_iter().collect();
        }
        out.extend(more);
    }
}

/// The hash inputs of `spec` given container ids for its references.
pub fn hash_inputs(
    spec: &ContainerSpec,
    image_id: &str,
    parent_id: &dyn Fn(&Ref) -> Option<String>,
    project: &Project,
    files: &BTreeMap<String, String>,
) -> HashInputs {
    let project_name = project.project_name().to_string();
    let mut parents = BTreeMap::new();
    for (field, r) in spec.refs() {
        let name = ref_name(project, &project_name, r);
        parents.insert(format!("{field}:{name}"), parent_id(r).unwrap_or_default());
    }
    let mut file_digests = BTreeMap::new();
    for u in &spec.files {
        let key = format!("{}:{}", u.kind.as_str(), u.name);
        if let Some(d) = files.get(&key) {
            file_digests.insert(key, d.clone());
        }
    }
    HashInputs {
        image_id: image_id.to_string(),
        parents,
        files: file_digests,
    }
}

/// The container name a [`Ref`] stands for.
pub fn ref_name(project: &Project, project_name: &str, r: &Ref) -> String {
    match project.services.get(&r.service) {
        Some(svc) => container_name(project_name, &r.service, svc, r.replica),
        None => format!("{project_name}-{}-{}", r.service, r.replica),
    }
}

/// Labels a container carries so the next plan can read it back.
pub fn state_labels(spec: &ContainerSpec, inputs: &HashInputs) -> BTreeMap<String, String> {
    let def = &spec.definition;
    let mut out = BTreeMap::new();
    let hash = config_hash(def, inputs);
    out.insert(labels::compose::CONFIG_HASH.to_string(), hash.clone());
    out.insert(labels::CONFIG_HASH.to_string(), hash);
    out.insert(labels::CONFIG.to_string(), def.to_string());
    out.insert(
        labels::PARENTS.to_string(),
        serde_json::to_string(&inputs.parents).unwrap_or_default(),
    );
    out.insert(
        labels::FILES.to_string(),
        serde_json::to_string(&inputs.files).unwrap_or_default(),
    );
    out
}

/// Plan `up`.
pub fn plan_up(desired: &Desired<'_>, observed: &Observed, opts: &UpOptions) -> Plan {
    let project = desired.project;
    let project_name = project.project_name().to_string();
    let mut plan = Plan {
        engine: observed.capabilities.engine,
        ..Plan::default()
    };
    let services = if opts.no_deps && !opts.services.is_empty() {
        opts.services.iter().cloned().collect()
    } else {
        project.with_dependencies(&opts.services)
    };

    let mut network_steps: BTreeMap<String, usize> = BTreeMap::new();
    // Containers whose DNS server moves with a recreated network (by id),
    // and that network's key.
    let mut dns_moved: BTreeMap<String, String> = BTreeMap::new();
    for (key, net) in &project.networks {
        let name = net
            .name
            .clone()
            .unwrap_or_else(|| format!("{project_name}_{key}"));
        let used = services.iter().any(|s| {
            project.services[s]
                .networks
                .as_ref()
                .is_some_and(|n| n.contains_key(key))
        });
        if !used {
            continue;
        }
        if net.external {
            if !observed.external_networks.contains(&name)
                && !observed.networks.iter().any(|n| n.name == name)
            {
                plan.blockers.push(Blocker {
                    kind: BlockerKind::MissingNetwork,
                    subject: name.clone(),
                    message: format!("external network `{name}` does not exist"),
                    hint: "create it first, or drop `external: true` to let stack create it".into(),
                });
            }
            continue;
        }
        let spec = network_spec(&project_name, key, &name, net);
        plan.blockers
            .extend(network_unsupported(key, net, &observed.capabilities));
        match observed.networks.iter().find(|n| n.name == name) {
            None => {
                plan.blockers
                    .extend(overlaps(key, &spec, &observed.other_networks));
                let id = plan.push(
                    Action::CreateNetwork {
                        key: key.clone(),
                        network: spec,
                    },
                    "not created yet",
                    vec![],
                    vec![],
                );
                network_steps.insert(name, id);
            }
            Some(o) if o.hash != network_hash(net) => {
                let others: Vec<NetworkAddresses> = observed
                    .other_networks
                    .iter()
                    .filter(|n| n.name != name)
                    .cloned()
                    .collect();
                plan.blockers.extend(overlaps(key, &spec, &others));
                let users = network_users(project, observed, key, &name);
                // The stack's DNS listens on the network's gateway, and a
                // container's resolvers are fixed when it is created:
                // where the gateway moves, those that ask there are
                // recreated (after being taken off and put back).
                let old_gateway = observed.gateways.get(&name).cloned();
                if observed.capabilities.dns_on_gateways
                    && (old_gateway.is_none() || old_gateway != expected_gateway(&spec))
                {
                    for u in &users {
                        if asks_dns_on(project, &u.service, &name) {
                            dns_moved.insert(u.id.clone(), key.clone());
                        }
                    }
                }
                let n = users.len();
                let id = plan.push(
                    Action::RecreateNetwork {
                        key: key.clone(),
                        network: spec,
                        users,
                    },
                    format!(
                        "its definition changed (driver, options, labels or addresses); {n} container{} taken off and put back",
                        if n == 1 { "" } else { "s" }
                    ),
                    vec![],
                    vec![],
                );
                network_steps.insert(name, id);
            }
            Some(_) => {}
        }
    }

    let mut volume_steps: BTreeMap<String, usize> = BTreeMap::new();
    let mut recreated_volumes: BTreeSet<String> = BTreeSet::new();
    for (key, vol) in &project.volumes {
        let name = vol
            .name
            .clone()
            .unwrap_or_else(|| format!("{project_name}_{key}"));
        if vol.external {
            if !observed.external_volumes.contains(&name)
                && !observed.volumes.iter().any(|v| v.name == name)
            {
                plan.blockers.push(Blocker {
                    kind: BlockerKind::MissingVolume,
                    subject: name.clone(),
                    message: format!("external volume `{name}` does not exist"),
                    hint: "create it first, or drop `external: true`".into(),
                });
            }
            continue;
        }
        match observed.volumes.iter().find(|v| v.name == name) {
            None => {
                let id = plan.push(
                    Action::CreateVolume {
                        key: key.clone(),
                        volume: volume_spec(&project_name, key, &name, vol),
                    },
                    "not created yet",
                    vec![],
                    vec![],
                );
                volume_steps.insert(name, id);
            }
            Some(o) if !volume_matches(&o.hash, vol) && opts.recreate_volumes => {
                let users: Vec<String> = observed
                    .containers
                    .iter()
                    .filter(|c| mounts_volume(project, &c.service, key))
                    .map(|c| c.id.clone())
                    .collect();
                let id = plan.push(
                    Action::RecreateVolume {
                        key: key.clone(),
                        volume: volume_spec(&project_name, key, &name, vol),
                        users,
                    },
                    "its definition changed (--recreate-volumes: its data is lost)",
                    vec![],
                    vec![],
                );
                volume_steps.insert(name.clone(), id);
                recreated_volumes.insert(name);
            }
            Some(o) if !volume_matches(&o.hash, vol) => plan.blockers.push(Blocker {
                kind: BlockerKind::VolumeChanged,
                subject: name.clone(),
                message: format!("volume `{name}` exists with another definition (driver, options or labels changed); recreating it would lose its data"),
                hint: "keep the old definition in the file, or copy the data out first and only then run `stack up --recreate-volumes`, which DELETES the volume and all its data".into(),
            }),
            Some(_) => {}
        }
    }

    let by_service = group(&observed.containers);
    let graph = ServiceGraph::new(project);
    let mut service_steps: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    // Replicas that get a new container in this plan: their dependents
    // borrowing namespaces or volumes must follow.
    let mut renewed: BTreeSet<Ref> = BTreeSet::new();
    // Services an existing container of which is replaced in this plan.
    let mut replaced: BTreeSet<String> = BTreeSet::new();

    for name in graph.start_order() {
        if !services.contains(&name) || opts.one_off.as_ref() == Some(&name) {
            continue;
        }
        let svc = &project.services[&name];
        let refused = unsupported(&name, svc, &observed.capabilities);
        if !refused.is_empty() {
            plan.blockers.extend(refused);
            continue;
        }
        let image = project.image_of(&name, svc);
        let Some(image_id) = observed.images.get(&image).cloned() else {
            plan.blockers.push(Blocker {
                kind: BlockerKind::MissingImage,
                subject: image.clone(),
                message: format!("service `{name}`: image `{image}` is not on the engine"),
                hint: "pull or build it first (`stack pull`, `stack build`, or `stack up --pull missing`)".into(),
            });
            continue;
        };
        let mut after: Vec<usize> = Vec::new();
        let mut waits = Vec::new();
        for (dep, cond) in svc.depends_on.iter().flatten() {
            after.extend(service_steps.get(dep).into_iter().flatten());
            // `service_started` needs no wait: the `after` edges order this
            // step behind the dependency's own steps, and a dependency
            // without steps is running already (or a finished one-shot).
            let needs_wait = cond.condition != Condition::ServiceStarted;
            if needs_wait && project.services.contains_key(dep) && services.contains(dep) {
                waits.push(Wait {
                    service: dep.clone(),
                    condition: cond.condition,
                    required: cond.required,
                });
            }
        }
        let replicas = crate::spec::replicas_of(project, &name);
        let existing = by_service.get(name.as_str()).cloned().unwrap_or_default();
        let mut steps = Vec::new();
        // Replicas replaced because the definition changed: a rolling update.
        let mut updates: Vec<usize> = Vec::new();
        for r in 1..=replicas {
            let spec = container_spec(project, &name, svc, r);
            let mut step_after = after.clone();
            step_after.extend(resource_steps(&spec, &network_steps, &volume_steps));
            let parent_id = |p: &Ref| current_id(&by_service, p);
            let inputs = hash_inputs(&spec, &image_id, &parent_id, project, &desired.files);
            let expected = config_hash(&definition(svc), &inputs);
            let candidates: Vec<&ObservedContainer> = existing
                .iter()
                .filter(|c| c.replica == r)
                .copied()
                .collect();
            let (keep, extra) = pick(&candidates, &expected);
            for dup in extra {
                let id = plan.push(
                    Action::RemoveContainer {
                        id: dup.id.clone(),
                        name: dup.name.clone(),
                        service: dup.service.clone(),
                        anonymous_volumes: false,
                    },
                    format!("duplicate of replica {r}"),
                    vec![],
                    vec![],
                );
                steps.push(id);
                // Whatever comes next for the replica may need its name.
                step_after.push(id);
            }
            let reference = spec.of.clone();
            // A recreated volume takes its containers with it.
            let lost_volume = spec
                .mounts
                .iter()
                .filter_map(|m| m.source.as_ref())
                .find(|s| recreated_volumes.contains(*s))
                .cloned();
            let keep = if lost_volume.is_some() { None } else { keep };
            match keep {
                None => {
                    let reason = match lost_volume {
                        Some(v) => format!("its volume {v} is recreated"),
                        None => "not created yet".to_string(),
                    };
                    steps.push(plan.push(
                        Action::CreateContainer {
                            spec: Box::new(spec),
                        },
                        reason,
                        step_after,
                        waits.clone(),
                    ));
                    renewed.insert(reference);
                }
                Some(c) => {
                    let renewed_parent = spec
                        .refs()
                        .into_iter()
                        .find(|(_, p)| renewed.contains(*p))
                        .map(|(f, p)| (f, p.clone()));
                    let moved = dns_moved.get(&c.id);
                    let drift = c.config_hash != expected || renewed_parent.is_some();
                    let follows_parent = renewed_parent.is_some();
                    if opts.force_recreate || ((drift || moved.is_some()) && !opts.no_recreate) {
                        let reason = if let Some((field, p)) = renewed_parent {
                            format!(
                                "its {field} parent {} gets a new container",
                                ref_name(project, &project_name, &p)
                            )
                        } else if drift {
                            explain(c, svc, &image, &inputs)
                        } else if let Some(key) = moved {
                            format!(
                                "network `{key}` gets a new gateway, where it asks the stack's DNS"
                            )
                        } else {
                            "--force-recreate".into()
                        };
                        let mut spec = spec;
                        if let Some(previous) = previous_definition(c, svc) {
                            spec.labels.insert(labels::PREVIOUS_CONFIG.into(), previous);
                        }
                        let id = plan.push(
                            Action::RecreateContainer {
                                old_id: c.id.clone(),
                                spec: Box::new(spec),
                                update: None,
                            },
                            reason,
                            step_after,
                            waits.clone(),
                        );
                        if !follows_parent {
                            updates.push(id);
                        }
                        steps.push(id);
                        replaced.insert(name.clone());
                        renewed.insert(reference);
                    } else if c.name != spec.name {
                        let adopt = plan.push(
                            Action::AdoptContainer {
                                id: c.id.clone(),
                                from: c.name.clone(),
                                spec: Box::new(spec),
                            },
                            "an interrupted run left it under a temporary name",
                            step_after.clone(),
                            vec![],
                        );
                        steps.push(adopt);
                        if !c.is_running() && !completed(c, svc) {
                            steps.push(plan.push(
                                Action::StartContainer {
                                    id: c.id.clone(),
                                    name: container_name(&project_name, &name, svc, r),
                                    service: c.service.clone(),
                                },
                                describe_stopped(&c.state),
                                vec![adopt],
                                waits.clone(),
                            ));
                        }
                    } else if !c.is_running() && !completed(c, svc) {
                        steps.push(plan.push(
                            Action::StartContainer {
                                id: c.id.clone(),
                                name: c.name.clone(),
                                service: c.service.clone(),
                            },
                            describe_stopped(&c.state),
                            step_after,
                            waits.clone(),
                        ));
                    } else if let Some(dep) = restarted_dependency(svc, &replaced) {
                        // `depends_on: {dep: {restart: true}}`: it follows
                        // its dependency's new container.
                        steps.push(plan.push(
                            Action::RestartContainer {
                                id: c.id.clone(),
                                name: c.name.clone(),
                                service: c.service.clone(),
                            },
                            format!("its dependency `{dep}` gets a new container (restart: true)"),
                            step_after,
                            waits.clone(),
                        ));
                    }
                }
            }
        }
        if replicas > 1 && !updates.is_empty() {
            roll(&mut plan, svc, &updates);
        }
        let highest = existing.iter().map(|c| c.replica).max().unwrap_or(0);
        let mut surplus: Vec<&ObservedContainer> = existing
            .iter()
            .filter(|c| c.replica > replicas)
            .copied()
            .collect();
        surplus.sort_by_key(|c| std::cmp::Reverse(c.replica));
        for c in surplus {
            steps.push(plan.push(
                Action::RemoveContainer {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    service: c.service.clone(),
                    anonymous_volumes: false,
                },
                format!("scaled from {highest} to {replicas}"),
                vec![],
                vec![],
            ));
        }
        service_steps.insert(name.clone(), steps);
    }

    for c in &observed.containers {
        // A service no active profile enables is still the file's: its
        // containers are left alone, as Compose leaves them.
        if project.services.contains_key(&c.service)
            || project.disabled_services.contains(&c.service)
        {
            continue;
        }
        if opts.remove_orphans {
            plan.push(
                Action::RemoveContainer {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    service: c.service.clone(),
                    anonymous_volumes: false,
                },
                format!(
                    "orphan (service `{}` is no longer in the stack file)",
                    c.service
                ),
                vec![],
                vec![],
            );
        } else if !opts.ignore_orphans {
            plan.warnings.push(format!(
                "{} is an orphan: service `{}` is no longer in the stack file (remove it with --remove-orphans)",
                c.name, c.service
            ));
        }
    }
    let conflicts = port_conflicts(&plan, &observed.foreign_ports);
    plan.blockers.extend(conflicts);
    plan
}

/// A dependency of `svc` with `restart: true` an existing container of
/// which is replaced in this plan, if any.
fn restarted_dependency<'a>(svc: &'a Service, replaced: &BTreeSet<String>) -> Option<&'a str> {
    svc.depends_on
        .iter()
        .flatten()
        .filter(|(_, d)| d.restart)
        .map(|(name, _)| name.as_str())
        .find(|dep| replaced.contains(*dep))
}

/// The project's containers on network `key` (engine name `name`), with
/// how each joins it per its service's definition now.
/// The gateway a network of this definition gets: the file's, or the
/// first address of its first IPv4 subnet (as Docker picks it); `None`
/// when the engine picks the subnet.
fn expected_gateway(net: &NetworkSpec) -> Option<String> {
    let pool = net
        .ipam
        .as_ref()?
        .pools
        .iter()
        .find(|p| p.subnet.as_deref().is_some_and(|s| !s.contains(':')))?;
    if let Some(gateway) = &pool.gateway {
        return Some(gateway.clone());
    }
    let subnet: ipnet::Ipv4Net = pool.subnet.as_deref()?.parse().ok()?;
    subnet.hosts().next().map(|first| first.to_string())
}

/// Does `service` ask the stack's DNS on network `name`? The executor
/// gives a container the gateway of its first network of the project,
/// unless the service sets its own `dns:`.
fn asks_dns_on(project: &Project, service: &str, name: &str) -> bool {
    let Some(svc) = project.services.get(service) else {
        return false;
    };
    if svc.dns.is_some() {
        return false;
    }
    let Networking::Networks(list) = container_spec(project, service, svc, 1).networking else {
        return false;
    };
    let project_name = project.project_name().to_string();
    let ours = |a: &&crate::spec::Attachment| {
        project.networks.iter().any(|(key, n)| {
            !n.external
                && n.name
                    .clone()
                    .unwrap_or_else(|| format!("{project_name}_{key}"))
                    == a.network
        })
    };
    list.iter().find(ours).is_some_and(|a| a.network == name)
}

fn network_users(
    project: &Project,
    observed: &Observed,
    key: &str,
    name: &str,
) -> Vec<NetworkUser> {
    observed
        .containers
        .iter()
        .filter_map(|c| {
            let svc = project.services.get(&c.service)?;
            svc.networks.as_ref()?.get(key)?;
            let spec = container_spec(project, &c.service, svc, c.replica);
            let Networking::Networks(list) = spec.networking else {
                return None;
            };
            let attachment = list.into_iter().find(|a| a.network == name)?;
            Some(NetworkUser {
                id: c.id.clone(),
                name: c.name.clone(),
                service: c.service.clone(),
                running: c.is_running(),
                attachment,
            })
        })
        .collect()
}

/// Fields of the Compose specification that `stack` reads and prints but
/// cannot run: each blocks `up` of its service, naming what it needs,
/// rather than being silently ignored.
/// Fields that need a newer engine API name the version the engine in use
/// speaks.
fn unsupported(name: &str, svc: &Service, engine: &crate::Capabilities) -> Vec<Blocker> {
    let mut out = Vec::new();
    // `speaks`: what the engine in use speaks, when that is too old too.
    let mut refuse = |field: &str, needs: &str, speaks: &str, hint: &str| {
        out.push(Blocker {
            kind: BlockerKind::Unsupported,
            subject: name.to_string(),
            message: format!(
                "service `{name}`: `{field}` needs {needs}, which stack does not drive{speaks}"
            ),
            hint: hint.to_string(),
        });
    };
    let speaks = |major: u32, minor: u32| {
        if engine.api_at_least(major, minor) {
            String::new()
        } else {
            format!(
                " ({} here speaks API {})",
                engine.engine, engine.api_version
            )
        }
    };
    let (api_1_48, api_1_49) = (speaks(1, 48), speaks(1, 49));
    if svc.use_api_socket == Some(true) {
        refuse(
            "use_api_socket",
            "Docker Desktop's sharing of the engine socket and credentials",
            "",
            "mount the socket yourself (`volumes: [/var/run/docker.sock:/var/run/docker.sock]`) if you trust the service with the engine, or remove it",
        );
    }
    if svc.models.is_some() {
        refuse(
            "models",
            "Docker Model Runner",
            "",
            "run the model server as a service of its own and point the app at it",
        );
    }
    if svc.provider.is_some() {
        refuse(
            "provider",
            "a Compose provider plugin",
            "",
            "run what the provider sets up as a service of its own, or remove the service",
        );
    }
    let per_network = |pick: fn(&schema::ServiceNetwork) -> bool| {
        svc.networks
            .iter()
            .flatten()
            .any(|(_, cfg)| cfg.as_ref().is_some_and(pick))
    };
    if per_network(|c| c.gw_priority.is_some()) {
        refuse(
            "networks.*.gw_priority",
            "Docker Engine API 1.48 (Docker 28)",
            &api_1_48,
            "remove `gw_priority`, or give the network that should route first the higher `priority`",
        );
    }
    let named_interface = svc
        .networks
        .iter()
        .flatten()
        .any(|(_, cfg)| cfg.as_ref().is_some_and(|c| c.interface_name.is_some()));
    if named_interface {
        refuse(
            "networks.*.interface_name",
            "Docker Engine API 1.49 (Docker 28.1)",
            &api_1_49,
            "remove `interface_name`; the container's interfaces are then eth0, eth1...",
        );
    }
    out.extend(mac_addresses(name, svc, engine));
    let mount_options: [MountOption; 3] = [
        (
            "a volume of `type: image`",
            (1, 47),
            "Docker 28",
            |v| v.kind == schema::MountType::Image,
            "copy what you need from that image in a build stage, or mount a volume filled from it",
        ),
        (
            "`volume.subpath`",
            (1, 45),
            "Docker 26",
            |v| v.volume.as_ref().is_some_and(|o| o.subpath.is_some()),
            "mount the whole volume and use the path inside it",
        ),
        (
            "`bind.recursive: writable` or `readonly`",
            (1, 44),
            "Docker 25",
            |v| {
                v.bind.as_ref().is_some_and(|b| {
                    matches!(b.recursive.as_deref(), Some("writable" | "readonly"))
                })
            },
            "write `recursive: disabled` (submounts left out), or remove `recursive`",
        ),
    ];
    for (what, (major, minor), release, uses, hint) in mount_options {
        let targets: Vec<&str> = (svc.volumes.iter().flatten())
            .filter(|v| uses(v))
            .map(|v| v.target.as_str())
            .collect();
        if !targets.is_empty() && !engine.api_at_least(major, minor) {
            out.push(Blocker {
                kind: BlockerKind::Unsupported,
                subject: name.to_string(),
                message: format!(
                    "service `{name}`: {what} (at {}) needs Docker Engine API {major}.{minor} ({release}) ({} here speaks API {})",
                    targets.join(", "),
                    engine.engine,
                    engine.api_version
                ),
                hint: hint.into(),
            });
        }
    }
    out
}

/// A refusal of what network `key` asks and the engine's API cannot
/// give: an IPv4-less network before API 1.47.
fn network_unsupported(
    key: &str,
    net: &schema::Network,
    engine: &crate::Capabilities,
) -> Option<Blocker> {
    (net.enable_ipv4 == Some(false) && !engine.api_at_least(1, 47)).then(|| Blocker {
        kind: BlockerKind::Unsupported,
        subject: key.to_string(),
        message: format!(
            "network `{key}`: `enable_ipv4: false` needs Docker Engine API 1.47 (Docker 28) ({} here speaks API {}); before it, every network has IPv4",
            engine.engine, engine.api_version
        ),
        hint: "remove `enable_ipv4` (IPv6-only networks need a newer engine)".into(),
    })
}

/// A mount option newer than the oldest API: what it is, the API and
/// Docker release that brought it, which mounts use it, what to do.
type MountOption = (
    &'static str,
    (u32, u32),
    &'static str,
    fn(&schema::ServiceVolume) -> bool,
    &'static str,
);

/// MAC addresses the engine cannot give as the file says, as Compose
/// checks them: the service's `mac_address` is its main network's, so a
/// different one there is a contradiction; before API 1.44 a container
/// has one MAC address, on its main network, so one on any other network
/// cannot be honoured (Compose drops it without a word).
fn mac_addresses(name: &str, svc: &Service, engine: &crate::Capabilities) -> Vec<Blocker> {
    let networks: Vec<(&String, Option<&str>, i64)> = (svc.networks.iter().flatten())
        .map(|(key, cfg)| {
            let cfg = cfg.as_ref();
            let mac = cfg.and_then(|c| c.mac_address.as_deref());
            (key, mac, cfg.and_then(|c| c.priority).unwrap_or(0))
        })
        .collect();
    // The main network: the highest priority, the first of equals (as
    // the spec orders them).
    let top = networks.iter().map(|n| n.2).max();
    let main = networks.iter().find(|n| Some(n.2) == top);
    let mut out = Vec::new();
    if let (Some(service_mac), Some((key, Some(mac), _))) = (&svc.mac_address, main) {
        if service_mac != mac {
            out.push(Blocker {
                kind: BlockerKind::Unsupported,
                subject: name.to_string(),
                message: format!("service `{name}`: `mac_address` {service_mac} differs from network `{key}`'s {mac}, its main network's"),
                hint: "give the same address in both places, or keep one of them".into(),
            });
        }
    }
    if !engine.api_at_least(1, 44) {
        let elsewhere: Vec<&str> = (networks.iter())
            .filter(|n| n.1.is_some() && main.map(|m| m.0) != Some(n.0))
            .map(|n| n.0.as_str())
            .collect();
        if !elsewhere.is_empty() {
            out.push(Blocker {
                kind: BlockerKind::Unsupported,
                subject: name.to_string(),
                message: format!(
                    "service `{name}`: a MAC address on network(s) {} needs Docker Engine API 1.44 (Docker 25) ({} here speaks API {}); before it, a container has one MAC address, on its main network",
                    elsewhere.join(", "),
                    engine.engine,
                    engine.api_version
                ),
                hint: "set `mac_address` on the service (or its main network) only".into(),
            });
        }
    }
    out
}

/// A blocker for each host port a container of the plan would publish
/// that a running container of another project already holds (the engine
/// would refuse it at start, halfway through the plan).
fn port_conflicts(plan: &Plan, taken: &[PublishedPort]) -> Vec<Blocker> {
    let any = |ip: &Option<String>| matches!(ip.as_deref(), None | Some("" | "0.0.0.0" | "::"));
    let mut out = Vec::new();
    for step in &plan.steps {
        let (Action::CreateContainer { spec } | Action::RecreateContainer { spec, .. }) =
            &step.action
        else {
            continue;
        };
        for binding in &spec.ports {
            // A range lets the engine pick a free port: nothing to check.
            let Some(port) = binding.fixed_host_port() else {
                continue;
            };
            let holder = taken.iter().find(|t| {
                t.port == port
                    && t.protocol == binding.protocol
                    && (any(&t.host_ip) || any(&binding.host_ip) || t.host_ip == binding.host_ip)
            });
            if let Some(holder) = holder {
                let owner = holder
                    .project
                    .as_ref()
                    .map(|p| format!(" (project `{p}`)"))
                    .unwrap_or_default();
                out.push(Blocker {
                    kind: BlockerKind::PortTaken,
                    subject: spec.of.service.clone(),
                    message: format!(
                        "service `{}`: host port {port}/{} is already published by container `{}`{owner}",
                        spec.of.service, binding.protocol, holder.container
                    ),
                    hint: format!(
                        "stop `{}`, or publish another host port for `{}`",
                        holder.container, spec.of.service
                    ),
                });
            }
        }
    }
    out
}

/// Turn the recreate steps `ids` (replica order) into a rolling update:
/// batches of `parallelism`, each after the one before, with the delay.
fn roll(plan: &mut Plan, svc: &Service, ids: &[usize]) {
    let (parallelism, rolling) = rolling(svc);
    let mut previous: Vec<usize> = Vec::new();
    for (n, batch) in ids.chunks(parallelism).enumerate() {
        for &id in batch {
            let step = &mut plan.steps[id];
            step.after.extend(previous.iter().copied());
            if let Action::RecreateContainer { update, .. } = &mut step.action {
                *update = Some(Rolling {
                    delay: if n == 0 {
                        std::time::Duration::ZERO
                    } else {
                        rolling.delay
                    },
                    ..rolling.clone()
                });
            }
            step.reason = format!("{} (rolling update, batch {})", step.reason, n + 1);
        }
        previous = batch.to_vec();
    }
}

/// Plan `down`: every container of the project, then its networks, and
/// its named volumes only when `remove_volumes`.
///
/// A network or volume the file declares `external: true` is never
/// removed, whoever created it (a volume `stack` made before the file
/// called it external keeps the data of someone who now owns it).
pub fn plan_down(project: &Project, observed: &Observed, remove_volumes: bool) -> Plan {
    let external_volumes: BTreeSet<&str> = project
        .volumes
        .iter()
        .filter(|(_, v)| v.external)
        .flat_map(|(k, v)| [k.as_str(), v.name.as_deref().unwrap_or(k)])
        .collect();
    let external_networks: BTreeSet<&str> = project
        .networks
        .iter()
        .filter(|(_, n)| n.external)
        .flat_map(|(k, n)| [k.as_str(), n.name.as_deref().unwrap_or(k)])
        .collect();
    let kept = |set: &BTreeSet<&str>, r: &ObservedResource| {
        set.contains(r.key.as_str()) || set.contains(r.name.as_str())
    };
    let mut plan = Plan {
        engine: observed.capabilities.engine,
        ..Plan::default()
    };
    let mut containers = Vec::new();
    let mut sorted: Vec<&ObservedContainer> = observed.containers.iter().collect();
    sorted.sort_by(|a, b| (&a.service, b.replica).cmp(&(&b.service, a.replica)));
    for c in sorted {
        containers.push(plan.push(
            Action::RemoveContainer {
                id: c.id.clone(),
                name: c.name.clone(),
                service: c.service.clone(),
                anonymous_volumes: remove_volumes,
            },
            if remove_volumes { "down -v" } else { "down" },
            vec![],
            vec![],
        ));
    }
    for n in observed
        .networks
        .iter()
        .filter(|n| !kept(&external_networks, n))
    {
        plan.push(
            Action::RemoveNetwork {
                name: n.name.clone(),
            },
            "down",
            containers.clone(),
            vec![],
        );
    }
    if remove_volumes {
        for v in observed
            .volumes
            .iter()
            .filter(|v| !kept(&external_volumes, v))
        {
            plan.push(
                Action::RemoveVolume {
                    name: v.name.clone(),
                },
                "down -v",
                containers.clone(),
                vec![],
            );
        }
    }
    plan
}

/// Whether `service` mounts the named volume `key`.
fn mounts_volume(project: &Project, service: &str, key: &str) -> bool {
    project.services.get(service).is_some_and(|s| {
        s.volumes
            .iter()
            .flatten()
            .any(|v| v.kind == schema::MountType::Volume && v.source.as_deref() == Some(key))
    })
}

fn group(containers: &[ObservedContainer]) -> BTreeMap<&str, Vec<&ObservedContainer>> {
    let mut out: BTreeMap<&str, Vec<&ObservedContainer>> = BTreeMap::new();
    for c in containers {
        out.entry(c.service.as_str()).or_default().push(c);
    }
    out
}

/// The id of the container currently holding replica `r`, if any.
fn current_id(by_service: &BTreeMap<&str, Vec<&ObservedContainer>>, r: &Ref) -> Option<String> {
    by_service
        .get(r.service.as_str())?
        .iter()
        .find(|c| c.replica == r.replica)
        .map(|c| c.id.clone())
}

/// Of several containers claiming one replica, keep the best (matching
/// hash, then running) and return the rest as duplicates.
fn pick<'a>(
    candidates: &[&'a ObservedContainer],
    expected: &str,
) -> (Option<&'a ObservedContainer>, Vec<&'a ObservedContainer>) {
    let mut sorted = candidates.to_vec();
    sorted.sort_by_key(|c| (c.config_hash != expected, !c.is_running(), c.name.clone()));
    let mut iter = sorted.into_iter();
    let keep = iter.next();
    (keep, iter.collect())
}

/// Network and volume creation steps a container must follow.
fn resource_steps(
    spec: &ContainerSpec,
    networks: &BTreeMap<String, usize>,
    volumes: &BTreeMap<String, usize>,
) -> Vec<usize> {
    let mut out = Vec::new();
    if let Networking::Networks(list) = &spec.networking {
        out.extend(list.iter().filter_map(|a| networks.get(&a.network)));
    }
    out.extend(
        spec.mounts
            .iter()
            .filter_map(|m: &Mount| m.source.as_ref().and_then(|s| volumes.get(s))),
    );
    out
}

/// The definition a replacement of `c` can roll back to: the one `c` runs,
/// or, when that is the same as the new one, the one `c` could roll back to.
pub fn previous_definition(c: &ObservedContainer, svc: &Service) -> Option<String> {
    let current = c.labels.get(labels::CONFIG)?;
    if crate::hash::runs_definition(Some(current), &definition(svc)) {
        c.labels.get(labels::PREVIOUS_CONFIG).cloned()
    } else {
        Some(current.clone())
    }
}

/// A one-shot container that ran to success is done, not drift.
fn completed(c: &ObservedContainer, svc: &Service) -> bool {
    let swarm_restarts = svc
        .deploy
        .as_ref()
        .and_then(|d| d.restart_policy.as_ref())
        .is_some_and(|p| p.condition.as_deref().unwrap_or("any") == "any");
    let restarts = swarm_restarts || svc.restart.is_some_and(RestartPolicy::restarts_finished);
    c.state == RunState::Exited { code: 0 } && !restarts
}

fn describe_stopped(state: &RunState) -> String {
    match state {
        RunState::Exited { code } => format!("not running (exited with {code})"),
        RunState::Created => "created but never started".into(),
        RunState::Dead => "dead".into(),
        RunState::Running => "running".into(),
    }
}

/// Why an existing container no longer matches, from its labels.
fn explain(c: &ObservedContainer, svc: &Service, image: &str, inputs: &HashInputs) -> String {
    let mut reasons = Vec::new();
    let old_def: Option<Value> = c
        .labels
        .get(labels::CONFIG)
        .and_then(|s| serde_json::from_str(s).ok());
    if let Some(old) = old_def {
        let fields = changed_fields(&old, &definition(svc));
        if !fields.is_empty() {
            let shown: Vec<&str> = fields.iter().take(3).map(String::as_str).collect();
            let more = fields.len().saturating_sub(3);
            reasons.push(if more > 0 {
                format!("{} and {more} more changed", shown.join(", "))
            } else {
                format!("{} changed", shown.join(", "))
            });
        }
    }
    if !c.image_id.is_empty() && c.image_id != inputs.image_id {
        reasons.push(format!("image {image} now has a different id"));
    }
    let old_parents: BTreeMap<String, String> = c
        .labels
        .get(labels::PARENTS)
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    for (key, id) in &inputs.parents {
        if old_parents.get(key) != Some(id) {
            let (field, parent) = key.split_once(':').unwrap_or((key, ""));
            reasons.push(format!("its {field} parent {parent} was replaced"));
        }
    }
    let old_files: BTreeMap<String, String> = c
        .labels
        .get(labels::FILES)
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    for (key, digest) in &inputs.files {
        if old_files.get(key) != Some(digest) {
            let (kind, name) = key.split_once(':').unwrap_or(("file", key));
            reasons.push(format!("{kind} {name} changed"));
        }
    }
    if reasons.is_empty() {
        "its definition changed".into()
    } else {
        reasons.join("; ")
    }
}

#[cfg(test)]
mod tests;
