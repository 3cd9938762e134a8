//! Sidecars sharing another container's network, pid and ipc namespaces.

use stack_e2e::{docker, TestStack};

/// `app` serves its own host name; `debug` shares its network and pid
/// namespaces. `REPLICAS` is substituted per test.
const SIDECAR: &str = r#"
services:
  app:
    image: busybox:1.36
    init: true
    deploy: {replicas: REPLICAS}
    environment: {V: '1'}
    command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
  debug:
    image: busybox:1.36
    init: true
    command: ["sleep", "3600"]
    network_mode: service:app
    pid: service:app
"#;

fn stack(name: &str, replicas: u32) -> TestStack {
    TestStack::new(name, &SIDECAR.replace("REPLICAS", &replicas.to_string()))
}

fn fetch(s: &TestStack, container: &str) -> String {
    let (code, out) = s.fetch(container, "http://127.0.0.1:8080/");
    assert_eq!(code, 0, "{container}: {out}");
    out.trim().to_string()
}

#[test]
fn a_sidecar_sees_its_parents_processes_and_loopback_and_follows_a_recreate() {
    let s = stack("sidecar", 1);
    s.ok(&["up", "-d"]);
    let app = format!("{}-app-1", s.project);
    let debug = format!("{}-debug-1", s.project);
    let host = docker(&["inspect", "-f", "{{.Config.Hostname}}", &app]);
    assert_eq!(fetch(&s, &debug), host.trim());
    let (_, ps) = s.exec(&debug, &["ps"]);
    assert!(ps.contains("httpd"), "the parent's processes: {ps}");
    let shown = s.ok(&["ps"]);
    assert!(
        shown.contains(&format!("shares network_mode of {app}")),
        "{shown}"
    );
    // Recreating the parent recreates the sidecar, which works again.
    let before = s.containers();
    s.write(&SIDECAR.replace("REPLICAS", "1").replace("V: '1'", "V: '2'"));
    s.ok(&["up", "-d"]);
    let after = s.containers();
    assert_ne!(before[&app], after[&app]);
    assert_ne!(before[&debug], after[&debug]);
    let host = docker(&["inspect", "-f", "{{.Config.Hostname}}", &app]);
    assert_eq!(fetch(&s, &debug), host.trim());
}

#[test]
fn a_replicated_parent_gets_one_sidecar_per_replica() {
    let s = stack("sidecar3", 3);
    s.ok(&["up", "-d"]);
    for r in 1..=3 {
        let app = format!("{}-app-{r}", s.project);
        let debug = format!("{}-debug-{r}", s.project);
        let app_id = docker(&["inspect", "-f", "{{.Id}}", &app]);
        let mode = docker(&["inspect", "-f", "{{.HostConfig.NetworkMode}}", &debug]);
        assert_eq!(mode.trim(), format!("container:{}", app_id.trim()));
        let host = docker(&["inspect", "-f", "{{.Config.Hostname}}", &app]);
        assert_eq!(
            fetch(&s, &debug),
            host.trim(),
            "sidecar {r} must reach its own replica"
        );
    }
    assert_eq!(s.containers().len(), 6);
    s.assert_converged();
    // Scaling the parent down takes the removed replicas' sidecars along.
    s.ok(&["scale", "app=2"]);
    let names: Vec<String> = s.containers().into_keys().collect();
    let want: Vec<String> = ["app-1", "app-2", "debug-1", "debug-2"]
        .iter()
        .map(|n| format!("{}-{n}", s.project))
        .collect();
    assert_eq!(names, want);
}

#[test]
fn volumes_from_mounts_the_parents_volumes_read_only_with_ro() {
    let yaml = r#"
services:
  data:
    image: busybox:1.36
    init: true
    command: ["sh", "-c", "echo shared > /shared/f && exec sleep 3600"]
    volumes: ["/shared"]
  reader:
    image: busybox:1.36
    init: true
    command: ["sleep", "3600"]
    volumes_from: ["data:ro"]
"#;
    let s = TestStack::new("volfrom", yaml);
    s.ok(&["up", "-d"]);
    let reader = format!("{}-reader-1", s.project);
    stack_e2e::wait_until(std::time::Duration::from_secs(10), "the data file", || {
        s.exec(&reader, &["cat", "/shared/f"]).1.trim() == "shared"
    });
    assert_ne!(
        s.exec(&reader, &["touch", "/shared/g"]).0,
        0,
        "volumes_from :ro must be read-only"
    );
}
