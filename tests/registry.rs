//! Registries: a real one (Debian's `docker-registry`, the CNCF
//! Distribution registry) started by each test on a port of its own, with
//! htpasswd logins and, in one case, TLS; credentials in a test-owned
//! `DOCKER_CONFIG`, as `docker login` writes them. The docker CLI, reading
//! the same file, is the independent witness.

use std::io::Write;
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use stack_e2e::{docker, free_port, try_docker, wait_until, DockerCleanup, TestStack};

/// A password with the characters a standard-base64 header would mangle.
const PASSWORD: &str = "s3cr?t~>pw";

/// A registry process of the test's own.
struct Registry {
    /// `host:port` as images name it.
    host: String,
    dir: PathBuf,
    child: Child,
}

impl Registry {
    /// Serve on `address` (an IP), with the `alice` login when `auth`, and
    /// with `tls` (certificate, key) when given. `None` when the registry
    /// binary is not installed (the test then says so and passes).
    fn start(
        name: &str,
        address: &str,
        auth: bool,
        tls: Option<(&Path, &Path)>,
    ) -> Option<Registry> {
        if !Path::new("/usr/bin/docker-registry").exists() {
            eprintln!("SKIPPED: no /usr/bin/docker-registry (apt install docker-registry)");
            return None;
        }
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("test-registry-{name}-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("data")).expect("registry dir");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {address}:{port}\n",
            dir.join("data").display()
        );
        if let Some((cert, key)) = tls {
            config += &format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            );
        }
        if auth {
            // htpasswd reads the password from stdin (-i), not an argument.
            let mut htpasswd = Command::new("htpasswd")
                .args(["-iBn", "alice"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("htpasswd (apt install apache2-utils)");
            htpasswd
                .stdin
                .take()
                .expect("stdin")
                .write_all(PASSWORD.as_bytes())
                .expect("password");
            let out = htpasswd.wait_with_output().expect("htpasswd");
            std::fs::write(dir.join("htpasswd"), out.stdout).expect("htpasswd file");
            config += &format!(
                "auth:\n  htpasswd:\n    realm: test\n    path: {}\n",
                dir.join("htpasswd").display()
            );
        }
        std::fs::write(dir.join("config.yml"), config).expect("registry config");
        let child = Command::new("/usr/bin/docker-registry")
            .arg("serve")
            .arg(dir.join("config.yml"))
            .stdout(std::fs::File::create(dir.join("log")).expect("log"))
            .stderr(Stdio::null())
            .spawn()
            .expect("start the registry");
        let host = format!("{address}:{port}");
        wait_until(Duration::from_secs(20), "the registry to listen", || {
            TcpStream::connect(&host).is_ok()
        });
        Some(Registry { host, dir, child })
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `stack ARGS` for `s` with `config` as `DOCKER_CONFIG` and `stdin`.
fn stack_in(s: &TestStack, config: &Path, args: &[&str], stdin: &str) -> Output {
    stack_with(s, config, &[], args, stdin)
}

/// As [`stack_in`], with more environment variables.
fn stack_with(
    s: &TestStack,
    config: &Path,
    env: &[(&str, &str)],
    args: &[&str],
    stdin: &str,
) -> Output {
    let mut cmd = s.command(args);
    cmd.env("DOCKER_CONFIG", config)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run stack");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("stack")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "failed:\n{}", text(&out));
    text(&out)
}

/// `docker --config DIR ARGS`: the docker CLI with the test's credentials.
fn docker_with(config: &Path, args: &[&str]) -> String {
    let mut all = vec!["--config", config.to_str().expect("utf-8 path")];
    all.extend_from_slice(args);
    docker(&all)
}

#[test]
fn login_pull_logout_with_a_private_registry() {
    let Some(registry) = Registry::start("login", "127.0.0.1", true, None) else {
        return;
    };
    let image = format!("{}/private/bb:1", registry.host);
    let _image = DockerCleanup::image(&image);
    let derived = format!("test-reglogin-derived-{}:1", std::process::id());
    let _derived = DockerCleanup::image(&derived);
    let s = TestStack::new(
        "reglogin",
        &format!(
            r#"services:
  app:
    image: {image}
    command: ["sleep", "300"]
  derived:
    image: {derived}
    build:
      context: .
      dockerfile_inline: |
        FROM {image}
        RUN touch /derived
    command: ["sleep", "300"]
"#
        ),
    );
    let config = s.dir.join("docker");
    let host = registry.host.as_str();

    // A wrong password is refused, by the registry, and nothing is kept.
    let out = stack_in(
        &s,
        &config,
        &["login", "-u", "alice", "--password-stdin", host],
        "wrong\n",
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains(&format!("login to {host} failed")),
        "{}",
        text(&out)
    );
    assert!(!config.join("config.json").exists());

    let out = ok(stack_in(
        &s,
        &config,
        &["login", "-u", "alice", "--password-stdin", host],
        &format!("{PASSWORD}\n"),
    ));
    assert!(out.contains("Login Succeeded"), "{out}");
    assert!(!out.contains(PASSWORD), "{out}");
    let file = config.join("config.json");
    let mode = std::fs::metadata(&file)
        .expect("config.json")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("json");
    let auth = saved["auths"][host]["auth"]
        .as_str()
        .expect("an auth entry");
    let decoded = Command::new("base64")
        .arg("-d")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().expect("stdin").write_all(auth.as_bytes())?;
            c.wait_with_output()
        })
        .expect("base64");
    assert_eq!(
        String::from_utf8_lossy(&decoded.stdout),
        format!("alice:{PASSWORD}")
    );

    // The docker CLI reads the login stack filed: it pushes with it.
    docker(&["tag", "busybox:1.36", &image]);
    docker_with(&config, &["push", &image]);
    docker(&["rmi", &image]);

    // A build whose base image is private pulls it with the login.
    ok(stack_in(&s, &config, &["build"], ""));
    assert!(
        try_docker(&["image", "inspect", &image]).is_some(),
        "the build pulled its base"
    );
    docker(&["rmi", &image]);

    // `up` pulls the private image with the login, and runs it.
    let progress = stack_in(&s, &config, &["up", "-d", "app"], "");
    let progress = ok(progress);
    assert!(progress.contains(&format!("pull {image}")), "{progress}");
    assert!(!progress.contains(PASSWORD), "{progress}");
    let states = s.states();
    assert_eq!(
        states.values().collect::<Vec<_>>(),
        vec!["running"],
        "{states:?}"
    );
    let inspect = docker(&["inspect", &format!("{}-app-1", s.project)]);
    assert!(
        !inspect.contains(PASSWORD) && !inspect.contains(auth),
        "the login is in no label"
    );

    // Logged out, the same pull fails before any container exists, and
    // says what to do.
    ok(stack_in(&s, &config, &["down"], ""));
    docker(&["rmi", &image]);
    let out = ok(stack_in(&s, &config, &["logout", host], ""));
    assert!(
        out.contains(&format!("Removing login credentials for {host}")),
        "{out}"
    );
    let out = stack_in(&s, &config, &["up", "-d"], "");
    assert!(!out.status.success());
    let said = text(&out);
    assert!(said.contains(&format!("stack login {host}")), "{said}");
    assert!(said.contains("service `app`"), "{said}");
    assert!(s.containers().is_empty(), "nothing was created");
}

/// A credential helper written as a shell script: keeps each login in a
/// file of its own, as the protocol describes.
fn write_helper(bin: &Path, store: &Path) {
    std::fs::create_dir_all(bin).expect("bin");
    std::fs::create_dir_all(store).expect("store");
    let script = bin.join("docker-credential-stacktest");
    std::fs::write(
        &script,
        format!(
            r#"#!/bin/sh
store={store}
key() {{ echo "$1" | tr '/:' '__'; }}
case "$1" in
  get) read -r server; f="$store/$(key "$server")"
       if [ -f "$f" ]; then cat "$f"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  store) body=$(cat); server=$(echo "$body" | sed 's/.*"ServerURL":"\([^"]*\)".*/\1/')
       printf '%s' "$body" > "$store/$(key "$server")" ;;
  erase) read -r server; rm -f "$store/$(key "$server")" ;;
esac
"#,
            store = store.display()
        ),
    )
    .expect("helper");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[test]
fn a_credential_helper_login_pushes_a_build_and_pins_its_digest() {
    let Some(registry) = Registry::start("helper", "127.0.0.1", true, None) else {
        return;
    };
    let host = registry.host.clone();
    let image = format!("{host}/team/app:1");
    let extra = format!("{host}/team/app:2");
    let _cleanup = (DockerCleanup::image(&image), DockerCleanup::image(&extra));
    let s = TestStack::new(
        "reghelper",
        &format!(
            r#"services:
  app:
    image: {image}
    build:
      context: .
      dockerfile_inline: |
        FROM busybox:1.36
        ARG WORD
        RUN echo "$$WORD" > /built
      args:
        WORD: built-here
      labels:
        team: blue
      tags: ["{extra}"]
    command: ["sleep", "300"]
"#
        ),
    );
    let config = s.dir.join("docker");
    std::fs::create_dir_all(&config).expect("config dir");
    std::fs::write(config.join("config.json"), r#"{"credsStore": "stacktest"}"#).expect("config");
    let bin = s.dir.join("bin");
    let store = s.dir.join("helper-store");
    write_helper(&bin, &store);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |args: &[&str], stdin: &str| stack_with(&s, &config, &[("PATH", &path)], args, stdin);

    // The login goes to the helper; config.json keeps only a marker.
    let out = ok(run(
        &["login", "-u", "alice", "--password-stdin", &host],
        PASSWORD,
    ));
    assert!(out.contains("docker-credential-stacktest"), "{out}");
    let file = std::fs::read_to_string(config.join("config.json")).expect("config.json");
    assert!(!file.contains(PASSWORD) && file.contains(&host), "{file}");
    let held = std::fs::read_dir(&store).expect("store").count();
    assert_eq!(held, 1, "the helper holds the login");

    // Pushing before building names what is missing.
    assert!(!run(&["push"], "").status.success());

    // Build and push both tags; the build honours args and labels.
    let out = ok(run(&["build", "--push"], ""));
    for tag in [&image, &extra] {
        assert!(out.contains(&format!("push {tag}")), "{out}");
    }
    let labels = docker(&["image", "inspect", "-f", "{{.Config.Labels.team}}", &image]);
    assert_eq!(labels.trim(), "blue");

    // The registry's digest, as the engine recorded it when pushing.
    let repo_digest = docker(&["image", "inspect", "-f", "{{index .RepoDigests 0}}", &image]);
    let digest = repo_digest
        .trim()
        .rsplit('@')
        .next()
        .expect("digest")
        .to_string();
    let resolved = ok(run(&["config", "--resolve-image-digests"], ""));
    assert!(
        resolved.contains(&format!("image: {image}@{digest}")),
        "{resolved}"
    );
    let lock =
        String::from_utf8_lossy(&run(&["config", "--lock-image-digests"], "").stdout).into_owned();
    assert!(lock.contains(&format!("image: {image}@{digest}")), "{lock}");
    assert!(
        !lock.contains("build") && !lock.contains("command"),
        "only images: {lock}"
    );

    // On a clean engine state (no local image), `pull` brings it back and
    // `up` runs what was built.
    docker(&["rmi", &image, &extra]);
    assert_eq!(try_docker(&["image", "inspect", &image]), None);
    ok(run(&["pull"], ""));
    let out = ok(run(&["up", "-d"], ""));
    assert!(!out.contains("build "), "pulled, not rebuilt: {out}");
    let (code, built) = s.exec(&format!("{}-app-1", s.project), &["cat", "/built"]);
    assert_eq!((code, built.trim()), (0, "built-here"));

    // Logging out erases it from the helper too.
    ok(run(&["logout", &host], ""));
    assert_eq!(std::fs::read_dir(&store).expect("store").count(), 0);
}

/// Removes a directory when dropped (the CA the test put in certs.d).
struct RemoveDir(PathBuf);

impl Drop for RemoveDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A CA and a certificate it signed for `ip`, in `dir`: (ca, cert, key).
fn certificates(dir: &Path, ip: &str) -> (PathBuf, PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).expect("cert dir");
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "1",
        "-subj",
        "/CN=stack test CA",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "req.csr",
        "-subj",
        &format!("/CN={ip}"),
    ]);
    std::fs::write(dir.join("san.ext"), format!("subjectAltName=IP:{ip}\n")).expect("san");
    openssl(&[
        "x509",
        "-req",
        "-in",
        "req.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "1",
        "-extfile",
        "san.ext",
    ]);
    (
        dir.join("ca.crt"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    )
}

#[test]
fn an_untrusted_certificate_names_the_file_to_put_the_ca_in() {
    // The engine trusts loopback registries without checking certificates,
    // so this registry listens on the gateway of a network the test makes.
    let network = format!("test-regtls-{}", std::process::id());
    docker(&["network", "create", &network]);
    let _network = DockerCleanup::remove("network", &network);
    let gateway = stack_e2e::network_gateway(&network);
    let certs = std::env::temp_dir().join(format!("{network}-certs"));
    let _certs = RemoveDir(certs.clone());
    let (ca, cert, key) = certificates(&certs, &gateway);
    let Some(registry) = Registry::start("tls", &gateway, false, Some((&cert, &key))) else {
        return;
    };
    let host = registry.host.clone();
    let trust = PathBuf::from(format!("/etc/docker/certs.d/{host}"));
    let _trust = RemoveDir(trust.clone());
    let image = format!("{host}/bb:1");
    let _image = DockerCleanup::image(&image);

    // With the CA trusted, the image goes in.
    std::fs::create_dir_all(&trust).expect("certs.d");
    std::fs::copy(&ca, trust.join("ca.crt")).expect("ca");
    docker(&["tag", "busybox:1.36", &image]);
    docker(&["push", &image]);
    docker(&["rmi", &image]);

    let s = TestStack::new(
        "regtls",
        &format!("services:\n  app:\n    image: {image}\n    command: [\"sleep\", \"300\"]\n"),
    );
    let config = s.dir.join("docker");
    std::fs::remove_dir_all(&trust).expect("untrust");
    let out = stack_in(&s, &config, &["pull"], "");
    assert!(!out.status.success());
    let said = text(&out);
    assert!(
        said.contains(&format!("/etc/docker/certs.d/{host}/ca.crt")),
        "{said}"
    );

    std::fs::create_dir_all(&trust).expect("certs.d");
    std::fs::copy(&ca, trust.join("ca.crt")).expect("ca");
    ok(stack_in(&s, &config, &["pull"], ""));
    assert!(try_docker(&["image", "inspect", &image]).is_some());
}

/// The example's README, its first `sh` block run as written by bash, with
/// `stack` on the PATH naming each folder's project `test-...` (the
/// engine is shared) and a test-owned `DOCKER_CONFIG`.
#[test]
fn the_registry_examples_readme_runs_as_written() {
    if !Path::new("/usr/bin/docker-registry").exists() {
        eprintln!("SKIPPED: no /usr/bin/docker-registry (apt install docker-registry)");
        return;
    }
    assert!(
        std::net::TcpListener::bind("127.0.0.1:5000").is_ok(),
        "the example publishes 127.0.0.1:5000, which something else holds"
    );
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/registry");
    let read = |name: &str| std::fs::read_to_string(example.join(name)).expect(name);
    let registry = TestStack::new("registry", &read("stack.yaml"));
    let hello = TestStack::new("hello", &read("hello/stack.yaml"));
    let _image = DockerCleanup::image("localhost:5000/course/hello:1");
    for name in ["config.yml", "image.sh", "certs.sh"] {
        std::fs::copy(example.join(name), registry.dir.join(name)).expect(name);
    }
    std::os::unix::fs::symlink(&hello.dir, registry.dir.join("hello")).expect("hello");
    let bin = registry.dir.join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    std::fs::write(
        bin.join("stack"),
        format!(
            "#!/bin/sh\nhere=$(pwd -P)\nSTACK_STATE_DIR=\"$here/state\" exec {} -p \"$(basename \"$here\")\" \"$@\"\n",
            stack_e2e::stack_bin().display()
        ),
    )
    .expect("wrapper");
    std::fs::set_permissions(bin.join("stack"), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");

    let readme = read("README.md");
    let steps = readme
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("a sh block in the README");
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", steps])
        .current_dir(&registry.dir)
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("DOCKER_CONFIG", registry.dir.join("docker"))
        .env("PASSWORD", PASSWORD)
        .output()
        .expect("bash");
    let said = text(&out);
    assert!(out.status.success(), "the README's steps failed:\n{said}");
    assert!(said.contains("hello from the private registry"), "{said}");
    assert!(said.contains("Login Succeeded"), "{said}");
    assert!(
        said.contains("localhost:5000/course/hello:1@sha256:"),
        "{said}"
    );
    assert!(!said.contains(PASSWORD), "the password is never printed");
    // `down` without -v kept the pushed images.
    let volume = format!("{}_registry-data", registry.project);
    assert!(
        try_docker(&["volume", "inspect", &volume]).is_some(),
        "{volume} kept"
    );
}
