//! The planner as data: a stack file and what the engine has, in; the
//! plan's lines, out. No engine, no runtime, no temporary directory:
//! "what the engine has" is built by [`apply`]ing earlier plans to an
//! in-memory [`Observed`], the way the executor would leave the engine.

use std::collections::BTreeMap;

use super::*;
use crate::testing::project;
use crate::{NetworkAddresses, ObservedResource, PublishedPort, RunState};

/// An engine with nothing but the images the project names.
fn empty(project: &Project) -> Observed {
    let mut observed = Observed::default();
    for (name, svc) in &project.services {
        let image = project.image_of(name, svc);
        observed
            .images
            .insert(image.clone(), format!("sha256:{image}"));
    }
    observed
}

/// The engine after `plan` ran to the end on `observed`.
fn apply(project: &Project, observed: &mut Observed, plan: &Plan) {
    let files = BTreeMap::new();
    for step in &plan.steps {
        match &step.action {
            Action::CreateNetwork { key, network }
            | Action::RecreateNetwork { key, network, .. } => {
                observed.networks.retain(|n| n.name != network.name);
                observed.networks.push(ObservedResource {
                    name: network.name.clone(),
                    key: key.clone(),
                    hash: network.labels[labels::RESOURCE_HASH].clone(),
                });
                // The gateway the engine picks.
                observed.gateways.remove(&network.name);
                if let Some(gateway) = expected_gateway(network) {
                    observed.gateways.insert(network.name.clone(), gateway);
                }
            }
            Action::CreateVolume { key, volume } | Action::RecreateVolume { key, volume, .. } => {
                observed.volumes.retain(|v| v.name != volume.name);
                observed.volumes.push(ObservedResource {
                    name: volume.name.clone(),
                    key: key.clone(),
                    hash: volume.labels[labels::RESOURCE_HASH].clone(),
                });
            }
            Action::CreateContainer { spec } | Action::RecreateContainer { spec, .. } => {
                if let Action::RecreateContainer { old_id, .. } = &step.action {
                    observed.containers.retain(|c| &c.id != old_id);
                }
                let image_id = observed
                    .images
                    .get(&spec.image)
                    .cloned()
                    .unwrap_or_default();
                let project_name = project.project_name().to_string();
                let by_name = |r: &Ref| {
                    let name = ref_name(project, &project_name, r);
                    observed
                        .containers
                        .iter()
                        .find(|c| c.name == name)
                        .map(|c| c.id.clone())
                };
                let inputs = hash_inputs(spec, &image_id, &by_name, project, &files);
                let mut labels = spec.labels.clone();
                labels.extend(state_labels(spec, &inputs));
                observed.containers.push(ObservedContainer {
                    id: format!("id-{}", spec.name),
                    name: spec.name.clone(),
                    service: spec.of.service.clone(),
                    replica: spec.of.replica,
                    config_hash: labels[labels::CONFIG_HASH].clone(),
                    labels,
                    state: RunState::Running,
                    health: None,
                    image_id,
                    addresses: BTreeMap::new(),
                    addresses_v6: BTreeMap::new(),
                });
            }
            Action::StartContainer { id, .. } | Action::RestartContainer { id, .. } => {
                for c in observed.containers.iter_mut().filter(|c| &c.id == id) {
                    c.state = RunState::Running;
                }
            }
            Action::AdoptContainer { id, spec, .. } => {
                for c in observed.containers.iter_mut().filter(|c| &c.id == id) {
                    c.name = spec.name.clone();
                }
            }
            Action::RemoveContainer { id, .. } => observed.containers.retain(|c| &c.id != id),
            Action::RemoveNetwork { name } => observed.networks.retain(|n| &n.name != name),
            Action::RemoveVolume { name } => observed.volumes.retain(|v| &v.name != name),
        }
    }
}

fn up_with(p: &Project, observed: &Observed, opts: &UpOptions) -> Plan {
    plan_up(
        &Desired {
            project: p,
            files: BTreeMap::new(),
        },
        observed,
        opts,
    )
}

/// The engine after `up` of `yaml` on an empty one.
fn running(yaml: &str) -> Observed {
    let p = project(yaml);
    let mut observed = empty(&p);
    let plan = up_with(&p, &observed, &UpOptions::default());
    assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
    apply(&p, &mut observed, &plan);
    observed
}

/// One line per step (`verb subject: reason`), then warnings and blockers.
fn lines(plan: &Plan) -> Vec<String> {
    let mut out: Vec<String> = plan
        .steps
        .iter()
        .map(|s| format!("{} {}: {}", s.action.verb(), s.action.subject(), s.reason))
        .collect();
    out.extend(plan.warnings.iter().map(|w| format!("warning: {w}")));
    out.extend(
        plan.blockers
            .iter()
            .map(|b| format!("refused: {}", b.message)),
    );
    out
}

/// The plan of `up` of `yaml` on `observed` (plus the file's images), as lines.
fn up(yaml: &str, observed: &Observed) -> Vec<String> {
    up_opts(yaml, observed, UpOptions::default())
}

fn up_opts(yaml: &str, observed: &Observed, opts: UpOptions) -> Vec<String> {
    let p = project(yaml);
    let mut observed = observed.clone();
    for (image, id) in empty(&p).images {
        observed.images.entry(image).or_insert(id);
    }
    lines(&up_with(&p, &observed, &opts))
}

/// Lines that start with `prefix`.
fn with<'a>(lines: &'a [String], prefix: &str) -> Vec<&'a str> {
    lines
        .iter()
        .filter(|l| l.starts_with(prefix))
        .map(String::as_str)
        .collect()
}

/// Assert that `actual` is exactly `expected`, showing the plan.
#[track_caller]
fn same(actual: &[String], expected: &[&str]) {
    let actual: Vec<&str> = actual.iter().map(String::as_str).collect();
    assert_eq!(actual, expected, "\nplan:\n{}", actual.join("\n"));
}

const WEB: &str = "services:\n  web:\n    image: busybox:1.36\n";
const WEB_DB: &str =
    "services:\n  web:\n    image: busybox:1.36\n    depends_on: [db]\n  db:\n    image: busybox:1.36\n";
const SIDECAR: &str = "services:\n  web:\n    image: busybox:1.36\n  side:\n    image: busybox:1.36\n    network_mode: service:web\n";
const DATA: &str =
    "services:\n  db:\n    image: busybox:1.36\n    volumes: [data:/d]\nvolumes:\n  data: {}\n";

mod fresh {
    use super::*;

    #[test]
    fn one_service_gets_the_default_network_and_one_container() {
        same(
            &up(WEB, &Observed::default()),
            &[
                "create network test_default: not created yet",
                "create test-web-1: not created yet",
            ],
        );
    }

    #[test]
    fn replicas_are_numbered_from_one() {
        let yaml = "services:\n  web:\n    image: busybox:1.36\n    deploy: {replicas: 3}\n";
        let out = up(yaml, &Observed::default());
        assert_eq!(
            with(&out, "create test-web"),
            [
                "create test-web-1: not created yet",
                "create test-web-2: not created yet",
                "create test-web-3: not created yet",
            ]
        );
    }

    #[test]
    fn scale_zero_creates_no_container() {
        let yaml = "services:\n  web:\n    image: busybox:1.36\n    scale: 0\n";
        assert!(with(&up(yaml, &Observed::default()), "create test-web").is_empty());
    }

    #[test]
    fn a_container_name_replaces_the_generated_one() {
        let yaml = "services:\n  web:\n    image: busybox:1.36\n    container_name: front\n";
        assert_eq!(
            with(&up(yaml, &Observed::default()), "create front"),
            ["create front: not created yet"]
        );
    }

    #[test]
    fn named_volumes_are_created_before_containers() {
        same(
            &up(DATA, &Observed::default()),
            &[
                "create network test_default: not created yet",
                "create volume test_data: not created yet",
                "create test-db-1: not created yet",
            ],
        );
    }

    #[test]
    fn a_volume_with_a_name_keeps_it() {
        let yaml = "services:\n  db:\n    image: busybox:1.36\n    volumes: [data:/d]\nvolumes:\n  data: {name: shared-data}\n";
        assert_eq!(
            with(&up(yaml, &Observed::default()), "create volume"),
            ["create volume shared-data: not created yet"]
        );
    }

    #[test]
    fn declared_networks_are_created_and_unused_ones_are_not() {
        let yaml = "services:\n  web:\n    image: busybox:1.36\n    networks: [front]\nnetworks:\n  front: {}\n  unused: {}\n";
        assert_eq!(
            with(&up(yaml, &Observed::default()), "create network"),
            ["create network test_front: not created yet"]
        );
    }

    #[test]
    fn network_mode_host_needs_no_network() {
        let yaml = "services:\n  web:\n    image: busybox:1.36\n    network_mode: host\n";
        assert!(with(&up(yaml, &Observed::default()), "create network").is_empty());
    }

    #[test]
    fn a_dependency_is_created_before_its_dependent() {
        let p = project(WEB_DB);
        let plan = up_with(&p, &empty(&p), &UpOptions::default());
        let index = |name: &str| {
            plan.steps
                .iter()
                .position(|s| s.action.subject() == name)
                .expect(name)
        };
        let (db, web) = (index("test-db-1"), index("test-web-1"));
        assert!(plan.steps[web].after.contains(&db), "{:?}", plan.steps[web]);
    }

    #[test]
    fn a_healthy_condition_is_waited_for() {
        let yaml = "services:\n  web:\n    image: busybox:1.36\n    depends_on:\n      db: {condition: service_healthy}\n  db:\n    image: busybox:1.36\n    healthcheck: {test: [CMD, 'true']}\n";
        let p = project(yaml);
        let plan = up_with(&p, &empty(&p), &UpOptions::default());
        let web = plan
            .steps
            .iter()
            .find(|s| s.action.subject() == "test-web-1")
            .expect("web is created");
        assert!(!web.waits.is_empty(), "{web:?}");
    }

    #[test]
    fn only_named_services_and_their_dependencies_are_planned() {
        let yaml = "services:\n  web:\n    image: busybox:1.36\n    depends_on: [db]\n  db:\n    image: busybox:1.36\n  other:\n    image: busybox:1.36\n";
        let opts = UpOptions {
            services: vec!["web".into()],
            ..UpOptions::default()
        };
        let out = up_opts(yaml, &Observed::default(), opts);
        assert!(with(&out, "create test-other").is_empty(), "{out:?}");
        assert_eq!(with(&out, "create test-db").len(), 1, "{out:?}");
    }

    #[test]
    fn no_deps_plans_the_named_services_alone_and_waits_for_nothing() {
        let yaml = "services:\n  web:\n    image: busybox:1.36\n    depends_on: {db: {condition: service_healthy}}\n  db:\n    image: busybox:1.36\n";
        let p = project(yaml);
        let opts = UpOptions {
            services: vec!["web".into()],
            no_deps: true,
            ..UpOptions::default()
        };
        let plan = up_with(&p, &empty(&p), &opts);
        let out = lines(&plan);
        assert!(with(&out, "create test-db").is_empty(), "{out:?}");
        assert_eq!(with(&out, "create test-web").len(), 1, "{out:?}");
        assert!(plan.steps.iter().all(|s| s.waits.is_empty()), "{out:?}");
    }

    #[test]
    fn a_one_off_gets_its_networks_and_volumes_and_its_dependencies_not_its_replicas() {
        let yaml = "services:\n  web:\n    image: busybox:1.36\n    depends_on: [db]\n    networks: [back]\n    volumes: ['data:/data']\n  db:\n    image: busybox:1.36\nnetworks:\n  back: {}\nvolumes:\n  data: {}\n";
        let p = project(yaml);
        let one_off = |no_deps| UpOptions {
            services: vec!["web".into()],
            no_deps,
            one_off: Some("web".into()),
            ..UpOptions::default()
        };
        let steps = |no_deps| {
            let mut out = lines(&up_with(&p, &empty(&p), &one_off(no_deps)));
            out.iter_mut()
                .for_each(|l| *l = l.split(':').next().unwrap_or_default().into());
            out
        };
        same(
            &steps(false),
            &[
                "create network test_back",
                "create network test_default",
                "create volume test_data",
                "create test-db-1",
            ],
        );
        same(
            &steps(true),
            &["create network test_back", "create volume test_data"],
        );
    }

    #[test]
    fn a_sidecar_is_created_after_its_parent() {
        let p = project(SIDECAR);
        let plan = up_with(&p, &empty(&p), &UpOptions::default());
        let pos = |n: &str| plan.steps.iter().position(|s| s.action.subject() == n);
        assert!(pos("test-web-1") < pos("test-side-1"), "{:?}", lines(&plan));
    }
}

mod converged {
    use super::*;

    #[test]
    fn the_same_file_again_changes_nothing() {
        same(&up(WEB, &running(WEB)), &[]);
    }

    #[test]
    fn the_same_file_with_volumes_and_networks_changes_nothing() {
        let yaml = "services:\n  db:\n    image: busybox:1.36\n    volumes: [data:/d]\n    networks: [back]\nnetworks:\n  back: {}\nvolumes:\n  data: {}\n";
        same(&up(yaml, &running(yaml)), &[]);
    }

    #[test]
    fn replicas_and_dependencies_converge_too() {
        let yaml = "services:\n  web:\n    image: busybox:1.36\n    deploy: {replicas: 2}\n    depends_on: [db]\n  db:\n    image: busybox:1.36\n";
        same(&up(yaml, &running(yaml)), &[]);
    }

    #[test]
    fn key_order_and_list_style_do_not_matter() {
        let a = "services:\n  web:\n    image: busybox:1.36\n    environment: {A: '1', B: '2'}\n";
        let b = "services:\n  web:\n    environment: [B=2, A=1]\n    image: busybox:1.36\n";
        same(&up(b, &running(a)), &[]);
    }

    #[test]
    fn a_sidecar_stack_converges() {
        same(&up(SIDECAR, &running(SIDECAR)), &[]);
    }

    #[test]
    fn a_stopped_container_is_started() {
        let mut observed = running(WEB);
        observed.containers[0].state = RunState::Exited { code: 137 };
        let out = up(WEB, &observed);
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out[0].starts_with("start test-web-1: "), "{out:?}");
    }

    #[test]
    fn a_created_container_is_started() {
        let mut observed = running(WEB);
        observed.containers[0].state = RunState::Created;
        let out = up(WEB, &observed);
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out[0].starts_with("start test-web-1: "), "{out:?}");
    }

    #[test]
    fn force_recreate_replaces_every_container() {
        let opts = UpOptions {
            force_recreate: true,
            ..UpOptions::default()
        };
        let out = up_opts(WEB_DB, &running(WEB_DB), opts);
        assert_eq!(with(&out, "recreate test-").len(), 2, "{out:?}");
    }

    #[test]
    fn down_removes_containers_then_networks_and_keeps_volumes() {
        let p = project(DATA);
        let out = lines(&plan_down(&p, &running(DATA), false));
        assert_eq!(with(&out, "remove test-db-1").len(), 1, "{out:?}");
        assert_eq!(
            with(&out, "remove network test_default").len(),
            1,
            "{out:?}"
        );
        assert!(with(&out, "remove volume").is_empty(), "{out:?}");
        let pos = |prefix: &str| out.iter().position(|l| l.starts_with(prefix));
        assert!(pos("remove test-db-1") < pos("remove network"), "{out:?}");
    }

    #[test]
    fn down_v_removes_named_volumes_too() {
        let p = project(DATA);
        let out = lines(&plan_down(&p, &running(DATA), true));
        assert_eq!(with(&out, "remove volume test_data").len(), 1, "{out:?}");
    }

    #[test]
    fn down_v_never_removes_an_external_volume() {
        let yaml = "services:\n  db:\n    image: busybox:1.36\n    volumes: [data:/d]\nvolumes:\n  data: {external: true}\n";
        let p = project(yaml);
        let mut observed = empty(&p);
        observed.external_volumes.push("data".into());
        let plan = up_with(&p, &observed, &UpOptions::default());
        apply(&p, &mut observed, &plan);
        // Even when it carries the project's labels.
        observed.volumes.push(ObservedResource {
            name: "data".into(),
            key: "data".into(),
            hash: String::new(),
        });
        let out = lines(&plan_down(&p, &observed, true));
        assert!(with(&out, "remove volume").is_empty(), "{out:?}");
    }

    #[test]
    fn down_of_nothing_is_empty() {
        let p = project(WEB);
        assert!(plan_down(&p, &Observed::default(), true).is_empty());
    }
}

mod changed {
    use super::*;

    #[test]
    fn a_new_environment_value_recreates_that_service_only() {
        let edited = WEB_DB.replace(
            "  db:\n    image: busybox:1.36\n",
            "  db:\n    image: busybox:1.36\n    environment: {A: '2'}\n",
        );
        let out = up(&edited, &running(WEB_DB));
        assert_eq!(with(&out, "recreate").len(), 1, "{out:?}");
        assert!(out[0].starts_with("recreate test-db-1"), "{out:?}");
        assert!(
            out[0].contains("environment"),
            "the reason names the field: {out:?}"
        );
    }

    #[test]
    fn a_new_command_recreates() {
        let edited = "services:\n  web:\n    image: busybox:1.36\n    command: [sleep, '5']\n";
        let out = up(edited, &running(WEB));
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(
            out[0].starts_with("recreate test-web-1") && out[0].contains("command"),
            "{out:?}"
        );
    }

    #[test]
    fn a_new_image_id_recreates() {
        let mut observed = running(WEB);
        observed
            .images
            .insert("busybox:1.36".into(), "sha256:newer".into());
        let out = up(WEB, &observed);
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out[0].starts_with("recreate test-web-1"), "{out:?}");
    }

    #[test]
    fn no_recreate_leaves_a_changed_container() {
        let edited = "services:\n  web:\n    image: busybox:1.36\n    command: [sleep, '5']\n";
        let opts = UpOptions {
            no_recreate: true,
            ..UpOptions::default()
        };
        same(&up_opts(edited, &running(WEB), opts), &[]);
    }

    #[test]
    fn more_replicas_add_containers() {
        let two = "services:\n  web:\n    image: busybox:1.36\n    deploy: {replicas: 2}\n";
        same(
            &up(two, &running(WEB)),
            &["create test-web-2: not created yet"],
        );
    }

    #[test]
    fn fewer_replicas_remove_the_highest_first() {
        let three = "services:\n  web:\n    image: busybox:1.36\n    deploy: {replicas: 3}\n";
        let out = up(WEB, &running(three));
        let removed: Vec<&str> = with(&out, "remove")
            .iter()
            .map(|l| l.split(':').next().unwrap_or_default())
            .collect();
        assert_eq!(
            removed,
            ["remove test-web-3", "remove test-web-2"],
            "{out:?}"
        );
    }

    #[test]
    fn a_removed_service_is_an_orphan_reported_not_removed() {
        let out = up(WEB, &running(WEB_DB));
        assert!(with(&out, "remove").is_empty(), "{out:?}");
        assert_eq!(with(&out, "warning:").len(), 1, "{out:?}");
    }

    #[test]
    fn remove_orphans_removes_it() {
        let opts = UpOptions {
            remove_orphans: true,
            ..UpOptions::default()
        };
        let out = up_opts(WEB, &running(WEB_DB), opts);
        assert_eq!(with(&out, "remove test-db-1").len(), 1, "{out:?}");
    }

    #[test]
    fn ignore_orphans_says_nothing() {
        let opts = UpOptions {
            ignore_orphans: true,
            ..UpOptions::default()
        };
        same(&up_opts(WEB, &running(WEB_DB), opts), &[]);
    }

    const TMPFS_DATA: &str = "services:\n  db:\n    image: busybox:1.36\n    volumes: [data:/d]\nvolumes:\n  data: {driver_opts: {type: tmpfs, device: tmpfs}}\n";

    #[test]
    fn a_changed_volume_is_refused_without_recreate_volumes() {
        let out = up(TMPFS_DATA, &running(DATA));
        assert_eq!(with(&out, "refused:").len(), 1, "{out:?}");
        assert!(
            with(&out, "recreate").is_empty(),
            "nothing is changed: {out:?}"
        );
    }

    #[test]
    fn recreate_volumes_recreates_it() {
        let opts = UpOptions {
            recreate_volumes: true,
            ..UpOptions::default()
        };
        let out = up_opts(TMPFS_DATA, &running(DATA), opts);
        assert_eq!(with(&out, "recreate volume test_data").len(), 1, "{out:?}");
        assert!(with(&out, "refused:").is_empty(), "{out:?}");
    }

    #[test]
    fn a_changed_network_is_recreated_with_its_containers_kept() {
        let before = "services:\n  web:\n    image: busybox:1.36\n    networks: [back]\nnetworks:\n  back:\n    ipam: {config: [{subnet: 10.211.0.0/24}]}\n";
        let after = before.replace("  back:\n", "  back:\n    labels: {tier: back}\n");
        let out = up(&after, &running(before));
        assert_eq!(with(&out, "recreate network test_back").len(), 1, "{out:?}");
        assert!(with(&out, "recreate test-web").is_empty(), "{out:?}");
    }

    #[test]
    fn containers_that_ask_a_moved_gateway_for_names_are_recreated_with_it() {
        let before = "services:\n  web:\n    image: busybox:1.36\n    networks: [back]\n  own:\n    image: busybox:1.36\n    dns: [192.0.2.53]\n    networks: [back]\nnetworks:\n  back: {ipam: {config: [{subnet: 10.211.0.0/24}]}}\n";
        let after = before.replace("10.211.0.0/24", "10.212.0.0/24");
        let out = up(&after, &running(before));
        assert_eq!(with(&out, "recreate network test_back").len(), 1, "{out:?}");
        same(
            &with(&out, "recreate test-").iter().map(|l| l.to_string()).collect::<Vec<_>>(),
            &["recreate test-web-1: network `back` gets a new gateway, where it asks the stack's DNS"],
        );
        // Converged afterwards.
        let mut observed = running(before);
        let plan = up_with(&project(&after), &observed, &UpOptions::default());
        apply(&project(&after), &mut observed, &plan);
        same(&up(&after, &observed), &[]);
    }

    #[test]
    fn a_subnet_overlapping_another_network_is_refused() {
        let yaml = "services:\n  web:\n    image: busybox:1.36\n    networks: [back]\nnetworks:\n  back: {ipam: {config: [{subnet: 10.213.0.0/16}]}}\n";
        let observed = Observed {
            other_networks: vec![NetworkAddresses {
                name: "someone_else".into(),
                subnets: vec!["10.213.5.0/24".into()],
                ..NetworkAddresses::default()
            }],
            ..Observed::default()
        };
        let out = up(yaml, &observed);
        let refused = with(&out, "refused:");
        assert_eq!(refused.len(), 1, "{out:?}");
        assert!(
            refused[0].contains("someone_else"),
            "names the other network: {out:?}"
        );
    }

    #[test]
    fn a_missing_external_network_is_refused() {
        let yaml = "services:\n  web:\n    image: busybox:1.36\n    networks: [shared]\nnetworks:\n  shared: {external: true}\n";
        let out = up(yaml, &Observed::default());
        assert_eq!(with(&out, "refused:").len(), 1, "{out:?}");
    }

    #[test]
    fn a_present_external_network_is_used_not_created() {
        let yaml = "services:\n  web:\n    image: busybox:1.36\n    networks: [shared]\nnetworks:\n  shared: {external: true}\n";
        let observed = Observed {
            external_networks: vec!["shared".into()],
            ..Observed::default()
        };
        let out = up(yaml, &observed);
        assert!(with(&out, "create network").is_empty(), "{out:?}");
        assert!(with(&out, "refused:").is_empty(), "{out:?}");
    }

    #[test]
    fn a_port_another_container_publishes_is_refused() {
        let yaml = "services:\n  web:\n    image: busybox:1.36\n    ports: ['8080:80']\n";
        let observed = Observed {
            foreign_ports: vec![PublishedPort {
                container: "other-web-1".into(),
                project: Some("other".into()),
                host_ip: None,
                port: 8080,
                protocol: "tcp".into(),
            }],
            ..Observed::default()
        };
        let out = up(yaml, &observed);
        let refused = with(&out, "refused:");
        assert_eq!(refused.len(), 1, "{out:?}");
        assert!(
            refused[0].contains("other-web-1"),
            "names who holds it: {out:?}"
        );
    }

    #[test]
    fn a_container_left_under_a_temporary_name_is_adopted() {
        let mut observed = running(WEB);
        observed.containers[0].name = "test-web-1-next".into();
        let out = up(WEB, &observed);
        assert_eq!(
            with(&out, "rename test-web-1-next to test-web-1").len(),
            1,
            "{out:?}"
        );
        assert!(with(&out, "create").is_empty(), "{out:?}");
    }

    #[test]
    fn a_parent_recreated_recreates_its_sidecar() {
        let edited = SIDECAR.replacen(
            "image: busybox:1.36\n",
            "image: busybox:1.36\n    command: [sleep, '9']\n",
            1,
        );
        let out = up(&edited, &running(SIDECAR));
        assert_eq!(with(&out, "recreate test-web-1").len(), 1, "{out:?}");
        assert_eq!(with(&out, "recreate test-side-1").len(), 1, "{out:?}");
    }

    #[test]
    fn a_dependent_with_restart_true_is_restarted_when_its_dependency_is_replaced() {
        let yaml = "services:\n  web:\n    image: busybox:1.36\n    depends_on:\n      db: {condition: service_started, restart: true}\n  db:\n    image: busybox:1.36\n";
        let edited = yaml.replace(
            "  db:\n    image: busybox:1.36\n",
            "  db:\n    image: busybox:1.36\n    command: [sleep, '9']\n",
        );
        let out = up(&edited, &running(yaml));
        assert_eq!(with(&out, "recreate test-db-1").len(), 1, "{out:?}");
        assert_eq!(with(&out, "restart test-web-1").len(), 1, "{out:?}");
    }

    #[test]
    fn a_rolling_update_replaces_replicas_in_batches() {
        let yaml = "services:\n  web:\n    image: busybox:1.36\n    deploy:\n      replicas: 2\n      update_config: {parallelism: 1, order: start-first}\n";
        let edited = yaml.replace(
            "image: busybox:1.36\n",
            "image: busybox:1.36\n    command: [sleep, '9']\n",
        );
        let p = project(&edited);
        let plan = up_with(&p, &running(yaml), &UpOptions::default());
        let recreates: Vec<usize> = plan
            .steps
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                matches!(
                    &s.action,
                    Action::RecreateContainer {
                        update: Some(_),
                        ..
                    }
                )
            })
            .map(|(i, _)| i)
            .collect();
        assert_eq!(recreates.len(), 2, "{:?}", lines(&plan));
        assert!(
            plan.steps[recreates[1]].after.contains(&recreates[0]),
            "the second batch waits for the first: {:?}",
            plan.steps[recreates[1]]
        );
    }

    #[test]
    fn a_field_of_a_newer_api_names_the_version_the_engine_speaks() {
        let yaml = "services:\n  web:\n    image: busybox:1.36\n    networks:\n      default: {gw_priority: 1}\n";
        let out = up(yaml, &Observed::default());
        let refused = with(&out, "refused:");
        assert_eq!(refused.len(), 1, "{out:?}");
        assert!(
            refused[0].contains("API 1.48")
                && refused[0].contains("Docker Engine here speaks API 1.41"),
            "{out:?}"
        );
        let newer = Observed {
            capabilities: crate::Capabilities {
                api_version: crate::ApiVersion(1, 49),
                ..crate::Capabilities::default()
            },
            ..Observed::default()
        };
        let out = up(yaml, &newer);
        assert!(
            !with(&out, "refused:")[0].contains("here speaks"),
            "{out:?}"
        );
    }

    #[test]
    fn mac_addresses_are_refused_only_where_the_engine_cannot_give_them() {
        let newer = Observed {
            capabilities: crate::Capabilities {
                api_version: crate::ApiVersion(1, 44),
                ..crate::Capabilities::default()
            },
            ..Observed::default()
        };
        let refusals = |yaml: &str, observed: &Observed| -> Vec<String> {
            let out = up(yaml, observed);
            with(&out, "refused:")
                .iter()
                .map(|l| l.to_string())
                .collect()
        };
        // The service's, or its main network's: one container MAC on 1.41.
        let service =
            "services:\n  web:\n    image: busybox:1.36\n    mac_address: 02:42:ac:11:00:99\n";
        assert!(refusals(service, &Observed::default()).is_empty());
        let main = "services:\n  web:\n    image: busybox:1.36\n    networks:\n      default: {mac_address: 02:42:ac:11:00:99}\n";
        assert!(refusals(main, &Observed::default()).is_empty());
        // On a second network: 1.44's per-network addresses.
        let second = "services:\n  web:\n    image: busybox:1.36\n    networks:\n      a: {}\n      b: {mac_address: 02:42:ac:11:00:99}\nnetworks:\n  a: {}\n  b: {}\n";
        let refused = refusals(second, &Observed::default());
        assert!(
            refused.len() == 1 && refused[0].contains("network(s) b needs Docker Engine API 1.44"),
            "{refused:?}"
        );
        assert!(refusals(second, &newer).is_empty());
        // Two different addresses for one endpoint: refused everywhere.
        let both = "services:\n  web:\n    image: busybox:1.36\n    mac_address: 02:42:ac:11:00:01\n    networks:\n      default: {mac_address: 02:42:ac:11:00:02}\n";
        let refused = refusals(both, &newer);
        assert!(
            refused.len() == 1 && refused[0].contains("differs from network `default`"),
            "{refused:?}"
        );
    }

    #[test]
    fn newer_fields_are_refused_below_the_api_that_brought_them() {
        let at = |minor: u32| Observed {
            capabilities: crate::Capabilities {
                api_version: crate::ApiVersion(1, minor),
                ..crate::Capabilities::default()
            },
            ..Observed::default()
        };
        // The file, the API it needs, what the refusal says.
        let cases = [
            (
                "services:\n  web:\n    image: busybox:1.36\n    volumes:\n      - {type: image, source: 'busybox:1.36', target: /img}\n",
                47,
                "`type: image` (at /img) needs Docker Engine API 1.47",
            ),
            (
                "services:\n  web:\n    image: busybox:1.36\n    volumes:\n      - {type: volume, source: data, target: /data, volume: {subpath: a/b}}\nvolumes:\n  data: {}\n",
                45,
                "`volume.subpath` (at /data) needs Docker Engine API 1.45 (Docker 26)",
            ),
            (
                "services:\n  web:\n    image: busybox:1.36\n    volumes:\n      - {type: bind, source: /srv, target: /srv, read_only: true, bind: {recursive: writable}}\n",
                44,
                "`bind.recursive: writable` or `readonly` (at /srv) needs Docker Engine API 1.44",
            ),
            (
                "services:\n  web:\n    image: busybox:1.36\nnetworks:\n  default: {enable_ipv4: false, enable_ipv6: true}\n",
                47,
                "network `default`: `enable_ipv4: false` needs Docker Engine API 1.47",
            ),
        ];
        for (yaml, minor, says) in cases {
            let out = up(yaml, &at(minor - 1));
            let refused = with(&out, "refused:");
            assert!(
                refused.len() == 1 && refused[0].contains(says),
                "{says}: {out:?}"
            );
            assert!(with(&up(yaml, &at(minor)), "refused:").is_empty(), "{says}");
        }
        // What the old API does have is not refused.
        let old = "services:\n  web:\n    image: busybox:1.36\n    volumes:\n      - {type: bind, source: /srv, target: /srv, bind: {recursive: disabled, propagation: private}}\nnetworks:\n  default: {enable_ipv4: true}\n";
        assert!(with(&up(old, &at(41)), "refused:").is_empty());
    }

    #[test]
    fn a_service_no_profile_enables_is_no_orphan() {
        let both =
            "services:\n  web:\n    image: busybox:1.36\n  debug:\n    image: busybox:1.36\n";
        let profiled = "services:\n  web:\n    image: busybox:1.36\n  debug:\n    image: busybox:1.36\n    profiles: [debug]\n";
        let gone = "services:\n  web:\n    image: busybox:1.36\n";
        let opts = || UpOptions {
            remove_orphans: true,
            ..UpOptions::default()
        };
        same(&up_opts(profiled, &running(both), opts()), &[]);
        same(
            &up_opts(gone, &running(both), opts()),
            &["remove test-debug-1: orphan (service `debug` is no longer in the stack file)"],
        );
    }
}
