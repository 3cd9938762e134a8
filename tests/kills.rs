//! SIGKILL at many moments of a run, and the next run finishes the job.
//! Each test loops over delays instead of trusting one lucky moment.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use stack_e2e::{ask_dns, free_port, wait_until, TestStack};

const ROLLING: &str = r#"services:
  web:
    image: busybox:1.36
    init: true
    environment: {V: 'VERSION'}
    command: ["sh", "-c", "mkdir -p /www && echo v$$V > /www/index.html && exec httpd -f -p 80 -h /www"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
      retries: 1
    deploy:
      replicas: 2
      update_config: {order: start-first}
"#;

/// Start `stack ARGS`, SIGKILL it after `delay` (if it is still running).
fn kill_after(s: &TestStack, args: &[&str], delay: Duration) {
    let mut child = s
        .command(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start stack");
    let deadline = std::time::Instant::now() + delay;
    while std::time::Instant::now() < deadline {
        if child.try_wait().expect("wait").is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn all_running(s: &TestStack, names: &[String]) -> Result<(), String> {
    let now = s.states();
    let want: BTreeMap<String, String> = names
        .iter()
        .map(|n| (n.clone(), "running".to_string()))
        .collect();
    if now == want {
        Ok(())
    } else {
        Err(format!("{now:?}"))
    }
}

#[test]
fn a_killed_rolling_update_is_finished_by_the_next_up() {
    let s = TestStack::new("killroll", &ROLLING.replace("VERSION", "0"));
    let port = free_port().to_string();
    let up = ["up", "-d", "--wait", "--dns-port", port.as_str()];
    s.ok(&up);
    let names: Vec<String> = (1..=2).map(|r| format!("{}-web-{r}", s.project)).collect();
    let mut clean = 0;
    let delays: Vec<u64> = (0..12).map(|i| 150 + i * 450).collect();
    for (i, delay) in delays.iter().enumerate() {
        s.write(&ROLLING.replace("VERSION", &format!("{}", i + 1)));
        kill_after(&s, &up, Duration::from_millis(*delay));
        // Another version, then one run to completion.
        s.ok(&up);
        all_running(&s, &names).unwrap_or_else(|e| panic!("after a kill at {delay} ms: {e}"));
        s.assert_converged();
        let want = format!("v{}", i + 1);
        for n in &names {
            let (_, body) = s.fetch(n, "http://127.0.0.1/");
            assert_eq!(body.trim(), want, "{n} after a kill at {delay} ms");
        }
        clean += 1;
    }
    // The stack's DNS answers the replicas under their own names.
    let dns_port: u16 = port.parse().unwrap();
    let zone = format!("{}.stack.", s.project);
    wait_until(Duration::from_secs(10), "both replicas in the DNS", || {
        ask_dns(dns_port, &format!("web.{zone}"), "A").is_ok_and(|a| a.len() == 2)
            && ask_dns(dns_port, &format!("web-2.{zone}"), "A").is_ok()
    });
    // A later update works.
    s.write(&ROLLING.replace("VERSION", "final"));
    s.ok(&up);
    all_running(&s, &names).unwrap();
    s.assert_converged();
    eprintln!(
        "SIGKILL during a start-first rolling update: {clean} of {} clean",
        delays.len()
    );
}

const SLOW_STOP: &str = r#"services:
  a:
    image: busybox:1.36
    command: [sleep, infinity]
    stop_grace_period: 2s
    deploy: {replicas: 2}
  b:
    image: busybox:1.36
    init: true
    command: [sleep, infinity]
"#;

#[test]
fn a_killed_down_is_made_good_by_the_next_up() {
    let s = TestStack::new("killdown", SLOW_STOP);
    let up = ["up", "-d", "--no-agent"];
    s.ok(&up);
    let names: Vec<String> = vec![
        format!("{}-a-1", s.project),
        format!("{}-a-2", s.project),
        format!("{}-b-1", s.project),
    ];
    let delays: Vec<u64> = (0..10).map(|i| 30 + i * 200).collect();
    let mut converged = 0;
    for delay in &delays {
        kill_after(&s, &["down", "-t", "1"], Duration::from_millis(*delay));
        // Stops the killed down had in flight may land after this up
        // looked: it must wait for them, and look again.
        s.ok(&up);
        all_running(&s, &names).unwrap_or_else(|e| panic!("after a kill at {delay} ms: {e}"));
        converged += 1;
    }
    eprintln!(
        "SIGKILL during down, then up: {converged} of {} converged",
        delays.len()
    );
}

const PLAIN: &str = "services:\n  app:\n    image: busybox:1.36\n    init: true\n    command: [sleep, infinity]\n    environment: {V: 'VERSION'}\n    volumes: [/cache]\n";

#[test]
fn a_killed_recreate_leaves_the_old_container_or_the_new_one_never_neither() {
    let s = TestStack::new("killrecreate", &PLAIN.replace("VERSION", "0"));
    let up = ["up", "-d", "--no-agent"];
    s.ok(&up);
    let app = format!("{}-app-1", s.project);
    assert_eq!(s.exec(&app, &["sh", "-c", "echo kept > /cache/f"]).0, 0);
    let delays: Vec<u64> = (0..12).map(|i| 20 + i * 60).collect();
    for (i, delay) in delays.iter().enumerate() {
        s.write(&PLAIN.replace("VERSION", &format!("{}", i + 1)));
        kill_after(&s, &up, Duration::from_millis(*delay));
        // Right after the kill: a container of the replica exists.
        assert!(
            !s.states().is_empty(),
            "a kill at {delay} ms left the replica with no container"
        );
        s.ok(&up);
        all_running(&s, std::slice::from_ref(&app))
            .unwrap_or_else(|e| panic!("after a kill at {delay} ms: {e}"));
        s.assert_converged();
        assert!(stack_e2e::env_of(&app).contains(&format!("V={}", i + 1)));
        let (_, kept) = s.exec(&app, &["cat", "/cache/f"]);
        assert_eq!(
            kept.trim(),
            "kept",
            "the anonymous volume after a kill at {delay} ms"
        );
    }
}
