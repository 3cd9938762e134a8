//! `stack agent`: one background process per project that keeps the stack
//! healed (see `reconciler::heal`), and the commands around it. Its files
//! are `reconciler::agent_files`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Subcommand;
use reconciler::agent::{AgentHost, LoopTiming};
use reconciler::agent_files::{AgentFiles, Holder};
use reconciler::dns_feed::{self, DnsOptions};
use reconciler::heal::{Backoff, Entry, Healer, SystemClock, HISTORY_LEN};
use reconciler::lock::{LockError, ProjectLock};
use schema::Project;
use tokio_util::sync::CancellationToken;

use crate::progress::{Mode, Reporter};
use crate::project::ProjectArgs;
use crate::session::{connect, Session};

/// How the agent heals and serves DNS: options of `stack agent` and of
/// the `stack up` that starts it.
#[derive(Debug, Clone, clap::Args)]
pub struct AgentOptions {
    /// Seconds before the first restart of a crashed replica (doubles up to 300).
    #[arg(long, default_value_t = 10)]
    backoff: u64,
    /// Seconds after a replica starts during which it is not replaced for
    /// being unhealthy (on top of its healthcheck's start_period).
    #[arg(long, default_value_t = 0, value_name = "SECONDS")]
    grace: u64,
    /// Loopback port where the host can ask the stack's DNS
    /// (`dig @127.0.0.1 -p 5380 web.<project>.stack`); 0: none.
    #[arg(long, default_value_t = 5380, value_name = "PORT")]
    dns_port: u16,
    /// Resolver for names that are not the stack's, as IP or IP:PORT
    /// (repeat for more; default: the host's, from /etc/resolv.conf).
    #[arg(long, value_name = "ADDR")]
    dns_upstream: Vec<String>,
    /// Time to live of the stack's DNS answers, in seconds (short, so
    /// health changes reach clients fast).
    #[arg(long, default_value_t = dns_feed::DEFAULT_TTL, value_name = "SECONDS")]
    dns_ttl: u32,
    /// Do not serve the stack's DNS (names then resolve through the engine only).
    #[arg(long)]
    no_dns: bool,
}

impl AgentOptions {
    /// How long a replica replaced in a rolling update keeps serving after
    /// it leaves the DNS: until answers naming it have expired, and a second.
    pub fn drain(&self) -> Duration {
        Duration::from_secs(u64::from(self.dns_ttl) + 1)
    }

    /// The same options as command-line arguments, for the agent process.
    fn to_args(&self) -> Vec<String> {
        let mut out = vec![
            "--backoff".to_string(),
            self.backoff.to_string(),
            "--grace".to_string(),
            self.grace.to_string(),
            "--dns-port".to_string(),
            self.dns_port.to_string(),
            "--dns-ttl".to_string(),
            self.dns_ttl.to_string(),
        ];
        for u in &self.dns_upstream {
            out.extend(["--dns-upstream".to_string(), u.clone()]);
        }
        if self.no_dns {
            out.push("--no-dns".into());
        }
        out
    }

    /// How to serve DNS, or `None` for no DNS.
    fn dns(&self) -> anyhow::Result<Option<DnsOptions>> {
        if self.no_dns {
            return Ok(None);
        }
        let mut dns = DnsOptions {
            loopback_port: (self.dns_port != 0).then_some(self.dns_port),
            ttl: self.dns_ttl,
            ..DnsOptions::default()
        };
        if !self.dns_upstream.is_empty() {
            dns.upstreams = self
                .dns_upstream
                .iter()
                .map(|u| parse_upstream(u))
                .collect::<anyhow::Result<_>>()?;
        }
        Ok(Some(dns))
    }
}

impl Default for AgentOptions {
    fn default() -> Self {
        AgentOptions {
            backoff: 10,
            grace: 0,
            dns_port: 5380,
            dns_ttl: dns_feed::DEFAULT_TTL,
            dns_upstream: Vec::new(),
            no_dns: false,
        }
    }
}

/// `10.0.0.1` (port 53) or `10.0.0.1:5353` or `[fd00::1]:53`.
fn parse_upstream(text: &str) -> anyhow::Result<SocketAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    text.parse().map_err(|_| {
        anyhow::anyhow!("--dns-upstream `{text}` is not an IP address or IP:PORT (e.g. 10.0.0.1 or 127.0.0.1:5353)")
    })
}

/// Arguments of `stack agent`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run in this process (for systemd, or to watch it work) instead of
    /// starting it in the background.
    #[arg(long)]
    foreground: bool,
    #[command(flatten)]
    options: AgentOptions,
    /// Also converge whenever the stack file, an env file or `.env` changes
    /// (as `stack up --watch` does).
    #[arg(long)]
    watch: bool,
    #[command(subcommand)]
    action: Option<Action>,
}

/// `stack agent ...`.
#[derive(Debug, Subcommand)]
enum Action {
    /// Is the agent running, and what did it do last?
    Status,
    /// What the agent did, with reasons.
    Log {
        /// Only the last N entries.
        #[arg(short = 'n', long, default_value_t = 50)]
        tail: usize,
    },
    /// Stop the agent.
    Stop,
    /// Print a systemd unit that runs the agent for this project.
    Install,
}

/// The agent's pid, when our agent runs for `project`.
pub fn running_pid(project: &str) -> anyhow::Result<Option<i32>> {
    Ok(AgentFiles::open(project)?.running_pid()?)
}

/// Start the agent in the background unless one runs; returns its pid.
pub fn start_detached(
    project_args: &ProjectArgs,
    project: &str,
    options: &AgentOptions,
    watch: bool,
) -> anyhow::Result<i32> {
    let files = AgentFiles::open(project)?;
    if let Some(pid) = files.running_pid()? {
        return Ok(pid);
    }
    let log = files.open_log()?;
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    cmd.args(project_args.to_args()?)
        .args(["agent", "--foreground"])
        .args(options.to_args())
        .args(watch.then_some("--watch"))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // Its own process group: Ctrl-C in this terminal does not reach it.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child = cmd.spawn()?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Some(pid) = files.running_pid()? {
            return Ok(pid);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    anyhow::bail!(
        "the agent (pid {}) did not start; the end of {}:\n{}",
        child.id(),
        files.log_path().display(),
        files.log_tail(10).join("\n")
    )
}

/// Stop the agent of `project`, if one runs, and wait for it to exit. A
/// lock held by a process that is not our agent is reported, and that
/// process is never signalled.
pub fn stop(project: &str) -> anyhow::Result<bool> {
    let files = AgentFiles::open(project)?;
    let pid = match files.holder()? {
        Holder::None => return Ok(false),
        Holder::Agent(pid) => pid,
        Holder::Unknown(text) => anyhow::bail!(
            "the agent lock of `{project}` is held by something that is not a stack agent ({text}); not signalling it"
        ),
    };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )?;
    let deadline = Instant::now() + Duration::from_secs(15);
    while files.running_pid()?.is_some() {
        if Instant::now() > deadline {
            anyhow::bail!("the agent (pid {pid}) did not stop within 15s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(true)
}

/// Reloads the stack every pass and writes the history file.
struct Host {
    args: ProjectArgs,
    project: String,
    files: AgentFiles,
    history: Vec<Entry>,
    load_failed: bool,
}

impl Host {
    /// The model the last `up` applied, loaded from its record, with its
    /// scale and digests.
    fn applied(&self) -> Option<(Arc<Project>, BTreeMap<String, String>)> {
        let run = self.files.applied()?;
        let mut project = match crate::project::load_guarded(&run.options()) {
            Ok(loaded) => loaded.project,
            Err(report) => {
                tracing::warn!("the record of the last `stack up` does not load:\n{report}");
                return None;
            }
        };
        if let Err(e) = crate::commands::up::apply_scale(&mut project, &run.scale) {
            tracing::warn!("the record of the last `stack up`: {e}");
            return None;
        }
        Some((Arc::new(project), run.digests))
    }
}

impl AgentHost for Host {
    fn load(&mut self) -> Option<(Arc<Project>, BTreeMap<String, String>)> {
        // What the last `up` applied, once one did; the files themselves
        // only before that (an agent started on its own, or by systemd).
        if let Some(applied) = self.applied() {
            return Some(applied);
        }
        let mut opts = schema::Options::from_process().ok()?;
        opts.files = self.args.files.clone();
        opts.project_name = Some(self.project.clone());
        opts.project_directory = self.args.project_directory.clone();
        opts.env_files = self.args.env_files.clone();
        opts.profiles = self.args.profiles.clone();
        match crate::project::load_guarded(&opts) {
            Ok(loaded) => {
                self.load_failed = false;
                let files = match reconciler::files::prepare(&loaded.project, &opts.environment) {
                    Ok(files) => files,
                    Err(e) => {
                        tracing::warn!("{e}; healing with the last good stack file");
                        return None;
                    }
                };
                Some((Arc::new(loaded.project), files))
            }
            Err(diags) => {
                if !self.load_failed {
                    tracing::warn!(
                        "the stack file does not load; healing with the last good one:\n{diags}"
                    );
                }
                self.load_failed = true;
                None
            }
        }
    }

    fn lock(&mut self) -> Option<Box<dyn Send>> {
        ProjectLock::acquire(&self.project, "agent")
            .ok()
            .map(|l| Box::new(l) as Box<dyn Send>)
    }

    fn stopped(&mut self) -> BTreeSet<String> {
        self.files.stopped()
    }

    fn record(&mut self, entry: &Entry) {
        self.history.push(entry.clone());
        if self.history.len() > HISTORY_LEN {
            self.history.drain(..self.history.len() - HISTORY_LEN);
        }
        if let Err(e) = self.files.write_history(&self.history) {
            tracing::warn!("cannot write the agent history: {e}");
        }
    }
}

/// Run the agent in this process until `shutdown`: heal the stack and
/// serve its DNS. Returns `false` without doing anything when another
/// agent already runs for `project`.
pub async fn host(
    project_args: &ProjectArgs,
    project: &str,
    options: &AgentOptions,
    watch: bool,
    shutdown: &CancellationToken,
) -> anyhow::Result<bool> {
    // Someone looking at the lock holds it for an instant: try again
    // briefly (not longer: a real agent may be on its way out, and then
    // this one must not take over from a `stack down`).
    let deadline = Instant::now() + Duration::from_millis(200);
    let _lock = loop {
        match ProjectLock::acquire_agent(project) {
            Ok(l) => break l,
            Err(LockError::Busy { .. }) if Instant::now() >= deadline => return Ok(false),
            Err(LockError::Busy { .. }) => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(e) => return Err(e.into()),
        }
    };
    let files = AgentFiles::open(project)?;
    let dns_options = options.dns()?.map(|d| DnsOptions {
        status_file: Some((files.state().clone(), files.dns_status_name())),
        ..d
    });
    let engine = connect().await?;
    let healer = Healer::new(
        engine.clone(),
        Backoff {
            initial: Duration::from_secs(options.backoff),
            ..Backoff::default()
        },
        Arc::new(SystemClock),
    )
    .with_grace(Duration::from_secs(options.grace));
    let mut host = Host {
        args: project_args.clone(),
        project: project.to_string(),
        history: files.history(),
        files: files.clone(),
        load_failed: false,
    };
    tracing::info!("agent for project `{project}` started");
    let heal = reconciler::agent::run(
        engine.clone(),
        healer,
        &mut host,
        LoopTiming::default(),
        shutdown.clone(),
    );
    let dns = async {
        if let Some(dns_options) = dns_options {
            dns_feed::serve(engine, project.to_string(), dns_options, shutdown.clone()).await;
        }
    };
    let watching = async {
        if !watch {
            return Ok(());
        }
        let up = crate::commands::up::detached(Vec::new(), Default::default());
        let reporter = Arc::new(Reporter::new(Mode::Plain));
        crate::commands::watch::run(project_args, &up, &reporter, shutdown).await?;
        Ok::<_, anyhow::Error>(())
    };
    let (_, _, watched) = tokio::join!(heal, dns, watching);
    watched?;
    tracing::info!("agent for project `{project}` stopped");
    Ok(true)
}

async fn run_foreground(
    project_args: &ProjectArgs,
    project: &str,
    options: &AgentOptions,
    watch: bool,
) -> anyhow::Result<ExitCode> {
    let shutdown = CancellationToken::new();
    let on_signal = shutdown.clone();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        on_signal.cancel();
    });
    if !host(project_args, project, options, watch, &shutdown).await? {
        let holder = ProjectLock::agent_holder(project)?.unwrap_or_default();
        eprintln!("an agent already runs for project `{project}` ({holder})");
    }
    Ok(ExitCode::SUCCESS)
}

/// Run `stack agent`.
pub async fn run(project_args: &ProjectArgs, args: &Args) -> anyhow::Result<ExitCode> {
    let Some(session) = Session::open(project_args, &[]).await? else {
        return Ok(ExitCode::FAILURE);
    };
    let project = session.name();
    match &args.action {
        None if args.foreground => {
            run_foreground(project_args, &project, &args.options, args.watch).await
        }
        None => {
            let pid = start_detached(project_args, &project, &args.options, args.watch)?;
            println!(
                "agent for `{project}` runs (pid {pid}); its output: {}",
                AgentFiles::open(&project)?.log_path().display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(Action::Status) => {
            let files = AgentFiles::open(&project)?;
            match files.holder()? {
                Holder::Agent(pid) => {
                    println!("agent for `{project}` runs (pid {pid})");
                    let dns = files.dns_status();
                    if !dns.is_empty() {
                        println!("the stack's DNS:");
                        for line in dns.lines() {
                            println!("  {line}");
                        }
                    }
                }
                Holder::Unknown(text) => println!(
                    "the agent lock of `{project}` is held by something that is not a stack agent ({text})"
                ),
                Holder::None => {
                    println!("no agent runs for `{project}` (start one with `stack agent`)")
                }
            }
            let stopped = files.stopped();
            if !stopped.is_empty() {
                println!(
                    "left alone (stopped by the user): {}",
                    stopped.into_iter().collect::<Vec<_>>().join(", ")
                );
            }
            for e in files.history().iter().rev().take(5).rev() {
                println!("  {} {e}", local_time(e.time));
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Action::Log { tail }) => {
            let history = AgentFiles::open(&project)?.history();
            for e in history.iter().skip(history.len().saturating_sub(*tail)) {
                println!("{} {e}", local_time(e.time));
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Action::Stop) => {
            if !stop(&project)? {
                println!("no agent runs for `{project}`");
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Action::Install) => {
            let unit = systemd_unit(project_args, &session, &project)?;
            std::io::stdout().write_all(unit.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `2026-12-02 04:05:31`, in the machine's time zone.
fn local_time(unix_seconds: u64) -> String {
    let Ok(ts) = jiff::Timestamp::from_second(unix_seconds.try_into().unwrap_or(i64::MAX)) else {
        return unix_seconds.to_string();
    };
    ts.to_zoned(jiff::tz::TimeZone::system())
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// A word of a systemd command line, quoted when it needs to be (systemd
/// splits `ExecStart=` like a shell: spaces, quotes, backslashes, and `%`
/// and `$` are its own specifiers).
fn systemd_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,+@".contains(c));
    if plain {
        return word.to_string();
    }
    let mut out = String::from("\"");
    for c in word.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '%' => out.push_str("%%"),
            '$' => out.push_str("$$"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A value of a systemd environment file: double-quoted, with `"`, `\\`
/// and newlines escaped (systemd expands neither `$` nor `%` there).
fn env_file_quote(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A systemd unit running this project's agent. The variables the stack
/// file interpolates go to an environment file (0600, in the persistent
/// state directory) that the unit names, so the agent started at boot
/// reads the file as `stack up` did.
fn systemd_unit(
    project_args: &ProjectArgs,
    session: &Session,
    project: &str,
) -> anyhow::Result<String> {
    let exe = std::env::current_exe()?;
    let mut words = vec![exe.to_string_lossy().into_owned()];
    words.extend(
        project_args
            .to_args()?
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned()),
    );
    if project_args.project_name.is_none() {
        words.extend(["-p".to_string(), project.to_string()]);
    }
    words.extend(["agent".to_string(), "--foreground".to_string()]);
    let exec: Vec<String> = words.iter().map(|w| systemd_quote(w)).collect();
    let state = reconciler::state::StateDir::persistent()?;
    let env_name = format!("{project}.agent.env");
    let env: String = session
        .applied
        .environment
        .iter()
        .map(|(k, v)| format!("{k}={}\n", env_file_quote(v)))
        .collect();
    state.write(&env_name, env.as_bytes())?;
    let env_path = state.file(&env_name)?;
    Ok(format!(
        "# Save as /etc/systemd/system/stack-agent-{project}.service, then:\n#   systemctl daemon-reload && systemctl enable --now stack-agent-{project}\n[Unit]\nDescription=stack agent for project {project}\nAfter=docker.service\nRequires=docker.service\n\n[Service]\nEnvironmentFile={}\nExecStart={}\nKillSignal=SIGTERM\nRestart=on-failure\n\n[Install]\nWantedBy=multi-user.target\n",
        env_path.to_string_lossy().replace('%', "%%"),
        exec.join(" ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_local_and_readable() {
        let t = local_time(1_764_648_331);
        let shape: Vec<usize> = t.split([' ', '-', ':']).map(str::len).collect();
        assert_eq!(shape, vec![4, 2, 2, 2, 2, 2], "{t}");
    }

    #[test]
    fn unit_words_with_spaces_and_specifiers_are_quoted() {
        assert_eq!(systemd_quote("/usr/bin/stack"), "/usr/bin/stack");
        assert_eq!(
            systemd_quote("/home/ann/my stacks/stack.yaml"),
            "\"/home/ann/my stacks/stack.yaml\""
        );
        assert_eq!(systemd_quote("50%$HOME\"x"), "\"50%%$$HOME\\\"x\"");
        assert_eq!(env_file_quote("a \"b\"\nc"), "\"a \\\"b\\\"\\nc\"");
    }
}
