//! Hardening against a hostile local user and an unlucky operator: the
//! state directory, secrets, data that must never be lost, and input that
//! must not wedge or crash `stack`. The attacking half runs as `nobody`
//! (with `setpriv`), against a `stack` run by root.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use stack_e2e::{docker, wait_until, TestStack};

const SLEEPER: &str =
    "services:\n  app:\n    image: busybox:1.36\n    init: true\n    command: [sleep, infinity]\n";

const NOBODY: u32 = 65534;

/// Run `args` as `nobody`; true when it succeeded.
fn as_nobody(args: &[&str]) -> bool {
    Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .args(args)
        .status()
        .is_ok_and(|s| s.success())
}

/// A directory anyone may create things in, as /tmp is.
fn shared_parent(s: &TestStack) -> std::path::PathBuf {
    let parent = s.dir.join("shared");
    std::fs::create_dir_all(&parent).unwrap();
    std::fs::set_permissions(&s.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o1777)).unwrap();
    parent
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_state_directory_planted_by_another_user_is_refused() {
    let s = TestStack::new("statedir", SLEEPER);
    let parent = shared_parent(&s);

    // `up` with this state directory fails, saying `why`.
    let refused = |dir: &std::path::Path, why: &str| {
        let out = s
            .command(&["up", "-d", "--no-agent"])
            .env("STACK_STATE_DIR", dir)
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(stderr_of(&out).contains(why), "{}", stderr_of(&out));
    };

    // nobody creates the directory first, hoping root keeps state in it.
    let planted = parent.join("owned");
    assert!(as_nobody(&[
        "mkdir",
        "-m",
        "700",
        planted.to_str().unwrap()
    ]));
    refused(&planted, &format!("belongs to uid {NOBODY}"));

    // ... or a symlink to a directory of theirs.
    let theirs = parent.join("theirs");
    let link = parent.join("link");
    assert!(as_nobody(&["mkdir", "-m", "700", theirs.to_str().unwrap()]));
    assert!(as_nobody(&[
        "ln",
        "-s",
        theirs.to_str().unwrap(),
        link.to_str().unwrap()
    ]));
    refused(&link, "not a directory of its own");

    // ... or a world-writable one.
    let open = parent.join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    refused(&open, "chmod 700");
    assert!(s.containers().is_empty(), "nothing ran");
}

#[test]
fn state_files_are_private_and_the_agent_is_the_only_process_signalled() {
    let s = TestStack::new("statefiles", SLEEPER);
    s.ok(&["up", "-d"]);
    let state = s.dir.join("state");
    let mode = |p: &Path| std::fs::symlink_metadata(p).unwrap().mode() & 0o777;
    assert_eq!(mode(&state), 0o700);
    wait_until(Duration::from_secs(10), "the agent's files", || {
        std::fs::read_dir(&state).unwrap().count() >= 3
    });
    for entry in std::fs::read_dir(&state).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    s.ok(&["down"]);

    // A lock file naming a process that is not our agent (here a `sleep`
    // holding the lock through flock): `down` must not signal it.
    let lock = state.join(format!("{}.agent.lock", s.project));
    let mut victim = Command::new("flock")
        .args(["-x", lock.to_str().unwrap(), "sleep", "60"])
        .spawn()
        .unwrap();
    wait_until(Duration::from_secs(5), "the lock to be held", || {
        Command::new("flock")
            .args(["-n", "-x", lock.to_str().unwrap(), "true"])
            .status()
            .is_ok_and(|st| !st.success())
    });
    std::fs::write(&lock, format!("`stack agent`, pid {}", victim.id())).unwrap();
    let out = s.run(&["agent", "stop"]);
    assert!(!out.status.success());
    assert!(
        stderr_of(&out).contains("not a stack agent"),
        "{}",
        stderr_of(&out)
    );
    assert!(
        victim.try_wait().unwrap().is_none(),
        "the victim was signalled"
    );
    let _ = victim.kill();
    let _ = victim.wait();
    // With the impostor gone, the usual commands work again.
    s.ok(&["agent", "status"]);
}

const WITH_SECRETS: &str = r#"services:
  app:
    image: busybox:1.36
    init: true
    command: [sleep, infinity]
    environment: {TOKEN_SOURCE: none}
    secrets:
      - db_password
      - {source: api_token, target: token, mode: 0400, uid: "100", gid: "101"}
    configs:
      - {source: motd, target: /etc/motd}
      - greeting
secrets:
  db_password: {file: ./db_password.txt}
  api_token: {environment: TEST_API_TOKEN}
configs:
  motd: {content: "welcome, ${USER_NAME:-student}"}
  greeting: {file: ./greeting.txt}
"#;

#[test]
fn secrets_and_configs_are_mounted_and_never_shown() {
    let s = TestStack::new("secrets", WITH_SECRETS);
    std::fs::write(s.dir.join("db_password.txt"), "correct horse battery").unwrap();
    std::fs::write(s.dir.join("greeting.txt"), "hello").unwrap();
    let up = |token: &str| {
        let mut cmd = s.command(&["up", "-d", "--no-agent"]);
        cmd.env("TEST_API_TOKEN", token);
        stack_e2e::succeed(cmd);
    };
    up("tok-s3cret-1");
    let app = format!("{}-app-1", s.project);
    let read = |path: &str| s.exec(&app, &["cat", path]);
    assert_eq!(
        read("/run/secrets/db_password"),
        (0, "correct horse battery".into())
    );
    assert_eq!(read("/run/secrets/token").1, "tok-s3cret-1");
    assert_eq!(read("/etc/motd").1, "welcome, student");
    assert_eq!(read("/greeting").1, "hello");
    let (_, st) = s.exec(&app, &["stat", "-c", "%a %u %g", "/run/secrets/token"]);
    assert_eq!(st.trim(), "400 100 101");
    let (_, st) = s.exec(&app, &["stat", "-c", "%a", "/run/secrets/db_password"]);
    assert_eq!(st.trim(), "444");
    // Read-only.
    assert_ne!(
        s.exec(&app, &["sh", "-c", "echo x > /run/secrets/db_password"])
            .0,
        0
    );

    // Neither the content nor an unkeyed digest of it is in what the
    // engine shows about the container.
    let inspect = docker(&["inspect", &app]);
    for secret in ["correct horse battery", "tok-s3cret-1"] {
        assert!(!inspect.contains(secret), "{secret} in docker inspect");
        let plain = sha256_hex(secret.as_bytes());
        assert!(
            !inspect.contains(&plain[..32]),
            "plain digest of {secret} in labels"
        );
    }

    // A new content recreates the container, which then sees it.
    let before = s.containers()[&app].clone();
    up("tok-s3cret-2");
    assert_ne!(s.containers()[&app], before, "recreated");
    assert_eq!(read("/run/secrets/token").1, "tok-s3cret-2");
    // The same content again changes nothing.
    let before = s.containers()[&app].clone();
    up("tok-s3cret-2");
    assert_eq!(s.containers()[&app], before);
}

/// Hex SHA-256, with the system's `sha256sum` as an independent witness.
fn sha256_hex(data: &[u8]) -> String {
    use std::io::Write;
    let mut child = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

const WITH_VOLUME: &str = "services:\n  app:\n    image: busybox:1.36\n    init: true\n    command: [sleep, infinity]\n    volumes: [data:/data]\nvolumes:\n  data: {}\n";

#[test]
fn down_v_keeps_a_volume_the_file_now_calls_external() {
    let s = TestStack::new("extvol", WITH_VOLUME);
    s.ok(&["up", "-d", "--no-agent"]);
    let volume = format!("{}_data", s.project);
    let app = format!("{}-app-1", s.project);
    assert_eq!(s.exec(&app, &["sh", "-c", "echo precious > /data/f"]).0, 0);
    // Someone else owns it now; the file says so.
    s.write(&WITH_VOLUME.replace(
        "  data: {}",
        &format!("  data: {{external: true, name: {volume}}}"),
    ));
    s.ok(&["down", "-v"]);
    assert!(s.containers().is_empty());
    let kept = docker(&["volume", "ls", "-q", "--filter", &format!("name={volume}")]);
    assert_eq!(kept.trim(), volume, "the external volume survived down -v");
    let _cleanup = stack_e2e::DockerCleanup::remove("volume", &volume);
    let out = docker(&[
        "run",
        "--rm",
        "-v",
        &format!("{volume}:/data"),
        "busybox:1.36",
        "cat",
        "/data/f",
    ]);
    assert_eq!(out.trim(), "precious");
}

#[test]
fn a_volume_with_its_defaults_spelled_out_is_the_same_volume() {
    let s = TestStack::new("voldefaults", WITH_VOLUME);
    s.ok(&["up", "-d", "--no-agent"]);
    s.write(&WITH_VOLUME.replace(
        "  data: {}",
        "  data: {driver: local, labels: {}, driver_opts: {}}",
    ));
    s.assert_converged();
    // A real change is refused, and the hint says what destroys data.
    s.write(&WITH_VOLUME.replace("  data: {}", "  data: {labels: {tier: gold}}"));
    let out = s.run(&["up", "-d", "--no-agent"]);
    assert!(!out.status.success());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr_of(&out)
    );
    assert!(
        text.contains("DELETES the volume and all its data"),
        "{text}"
    );
    let plan = s.run(&["plan"]);
    let shown = String::from_utf8_lossy(&plan.stdout);
    assert_eq!(plan.status.code(), Some(1), "{shown}");
    assert!(!shown.contains("No changes"), "{shown}");
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let s = TestStack::new("closedout", SLEEPER);
    s.ok(&["up", "-d", "--no-agent"]);
    for args in [
        &["ps"][..],
        &["config"][..],
        &["ps", "--format", "json"][..],
    ] {
        let mut child = s
            .command(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before anything is written.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = stderr_of(&out);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        use std::os::unix::process::ExitStatusExt;
        assert!(
            out.status.success() || out.status.signal() == Some(13),
            "{args:?}: {:?} {err}",
            out.status
        );
    }
}

/// Run `stack ps` with `env`, killing it if it has not ended in 60 s
/// (a hang fails the test instead of wedging the suite).
fn ps_with(s: &TestStack, env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = s.command(&["ps"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let id = child.id();
    let guard = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(60));
        let _ = Command::new("kill").args(["-9", &id.to_string()]).status();
    });
    let out = child.wait_with_output().unwrap();
    drop(guard);
    out
}

#[test]
fn engine_addresses_are_read_as_the_docker_cli_reads_them() {
    let s = TestStack::new("enginehost", SLEEPER);
    // Empty: the default socket.
    let out = ps_with(&s, &[("DOCKER_HOST", "")]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    // A scheme we do not speak says so.
    let out = ps_with(&s, &[("DOCKER_HOST", "ssh://admin@build-host")]);
    assert!(!out.status.success());
    assert!(
        stderr_of(&out).contains("`ssh://` scheme is not supported"),
        "{}",
        stderr_of(&out)
    );
    // An engine that accepts and never answers: a clear error at the deadline.
    let sock = s.dir.join("wedged.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let held = std::thread::spawn(move || {
        // Accept, read nothing, answer nothing, until the test ends.
        let conns: Vec<_> = listener.incoming().take(4).collect();
        std::thread::sleep(Duration::from_secs(20));
        drop(conns);
    });
    let host = format!("unix://{}", sock.display());
    let out = ps_with(&s, &[("DOCKER_HOST", &host), ("STACK_ENGINE_TIMEOUT", "2")]);
    assert!(!out.status.success());
    assert!(
        stderr_of(&out).contains("did not answer within 2s"),
        "{}",
        stderr_of(&out)
    );
    drop(held);
}

#[test]
fn a_grace_period_longer_than_the_engine_deadline_still_stops() {
    // busybox `sleep` as PID 1 ignores SIGTERM: the stop takes the grace.
    let s = TestStack::new(
        "longgrace",
        "services:\n  app:\n    image: busybox:1.36\n    command: [sleep, infinity]\n    stop_grace_period: 4s\n",
    );
    s.ok(&["up", "-d", "--no-agent"]);
    let mut down = s.command(&["down"]);
    down.env("STACK_ENGINE_TIMEOUT", "2");
    stack_e2e::succeed(down);
    assert!(s.containers().is_empty());
}

#[test]
fn a_host_port_held_by_a_process_blocks_the_plan_naming_it() {
    let held = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let s = TestStack::new(
        "portheld",
        &format!("services:\n  web:\n    image: busybox:1.36\n    init: true\n    command: [sleep, infinity]\n    ports: ['{port}:80']\n"),
    );
    let out = s.run(&["up", "-d", "--no-agent"]);
    assert!(!out.status.success());
    let err = stderr_of(&out);
    assert!(
        err.contains(&format!("host port {port}/tcp is in use by"))
            && err.contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    assert!(s.containers().is_empty(), "nothing was created");
    assert!(s.networks().is_empty(), "nothing was created");
    drop(held);
    s.ok(&["up", "-d", "--no-agent"]);
}

#[test]
fn exec_with_a_terminal_returns_when_the_command_exits() {
    let s = TestStack::new("exectty", SLEEPER);
    s.ok(&["up", "-d", "--no-agent"]);
    // `script` gives `stack exec` a pseudo-terminal; nobody types a key.
    let line = format!(
        "{} -p {} exec app sh -c 'echo inside; exit 3'",
        stack_e2e::stack_bin().display(),
        s.project
    );
    let mut child = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env("STACK_STATE_DIR", s.dir.join("state"))
        .current_dir(&s.dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let keep_stdin_open = child.stdin.take();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("stack exec with a terminal did not return after its command exited");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(keep_stdin_open);
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    assert!(out.contains("inside"), "{out}");
    assert_eq!(status.code(), Some(3), "{out}");
}
