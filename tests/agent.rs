//! `stack agent` healing a stack on the real engine.

use std::time::Duration;

use stack_e2e::{docker, wait_until, TestStack};

const REPLICATED: &str = "services:\n  w:\n    image: busybox:1.36\n    init: true\n    restart: always\n    command: [sleep, '3600']\n    deploy: {replicas: 3}\n";

/// Bring the stack up without the agent, then start one with no backoff.
fn with_agent(name: &str, yaml: &str) -> TestStack {
    let s = TestStack::new(name, yaml);
    s.ok(&["up", "-d", "--no-agent"]);
    s.ok(&["agent", "--backoff", "0"]);
    let status = s.ok(&["agent", "status"]);
    assert!(status.contains("runs (pid"), "{status}");
    s
}

fn running(container: &str) -> bool {
    // Absent for a moment while it is replaced: not running.
    stack_e2e::try_docker(&["inspect", "-f", "{{.State.Running}}", container]).as_deref()
        == Some("true")
}

#[test]
fn a_killed_replica_runs_again_and_a_removed_one_is_recreated() {
    let s = with_agent("agentheal", REPLICATED);
    let w2 = format!("{}-w-2", s.project);
    let w3 = format!("{}-w-3", s.project);
    docker(&["kill", &w2]);
    // Deadlines with room for a loaded engine (the full suite runs the
    // kill loops beside this).
    wait_until(
        Duration::from_secs(30),
        "the killed replica to run again",
        || running(&w2),
    );
    let old = s.containers()[&w3].clone();
    docker(&["rm", "-f", &w3]);
    wait_until(
        Duration::from_secs(30),
        "the removed replica to be recreated",
        || s.containers().get(&w3).is_some_and(|id| id != &old) && running(&w3),
    );
    let restarted = format!("restarted {w2}: exited with 137");
    let recreated = format!("recreated {w3}: it was removed");
    wait_until(Duration::from_secs(10), "the agent log entries", || {
        let log = s.ok(&["agent", "log"]);
        log.contains(&restarted) && log.contains(&recreated)
    });
}

#[test]
fn an_unhealthy_replica_is_replaced() {
    let yaml = "services:\n  web:\n    image: busybox:1.36\n    init: true\n    command: [sh, -c, 'touch /tmp/healthy; exec sleep 3600']\n    healthcheck:\n      test: [CMD, test, -f, /tmp/healthy]\n      interval: 1s\n      retries: 2\n";
    let s = with_agent("agentunhealthy", yaml);
    let c = format!("{}-web-1", s.project);
    wait_until(Duration::from_secs(15), "healthy", || {
        docker(&["inspect", "-f", "{{.State.Health.Status}}", &c]).trim() == "healthy"
    });
    let old = s.containers()[&c].clone();
    assert_eq!(s.exec(&c, &["rm", "/tmp/healthy"]).0, 0);
    // interval x retries, plus the time to replace it.
    wait_until(
        Duration::from_secs(20),
        "the unhealthy replica to be replaced",
        || s.containers().get(&c).is_some_and(|id| id != &old),
    );
    // The entry is written once the replacement has started.
    let entry = format!("replaced {c}: unhealthy for 2 checks");
    wait_until(Duration::from_secs(10), "the agent log entry", || {
        s.ok(&["agent", "log"]).contains(&entry)
    });
}

#[test]
fn the_agent_leaves_stopped_services_alone_and_down_stops_it() {
    let s = with_agent("agentstop", REPLICATED);
    s.ok(&["stop", "--timeout", "1", "w"]);
    let status = s.ok(&["agent", "status"]);
    assert!(
        status.contains("left alone (stopped by the user): w"),
        "{status}"
    );
    // Give the agent every chance to fight back, by waking it with an event.
    let w1 = format!("{}-w-1", s.project);
    docker(&["start", &w1]);
    docker(&["kill", &w1]);
    assert!(!running(&w1));
    s.ok(&["start", "w"]);
    wait_until(Duration::from_secs(10), "started by the user", || {
        running(&w1)
    });
    s.ok(&["down", "--timeout", "1"]);
    assert!(s.ok(&["agent", "status"]).contains("no agent runs"));
    assert!(
        s.containers().is_empty(),
        "the agent must not bring back what down removed"
    );
}

#[test]
fn agent_install_prints_a_systemd_unit() {
    let s = TestStack::new("agentunit", REPLICATED);
    let unit = s.ok(&["agent", "install"]);
    assert!(unit.contains("[Service]"), "{unit}");
    assert!(unit.contains(&format!("-p {}", s.project)), "{unit}");
    assert!(unit.contains("agent --foreground"), "{unit}");

    // A stack file in a directory with a space, interpolating a variable.
    let spaced = s.dir.join("my stacks");
    std::fs::create_dir_all(&spaced).unwrap();
    std::fs::write(
        spaced.join("stack.yaml"),
        "services:\n  w:\n    image: busybox:${TEST_TAG}\n",
    )
    .unwrap();
    let mut install = s.command(&["agent", "install"]);
    install.current_dir(&spaced).env("TEST_TAG", "1.36");
    let unit = stack_e2e::succeed(install);
    let file = spaced.join("stack.yaml");
    assert!(
        unit.contains(&format!("-f \"{}\"", file.display())),
        "the path is quoted: {unit}"
    );
    let env_line = unit
        .lines()
        .find_map(|l| l.strip_prefix("EnvironmentFile="))
        .expect("an EnvironmentFile line");
    let env = std::fs::read_to_string(env_line).unwrap();
    assert!(env.lines().any(|l| l == "TEST_TAG=\"1.36\""), "{env}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(env_line).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn a_sidecar_rejoins_its_parent_after_the_engine_restarts_the_parent() {
    let yaml = r#"
services:
  app:
    image: busybox:1.36
    init: true
    restart: always
    command: ["sh", "-c", "mkdir -p /www && echo up > /www/index.html && exec httpd -f -p 8080 -h /www"]
  debug:
    image: busybox:1.36
    init: true
    command: ["sleep", "3600"]
    network_mode: service:app
"#;
    let s = with_agent("agentsidecar", yaml);
    let app = format!("{}-app-1", s.project);
    let debug = format!("{}-debug-1", s.project);
    let fetch = |s: &TestStack| s.fetch(&debug, "http://127.0.0.1:8080/");
    assert_eq!(fetch(&s).1.trim(), "up");
    let started = docker(&["inspect", "-f", "{{.State.StartedAt}}", &app]);
    // httpd dies inside the container: the engine's restart policy brings
    // the parent back in a new namespace, and the agent the sidecar with it.
    s.exec(&app, &["sh", "-c", "kill $(pidof httpd)"]);
    wait_until(
        Duration::from_secs(15),
        "the parent to be restarted by the engine",
        || docker(&["inspect", "-f", "{{.State.StartedAt}}", &app]) != started && running(&app),
    );
    wait_until(
        Duration::from_secs(15),
        "the sidecar to reach its parent again",
        || fetch(&s).0 == 0,
    );
    let entry = format!("restarted {debug}: its network_mode parent {app} restarted");
    wait_until(Duration::from_secs(5), "the agent log entry", || {
        s.ok(&["agent", "log"]).contains(&entry)
    });
}

#[test]
fn agent_watch_applies_an_edited_stack_file() {
    let yaml = "services:\n  app:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n    environment: {V: '1'}\n  idle:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n";
    let s = TestStack::new("agentwatch", yaml);
    s.ok(&["up", "-d", "--no-agent"]);
    // A service the user stopped stays stopped through edits.
    s.ok(&["stop", "idle"]);
    s.ok(&["agent", "--watch", "--backoff", "0"]);
    let c = format!("{}-app-1", s.project);
    let log = s.dir.join("state").join(format!("{}.agent.log", s.project));
    wait_until(Duration::from_secs(10), "the watcher", || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("Watching the stack file")
    });
    s.write(&yaml.replace("V: '1'", "V: '2'"));
    wait_until(
        Duration::from_secs(15),
        "the edit to be applied by the agent",
        || stack_e2e::env_of(&c).contains("V=2"),
    );
    let idle = format!("{}-idle-1", s.project);
    let state = stack_e2e::docker(&["inspect", "-f", "{{.State.Status}}", &idle]);
    assert_eq!(
        state.trim(),
        "exited",
        "the stopped service was started by the edit"
    );
}

#[test]
fn restarts_follow_the_policy_and_the_users_hand() {
    let yaml = "services:\n  always:\n    image: busybox:1.36\n    init: true\n    restart: always\n    command: [sleep, '3600']\n  unless:\n    image: busybox:1.36\n    init: true\n    restart: unless-stopped\n    command: [sleep, '3600']\n  flaky:\n    image: busybox:1.36\n    restart: on-failure:2\n    command: [sh, -c, 'sleep 1; exit 1']\n";
    let s = TestStack::new("agentrestart", yaml);
    s.ok(&["up", "-d", "--no-agent"]);
    // The default backoff (10 s): the first restart must not wait for it.
    s.ok(&["agent"]);
    let (always, unless, flaky) = (
        format!("{}-always-1", s.project),
        format!("{}-unless-1", s.project),
        format!("{}-flaky-1", s.project),
    );
    docker(&["stop", "-t", "1", &always, &unless]);
    wait_until(
        Duration::from_secs(8),
        "the `always` replica stopped by hand to run again, at once",
        || running(&always),
    );
    // on-failure:2 is the engine's to count: two restarts, then it stays down.
    wait_until(
        Duration::from_secs(30),
        "the flaky replica to give up",
        || {
            docker(&[
                "inspect",
                "-f",
                "{{.State.Status}} {{.RestartCount}}",
                &flaky,
            ])
            .trim()
                == "exited 2"
        },
    );
    let log = s.ok(&["agent", "log"]);
    assert!(log.contains(&format!("restarted {always}")), "{log}");
    assert!(
        !log.contains(&unless),
        "unless-stopped stopped by hand stays stopped: {log}"
    );
    assert!(
        !log.contains(&flaky),
        "the engine alone counts on-failure: {log}"
    );
    assert!(!running(&unless));
    // Local times, as people read them.
    let first = log.lines().next().unwrap_or_default();
    assert!(
        first.len() > 19 && first.as_bytes()[4] == b'-' && first.as_bytes()[13] == b':',
        "{first}"
    );
}

#[test]
fn the_agent_heals_what_the_last_up_applied() {
    let yaml = "services:\n  w:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n    environment: {V: '${TEST_V}'}\n    deploy: {replicas: 2}\n";
    let s = TestStack::new("agentapplied", yaml);
    let up = |v: &str, args: &[&str]| {
        let mut cmd = s.command(args);
        cmd.env("TEST_V", v);
        stack_e2e::succeed(cmd);
    };
    up("one", &["up", "-d", "--backoff", "0"]);
    up("one", &["scale", "w=1"]);
    // A one-off applies nothing the agent follows: the scale stays.
    up("one", &["run", "--rm", "--no-deps", "w", "true"]);
    let w1 = format!("{}-w-1", s.project);
    let w2 = format!("{}-w-2", s.project);
    assert!(!s.containers().contains_key(&w2));
    // An edit no `up` applied, and a replica removed by hand.
    s.write(&yaml.replace("${TEST_V}", "edited"));
    let old = s.containers()[&w1].clone();
    docker(&["rm", "-f", &w1]);
    wait_until(
        Duration::from_secs(15),
        "the replica to be recreated",
        || s.containers().get(&w1).is_some_and(|id| id != &old) && running(&w1),
    );
    assert!(
        stack_e2e::env_of(&w1).contains("V=one"),
        "{}",
        stack_e2e::env_of(&w1)
    );
    assert!(
        !s.containers().contains_key(&w2),
        "scaled away, and stays so"
    );

    // The next `up` (another environment, the file as it is now) is what
    // the agent follows from then on.
    s.write(yaml);
    up("two", &["up", "-d"]);
    let old = s.containers()[&w1].clone();
    docker(&["rm", "-f", &w1]);
    wait_until(
        Duration::from_secs(15),
        "the replica to be recreated again",
        || s.containers().get(&w1).is_some_and(|id| id != &old) && running(&w1),
    );
    assert!(
        stack_e2e::env_of(&w1).contains("V=two"),
        "{}",
        stack_e2e::env_of(&w1)
    );
    assert!(running(&w2), "the file's count again");
}

#[test]
fn agent_status_says_who_holds_the_dns_port_it_could_not_take() {
    let held = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port().to_string();
    let s = TestStack::new("agentport", REPLICATED);
    s.ok(&["up", "-d", "--dns-port", &port]);
    // As the other deadlines here: room for a loaded engine (the agent's
    // first DNS pass once took over 10 s in a full run).
    wait_until(
        Duration::from_secs(30),
        "the status to name the holder",
        || {
            let status = s.ok(&["agent", "status"]);
            status.contains(&format!("127.0.0.1:{port} not listening"))
                && status.contains(&format!("pid {}", std::process::id()))
        },
    );
    drop(held);
}
