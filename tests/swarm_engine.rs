//! A second Docker engine that is a swarm manager, for the tests of a
//! swarm's services. The shared engine never inits or joins a swarm: this
//! one runs in a network namespace of the test's own (so its swarm
//! listens on that namespace's loopback only), with its own data and
//! state directories and its own containerd, and is torn down on drop,
//! also when the test fails.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::wait_until;

/// The running second engine.
pub struct SwarmEngine {
    /// Its `DOCKER_HOST` (`unix://...`).
    pub host: String,
    netns: String,
    dir: PathBuf,
    daemon: Child,
}

impl SwarmEngine {
    /// Start it, make it a one-node swarm's manager, and give it the
    /// `images` the shared engine has (there is no registry to pull from).
    pub fn start(name: &str, images: &[&str]) -> SwarmEngine {
        let id = format!("test-swarm-{name}-{}", std::process::id());
        // A short directory: the socket path must fit a sockaddr_un.
        let dir = std::env::temp_dir().join(&id);
        std::fs::create_dir_all(&dir).expect("a directory for the second engine");
        // Its own settings: the host's daemon.json names the shared
        // engine's data root.
        std::fs::write(dir.join("daemon.json"), r#"{"storage-driver": "vfs"}"#)
            .expect("daemon.json");
        run("ip", &["netns", "add", &id]);
        run(
            "ip",
            &["netns", "exec", &id, "ip", "link", "set", "lo", "up"],
        );
        let log = std::fs::File::create(dir.join("dockerd.log")).expect("log file");
        let path = |p: &str| dir.join(p).to_string_lossy().into_owned();
        let host = format!("unix://{}", path("docker.sock"));
        // nsenter, not `ip netns exec`: that one mounts a fresh /sys,
        // without the cgroup hierarchy dockerd needs.
        let daemon = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{id}"))
            .arg("dockerd")
            .args(["--config-file", &path("daemon.json")])
            .args(["--data-root", &path("data")])
            .args(["--exec-root", &path("exec")])
            .args(["--pidfile", &path("dockerd.pid")])
            .args(["-H", &host])
            .args(["--iptables=false", "--ip-forward=false", "--bridge=none"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("dockerd starts");
        let engine = SwarmEngine {
            host,
            netns: id,
            dir,
            daemon,
        };
        wait_until(
            Duration::from_secs(60),
            "the second engine to answer",
            || engine.try_docker(&["version"]).is_some(),
        );
        engine.docker(&["swarm", "init", "--advertise-addr", "127.0.0.1"]);
        for image in images {
            let mut saved = Command::new("docker")
                .args(["save", image])
                .stdout(Stdio::piped())
                .spawn()
                .expect("docker save");
            let tar = saved.stdout.take().expect("the saved image");
            let loaded = Command::new("docker")
                .args(["-H", &engine.host, "load", "-q"])
                .stdin(tar)
                .output()
                .expect("docker load");
            let saved = saved.wait().expect("docker save ends");
            assert!(
                saved.success() && loaded.status.success(),
                "{image} moves to the second engine"
            );
        }
        engine
    }

    /// `docker -H <it> ARGS`: its stdout, or `None` when it failed.
    pub fn try_docker(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("docker")
            .args(["-H", &self.host])
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// As [`SwarmEngine::try_docker`], panicking on failure.
    pub fn docker(&self, args: &[&str]) -> String {
        self.try_docker(args)
            .unwrap_or_else(|| panic!("docker {} on the second engine failed", args.join(" ")))
    }
}

impl Drop for SwarmEngine {
    fn drop(&mut self) {
        let _ = self.try_docker(&["swarm", "leave", "--force"]);
        // SIGTERM: dockerd stops its containers and its containerd.
        let _ = Command::new("kill")
            .args(["-TERM", &self.daemon.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while self.daemon.try_wait().ok().flatten().is_none() {
            if std::time::Instant::now() > deadline {
                let _ = self.daemon.kill();
                let _ = self.daemon.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.netns])
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}
