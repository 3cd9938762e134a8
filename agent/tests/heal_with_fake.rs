//! The healing controller against the fake engine, with a clock moved by hand.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agent::heal::{Backoff, Clock, Healer};
use planner::{plan_up, Desired, Health, UpOptions};
use reconciler::engine::Containers;
use reconciler::fake::FakeEngine;
use reconciler::{observe, Engine, Executor};
use schema::Project;

fn project(yaml: &str) -> Arc<Project> {
    Arc::new(
        schema::load_str(yaml, "p")
            .unwrap_or_else(|d| panic!("{d}"))
            .project,
    )
}

struct ManualClock(Mutex<Instant>);

impl ManualClock {
    fn advance(&self, d: Duration) {
        let mut t = self.0.lock().unwrap();
        *t += d;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        *self.0.lock().unwrap()
    }
}

struct World {
    engine: FakeEngine,
    clock: Arc<ManualClock>,
    healer: Healer,
    project: Arc<Project>,
}

impl World {
    async fn new(yaml: &str) -> World {
        let engine = FakeEngine::new();
        engine.add_image("busybox:1.36", "sha256:aaa");
        let project = project(yaml);
        let observed = observe(&engine, &project).await.unwrap();
        let plan = plan_up(
            &Desired {
                project: &project,
                files: BTreeMap::new(),
            },
            &observed,
            &UpOptions::default(),
        );
        Executor::new(Arc::new(engine.clone()), project.clone(), BTreeMap::new())
            .execute(plan)
            .await
            .unwrap();
        let clock = Arc::new(ManualClock(Mutex::new(Instant::now())));
        let healer = Healer::new(Arc::new(engine.clone()), Backoff::default(), clock.clone());
        World {
            engine,
            clock,
            healer,
            project,
        }
    }

    async fn pass(&mut self, stopped: &[&str]) -> (Vec<String>, Option<Duration>) {
        let stopped: BTreeSet<String> = stopped.iter().map(|s| s.to_string()).collect();
        let out = self
            .healer
            .reconcile(&self.project, &BTreeMap::new(), &stopped)
            .await
            .unwrap();
        (
            out.done.iter().map(ToString::to_string).collect(),
            out.requeue,
        )
    }

    fn running(&self, name: &str) -> bool {
        self.engine.containers()[name].state == planner::RunState::Running
    }
}

const ALWAYS: &str =
    "services:\n  w:\n    image: busybox:1.36\n    restart: always\n    deploy: {replicas: 2}\n";

#[tokio::test]
async fn a_crash_loop_restarts_at_once_then_backs_off_10_20_40_seconds() {
    // (An `always` replica that stays exited: the engine left it, so the
    // agent starts it.)
    let mut w = World::new(ALWAYS).await;
    w.engine.kill("p-w-1", 1);
    let (done, _) = w.pass(&[]).await;
    assert_eq!(
        done,
        vec!["restarted p-w-1: exited with 1"],
        "the first is immediate"
    );
    let mut waits = Vec::new();
    for _ in 0..3 {
        w.engine.kill("p-w-1", 1);
        let (done, requeue) = w.pass(&[]).await;
        assert!(done.is_empty(), "restarted before its backoff: {done:?}");
        let wait = requeue.expect("a requeue for the pending restart");
        waits.push(wait.as_secs());
        w.clock.advance(wait);
        let (done, _) = w.pass(&[]).await;
        assert_eq!(done, vec!["restarted p-w-1: exited with 1"]);
        assert!(w.running("p-w-1"));
    }
    assert_eq!(waits, vec![10, 20, 40]);
    assert!(w.running("p-w-2"), "the other replica is untouched");
}

#[tokio::test]
async fn the_backoff_resets_after_ten_minutes_of_running() {
    let mut w = World::new(ALWAYS).await;
    w.engine.kill("p-w-1", 1);
    w.pass(&[]).await;
    for _ in 0..2 {
        w.engine.kill("p-w-1", 1);
        let (_, wait) = w.pass(&[]).await;
        w.clock.advance(wait.unwrap());
        w.pass(&[]).await;
    }
    w.pass(&[]).await; // seen running
    w.clock.advance(Duration::from_secs(601));
    w.pass(&[]).await;
    w.engine.kill("p-w-1", 1);
    let (done, _) = w.pass(&[]).await;
    assert_eq!(done.len(), 1, "immediate again after the reset: {done:?}");
}

#[tokio::test]
async fn restart_policies_decide_what_is_restarted() {
    // `restart:` other than `always` is the engine's to apply (and count):
    // the agent leaves those replicas; `deploy.restart_policy` is its own.
    let yaml = "services:\n  no:\n    image: busybox:1.36\n  engine:\n    image: busybox:1.36\n    restart: on-failure:1\n  swarm:\n    image: busybox:1.36\n    deploy: {restart_policy: {condition: any, delay: 2s}}\n  capped:\n    image: busybox:1.36\n    deploy: {restart_policy: {condition: on-failure, max_attempts: 1}}\n";
    let mut w = World::new(yaml).await;
    w.engine.kill("p-no-1", 1);
    w.engine.kill("p-engine-1", 3);
    w.engine.kill("p-swarm-1", 0);
    w.engine.kill("p-capped-1", 3);
    let (done, wait) = w.pass(&[]).await;
    assert_eq!(done, vec!["restarted p-capped-1: exited with 3"], "at once");
    assert_eq!(
        wait,
        Some(Duration::from_secs(2)),
        "deploy.restart_policy.delay is the wait"
    );
    w.clock.advance(Duration::from_secs(2));
    let (done, _) = w.pass(&[]).await;
    assert_eq!(done, vec!["restarted p-swarm-1: exited with 0"]);
    // max_attempts 1: counted by the agent alone, and spent.
    w.engine.kill("p-capped-1", 3);
    w.clock.advance(Duration::from_secs(3600));
    let (done, _) = w.pass(&[]).await;
    assert!(done.is_empty(), "{done:?}");
    assert!(!w.running("p-no-1") && !w.running("p-engine-1") && !w.running("p-capped-1"));
}

#[tokio::test]
async fn a_replica_stopped_by_hand_stays_stopped_unless_it_is_always_restarted() {
    let yaml = "services:\n  always:\n    image: busybox:1.36\n    restart: always\n  failing:\n    image: busybox:1.36\n    deploy: {restart_policy: {condition: on-failure}}\n  any:\n    image: busybox:1.36\n    deploy: {restart_policy: {condition: any}}\n";
    let mut w = World::new(yaml).await;
    // `docker stop`: the engine says `kill` (SIGTERM), then the process ends.
    for name in ["p-always-1", "p-failing-1", "p-any-1"] {
        let id = w.engine.containers()[name].id.clone();
        w.healer.saw(&kill_event(&id));
        w.engine.kill(name, 143);
    }
    let (mut done, _) = w.pass(&[]).await;
    done.sort();
    assert_eq!(
        done,
        vec![
            "restarted p-always-1: exited with 143 (terminated)",
            "restarted p-any-1: exited with 143 (terminated)",
        ]
    );
    assert!(
        !w.running("p-failing-1"),
        "on-failure: a stop by hand is no failure"
    );
    // The same exit without a stop by hand is a failure.
    let (done, _) = {
        let id = w.engine.containers()["p-failing-1"].id.clone();
        w.healer.saw(&event(&id, "start"));
        w.pass(&[]).await
    };
    assert_eq!(
        done,
        vec!["restarted p-failing-1: exited with 143 (terminated)"]
    );
}

fn event(id: &str, action: &str) -> reconciler::engine::EngineEvent {
    reconciler::engine::EngineEvent {
        kind: "container".into(),
        action: action.into(),
        id: id.into(),
        ..Default::default()
    }
}

fn kill_event(id: &str) -> reconciler::engine::EngineEvent {
    event(id, "kill")
}

/// One replica with a healthcheck the fake reports healthy until told otherwise.
const CHECKED_WEB: &str =
    "services:\n  web:\n    image: busybox:1.36\n    healthcheck: {test: [CMD, 'true'], retries: 3}\n";

#[tokio::test]
async fn an_unhealthy_replica_is_replaced_with_the_probe_output() {
    let mut w = World::new(CHECKED_WEB).await;
    let old = w.engine.containers()["p-web-1"].id.clone();
    w.engine.set_health("p-web-1", Health::Unhealthy);
    let (done, _) = w.pass(&[]).await;
    assert_eq!(
        done,
        vec!["replaced p-web-1: unhealthy for 3 checks: probe failed"]
    );
    assert_ne!(w.engine.containers()["p-web-1"].id, old);
    let (done, _) = w.pass(&[]).await;
    assert!(done.is_empty(), "healthy again, nothing to do: {done:?}");
}

#[tokio::test]
async fn a_removed_replica_is_recreated_and_its_sidecar_follows() {
    let yaml = "services:\n  app:\n    image: busybox:1.36\n  side:\n    image: busybox:1.36\n    network_mode: service:app\n";
    let mut w = World::new(yaml).await;
    let id = w.engine.containers()["p-app-1"].id.clone();
    w.engine.kill("p-app-1", 137);
    w.engine.remove_container(&id, false).await.unwrap();
    let (done, _) = w.pass(&[]).await;
    assert_eq!(
        done,
        vec![
            "recreated p-app-1: it was removed",
            "replaced p-side-1: its network_mode parent p-app-1 gets a new container"
        ]
    );
    let (done, _) = w.pass(&[]).await;
    assert!(done.is_empty(), "{done:?}");
}

#[tokio::test]
async fn services_the_user_stopped_are_left_alone() {
    let mut w = World::new(ALWAYS).await;
    w.engine.kill("p-w-1", 0);
    w.engine.kill("p-w-2", 0);
    w.clock.advance(Duration::from_secs(3600));
    let (done, requeue) = w.pass(&["w"]).await;
    assert!(done.is_empty() && requeue.is_none());
}

#[tokio::test]
async fn a_changed_file_is_not_applied_by_the_healer() {
    let mut w = World::new("services:\n  a:\n    image: busybox:1.36\n").await;
    w.project = project("services:\n  a:\n    image: busybox:1.36\n    environment: {NEW: '1'}\n");
    let (done, _) = w.pass(&[]).await;
    assert!(done.is_empty(), "{done:?}");
    assert_eq!(w.healer.history.entries().count(), 0);
}

struct TestHost {
    project: Arc<Project>,
    log: Arc<Mutex<Vec<String>>>,
}

impl agent::runtime::AgentHost for TestHost {
    fn load(&mut self) -> Option<(Arc<Project>, BTreeMap<String, String>)> {
        Some((self.project.clone(), BTreeMap::new()))
    }
    fn stopped(&mut self) -> BTreeSet<String> {
        BTreeSet::new()
    }
    fn record(&mut self, entry: &agent::heal::Entry) {
        self.log.lock().unwrap().push(entry.to_string());
    }
    fn lock(&mut self) -> Option<Box<dyn Send>> {
        Some(Box::new(()))
    }
}

async fn until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The agent's loop on `w`'s engine with no backoff and `timing`, in a
/// task of its own: its handle, its shutdown, and the log of what it did.
fn spawn_loop(
    w: &World,
    timing: agent::runtime::LoopTiming,
) -> (
    tokio::task::JoinHandle<()>,
    tokio_util::sync::CancellationToken,
    Arc<Mutex<Vec<String>>>,
) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut host = TestHost {
        project: w.project.clone(),
        log: log.clone(),
    };
    let no_backoff = Backoff {
        initial: Duration::ZERO,
        ..Backoff::default()
    };
    let healer = Healer::new(
        Arc::new(w.engine.clone()),
        no_backoff,
        Arc::new(agent::heal::SystemClock),
    );
    let shutdown = tokio_util::sync::CancellationToken::new();
    let engine: Arc<dyn Engine> = Arc::new(w.engine.clone());
    let stop = shutdown.clone();
    let agent =
        tokio::spawn(
            async move { agent::runtime::run(engine, healer, &mut host, timing, stop).await },
        );
    (agent, shutdown, log)
}

#[tokio::test]
async fn the_loop_heals_on_events_and_survives_a_broken_event_stream() {
    let w = World::new(ALWAYS).await;
    // No resync and no follow-up look: only events, and the reopened
    // stream's pass, can heal (a follow-up 10 ms after p-w-1's pass could
    // otherwise catch p-w-2 before the stream is back).
    let timing = agent::runtime::LoopTiming {
        resync: Duration::from_secs(3600),
        debounce: Duration::from_millis(5),
        reconnect: Duration::from_millis(10),
        follow_up: Duration::from_secs(3600),
    };
    let (agent, shutdown, log) = spawn_loop(&w, timing);

    until("the first subscription", || {
        w.engine.event_subscriptions() >= 1
    })
    .await;
    let id = w.engine.containers()["p-w-1"].id.clone();
    w.engine.kill("p-w-1", 137);
    w.engine.push_event("container", "die", &id);
    until("p-w-1 to be restarted", || w.running("p-w-1")).await;

    // The stream breaks; a crash in between sends no event, and is healed
    // once the stream is back and everything is listed again.
    w.engine.break_events();
    w.engine.kill("p-w-2", 1);
    until("p-w-2 to be restarted", || w.running("p-w-2")).await;
    assert!(
        w.engine.event_subscriptions() >= 2,
        "the stream was reopened"
    );

    shutdown.cancel();
    agent.await.unwrap();
    let log = log.lock().unwrap().clone();
    assert_eq!(
        log,
        vec![
            "restarted p-w-1: exited with 137 (killed)",
            "restarted p-w-2: exited with 1"
        ]
    );
}

#[tokio::test]
async fn shutdown_drops_a_pass_stuck_on_a_silent_engine() {
    let w = World::new(ALWAYS).await;
    // The restart the pass makes never comes back.
    w.engine.hang_next("start_container");
    w.engine.kill("p-w-1", 137);
    let timing = agent::runtime::LoopTiming {
        resync: Duration::from_millis(20),
        debounce: Duration::from_millis(5),
        reconnect: Duration::from_millis(10),
        follow_up: Duration::from_millis(10),
    };
    let (agent, shutdown, _) = spawn_loop(&w, timing);
    until("the pass to hang on the engine", || {
        w.engine.hung_calls() == 1
    })
    .await;
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), agent)
        .await
        .expect("the loop ends at shutdown, its pass dropped")
        .expect("no panic");
}

#[tokio::test]
async fn an_unhealthy_replica_within_its_grace_period_is_left_alone_until_it_ends() {
    let mut w = World::new(CHECKED_WEB).await;
    w.healer = Healer::new(
        Arc::new(w.engine.clone()),
        Backoff::default(),
        w.clock.clone(),
    )
    .with_grace(Duration::from_secs(30));
    let (done, _) = w.pass(&[]).await;
    assert!(done.is_empty(), "{done:?}");
    w.clock.advance(Duration::from_secs(20));
    w.engine.set_health("p-web-1", Health::Unhealthy);
    let (done, wait) = w.pass(&[]).await;
    assert!(done.is_empty(), "within the grace period: {done:?}");
    assert_eq!(
        wait,
        Some(Duration::from_secs(10)),
        "looks again when it ends"
    );
    w.clock.advance(Duration::from_secs(10));
    let (done, _) = w.pass(&[]).await;
    assert_eq!(
        done,
        vec!["replaced p-web-1: unhealthy for 3 checks: probe failed"]
    );
}

#[tokio::test]
async fn a_replacement_that_turns_unhealthy_again_backs_off() {
    let mut w = World::new(CHECKED_WEB).await;
    w.engine.set_health("p-web-1", Health::Unhealthy);
    let (done, _) = w.pass(&[]).await;
    assert_eq!(done.len(), 1, "the first replacement is immediate");
    w.engine.set_health("p-web-1", Health::Unhealthy);
    let (done, wait) = w.pass(&[]).await;
    assert!(done.is_empty(), "{done:?}");
    assert_eq!(wait, Some(Duration::from_secs(10)));
    w.clock.advance(Duration::from_secs(10));
    let (done, _) = w.pass(&[]).await;
    assert_eq!(
        done,
        vec!["replaced p-web-1: unhealthy for 3 checks: probe failed"]
    );
}

#[tokio::test]
async fn a_sidecar_is_restarted_when_its_parent_restarts() {
    let yaml = "services:\n  app:\n    image: busybox:1.36\n    restart: always\n  side:\n    image: busybox:1.36\n    network_mode: service:app\n";
    let mut w = World::new(yaml).await;
    w.engine.kill("p-app-1", 1);
    let (done, _) = w.pass(&[]).await;
    assert_eq!(done, vec!["restarted p-app-1: exited with 1"]);
    let (done, _) = w.pass(&[]).await;
    assert_eq!(
        done,
        vec!["restarted p-side-1: its network_mode parent p-app-1 restarted"]
    );
    let (done, _) = w.pass(&[]).await;
    assert!(done.is_empty(), "{done:?}");
}

#[tokio::test]
async fn orphans_are_reported_once() {
    let mut w =
        World::new("services:\n  a:\n    image: busybox:1.36\n  old:\n    image: busybox:1.36\n")
            .await;
    w.project = project("services:\n  a:\n    image: busybox:1.36\n");
    let (done, _) = w.pass(&[]).await;
    assert_eq!(
        done,
        vec!["found orphan p-old-1: service `old` is not in the stack file; remove it with `stack up -d --remove-orphans`"]
    );
    assert!(w.pass(&[]).await.0.is_empty());
}
