//! The planner against the fake engine: plan, execute, change the stack
//! file, plan again, and check every action and the reason it gives.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use planner::{plan_down, plan_up, Action, Change, Desired, Plan, UpOptions};
use reconciler::fake::FakeEngine;
use reconciler::{observe, ExecError, ExecuteOptions, Executor};

mod common;
use common::project;
use schema::Project;

fn engine() -> FakeEngine {
    let e = FakeEngine::new();
    e.add_image("busybox:1.36", "sha256:aaa");
    e
}

async fn plan(
    engine: &FakeEngine,
    p: &Project,
    opts: &UpOptions,
    files: &BTreeMap<String, String>,
) -> Plan {
    let observed = observe(engine, p).await.unwrap();
    plan_up(
        &Desired {
            project: p,
            files: files.clone(),
        },
        &observed,
        opts,
    )
}

async fn run(engine: &FakeEngine, p: &Project, plan: Plan) -> Result<(), ExecError> {
    run_with(engine, p, plan, ExecuteOptions::default()).await
}

/// `run` with `opts`, polling fast and waiting briefly.
async fn run_with(
    engine: &FakeEngine,
    p: &Project,
    plan: Plan,
    opts: ExecuteOptions,
) -> Result<(), ExecError> {
    Executor::new(
        Arc::new(engine.clone()),
        Arc::new(p.clone()),
        BTreeMap::new(),
    )
    .with_options(ExecuteOptions {
        wait_timeout: Duration::from_secs(2),
        poll_interval: Duration::from_millis(5),
        ..opts
    })
    .execute(plan)
    .await
}

async fn up(engine: &FakeEngine, p: &Project) -> Plan {
    let pl = plan(engine, p, &UpOptions::default(), &BTreeMap::new()).await;
    assert!(pl.blockers.is_empty(), "{:?}", pl.blockers);
    run(engine, p, pl.clone()).await.unwrap();
    pl
}

/// `verb subject: reason` for every step.
fn lines(plan: &Plan) -> Vec<String> {
    plan.steps
        .iter()
        .map(|s| format!("{} {}: {}", s.action.verb(), s.action.subject(), s.reason))
        .collect()
}

const STACK: &str = "
services:
  db:
    image: busybox:1.36
    volumes: [data:/data]
    healthcheck: {test: [CMD, 'true']}
  api:
    image: busybox:1.36
    environment: {API_URL: http://db}
    depends_on: {db: {condition: service_healthy}}
  side:
    image: busybox:1.36
    network_mode: service:api
  web:
    image: busybox:1.36
    depends_on: [api]
volumes:
  data: {}
";

#[tokio::test]
async fn first_up_creates_everything_and_second_changes_nothing() {
    let e = engine();
    let p = project(STACK);
    let first = up(&e, &p).await;
    let mut l = lines(&first);
    l.sort();
    assert_eq!(
        l,
        vec![
            "create network p_default: not created yet",
            "create p-api-1: not created yet",
            "create p-db-1: not created yet",
            "create p-side-1: not created yet",
            "create p-web-1: not created yet",
            "create volume p_data: not created yet",
        ]
    );
    e.clear_mutations();
    let second = plan(&e, &p, &UpOptions::default(), &BTreeMap::new()).await;
    assert!(second.is_empty(), "{:?}", lines(&second));
    run(&e, &p, second).await.unwrap();
    assert!(e.mutations().is_empty(), "{:?}", e.mutations());
}

#[tokio::test]
async fn dependencies_start_first() {
    let e = engine();
    let p = project(STACK);
    up(&e, &p).await;
    let creates: Vec<String> = e
        .mutations()
        .into_iter()
        .filter(|m| m.starts_with("create_container"))
        .collect();
    let pos = |name: &str| creates.iter().position(|m| m.ends_with(name)).unwrap();
    assert!(pos("p-db-1") < pos("p-api-1"));
    assert!(pos("p-api-1") < pos("p-side-1"));
    assert!(pos("p-api-1") < pos("p-web-1"));
}

#[tokio::test]
async fn an_env_change_recreates_that_service_and_its_sidecar_only() {
    let e = engine();
    up(&e, &project(STACK)).await;
    let changed = project(&STACK.replace("http://db", "http://db:5432"));
    let pl = plan(&e, &changed, &UpOptions::default(), &BTreeMap::new()).await;
    assert_eq!(
        lines(&pl),
        vec![
            "recreate p-api-1: environment.API_URL changed",
            "recreate p-side-1: its network_mode parent p-api-1 gets a new container",
        ]
    );
    run(&e, &changed, pl).await.unwrap();
    assert!(plan(&e, &changed, &UpOptions::default(), &BTreeMap::new())
        .await
        .is_empty());
}

#[tokio::test]
async fn changing_a_services_networks_recreates_that_service_only() {
    let e = engine();
    let two = "services:\n  web:\n    image: busybox:1.36\n    networks: [front]\n  db:\n    image: busybox:1.36\n    networks: [back]\nnetworks:\n  front: {}\n  back: {}\n";
    up(&e, &project(two)).await;
    let moved = project(&two.replace("networks: [front]", "networks: [front, back]"));
    let pl = plan(&e, &moved, &UpOptions::default(), &BTreeMap::new()).await;
    assert_eq!(lines(&pl), vec!["recreate p-web-1: networks.back changed"]);
    run(&e, &moved, pl).await.unwrap();
    let web = &e.containers()["p-web-1"];
    assert_eq!(web.networks, ["p_back", "p_front"]);
}

#[tokio::test]
async fn a_sidecar_left_on_an_old_parent_is_recreated_next_time() {
    let e = engine();
    let p = project(STACK);
    up(&e, &p).await;
    // Replace the parent alone, as an interrupted run or another tool might.
    let changed = project(&STACK.replace("http://db", "http://other"));
    let mut pl = plan(&e, &changed, &UpOptions::default(), &BTreeMap::new()).await;
    pl.steps.retain(|s| s.action.subject() == "p-api-1");
    run(&e, &changed, pl).await.unwrap();
    let next = plan(&e, &changed, &UpOptions::default(), &BTreeMap::new()).await;
    assert_eq!(
        lines(&next),
        vec!["recreate p-side-1: its network_mode parent p-api-1 was replaced"]
    );
}

#[tokio::test]
async fn scaling_adds_and_removes_replicas_without_touching_the_rest() {
    let e = engine();
    let one = project("services:\n  w:\n    image: busybox:1.36\n");
    up(&e, &one).await;
    let three = project("services:\n  w:\n    image: busybox:1.36\n    deploy: {replicas: 3}\n");
    let pl = plan(&e, &three, &UpOptions::default(), &BTreeMap::new()).await;
    assert_eq!(
        lines(&pl),
        vec![
            "create p-w-2: not created yet",
            "create p-w-3: not created yet"
        ]
    );
    run(&e, &three, pl).await.unwrap();
    let pl = plan(&e, &one, &UpOptions::default(), &BTreeMap::new()).await;
    assert_eq!(
        lines(&pl),
        vec![
            "remove p-w-3: scaled from 3 to 1",
            "remove p-w-2: scaled from 3 to 1"
        ]
    );
    run(&e, &one, pl).await.unwrap();
    assert_eq!(e.containers().keys().collect::<Vec<_>>(), vec!["p-w-1"]);
}

#[tokio::test]
async fn orphans_are_reported_and_removed_on_request() {
    let e = engine();
    up(
        &e,
        &project("services:\n  a:\n    image: busybox:1.36\n  old:\n    image: busybox:1.36\n"),
    )
    .await;
    let p = project("services:\n  a:\n    image: busybox:1.36\n");
    let kept = plan(&e, &p, &UpOptions::default(), &BTreeMap::new()).await;
    assert!(kept.is_empty());
    assert!(
        kept.warnings[0].contains("p-old-1 is an orphan"),
        "{:?}",
        kept.warnings
    );
    let opts = UpOptions {
        remove_orphans: true,
        ..Default::default()
    };
    let removed = plan(&e, &p, &opts, &BTreeMap::new()).await;
    assert_eq!(
        lines(&removed),
        vec!["remove p-old-1: orphan (service `old` is no longer in the stack file)"]
    );
}

#[tokio::test]
async fn a_new_image_id_recreates_with_that_reason() {
    let e = engine();
    let p = project("services:\n  a:\n    image: busybox:1.36\n");
    up(&e, &p).await;
    e.add_image("busybox:1.36", "sha256:bbb");
    let pl = plan(&e, &p, &UpOptions::default(), &BTreeMap::new()).await;
    assert_eq!(
        lines(&pl),
        vec!["recreate p-a-1: image busybox:1.36 now has a different id"]
    );
}

#[tokio::test]
async fn a_changed_secret_file_recreates_with_that_reason() {
    let e = engine();
    let p = project("services:\n  a:\n    image: busybox:1.36\n    secrets: [key]\nsecrets:\n  key: {file: ./key}\n");
    let files = BTreeMap::from([("secret:key".to_string(), "d1".to_string())]);
    let pl = plan(&e, &p, &UpOptions::default(), &files).await;
    Executor::new(Arc::new(e.clone()), Arc::new(p.clone()), files)
        .execute(pl)
        .await
        .unwrap();
    let changed = BTreeMap::from([("secret:key".to_string(), "d2".to_string())]);
    let pl = plan(&e, &p, &UpOptions::default(), &changed).await;
    assert_eq!(lines(&pl), vec!["recreate p-a-1: secret key changed"]);
}

#[tokio::test]
async fn stopped_containers_start_and_finished_one_shots_stay_done() {
    let e = engine();
    e.exit_on_start("migrate", 0);
    let p =
        project("services:\n  a:\n    image: busybox:1.36\n  migrate:\n    image: busybox:1.36\n");
    up(&e, &p).await;
    e.kill("p-a-1", 137);
    let pl = plan(&e, &p, &UpOptions::default(), &BTreeMap::new()).await;
    assert_eq!(
        lines(&pl),
        vec!["start p-a-1: not running (exited with 137)"]
    );
}

#[tokio::test]
async fn force_and_no_recreate() {
    let e = engine();
    let p = project("services:\n  a:\n    image: busybox:1.36\n");
    up(&e, &p).await;
    let force = UpOptions {
        force_recreate: true,
        ..Default::default()
    };
    assert_eq!(
        lines(&plan(&e, &p, &force, &BTreeMap::new()).await),
        vec!["recreate p-a-1: --force-recreate"]
    );
    let changed = project("services:\n  a:\n    image: busybox:1.36\n    command: [sleep, '1']\n");
    let keep = UpOptions {
        no_recreate: true,
        ..Default::default()
    };
    assert!(plan(&e, &changed, &keep, &BTreeMap::new()).await.is_empty());
}

#[tokio::test]
async fn a_failed_one_shot_stops_the_run_with_its_output() {
    let e = engine();
    e.exit_on_start("migrate", 3);
    let p = project(
        "services:\n  migrate:\n    image: busybox:1.36\n  app:\n    image: busybox:1.36\n    depends_on: {migrate: {condition: service_completed_successfully}}\n",
    );
    let pl = plan(&e, &p, &UpOptions::default(), &BTreeMap::new()).await;
    let err = run(&e, &p, pl).await.unwrap_err();
    assert!(
        matches!(err, ExecError::DependencyFailed { code: 3, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("output of"), "{err}");
    // Left created, not started, as Compose leaves it.
    assert_eq!(e.containers()["p-app-1"].state, planner::RunState::Created);
}

#[tokio::test]
async fn an_engine_failure_stops_the_run_and_a_rerun_converges_without_duplicates() {
    let e = engine();
    let p = project(STACK);
    e.fail_next("create_container", "disk full");
    let pl = plan(&e, &p, &UpOptions::default(), &BTreeMap::new()).await;
    let err = run(&e, &p, pl).await.unwrap_err();
    assert!(err.to_string().contains("disk full"), "{err}");
    up(&e, &p).await;
    assert_eq!(e.containers().len(), 4);
    assert!(plan(&e, &p, &UpOptions::default(), &BTreeMap::new())
        .await
        .is_empty());
}

#[tokio::test]
async fn a_dependency_that_cannot_start_leaves_its_dependents_created() {
    let e = engine();
    let p = project("services:\n  db:\n    image: busybox:1.36\n  api:\n    image: busybox:1.36\n    depends_on: [db]\n  web:\n    image: busybox:1.36\n    depends_on: [api]\n");
    e.fail_next("start_container", "port is already allocated");
    let pl = plan(&e, &p, &UpOptions::default(), &BTreeMap::new()).await;
    let err = run(&e, &p, pl).await.unwrap_err();
    assert!(err.to_string().contains("already allocated"), "{err}");
    let containers = e.containers();
    for name in ["p-db-1", "p-api-1", "p-web-1"] {
        assert_eq!(
            containers.get(name).map(|c| c.state.clone()),
            Some(planner::RunState::Created),
            "{name}: {containers:?}"
        );
    }
    // The next run only starts them.
    let next = plan(&e, &p, &UpOptions::default(), &BTreeMap::new()).await;
    assert!(
        lines(&next).iter().all(|l| l.starts_with("start ")),
        "{:?}",
        lines(&next)
    );
    run(&e, &p, next).await.unwrap();
}

#[tokio::test]
async fn up_of_one_service_brings_its_dependencies_only() {
    let e = engine();
    let p = project(STACK);
    let opts = UpOptions {
        services: vec!["api".into()],
        ..Default::default()
    };
    let pl = plan(&e, &p, &opts, &BTreeMap::new()).await;
    run(&e, &p, pl).await.unwrap();
    assert_eq!(
        e.containers().keys().collect::<Vec<_>>(),
        vec!["p-api-1", "p-db-1"]
    );
}

#[tokio::test]
async fn down_v_never_removes_what_the_file_calls_external() {
    let e = engine();
    let p = project(STACK);
    up(&e, &p).await;
    // The file now says the volume `stack` created is someone else's.
    let now_external = project(&STACK.replace(
        "volumes:\n  data: {}",
        "volumes:\n  data: {external: true, name: p_data}",
    ));
    assert!(
        now_external.volumes["data"].external,
        "the test edits the file"
    );
    let observed = observe(&e, &now_external).await.unwrap();
    run(&e, &now_external, plan_down(&now_external, &observed, true))
        .await
        .unwrap();
    assert!(e.containers().is_empty());
    assert_eq!(e.volumes(), vec!["p_data"]);
}

#[tokio::test]
async fn down_keeps_volumes_unless_asked() {
    let e = engine();
    let p = project(STACK);
    up(&e, &p).await;
    let observed = observe(&e, &p).await.unwrap();
    run(&e, &p, plan_down(&p, &observed, false)).await.unwrap();
    assert!(e.containers().is_empty());
    assert!(e.networks().is_empty());
    assert_eq!(e.volumes(), vec!["p_data"]);
    let observed = observe(&e, &p).await.unwrap();
    run(&e, &p, plan_down(&p, &observed, true)).await.unwrap();
    assert!(e.volumes().is_empty());
}

#[tokio::test]
async fn a_changed_volume_definition_blocks_the_plan() {
    let e = engine();
    up(&e, &project(STACK)).await;
    let changed = project(&STACK.replace(
        "  data: {}",
        "  data: {driver_opts: {type: tmpfs, device: tmpfs}}",
    ));
    let pl = plan(&e, &changed, &UpOptions::default(), &BTreeMap::new()).await;
    assert_eq!(pl.blockers.len(), 1);
    assert!(pl.blockers[0]
        .message
        .contains("volume `p_data` exists with another definition"));
    assert!(!pl
        .steps
        .iter()
        .any(|s| matches!(s.action, Action::CreateVolume { .. })));
}

#[tokio::test]
async fn a_subnet_overlapping_another_projects_network_blocks_the_plan() {
    let e = engine();
    let lab = "services:\n  a:\n    image: busybox:1.36\n    networks: [lan]\nnetworks:\n  lan:\n    ipam:\n      config:\n        - subnet: 10.30.0.0/16\n";
    up(&e, &project(lab)).await;
    // The same file under another project name: `p_lan` is now another's.
    let mut other = project(&lab.replace("10.30.0.0/16", "10.30.7.0/24"));
    other.name = schema::ProjectName::new("q");
    let pl = plan(&e, &other, &UpOptions::default(), &BTreeMap::new()).await;
    assert_eq!(pl.blockers.len(), 1, "{:?}", pl.blockers);
    assert_eq!(
        pl.blockers[0].message,
        "network `lan`: subnet 10.30.7.0/24 overlaps 10.30.0.0/16 of the engine's network `p_lan` (project `p`)"
    );
    // Outside the other network's subnet is fine.
    let mut apart = project(&lab.replace("10.30.0.0/16", "10.31.0.0/24"));
    apart.name = schema::ProjectName::new("q");
    let pl = plan(&e, &apart, &UpOptions::default(), &BTreeMap::new()).await;
    assert!(pl.blockers.is_empty(), "{:?}", pl.blockers);
}

#[tokio::test]
async fn a_host_port_another_project_holds_blocks_the_plan() {
    let e = engine();
    let web = "services:\n  web:\n    image: busybox:1.36\n    environment: {V: '1'}\n    ports: ['8080:80']\n";
    up(&e, &project(web)).await;
    // Its own port is no conflict: a recreate frees it first.
    let changed = project(&web.replace("V: '1'", "V: '2'"));
    let pl = plan(&e, &changed, &UpOptions::default(), &BTreeMap::new()).await;
    assert!(pl.blockers.is_empty(), "{:?}", pl.blockers);
    let mut other = project(web);
    other.name = schema::ProjectName::new("q");
    let pl = plan(&e, &other, &UpOptions::default(), &BTreeMap::new()).await;
    assert_eq!(pl.blockers.len(), 1, "{:?}", pl.blockers);
    assert_eq!(
        pl.blockers[0].message,
        "service `web`: host port 8080/tcp is already published by container `p-web-1` (project `p`)"
    );
    let mut elsewhere = project(&web.replace("8080:80", "127.0.0.1:8081:80"));
    elsewhere.name = schema::ProjectName::new("q");
    let pl = plan(&e, &elsewhere, &UpOptions::default(), &BTreeMap::new()).await;
    assert!(pl.blockers.is_empty(), "{:?}", pl.blockers);
}

#[tokio::test]
async fn a_missing_image_blocks_the_plan_naming_service_and_image() {
    let e = FakeEngine::new();
    let p = project("services:\n  a:\n    image: nope:1\n");
    let pl = plan(&e, &p, &UpOptions::default(), &BTreeMap::new()).await;
    assert_eq!(
        pl.blockers[0].message,
        "service `a`: image `nope:1` is not on the engine"
    );
}

#[tokio::test]
async fn a_recreate_mounts_the_old_anonymous_volumes_again() {
    let e = engine();
    let p = project("services:\n  a:\n    image: busybox:1.36\n    volumes: [/cache]\n");
    up(&e, &p).await;
    let old = e.containers()["p-a-1"].id.clone();
    let changed = project("services:\n  a:\n    image: busybox:1.36\n    volumes: [/cache]\n    command: [sleep, '2']\n");
    let pl = plan(&e, &changed, &UpOptions::default(), &BTreeMap::new()).await;
    run(&e, &changed, pl).await.unwrap();
    let new = &e.containers()["p-a-1"];
    assert_ne!(new.id, old);
    assert_eq!(
        new.request.anonymous_volumes.get("/cache"),
        Some(&format!("anon-{old}-/cache"))
    );
}

#[tokio::test]
async fn only_down_v_removes_anonymous_volumes() {
    let e = engine();
    let p = project("services:\n  a:\n    image: busybox:1.36\n");
    up(&e, &p).await;
    let observed = observe(&e, &p).await.unwrap();
    let keep = plan_down(&p, &observed, false);
    assert!(keep.steps.iter().all(|s| !matches!(
        s.action,
        Action::RemoveContainer {
            anonymous_volumes: true,
            ..
        }
    )));
    let purge = plan_down(&p, &observed, true);
    assert!(purge.steps.iter().any(|s| matches!(
        s.action,
        Action::RemoveContainer {
            anonymous_volumes: true,
            ..
        }
    )));
}

#[tokio::test]
async fn recreate_volumes_takes_the_volume_and_its_containers_on_purpose() {
    let e = engine();
    up(&e, &project(STACK)).await;
    let changed = project(&STACK.replace("  data: {}", "  data: {labels: {tier: gold}}"));
    let opts = UpOptions {
        recreate_volumes: true,
        ..Default::default()
    };
    let pl = plan(&e, &changed, &opts, &BTreeMap::new()).await;
    assert_eq!(
        lines(&pl),
        vec![
            "recreate volume p_data: its definition changed (--recreate-volumes: its data is lost)",
            "create p-db-1: its volume p_data is recreated",
        ]
    );
    let old_db = e.containers()["p-db-1"].id.clone();
    run(&e, &changed, pl).await.unwrap();
    assert_ne!(e.containers()["p-db-1"].id, old_db);
    assert!(plan(&e, &changed, &UpOptions::default(), &BTreeMap::new())
        .await
        .is_empty());
}

const ROLLING: &str = "services:\n  w:\n    image: busybox:1.36\n    environment: {V: '1'}\n    healthcheck: {test: [CMD, 'true']}\n    deploy: {replicas: 3, update_config: {parallelism: PAR}}\n";

#[tokio::test]
async fn a_changed_replicated_service_rolls_start_first_in_batches() {
    let e = engine();
    up(&e, &project(&ROLLING.replace("PAR", "2"))).await;
    let changed = project(&ROLLING.replace("PAR", "2").replace("V: '1'", "V: '2'"));
    let pl = plan(&e, &changed, &UpOptions::default(), &BTreeMap::new()).await;
    assert_eq!(
        lines(&pl),
        vec![
            "recreate p-w-1: environment.V changed (rolling update, batch 1)",
            "recreate p-w-2: environment.V changed (rolling update, batch 1)",
            "recreate p-w-3: environment.V changed (rolling update, batch 2)",
        ]
    );
    assert_eq!(pl.steps[2].after, vec![0, 1], "batch 2 waits for batch 1");
    let old: Vec<String> = e.containers().values().map(|c| c.id.clone()).collect();
    e.clear_mutations();
    run(&e, &changed, pl).await.unwrap();
    // Start first: the new replica is created and started before the old one goes.
    let m = e.mutations();
    let pos = |what: &str| {
        m.iter()
            .position(|x| x == what)
            .unwrap_or_else(|| panic!("{what} not in {m:?}"))
    };
    assert!(pos("create_container p-w-3-next") > pos(&format!("remove_container {}", old[0])));
    assert!(pos("create_container p-w-1-next") < pos(&format!("stop_container {}", old[0])));
    let names: Vec<String> = e.containers().into_keys().collect();
    assert_eq!(names, vec!["p-w-1", "p-w-2", "p-w-3"]);
    assert!(plan(&e, &changed, &UpOptions::default(), &BTreeMap::new())
        .await
        .is_empty());
}

#[tokio::test]
async fn a_drained_replica_leaves_the_dns_before_its_networks() {
    let e = engine();
    up(&e, &project(&ROLLING.replace("PAR", "1"))).await;
    let changed = project(&ROLLING.replace("PAR", "1").replace("V: '1'", "V: '2'"));
    let pl = plan(&e, &changed, &UpOptions::default(), &BTreeMap::new()).await;
    let old = e.containers()["p-w-1"].id.clone();
    e.clear_mutations();
    let drain = ExecuteOptions {
        drain: Duration::from_millis(20),
        ..Default::default()
    };
    run_with(&e, &changed, pl, drain).await.unwrap();
    let m = e.mutations();
    let pos = |what: &str| {
        m.iter()
            .position(|x| x == what)
            .unwrap_or_else(|| panic!("{what} not in {m:?}"))
    };
    // Renamed `-old` (out of the stack's DNS), then off the network, then stopped.
    assert!(pos(&format!("rename_container {old}")) < pos(&format!("disconnect_network {old}")));
    assert!(pos(&format!("disconnect_network {old}")) < pos(&format!("stop_container {old}")));
    let names: Vec<String> = e.containers().into_keys().collect();
    assert_eq!(names, vec!["p-w-1", "p-w-2", "p-w-3"]);
}

#[tokio::test]
async fn a_rolling_update_with_a_published_port_stops_first() {
    let e = engine();
    let yaml = ROLLING.replace("PAR", "1").replace(
        "    environment",
        "    ports: ['8080-8082:80']\n    environment",
    );
    up(&e, &project(&yaml)).await;
    let before = e.containers();
    let changed = project(&yaml.replace("V: '1'", "V: '2'"));
    let pl = plan(&e, &changed, &UpOptions::default(), &BTreeMap::new()).await;
    assert!(matches!(
        &pl.steps[0].action,
        Action::RecreateContainer { update: Some(r), .. } if !r.start_first
    ));
    run(&e, &changed, pl).await.unwrap();
    // The replacement exists before the old one goes, but starts only once
    // the old one (which holds the host port) is stopped, under its name.
    let m = e.mutations();
    let pos = |what: &str| {
        m.iter()
            .position(|x| x == what)
            .unwrap_or_else(|| panic!("{what} not in {m:?}"))
    };
    for (name, new) in e.containers() {
        let old = &before[&name].id;
        assert!(
            pos(&format!("create_container {name}-next")) < pos(&format!("stop_container {old}"))
        );
        assert!(
            pos(&format!("stop_container {old}")) < pos(&format!("start_container {}", new.id))
        );
        assert!(
            pos(&format!("rename_container {}", new.id))
                < pos(&format!("start_container {}", new.id))
        );
    }
}

#[tokio::test]
async fn a_failing_new_replica_stops_the_update_and_the_old_one_keeps_running() {
    let e = engine();
    up(&e, &project(&ROLLING.replace("PAR", "1"))).await;
    let before = e.containers();
    e.exit_on_start("w", 1);
    let changed = project(&ROLLING.replace("PAR", "1").replace("V: '1'", "V: '2'"));
    let pl = plan(&e, &changed, &UpOptions::default(), &BTreeMap::new()).await;
    let err = run(&e, &changed, pl).await.unwrap_err();
    assert!(
        matches!(&err, ExecError::UpdateFailed { old_kept: true, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("it exited with 1"), "{err}");
    let after = e.containers();
    assert_eq!(after.len(), 3, "no -next container is left behind");
    for (name, c) in &before {
        assert_eq!(after[name].id, c.id, "{name} was not touched");
        assert_eq!(after[name].state, planner::RunState::Running);
    }
}

const ONE: &str =
    "services:\n  a:\n    image: busybox:1.36\n    environment: {V: '1'}\n    volumes: [/cache]\n";

#[tokio::test]
async fn a_refused_create_leaves_the_old_container_running() {
    let e = engine();
    up(&e, &project(ONE)).await;
    let before = e.containers();
    e.fail_next("create_container", "no space left on device");
    let changed = project(&ONE.replace("V: '1'", "V: '2'"));
    let pl = plan(&e, &changed, &UpOptions::default(), &BTreeMap::new()).await;
    assert!(run(&e, &changed, pl).await.is_err());
    let after = e.containers();
    assert_eq!(after.len(), 1);
    assert_eq!(after["p-a-1"].id, before["p-a-1"].id);
    assert_eq!(after["p-a-1"].state, planner::RunState::Running);
}

#[tokio::test]
async fn a_recreate_interrupted_at_any_step_is_finished_by_the_next_up() {
    // Each engine call of a recreate, failed in turn, stands for a kill
    // right there; the next up must end with one running container under
    // its own name, with the new definition and the old anonymous volume.
    for op in [
        "stop_container",
        "remove_container",
        "rename_container",
        "start_container",
    ] {
        let e = engine();
        up(&e, &project(ONE)).await;
        let old = e.containers()["p-a-1"].clone();
        let changed = project(&ONE.replace("V: '1'", "V: '2'"));
        e.fail_next(op, "killed");
        let pl = plan(&e, &changed, &UpOptions::default(), &BTreeMap::new()).await;
        assert!(run(&e, &changed, pl).await.is_err(), "{op}");
        let pl = plan(&e, &changed, &UpOptions::default(), &BTreeMap::new()).await;
        run(&e, &changed, pl)
            .await
            .unwrap_or_else(|err| panic!("{op}: {err}"));
        let after = e.containers();
        assert_eq!(after.keys().collect::<Vec<_>>(), vec!["p-a-1"], "{op}");
        let now = &after["p-a-1"];
        assert_eq!(now.state, planner::RunState::Running, "{op}");
        assert_ne!(now.id, old.id, "{op}");
        assert_eq!(
            now.request.anonymous_volumes.get("/cache"),
            Some(&format!("anon-{}-/cache", old.id)),
            "{op}: the anonymous volume follows"
        );
        let pl = plan(&e, &changed, &UpOptions::default(), &BTreeMap::new()).await;
        assert!(pl.is_empty(), "{op}: {:?}", lines(&pl));
    }
}

#[tokio::test]
async fn scaling_a_service_down_removes_the_sidecars_of_its_removed_replicas() {
    let e = engine();
    let yaml = "services:\n  web:\n    image: busybox:1.36\n    deploy: {replicas: 3}\n  proxy:\n    image: busybox:1.36\n    network_mode: service:web\n";
    up(&e, &project(yaml)).await;
    assert_eq!(e.containers().len(), 6);
    // `stack scale web=2` names `web`, and its sidecars follow.
    let scaled = project(&yaml.replace("replicas: 3", "replicas: 2"));
    let opts = UpOptions {
        services: planner::with_sidecars(&scaled, &["web".to_string()]),
        ..Default::default()
    };
    assert_eq!(opts.services, vec!["proxy", "web"]);
    let pl = plan(&e, &scaled, &opts, &BTreeMap::new()).await;
    run(&e, &scaled, pl).await.unwrap();
    assert_eq!(
        e.containers().into_keys().collect::<Vec<_>>(),
        vec!["p-proxy-1", "p-proxy-2", "p-web-1", "p-web-2"]
    );
}

#[tokio::test]
async fn a_failed_optional_dependency_does_not_fail_up_and_a_required_one_leaves_the_dependent_created(
) {
    let yaml = |required: bool| {
        format!("services:\n  app:\n    image: busybox:1.36\n    depends_on:\n      migrate: {{condition: service_completed_successfully, required: {required}}}\n  migrate:\n    image: busybox:1.36\n")
    };
    for required in [false, true] {
        let e = engine();
        e.exit_on_start("migrate", 1);
        let p = project(&yaml(required));
        let pl = plan(&e, &p, &UpOptions::default(), &BTreeMap::new()).await;
        let result = run(&e, &p, pl).await;
        assert_eq!(
            result.is_ok(),
            !required,
            "required: {required}: {result:?}"
        );
        // Created either way (as Compose leaves it), started only when the
        // dependency was optional.
        let app = &e.containers()["p-app-1"];
        assert_eq!(
            app.state == planner::RunState::Running,
            !required,
            "required: {required}"
        );
    }
}

#[tokio::test]
async fn specification_fields_stack_cannot_run_block_up_naming_what_they_need() {
    let e = engine();
    let p = project("services:\n  app:\n    image: busybox:1.36\n    use_api_socket: true\n    networks:\n      default: {interface_name: eth7}\n  ai:\n    provider: {type: model, options: {model: ai/smollm2}}\n");
    let pl = plan(&e, &p, &UpOptions::default(), &BTreeMap::new()).await;
    let messages: Vec<&str> = pl.blockers.iter().map(|b| b.message.as_str()).collect();
    assert_eq!(
        messages,
        vec![
            "service `ai`: `provider` needs a Compose provider plugin, which stack does not drive",
            "service `app`: `use_api_socket` needs Docker Desktop's sharing of the engine socket and credentials, which stack does not drive",
            "service `app`: `networks.*.interface_name` needs Docker Engine API 1.49 (Docker 28.1), which stack does not drive (the fake engine here speaks API 1.41)",
        ]
    );
    assert!(pl
        .steps
        .iter()
        .all(|s| !matches!(s.action, Action::CreateContainer { .. })));
}

#[tokio::test]
async fn a_dependent_with_restart_true_restarts_when_its_dependency_is_replaced() {
    let e = engine();
    let yaml = "services:\n  app:\n    image: busybox:1.36\n    depends_on:\n      db: {condition: service_started, restart: true}\n  worker:\n    image: busybox:1.36\n    depends_on: [db]\n  db:\n    image: busybox:1.36\n    environment: {V: '1'}\n";
    up(&e, &project(yaml)).await;
    let changed = project(&yaml.replace("V: '1'", "V: '2'"));
    let pl = plan(&e, &changed, &UpOptions::default(), &BTreeMap::new()).await;
    assert_eq!(
        lines(&pl),
        vec![
            "recreate p-db-1: environment.V changed",
            "restart p-app-1: its dependency `db` gets a new container (restart: true)",
        ]
    );
    let app = e.containers()["p-app-1"].id.clone();
    e.clear_mutations();
    run(&e, &changed, pl).await.unwrap();
    let m = e.mutations();
    assert!(
        m.contains(&format!("stop_container {app}"))
            && m.contains(&format!("start_container {app}")),
        "{m:?}"
    );
    assert!(converged(&e, &changed).await);
}

async fn converged(e: &FakeEngine, p: &Project) -> bool {
    plan(e, p, &UpOptions::default(), &BTreeMap::new())
        .await
        .is_empty()
}

#[tokio::test]
async fn pull_policy_daily_pulls_an_image_last_pulled_more_than_a_day_ago() {
    use std::collections::BTreeSet;
    use std::time::{Duration, SystemTime};
    let p = project("services:\n  a:\n    image: busybox:1.36\n    pull_policy: daily\n  b:\n    image: busybox:1.36\n    pull_policy: every_2h\n");
    for (age, pulled) in [
        (Duration::from_secs(3600), false),
        (Duration::from_secs(2 * 86400), true),
    ] {
        let e = engine();
        e.add_pullable("busybox:1.36", "sha256:aaa");
        e.tag_image_at("busybox:1.36", SystemTime::now() - age);
        let wanted = reconciler::images::Wanted {
            services: &BTreeSet::new(),
            policy: reconciler::images::PullPolicy::Missing,
            build: false,
            logins: &reconciler::images::Anonymous,
            report: &|_, _| {},
        };
        reconciler::images::ensure_images(&e, &p, &wanted)
            .await
            .unwrap();
        let pulls = e
            .mutations()
            .iter()
            .filter(|m| m.starts_with("pull_image"))
            .count();
        assert_eq!(pulls > 0, pulled, "last pulled {age:?} ago");
    }
}
