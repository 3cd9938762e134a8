//! The engine contract: what every [`Engine`] must do alike, as checks
//! one suite runs against the fake and against a real engine (the Docker
//! adapter today, Podman next), so the fake cannot drift from the real
//! thing. Compiled with the `contract` feature, for tests only.
//!
//! Each check works in projects named from its `project` argument and
//! removes what it made when it passes; the real-engine runner removes
//! what a failing check left.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use planner::{container_spec, labels, NetworkSpec, RunState, VolumeSpec};

use crate::engine::{
    CreateRequest, Engine, EngineError, EngineEvent, Selection, ServiceRequest, ServiceUpdate,
};

/// The image every check runs (present on the engine beforehand).
pub const IMAGE: &str = "busybox:1.36";

/// How long a check waits for an event before it fails.
const EVENT_DEADLINE: Duration = Duration::from_secs(20);

/// A container request for replica 1 of a one-service project.
fn request(project: &str) -> CreateRequest {
    let yaml = format!(
        "services:\n  app:\n    image: {IMAGE}\n    init: true\n    network_mode: none\n    command: [sleep, '3600']\n"
    );
    let p = schema::load_str(&yaml, project)
        .expect("the contract's stack loads")
        .project;
    let svc = &p.services["app"];
    CreateRequest {
        spec: container_spec(&p, "app", svc, 1),
        refs: BTreeMap::new(),
        state_labels: BTreeMap::from([(labels::CONFIG_HASH.to_string(), "h1".to_string())]),
        anonymous_volumes: BTreeMap::new(),
        resolvers: Vec::new(),
    }
}

fn resource_labels(kind: &str, project: &str, key: &str) -> BTreeMap<String, String> {
    planner::resource::resource_labels(kind, project, key, "hash-1", None)
}

/// Networks and volumes: created with their labels, listed by project
/// only, removed, and a second removal is "not found".
pub async fn networks_and_volumes(engine: &dyn Engine, project: &str) {
    let other = format!("{project}-other");
    let net = format!("{project}_default");
    engine
        .create_network(NetworkSpec {
            name: net.clone(),
            driver: "bridge".into(),
            labels: resource_labels(planner::labels::compose::NETWORK, project, "default"),
            ..Default::default()
        })
        .await
        .expect("network created");
    let listed = engine
        .list_networks(project)
        .await
        .expect("networks listed");
    assert!(
        listed
            .iter()
            .any(|n| n.name == net && n.key == "default" && n.hash == "hash-1"),
        "{listed:?}"
    );
    assert!(engine.network_exists(&net).await.expect("exists"));
    let others = engine.list_networks(&other).await.expect("listed");
    assert!(
        others.iter().all(|n| n.name != net),
        "another project sees it: {others:?}"
    );

    let vol = format!("{project}_data");
    engine
        .create_volume(VolumeSpec {
            name: vol.clone(),
            labels: resource_labels(planner::labels::compose::VOLUME, project, "data"),
            ..Default::default()
        })
        .await
        .expect("volume created");
    let listed = engine.list_volumes(project).await.expect("volumes listed");
    assert!(
        listed.iter().any(|v| v.name == vol && v.key == "data"),
        "{listed:?}"
    );
    assert!(engine.volume_exists(&vol).await.expect("exists"));
    assert!(engine
        .list_volumes(&other)
        .await
        .expect("listed")
        .is_empty());

    engine.remove_network(&net).await.expect("network removed");
    engine.remove_volume(&vol).await.expect("volume removed");
    assert!(!engine.network_exists(&net).await.expect("asked"));
    assert!(!engine.volume_exists(&vol).await.expect("asked"));
    assert!(
        matches!(
            engine.remove_volume(&vol).await,
            Err(EngineError::NotFound(_))
        ),
        "removing a removed volume is `not found`"
    );
}

/// A container goes created -> running -> renamed -> exited -> removed,
/// and the listing and inspection say so at every step.
pub async fn container_lifecycle(engine: &dyn Engine, project: &str) {
    let id = engine
        .create_container(request(project))
        .await
        .expect("container created");
    let listed = engine.list_containers(project).await.expect("listed");
    let c = listed
        .iter()
        .find(|c| c.id == id)
        .expect("listed by project");
    assert_eq!((c.service.as_str(), c.replica), ("app", 1));
    assert_eq!(c.name, format!("{project}-app-1"));
    assert_eq!(c.config_hash, "h1", "state labels are set at creation");
    assert_eq!(c.state, RunState::Created);

    engine.start_container(&id).await.expect("started");
    let status = engine.inspect_container(&id).await.expect("inspected");
    assert_eq!(status.state, RunState::Running);
    assert!(status.started_at.is_some());

    let renamed = format!("{project}-app-1-next");
    engine
        .rename_container(&id, &renamed)
        .await
        .expect("renamed");
    let listed = engine.list_containers(project).await.expect("listed");
    assert!(
        listed.iter().any(|c| c.id == id && c.name == renamed),
        "{listed:?}"
    );

    engine
        .stop_container(&id, Duration::from_secs(1))
        .await
        .expect("stopped");
    let status = engine.inspect_container(&id).await.expect("inspected");
    assert!(
        matches!(status.state, RunState::Exited { .. }),
        "{:?}",
        status.state
    );

    engine.remove_container(&id, true).await.expect("removed");
    assert!(engine
        .list_containers(project)
        .await
        .expect("listed")
        .is_empty());
    assert!(
        matches!(
            engine.inspect_container(&id).await,
            Err(EngineError::NotFound(_))
        ),
        "a removed container is `not found`"
    );
}

/// A second container of the same name is a conflict, and a running one
/// is removed (the executor removes what it stopped, or what a kill left).
pub async fn names_are_unique_and_removal_is_forced(engine: &dyn Engine, project: &str) {
    let id = engine
        .create_container(request(project))
        .await
        .expect("created");
    let again = engine.create_container(request(project)).await;
    assert!(matches!(again, Err(EngineError::Conflict(_))), "{again:?}");
    assert_eq!(
        engine
            .create_container(request(project))
            .await
            .err()
            .and_then(|e| e.status()),
        Some(409)
    );
    engine.start_container(&id).await.expect("started");
    engine
        .remove_container(&id, true)
        .await
        .expect("a running container is removed");
    assert!(engine
        .list_containers(project)
        .await
        .expect("listed")
        .is_empty());
}

/// `""` lists the containers of every project, a name only its own.
pub async fn project_filter(engine: &dyn Engine, project: &str) {
    let other = format!("{project}-b");
    let a = engine
        .create_container(request(project))
        .await
        .expect("created");
    let b = engine
        .create_container(request(&other))
        .await
        .expect("created");
    let mine = engine.list_containers(project).await.expect("listed");
    assert_eq!(mine.iter().map(|c| &c.id).collect::<Vec<_>>(), [&a]);
    let all = engine.list_containers("").await.expect("listed");
    assert!(all.iter().any(|c| c.id == a) && all.iter().any(|c| c.id == b));
    for id in [a, b] {
        engine.remove_container(&id, true).await.expect("removed");
    }
}

/// The events of a project announce its containers' lifecycle, in order,
/// with their labels; another project's never reach it.
pub async fn events_follow_the_project(engine: &dyn Engine, project: &str) {
    let mut events = engine.events(project);
    // A stream subscribes when first polled (the Docker adapter sends its
    // request then): poll it once, briefly, before anything happens.
    let early = tokio::time::timeout(Duration::from_millis(300), events.next()).await;
    assert!(
        early.is_err(),
        "an event before anything happened: {early:?}"
    );
    let other = format!("{project}-b");
    let theirs = engine
        .create_container(request(&other))
        .await
        .expect("created");
    engine
        .remove_container(&theirs, true)
        .await
        .expect("removed");
    let id = engine
        .create_container(request(project))
        .await
        .expect("created");
    engine.start_container(&id).await.expect("started");
    engine
        .stop_container(&id, Duration::from_secs(1))
        .await
        .expect("stopped");
    engine.remove_container(&id, true).await.expect("removed");

    let mut seen: Vec<EngineEvent> = Vec::new();
    let deadline = tokio::time::Instant::now() + EVENT_DEADLINE;
    while !seen.iter().any(|e| e.action == "destroy") {
        let next = tokio::time::timeout_at(deadline, events.next()).await;
        let event = match next {
            Ok(Some(Ok(event))) => event,
            other => panic!("events ended or stalled ({other:?}); seen: {seen:?}"),
        };
        assert_ne!(
            event.id, theirs,
            "another project's event arrived: {event:?}"
        );
        if event.kind == "container" && event.id == id {
            seen.push(event);
        }
    }
    let actions: Vec<&str> = seen
        .iter()
        .map(|e| e.action.as_str())
        .filter(|a| ["create", "start", "die", "destroy"].contains(a))
        .collect();
    assert_eq!(actions, ["create", "start", "die", "destroy"], "{seen:?}");
    assert_eq!(
        seen[0].attributes.get(labels::PROJECT).map(String::as_str),
        Some(project),
        "events carry the labels"
    );
}

/// What Compose's verbs ask of a container: listed for people (image,
/// command, state word), paused and thawed, its processes, killed, and
/// waited for; a one-off is listed apart from the project's containers.
pub async fn verbs_on_a_container(engine: &dyn Engine, project: &str) {
    let id = engine
        .create_container(request(project))
        .await
        .expect("container created");
    engine.start_container(&id).await.expect("started");
    let listed = engine
        .list_listings(&Selection::Project(project.to_string()))
        .await
        .expect("listed");
    let l = listed
        .iter()
        .find(|l| l.observed.id == id)
        .expect("listed by project");
    assert_eq!(l.image, IMAGE);
    assert!(l.command.contains("sleep 3600"), "{}", l.command);
    assert_eq!(l.state, "running");

    engine.pause_container(&id, true).await.expect("paused");
    let state = |listed: Vec<crate::engine::ContainerListing>| {
        listed
            .into_iter()
            .find(|l| l.observed.id == id)
            .map(|l| l.state)
    };
    let all = Selection::Project(project.to_string());
    assert_eq!(
        state(engine.list_listings(&all).await.expect("listed")).as_deref(),
        Some("paused")
    );
    assert!(
        engine.pause_container(&id, true).await.is_err(),
        "pausing a paused container is refused"
    );
    engine.pause_container(&id, false).await.expect("thawed");
    assert_eq!(
        state(engine.list_listings(&all).await.expect("listed")).as_deref(),
        Some("running")
    );

    let top = engine.top(&id).await.expect("processes");
    assert!(top.titles.iter().any(|t| t == "PID"), "{:?}", top.titles);
    assert!(!top.rows.is_empty());

    let waiting = engine.wait_container(&id);
    engine.kill_container(&id, "SIGKILL").await.expect("killed");
    let code = tokio::time::timeout(EVENT_DEADLINE, waiting)
        .await
        .expect("the wait ends once it is killed")
        .expect("waited");
    assert_eq!(code, 137, "killed by SIGKILL: 128 + 9");
    assert!(
        engine.kill_container(&id, "SIGKILL").await.is_err(),
        "killing a stopped container is refused"
    );
    assert!(
        engine
            .list_listings(&Selection::OneOffs(project.to_string()))
            .await
            .expect("listed")
            .is_empty(),
        "a service container is no one-off"
    );
    engine.remove_container(&id, true).await.expect("removed");
}

/// A swarm service of `project`, two replicas of the contract's image.
fn service_request(project: &str) -> ServiceRequest {
    ServiceRequest {
        name: format!("{project}_app"),
        labels: BTreeMap::from([(labels::PROJECT.to_string(), project.to_string())]),
        image: IMAGE.into(),
        command: Some(vec!["sleep".into(), "3600".into()]),
        env: vec!["A=1".into()],
        replicas: 2,
        networks: Vec::new(),
        update: ServiceUpdate {
            parallelism: 1,
            start_first: true,
            ..ServiceUpdate::default()
        },
    }
}

/// Services off a swarm: every call is refused as "not a swarm manager",
/// and the engine says so in its capabilities.
pub async fn services_need_a_swarm(engine: &dyn Engine, project: &str) {
    assert!(!engine.capabilities().swarm);
    let refused = |r: Result<(), EngineError>, call: &str| match r {
        Err(EngineError::NotSwarm(message)) => {
            assert!(message.contains("swarm manager"), "{call}: {message}")
        }
        other => panic!("{call} off a swarm: {other:?}"),
    };
    refused(engine.list_services(project).await.map(drop), "list");
    refused(
        engine
            .create_service(service_request(project))
            .await
            .map(drop),
        "create",
    );
    refused(engine.remove_service("absent").await, "remove");
}

/// Services on a swarm manager: created, listed by project only, a name
/// taken twice is a conflict, updated at the version read (a stale one is
/// refused, so no change is lost), removed, and a second removal is "not
/// found".
pub async fn services_on_a_swarm(engine: &dyn Engine, project: &str) {
    assert!(engine.capabilities().swarm);
    let request = service_request(project);
    let id = engine
        .create_service(request.clone())
        .await
        .expect("service created");
    let listed = engine.list_services(project).await.expect("listed");
    let first = listed
        .iter()
        .find(|s| s.id == id)
        .cloned()
        .unwrap_or_else(|| panic!("the new service is listed: {listed:?}"));
    assert_eq!(
        (first.name.as_str(), first.image.as_str(), first.replicas),
        (request.name.as_str(), IMAGE, 2)
    );
    assert_eq!(
        first.labels.get(labels::PROJECT).map(String::as_str),
        Some(project)
    );
    let other = engine
        .list_services(&format!("{project}-other"))
        .await
        .expect("listed");
    assert!(other.iter().all(|s| s.id != id), "{other:?}");
    match engine.create_service(request.clone()).await {
        Err(EngineError::Conflict(_)) => {}
        other => panic!("a second service of the same name: {other:?}"),
    }

    let scaled = ServiceRequest {
        replicas: 1,
        ..request.clone()
    };
    engine
        .update_service(&id, first.version, scaled.clone())
        .await
        .expect("updated at the version read");
    let now = engine.list_services(project).await.expect("listed");
    let now = now.iter().find(|s| s.id == id).expect("still listed");
    assert_eq!(now.replicas, 1);
    assert!(now.version > first.version, "{now:?} after {first:?}");
    let stale = engine.update_service(&id, first.version, request).await;
    assert!(
        matches!(&stale, Err(e) if e.to_string().contains("out of sequence")),
        "an update at a stale version: {stale:?}"
    );

    engine.remove_service(&id).await.expect("removed");
    match engine.remove_service(&id).await {
        Err(EngineError::NotFound(_)) => {}
        other => panic!("a second removal: {other:?}"),
    }
    assert!(engine
        .list_services(project)
        .await
        .expect("listed")
        .is_empty());
}
