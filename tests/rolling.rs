//! A start-first rolling update under a steady stream of requests.
//!
//! Its own test binary, so it runs alone: what it measures is the update,
//! not twenty other end-to-end tests competing for two cores.
//!
//! The client asks for `web.<project>.stack`, which the agent's DNS
//! answers: a replica being replaced leaves the answers first, serves on
//! until answers naming it have expired (the TTL and a second), and only
//! then leaves its network and stops. No request may fail. (Through the
//! engine's own resolver, `web`, a request in flight at the instant the
//! old replica leaves its network is reset: about one run in six lost one
//! request of 240 before the stack had its DNS.)

use stack_e2e::{free_port, TestStack};

fn name(s: &TestStack, service: &str) -> String {
    format!("{}-{service}-1", s.project)
}

#[test]
fn a_start_first_rolling_update_keeps_serving() {
    let yaml = r#"
services:
  web:
    image: busybox:1.36
    init: true
    environment: {V: '1'}
    command: ["sh", "-c", "mkdir -p /www && echo v$$V > /www/index.html && exec httpd -f -p 80 -h /www"]
    healthcheck:
      test: ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1/"]
      interval: 1s
      retries: 2
    deploy: {replicas: 3}
  client:
    image: busybox:1.36
    init: true
    command: ["sleep", "3600"]
"#;
    let s = TestStack::new("rolling", yaml);
    let port = free_port().to_string();
    s.ok(&[
        "up",
        "-d",
        "--wait",
        "--wait-timeout",
        "60",
        "--dns-port",
        &port,
    ]);
    let client = name(&s, "client");
    // 20 requests a second through the stack's DNS name, for about 20 seconds.
    let script = format!(
        "i=0; f=0; while [ $i -lt 400 ]; do \
         timeout 10 wget -q -O - http://web.{}.stack/ 2>&1 || f=$((f+1)); i=$((i+1)); sleep 0.05; done; \
         echo failures=$f",
        s.project
    );
    let looping = std::thread::spawn(move || {
        let out = std::process::Command::new("docker")
            .args(["exec", &client, "sh", "-c", &script])
            .output()
            .expect("docker exec");
        String::from_utf8_lossy(&out.stdout).into_owned()
    });
    s.write(&yaml.replace("V: '1'", "V: '2'"));
    let out = s.progress(&["up", "-d"]);
    assert!(out.contains("rolling update, batch 3"), "{out}");
    let served = looping.join().expect("client loop");
    let failures: u32 = served
        .lines()
        .find_map(|l| l.strip_prefix("failures="))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no count from the client loop:\n{served}"));
    assert_eq!(
        failures, 0,
        "{failures} of 400 requests failed during the update:\n{served}"
    );
    assert!(
        served.contains("v1") && served.contains("v2"),
        "the loop spans the update:\n{served}"
    );
    s.assert_converged();
}

#[test]
fn failure_action_rollback_returns_updated_replicas_to_the_old_definition() {
    let old = r#"
services:
  web:
    image: busybox:1.36
    init: true
    environment: {V: '1'}
    command: ["sh", "-c", "exec sleep 3600"]
    volumes: ["marks:/marks"]
    deploy:
      replicas: 3
      update_config: {parallelism: 1, failure_action: rollback, order: start-first, monitor: 2s}
volumes:
  marks: {}
"#;
    // The first new replica succeeds; the next ones find its mark and fail.
    // Without a healthcheck, `monitor` is what catches a replica that dies
    // right after starting.
    let new = old.replace("V: '1'", "V: '2'").replace(
        r#"command: ["sh", "-c", "exec sleep 3600"]"#,
        r#"command: ["sh", "-c", "[ -f /marks/first ] && exit 1; touch /marks/first; exec sleep 3600"]"#,
    );
    let s = stack_e2e::TestStack::new("autorollback", old);
    s.ok(&["up", "-d", "--no-agent"]);
    s.write(&new);
    let out = s.run(&["up", "-d", "--no-agent"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rolling update stopped at"), "{stderr}");
    assert!(stderr.contains("rolling `web` back"), "{stderr}");
    for r in 1..=3 {
        let env = stack_e2e::env_of(&format!("{}-web-{r}", s.project));
        assert!(
            env.contains("V=1"),
            "replica {r} runs the old definition again: {env}"
        );
    }
    assert_eq!(s.containers().len(), 3, "no replica left behind");
    let _ = name(&s, "web");
}
