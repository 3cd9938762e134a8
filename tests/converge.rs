//! `stack up / down / plan` against the real engine with busybox:1.36.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use stack_e2e::{docker, engine_now, try_docker, wait_until, TestStack};

/// web (httpd) <- api (healthcheck) <- db, a one-shot migration, a client
/// that reaches web by name, and a debug sidecar in api's namespaces.
const WEB_API_DB: &str = r#"
services:
  db:
    image: busybox:1.36
    init: true
    command: ["sh", "-c", "mkdir -p /data && touch /data/ready && exec sleep 3600"]
    expose: ["5432"]
    volumes: ["db-data:/data"]
    healthcheck:
      test: ["CMD-SHELL", "test -f /data/ready"]
      interval: 1s
      retries: 10
  migrate:
    image: busybox:1.36
    command: ["sh", "-c", "echo v1 > /data/schema"]
    volumes: ["db-data:/data"]
    depends_on:
      db: {condition: service_healthy}
  api:
    image: busybox:1.36
    init: true
    environment:
      MODE: one
    command: ["sh", "-c", "mkdir -p /www && echo api-$$MODE > /www/index.html && exec httpd -f -p 8000 -h /www"]
    healthcheck:
      test: ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8000/"]
      interval: 1s
      retries: 10
    depends_on:
      migrate: {condition: service_completed_successfully}
  debug:
    image: busybox:1.36
    init: true
    command: ["sleep", "3600"]
    network_mode: service:api
  web:
    image: busybox:1.36
    init: true
    command: ["sh", "-c", "mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 80 -h /www"]
    depends_on:
      api: {condition: service_healthy}
  client:
    image: busybox:1.36
    init: true
    command: ["sleep", "3600"]
    depends_on: [web]
volumes:
  db-data:
"#;

fn name(s: &TestStack, service: &str) -> String {
    format!("{}-{service}-1", s.project)
}

#[test]
fn web_api_db_comes_up_in_dependency_order_and_serves() {
    let s = TestStack::new("webapidb", WEB_API_DB);
    s.ok(&["up", "-d", "--wait", "--wait-timeout", "60"]);
    let (code, out) = s.fetch(&name(&s, "client"), "http://web/");
    assert_eq!((code, out.trim()), (0, "hello-from-web"));
    let (code, out) = s.fetch(&name(&s, "client"), "http://api:8000/");
    assert_eq!((code, out.trim()), (0, "api-one"));
    // The migration ran after db was healthy and stays done.
    let state = docker(&[
        "inspect",
        "-f",
        "{{.State.Status}} {{.State.ExitCode}}",
        &name(&s, "migrate"),
    ]);
    assert_eq!(state.trim(), "exited 0");
    let (_, schema) = s.exec(&name(&s, "db"), &["cat", "/data/schema"]);
    assert_eq!(schema.trim(), "v1");
    // The sidecar sees api's server on loopback.
    let (code, out) = s.fetch(&name(&s, "debug"), "http://127.0.0.1:8000/");
    assert_eq!((code, out.trim()), (0, "api-one"));
    // One JSON object per line, as Compose prints; `-a` includes the
    // migration that ran to completion.
    let ps = s.ok(&["ps", "-a", "--format", "json"]);
    let rows: Vec<serde_json::Value> = ps
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 6, "{ps}");
    let migrate = rows.iter().find(|r| r["Service"] == "migrate").unwrap();
    assert_eq!(
        (&migrate["State"], &migrate["ExitCode"]),
        (&"exited".into(), &0.into())
    );
    assert_eq!(
        s.ok(&["ps", "--format", "json"]).lines().count(),
        5,
        "running only"
    );
    // Exposed, unpublished ports are listed as Compose lists them.
    let text = s.ok(&["ps"]);
    assert!(text.contains("5432/tcp"), "{text}");
}

#[test]
fn a_second_up_makes_no_engine_changes() {
    let s = TestStack::new("noop", WEB_API_DB);
    let first_since = engine_now();
    s.ok(&["up", "-d", "--wait", "--wait-timeout", "60"]);
    // The witness works: the first up shows up in the events stream.
    let first = s.events(&first_since, &engine_now());
    assert!(first.iter().any(|e| e == "container create"), "{first:?}");
    let before = s.containers();
    let since = engine_now();
    // Progress goes to stderr, as Compose's does.
    let out = s.progress(&["up", "-d"]);
    let until = engine_now();
    assert!(out.contains("Nothing to do"), "{out}");
    assert_eq!(s.containers(), before);
    // Healthcheck probes (exec_*, health_status) go on by themselves; what
    // must not happen is anything that changes a container, network or volume.
    let mutations: Vec<String> = s
        .events(&since, &until)
        .into_iter()
        .filter(|e| !e.contains(" exec_") && !e.contains(" health_status"))
        .collect();
    assert!(
        mutations.is_empty(),
        "engine changes during a no-op up: {mutations:?}"
    );
    s.assert_converged();
}

#[test]
fn changing_one_variable_recreates_that_service_and_its_sidecar_only() {
    let s = TestStack::new("envchange", WEB_API_DB);
    s.ok(&["up", "-d", "--wait", "--wait-timeout", "60"]);
    let before = s.containers();
    s.write(&WEB_API_DB.replace("MODE: one", "MODE: two"));
    let plan = s.run(&["plan"]);
    assert_eq!(plan.status.code(), Some(2));
    let text = String::from_utf8_lossy(&plan.stdout);
    assert!(text.contains("environment.MODE changed"), "{text}");
    s.ok(&["up", "-d", "--wait", "--wait-timeout", "60"]);
    let after = s.containers();
    let changed: BTreeSet<&String> = before.keys().filter(|n| before[*n] != after[*n]).collect();
    let want: BTreeSet<String> = [name(&s, "api"), name(&s, "debug")].into();
    assert_eq!(changed, want.iter().collect());
    let (code, out) = s.fetch(&name(&s, "debug"), "http://127.0.0.1:8000/");
    assert_eq!((code, out.trim()), (0, "api-two"));
}

#[test]
fn down_keeps_named_volumes_and_down_v_removes_them() {
    let s = TestStack::new("downvol", WEB_API_DB);
    s.ok(&["up", "-d", "--wait", "--wait-timeout", "60"]);
    assert_eq!(s.volumes().len(), 1);
    s.ok(&["down", "--timeout", "1"]);
    assert!(s.containers().is_empty());
    assert!(s.networks().is_empty());
    assert_eq!(s.volumes().len(), 1, "down must keep named volumes");
    // The data is still there for the next up.
    s.ok(&["up", "-d", "--wait", "--wait-timeout", "60", "db"]);
    let (_, schema) = s.exec(&name(&s, "db"), &["cat", "/data/schema"]);
    assert_eq!(schema.trim(), "v1");
    s.ok(&["down", "-v", "--timeout", "1"]);
    assert!(s.volumes().is_empty());
}

fn many_services(n: usize) -> String {
    let mut yaml = String::from("services:\n");
    for i in 0..n {
        yaml.push_str(&format!(
            "  s{i}:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n"
        ));
        if i > 0 {
            yaml.push_str(&format!("    depends_on: [s{}]\n", i - 1));
        }
    }
    yaml
}

#[test]
fn a_killed_up_converges_on_the_next_run() {
    let s = TestStack::new("killed", &many_services(20));
    let mut child = s
        .command(&["up", "-d", "--parallel", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn stack up");
    wait_until(Duration::from_secs(60), "the first containers", || {
        s.containers().len() >= 4
    });
    child.kill().expect("SIGKILL stack up");
    let _ = child.wait();
    let partial = s.containers().len();
    assert!(
        partial < 20,
        "up finished before it was killed ({partial} containers)"
    );
    s.ok(&["up", "-d"]);
    let names: BTreeSet<String> = s.containers().into_keys().collect();
    let want: BTreeSet<String> = (0..20).map(|i| format!("{}-s{i}-1", s.project)).collect();
    assert_eq!(names, want);
    let running = docker(&[
        "ps",
        "--filter",
        &format!("label=io.stack.project={}", s.project),
        "--format",
        "{{.Names}}",
    ]);
    assert_eq!(running.lines().count(), 20);
    s.assert_converged();
}

#[test]
fn two_concurrent_ups_create_no_duplicates() {
    let s = TestStack::new("concurrent", &many_services(6));
    let spawn = || {
        s.command(&["up", "-d"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn stack up")
    };
    let (a, b) = (spawn(), spawn());
    let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    // One waits for the other (saying so when they overlap), then finds
    // the work done: both succeed, nothing is created twice.
    for o in &outs {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    s.assert_converged();
    assert_eq!(s.containers().len(), 6);
}

#[test]
fn scaling_up_and_down_keeps_existing_replicas() {
    let yaml =
        "services:\n  w:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n";
    let s = TestStack::new("scale", yaml);
    s.ok(&["up", "-d"]);
    let first = s.containers();
    s.ok(&["up", "-d", "--scale", "w=3"]);
    let three = s.containers();
    assert_eq!(three.len(), 3);
    let w1 = format!("{}-w-1", s.project);
    assert_eq!(
        first[&w1], three[&w1],
        "scaling must not recreate replica 1"
    );
    s.ok(&["up", "-d"]);
    assert_eq!(s.containers().keys().collect::<Vec<_>>(), vec![&w1]);
}

#[test]
fn a_missing_image_fails_before_anything_is_created() {
    let s = TestStack::new(
        "noimage",
        "services:\n  a:\n    image: busybox:1.36\n  b:\n    image: stack-test-missing:0.0\n",
    );
    let out = s.run(&["up", "-d"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    // The error names the service, the image and the registry, and says
    // what to check (here no registry answers; elsewhere Docker Hub has no
    // such image).
    assert!(
        err.contains("service `b`: pulling `stack-test-missing:0.0` failed")
            && (err.contains("docker.io does not answer")
                || err.contains("docker.io has no such image")),
        "{err}"
    );
    assert!(s.containers().is_empty());
    assert!(s.networks().is_empty());
}

#[test]
fn a_failing_one_shot_stops_up_with_its_output() {
    let yaml = r#"
services:
  migrate:
    image: busybox:1.36
    command: ["sh", "-c", "echo cannot reach the database >&2; exit 4"]
  app:
    image: busybox:1.36
    command: [sleep, "3600"]
    depends_on:
      migrate: {condition: service_completed_successfully}
"#;
    let s = TestStack::new("oneshot", yaml);
    let out = s.run(&["up", "-d"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("exited with code 4"), "{err}");
    assert!(err.contains("cannot reach the database"), "{err}");
    // Left created, not started, as Compose leaves it: a later `up` starts it.
    let app = format!("{}-app-1", s.project);
    assert_eq!(s.states().get(&app).map(String::as_str), Some("created"));
}

#[test]
fn build_sends_the_context_without_what_dockerignore_excludes() {
    let yaml = "services:\n  app:\n    build: ./app\n    image: stack-e2e-build-PID:1\n    init: true\n    command: [sleep, '3600']\n";
    let s = TestStack::new(
        "build",
        &yaml.replace("PID", &std::process::id().to_string()),
    );
    let image = format!("stack-e2e-build-{}:1", std::process::id());
    let _cleanup = stack_e2e::DockerCleanup::image(&image);
    let app = s.dir.join("app");
    std::fs::create_dir_all(app.join("secrets")).unwrap();
    std::fs::write(
        app.join("Dockerfile"),
        "FROM busybox:1.36\nCOPY . /ctx\nRUN echo built > /built\n",
    )
    .unwrap();
    std::fs::write(app.join("keep.txt"), "kept\n").unwrap();
    std::fs::write(app.join("secrets/key"), "do not send\n").unwrap();
    std::fs::write(app.join(".dockerignore"), "secrets\n").unwrap();
    s.ok(&["up", "-d", "--build"]);
    let c = name(&s, "app");
    assert_eq!(s.exec(&c, &["cat", "/built"]).1.trim(), "built");
    assert_eq!(s.exec(&c, &["cat", "/ctx/keep.txt"]).1.trim(), "kept");
    assert_ne!(
        s.exec(&c, &["test", "-e", "/ctx/secrets/key"]).0,
        0,
        "an ignored file reached the build"
    );
}

#[test]
fn a_build_only_service_comes_up_under_composes_image_name() {
    let s = TestStack::new(
        "buildonly",
        "services:\n  app:\n    build: .\n    init: true\n    command: [sleep, '3600']\n",
    );
    std::fs::write(
        s.dir.join("Dockerfile"),
        "FROM busybox:1.36\nRUN echo built > /built\n",
    )
    .unwrap();
    let image = format!("{}-app", s.project);
    let _cleanup = stack_e2e::DockerCleanup::image(&image);
    // No --build: the image is missing, so it is built.
    s.ok(&["up", "-d", "--no-agent"]);
    let c = name(&s, "app");
    assert_eq!(s.exec(&c, &["cat", "/built"]).1.trim(), "built");
    let used = docker(&["inspect", "-f", "{{.Config.Image}}", &c]);
    assert_eq!(used.trim(), image);
    s.assert_converged();
}

#[test]
fn links_are_aliases_the_linking_container_resolves() {
    let yaml = "services:\n  web:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n    links: ['db:database']\n  db:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n  other:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n";
    let s = TestStack::new("links", yaml);
    // Only `web` is named: the link makes `db` come up first.
    s.ok(&["up", "-d", "--no-agent", "web"]);
    let (web, db) = (name(&s, "web"), name(&s, "db"));
    assert!(
        s.containers().contains_key(&db),
        "the linked service came up"
    );
    let (code, out) = s.exec(&web, &["nslookup", "database"]);
    assert_eq!(code, 0, "{out}");
    s.ok(&["up", "-d", "--no-agent"]);
    let (code, _) = s.exec(&name(&s, "other"), &["nslookup", "database"]);
    assert_ne!(code, 0, "a link is the linking container's alone");
    s.assert_converged();
}

#[test]
fn optional_dependencies_that_fail_or_are_absent_do_not_fail_up() {
    let yaml = "services:\n  app:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n    depends_on:\n      migrate: {condition: service_completed_successfully, required: false}\n      metrics: {condition: service_started, required: false}\n  migrate:\n    image: busybox:1.36\n    command: [sh, -c, 'exit 1']\n  metrics:\n    image: busybox:1.36\n    profiles: [monitoring]\n";
    let s = TestStack::new("optional", yaml);
    s.ok(&["up", "-d", "--no-agent"]);
    let app = name(&s, "app");
    assert!(s.containers().contains_key(&app));
    assert!(!s.containers().contains_key(&name(&s, "metrics")));
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.Running}}", &app]).trim(),
        "true"
    );
}

#[test]
fn attached_up_follows_logs_and_ctrl_c_stops_the_stack() {
    let yaml = "services:\n  talker:\n    image: busybox:1.36\n    init: true\n    command: [sh, -c, 'echo hello-from-talker; exec sleep 3600']\n";
    let s = TestStack::new("attached", yaml);
    let mut child = s
        .command(&["up", "--timeout", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn stack up");
    let c = name(&s, "talker");
    // The output as it comes, so Ctrl-C is typed once the log was shown.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let reader = {
        let seen = seen.clone();
        let mut stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = std::io::Read::read(&mut stdout, &mut chunk) {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&chunk[..n]).into_owned();
                seen.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push_str(&text);
            }
        })
    };
    wait_until(Duration::from_secs(30), "the container's output", || {
        seen.lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains("hello-from-talker")
    });
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let _ = reader.join();
    let stdout = seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
    // Stopped gracefully, and the exit status says it was interrupted
    // (130, as Compose).
    assert_eq!(
        out.status.code(),
        Some(130),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let state = docker(&["inspect", "-f", "{{.State.Status}}", &c]);
    assert_eq!(state.trim(), "exited");
}

#[test]
fn anonymous_volumes_survive_a_recreate() {
    let yaml = "services:\n  app:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n    volumes: [/cache]\n    environment: {V: '1'}\n";
    let s = TestStack::new("anonvol", yaml);
    s.ok(&["up", "-d"]);
    let c = name(&s, "app");
    assert_eq!(s.exec(&c, &["sh", "-c", "echo kept > /cache/data"]).0, 0);
    let before = s.containers();
    s.write(&yaml.replace("V: '1'", "V: '2'"));
    s.ok(&["up", "-d"]);
    assert_ne!(
        before[&c],
        s.containers()[&c],
        "the container should have been recreated"
    );
    assert_eq!(s.exec(&c, &["cat", "/cache/data"]).1.trim(), "kept");

    // `down -v` removes it, though the engine no longer counts a volume
    // carried over by name as the new container's own.
    let format = "{{range .Mounts}}{{.Name}}{{end}}";
    let volume = docker(&["inspect", "-f", format, &c]).trim().to_string();
    assert!(!volume.is_empty(), "an anonymous volume at /cache");
    s.ok(&["down", "-v"]);
    assert_eq!(
        try_docker(&["volume", "inspect", &volume]),
        None,
        "{volume} removed"
    );
}

#[test]
fn replicas_get_one_host_port_each_and_scale_removes_the_highest() {
    let base = 30000 + (std::process::id() % 5000) * 3;
    let yaml = format!(
        "services:\n  w:\n    image: busybox:1.36\n    init: true\n    command: [sh, -c, 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www']\n    deploy: {{replicas: 3}}\n    ports: ['127.0.0.1:{base}-{}:80']\n",
        base + 2
    );
    let s = TestStack::new("ports", &yaml);
    s.ok(&["up", "-d"]);
    for r in 1..=3u32 {
        let c = format!("{}-w-{r}", s.project);
        let port = docker(&["port", &c, "80/tcp"]);
        assert_eq!(
            port.trim(),
            format!("127.0.0.1:{}", base + r - 1),
            "replica {r}"
        );
    }
    s.ok(&["scale", "w=2"]);
    let names: Vec<String> = s.containers().into_keys().collect();
    assert_eq!(
        names,
        vec![format!("{}-w-1", s.project), format!("{}-w-2", s.project)]
    );
}

#[test]
fn up_watch_converges_on_edits_and_ignores_a_broken_file() {
    use std::io::Read;
    use std::sync::{Arc, Mutex};
    let yaml = "services:\n  app:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n    environment: {V: '1'}\n";
    let s = TestStack::new("watch", yaml);
    let mut child = s
        .command(&["up", "--watch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn stack up --watch");
    // Collect the output as it comes, to wait on what it says.
    let collect = |mut pipe: Box<dyn Read + Send>| {
        let text = Arc::new(Mutex::new(String::new()));
        let sink = text.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        text
    };
    let stdout = collect(Box::new(child.stdout.take().unwrap()));
    let stderr = collect(Box::new(child.stderr.take().unwrap()));
    let said = |t: &Arc<Mutex<String>>, what: &str| t.lock().unwrap().contains(what);
    let c = name(&s, "app");
    let env = stack_e2e::env_of;
    // Notes and plans are progress: on stderr, as Compose's.
    wait_until(Duration::from_secs(30), "the watcher", || {
        said(&stderr, "Watching the stack file")
    });
    // As `sed -i` and many editors save: a new file renamed over the old.
    let edited = s.dir.join(".stack.yaml.new");
    std::fs::write(&edited, yaml.replace("V: '1'", "V: '2'")).unwrap();
    std::fs::rename(&edited, s.dir.join("stack.yaml")).unwrap();
    wait_until(Duration::from_secs(15), "the edit to be applied", || {
        env(&c).contains("V=2")
    });
    assert!(said(&stderr, "environment.V changed"), "the plan is shown");
    let id = s.containers()[&c].clone();
    s.write("services:\n  app:\n    imgae: broken\n");
    wait_until(
        Duration::from_secs(15),
        "the broken file to be reported",
        || {
            said(&stderr, "unknown key `imgae`")
                && said(&stderr, "the running stack is left as it is")
        },
    );
    assert_eq!(
        s.containers()[&c],
        id,
        "a broken file must leave the stack alone"
    );
    // One reload per edit: reading the file is not a change of it.
    let reloads = || {
        let both = format!("{}{}", stdout.lock().unwrap(), stderr.lock().unwrap());
        both.matches("Change detected").count()
    };
    assert_eq!(reloads(), 2, "{}", stderr.lock().unwrap());
    // Fixed again: converges again.
    s.write(&yaml.replace("V: '1'", "V: '3'"));
    wait_until(Duration::from_secs(15), "the fix to be applied", || {
        env(&c).contains("V=3")
    });
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());
}

#[test]
fn rollback_returns_to_the_previous_definition_and_back() {
    let yaml = "services:\n  web:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n    environment: {V: '1'}\n    deploy: {replicas: 2}\n";
    let s = TestStack::new("rollback", yaml);
    let env = |r: u32| {
        docker(&[
            "inspect",
            "-f",
            "{{json .Config.Env}}",
            &format!("{}-web-{r}", s.project),
        ])
    };
    s.ok(&["up", "-d", "--no-agent"]);
    let none = s.run(&["rollback", "web"]);
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("no earlier definition of `web`"));
    s.write(&yaml.replace("V: '1'", "V: '2'"));
    s.ok(&["up", "-d", "--no-agent"]);
    assert!(env(1).contains("V=2") && env(2).contains("V=2"));
    let out = s.progress(&["rollback", "web"]);
    assert!(out.contains("rolling update"), "{out}");
    assert!(
        env(1).contains("V=1") && env(2).contains("V=1"),
        "rolled back"
    );
    // The file still says V=2: plan shows it, and a second rollback goes forward.
    assert_eq!(s.run(&["plan"]).status.code(), Some(2));
    s.ok(&["rollback", "web"]);
    assert!(env(1).contains("V=2") && env(2).contains("V=2"));
    s.assert_converged();
}

#[test]
fn a_host_port_another_container_holds_is_refused_before_any_change() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let holder = format!("test-portholder-{}", std::process::id());
    let _guard = stack_e2e::DockerCleanup(vec!["rm".into(), "-f".into(), holder.clone()]);
    let publish = format!("127.0.0.1:{port}:80");
    docker(&[
        "run",
        "-d",
        "--init",
        "--name",
        &holder,
        "-p",
        &publish,
        "busybox:1.36",
        "sleep",
        "3600",
    ]);
    let yaml = format!(
        "services:\n  web:\n    image: busybox:1.36\n    command: [sleep, '3600']\n    ports: ['{publish}']\n  other:\n    image: busybox:1.36\n    command: [sleep, '3600']\n"
    );
    let s = TestStack::new("porttaken", &yaml);
    let out = s.run(&["up", "-d", "--no-agent"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "service `web`: host port {port}/tcp is already published by container `{holder}`"
        )),
        "{err}"
    );
    assert!(
        s.containers().is_empty() && s.networks().is_empty(),
        "nothing half-applied"
    );
}

#[test]
fn an_override_file_beside_the_stack_file_is_applied_and_stdin_is_a_file() {
    let base = "services:\n  app:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n    environment: {FROM: base}\n";
    let s = TestStack::new("override", base);
    // The harness writes stack.yaml; a Compose user's pair is compose.yaml
    // and compose.override.yaml.
    std::fs::rename(s.dir.join("stack.yaml"), s.dir.join("compose.yaml")).unwrap();
    std::fs::write(
        s.dir.join("compose.override.yaml"),
        "services:\n  app:\n    environment: {FROM: override}\n",
    )
    .unwrap();
    s.ok(&["up", "-d", "--no-agent"]);
    let c = name(&s, "app");
    assert!(
        stack_e2e::env_of(&c).contains("FROM=override"),
        "{}",
        stack_e2e::env_of(&c)
    );
    s.assert_converged();

    // `-f -`: the file on standard input (no override then, as Compose).
    let mut child = s
        .command(&["-f", "-", "up", "-d", "--no-agent"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(base.replace("FROM: base", "FROM: stdin").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stack_e2e::env_of(&c).contains("FROM=stdin"),
        "{}",
        stack_e2e::env_of(&c)
    );
    // Put the file back for the harness's `down`.
    std::fs::rename(s.dir.join("compose.yaml"), s.dir.join("stack.yaml")).unwrap();
}

#[test]
fn lifecycle_hooks_run_after_start_and_before_stop() {
    let yaml = r#"services:
  app:
    image: busybox:1.36
    init: true
    command: [sleep, '3600']
    volumes: [marks:/marks]
    post_start:
      - command: [sh, -c, 'echo "$$GREETING from $$(pwd) as $$(id -u)" > started']
        user: "1000"
        working_dir: /tmp
        environment: {GREETING: hello}
    pre_stop:
      - command: [sh, -c, 'echo bye > /marks/stopping']
volumes:
  marks: {}
"#;
    let s = TestStack::new("hooks", yaml);
    let volume = format!("{}_marks", s.project);
    // `up` returns once the hook has run.
    s.ok(&["up", "-d", "--no-agent"]);
    let app = name(&s, "app");
    assert_eq!(
        s.exec(&app, &["cat", "/tmp/started"]).1.trim(),
        "hello from /tmp as 1000"
    );
    s.ok(&["down", "-t", "1"]);
    let out = docker(&[
        "run",
        "--rm",
        "-v",
        &format!("{volume}:/marks"),
        "busybox:1.36",
        "cat",
        "/marks/stopping",
    ]);
    assert_eq!(out.trim(), "bye");
}

#[test]
fn start_of_a_service_starts_what_it_depends_on_first() {
    let yaml = "services:\n  web:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n    depends_on: [db]\n  db:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n";
    let s = TestStack::new("startdeps", yaml);
    s.ok(&["up", "-d", "--no-agent"]);
    s.ok(&["stop", "-t", "1"]);
    let (web, db) = (name(&s, "web"), name(&s, "db"));
    s.ok(&["start", "web"]);
    let started = |c: &str| {
        docker(&["inspect", "-f", "{{.State.StartedAt}}", c])
            .trim()
            .to_string()
    };
    let running = |c: &str| docker(&["inspect", "-f", "{{.State.Running}}", c]).trim() == "true";
    assert!(running(&db) && running(&web));
    assert!(
        started(&db) <= started(&web),
        "db first: {} {}",
        started(&db),
        started(&web)
    );
    // `stop db` stops only db; a dependent is not a dependency.
    s.ok(&["stop", "-t", "1", "db"]);
    assert!(!running(&db) && running(&web));
}

#[test]
fn stop_with_a_file_touches_only_that_files_services() {
    let s = TestStack::new(
        "stopfile",
        "services:\n  a:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n",
    );
    std::fs::write(
        s.dir.join("other.yaml"),
        "services:\n  b:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n",
    )
    .unwrap();
    s.ok(&["up", "-d", "--no-agent"]);
    s.ok(&["-f", "other.yaml", "up", "-d", "--no-agent"]);
    s.ok(&["-f", "other.yaml", "stop", "-t", "1"]);
    let running = |c: &str| docker(&["inspect", "-f", "{{.State.Running}}", c]).trim() == "true";
    assert!(running(&name(&s, "a")), "a is not in other.yaml");
    assert!(!running(&name(&s, "b")));
    s.ok(&["-f", "other.yaml", "down", "-t", "1"]);
}

#[test]
fn restart_true_dependents_follow_their_dependency() {
    let yaml = "services:\n  app:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n    depends_on:\n      db: {condition: service_started, restart: true}\n  db:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n    environment: {V: '1'}\n";
    let s = TestStack::new("restarttrue", yaml);
    s.ok(&["up", "-d", "--no-agent"]);
    let app = name(&s, "app");
    let started = || {
        docker(&["inspect", "-f", "{{.State.StartedAt}}", &app])
            .trim()
            .to_string()
    };
    let before = started();
    // `stack restart db` restarts app too.
    s.ok(&["restart", "-t", "1", "db"]);
    let after_restart = started();
    assert_ne!(after_restart, before, "app restarted with db");
    // A new db container (the file changed) restarts app, not recreates it.
    let id = s.containers()[&app].clone();
    s.write(&yaml.replace("V: '1'", "V: '2'"));
    s.ok(&["up", "-d", "--no-agent"]);
    assert_eq!(s.containers()[&app], id);
    assert_ne!(started(), after_restart);
    s.assert_converged();
}

#[test]
fn limits_and_host_settings_reach_the_engine() {
    let yaml = "services:\n  app:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n    mem_limit: 64m\n    shm_size: 8m\n    pids_limit: 50\n    tmpfs: ['/scratch:size=1m']\n    extra_hosts: ['db.local=10.1.2.3']\n    ulimits: {nofile: {soft: 1000, hard: 2000}}\n    devices: ['/dev/null:/dev/nothing:r']\n    deploy:\n      resources:\n        limits: {memory: 128m, cpus: '0.5'}\n";
    let s = TestStack::new("limits", yaml);
    s.ok(&["up", "-d", "--no-agent"]);
    let inspect = |format: &str| {
        docker(&["inspect", "-f", format, &name(&s, "app")])
            .trim()
            .to_string()
    };
    assert_eq!(
        inspect("{{.HostConfig.Memory}}"),
        (64 * 1024 * 1024).to_string(),
        "mem_limit over deploy's"
    );
    assert_eq!(inspect("{{.HostConfig.NanoCpus}}"), "500000000");
    assert_eq!(inspect("{{.HostConfig.PidsLimit}}"), "50");
    assert_eq!(
        inspect("{{.HostConfig.ShmSize}}"),
        (8 * 1024 * 1024).to_string()
    );
    assert_eq!(
        inspect("{{json .HostConfig.Tmpfs}}"),
        r#"{"/scratch":"size=1m"}"#
    );
    assert_eq!(
        inspect("{{json .HostConfig.ExtraHosts}}"),
        r#"["db.local:10.1.2.3"]"#
    );
    assert_eq!(
        inspect("{{range .HostConfig.Ulimits}}{{.Name}} {{.Soft}} {{.Hard}}{{end}}"),
        "nofile 1000 2000"
    );
    assert_eq!(
        inspect("{{range .HostConfig.Devices}}{{.PathOnHost}} {{.PathInContainer}} {{.CgroupPermissions}}{{end}}"),
        "/dev/null /dev/nothing r"
    );
    s.assert_converged();
}
