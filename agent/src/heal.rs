//! The self-healing controller behind `stack agent`.
//!
//! [`Healer::reconcile`] is one idempotent pass, in the manner of a
//! kube-runtime reconciler: read the engine, compare with the stack, heal
//! what drifted, and say when to look again. It only heals; it never
//! applies a changed stack file (that is `stack up`'s job) and never
//! touches a service the user stopped with `stack stop`:
//!
//! - an exited replica is started again when its restart policy says so
//!   (`always`, `unless-stopped`, `on-failure[:max]`, or
//!   `deploy.restart_policy` with delay and max attempts), after a
//!   crash-loop backoff that doubles from 10 s to 5 min and resets once the
//!   replica has run for 10 min;
//! - an unhealthy replica is replaced (the engine only reports unhealthy
//!   after `retries` consecutive failures past `start_period`);
//! - a replica removed by hand is created again;
//! - a sidecar whose parent got a new container is recreated, so it is in
//!   the parent's namespaces again.
//!
//! Every action is kept in a bounded [`History`] with its reason.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use planner::{
    hash, labels, plan_up, Action, Change, Desired, Health, Observed, ObservedContainer, Plan,
    RunState, Step, UpOptions,
};
use schema::{Project, Service};
use serde::{Deserialize, Serialize};

use reconciler::engine::{Engine, EngineError};
use reconciler::execute::{ExecError, ExecuteOptions, Executor};
use reconciler::observe;

/// A source of "now", so tests can move time by hand.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// The real clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// Crash-loop backoff settings.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Wait before the first restart (doubled for each further one).
    pub initial: Duration,
    /// Longest wait.
    pub max: Duration,
    /// Running this long resets the count.
    pub reset_after: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_secs(10),
            max: Duration::from_secs(300),
            reset_after: Duration::from_secs(600),
        }
    }
}

impl Backoff {
    /// Wait before restart number `n` (1-based).
    pub fn delay(&self, n: u32) -> Duration {
        let factor = 2u32.saturating_pow(n.saturating_sub(1).min(20));
        self.initial.saturating_mul(factor).min(self.max)
    }
}

/// One thing the healer did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Seconds since the Unix epoch.
    pub time: u64,
    /// The container.
    pub container: String,
    /// `restarted`, `replaced`, `recreated`, `gave up on`, `failed to heal`.
    pub action: String,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.action, self.container, self.reason)
    }
}

/// The last things the healer did, oldest first, bounded.
#[derive(Debug, Clone, Default)]
pub struct History {
    entries: VecDeque<Entry>,
}

/// How many entries [`History`] keeps.
pub const HISTORY_LEN: usize = 200;

impl History {
    /// Record an entry, dropping the oldest beyond [`HISTORY_LEN`].
    pub fn push(&mut self, entry: Entry) {
        if self.entries.len() == HISTORY_LEN {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    /// The entries, oldest first.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter()
    }
}

/// Per replica: how often it was restarted lately, and when it may be again.
#[derive(Debug, Clone)]
struct Crashes {
    restarts: u32,
    not_before: Option<Instant>,
    first_seen_running: Option<Instant>,
}

/// What a pass did and when to look again.
#[derive(Debug, Default)]
pub struct Outcome {
    /// What was done, with reasons.
    pub done: Vec<Entry>,
    /// Look again after this long, even without an event.
    pub requeue: Option<Duration>,
}

/// The controller. See the module docs.
pub struct Healer {
    engine: Arc<dyn Engine>,
    backoff: Backoff,
    clock: Arc<dyn Clock>,
    crashes: BTreeMap<String, Crashes>,
    /// After a replica starts, how long being unhealthy is forgiven.
    grace: Duration,
    /// When each running container was first seen running, by id.
    running_since: BTreeMap<String, Instant>,
    /// Orphans already reported.
    reported: BTreeSet<String>,
    /// Containers the engine reported stopped or killed (by hand, or by a
    /// `stack` command) since they last started, by id.
    by_hand: BTreeSet<String>,
    /// What it did, for `stack agent log`.
    pub history: History,
}

/// A replica to start again (stopping it first when it still runs).
struct Restarting {
    id: String,
    name: String,
    reason: String,
    running: bool,
}

/// When a replica may be acted on.
enum Turn {
    Now,
    Wait(Duration),
    Never,
}

fn requeue_within(out: &mut Outcome, wait: Duration) {
    out.requeue = Some(out.requeue.map_or(wait, |r| r.min(wait)));
}

/// An engine start time (RFC 3339, fraction of any length) in a form that
/// sorts by time.
fn started_key(t: &str) -> String {
    let (head, rest) = t.split_once('.').unwrap_or((t.trim_end_matches('Z'), "Z"));
    let frac: String = rest.chars().take_while(char::is_ascii_digit).collect();
    format!("{head}.{frac:0<9}")
}

/// The restart decision for an exited replica.
#[derive(Debug, PartialEq, Eq)]
enum Restart {
    No,
    Yes {
        max_attempts: Option<u32>,
        delay: Option<Duration>,
    },
}

/// Whether the agent starts an exited replica again. One controller per
/// service, so that nothing is restarted (or counted) twice:
/// - `restart:` is the engine's: the container carries the policy, and the
///   engine restarts crashes and counts `on-failure:N`. The agent only
///   starts again an `always` replica that is stopped all the same (by
///   hand: the engine leaves those), as an orchestrator does.
/// - `deploy.restart_policy` is the agent's (the container carries none):
///   `any` restarts whatever ended it, `on-failure` a failure that was not
///   a stop by hand, `none` nothing; `max_attempts` counted here alone.
fn restart_rule(svc: &Service, code: i64, by_hand: bool) -> Restart {
    if let Some(p) = svc.deploy.as_ref().and_then(|d| d.restart_policy.as_ref()) {
        let wanted = match p.condition.as_deref().unwrap_or("any") {
            "none" => false,
            "on-failure" => code != 0 && !by_hand,
            _ => true,
        };
        return if wanted {
            Restart::Yes {
                max_attempts: p.max_attempts,
                delay: p.delay.map(|d| d.0),
            }
        } else {
            Restart::No
        };
    }
    match svc.restart {
        Some(schema::RestartPolicy::Always) => Restart::Yes {
            max_attempts: None,
            delay: None,
        },
        _ => Restart::No,
    }
}

fn why_exited(code: i64, oom_killed: bool) -> String {
    match code {
        137 if oom_killed => "exited with 137 (OOM killed)".into(),
        137 => "exited with 137 (killed)".into(),
        143 => "exited with 143 (terminated)".into(),
        c => format!("exited with {c}"),
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Healer {
    /// A healer for one project on `engine`.
    pub fn new(engine: Arc<dyn Engine>, backoff: Backoff, clock: Arc<dyn Clock>) -> Self {
        Healer {
            engine,
            backoff,
            clock,
            crashes: BTreeMap::new(),
            grace: Duration::ZERO,
            running_since: BTreeMap::new(),
            reported: BTreeSet::new(),
            by_hand: BTreeSet::new(),
            history: History::default(),
        }
    }

    /// Forgive a replica for being unhealthy during `grace` after it
    /// starts (on top of its healthcheck's `start_period`), like Nomad's
    /// `check_restart.grace`.
    pub fn with_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Learn from an engine event: a `kill` or `stop` before a container
    /// ends means someone stopped it; a `start` forgets that.
    pub fn saw(&mut self, event: &reconciler::engine::EngineEvent) {
        if event.kind != "container" {
            return;
        }
        match event.action.as_str() {
            "kill" | "stop" => {
                self.by_hand.insert(event.id.clone());
            }
            "start" | "destroy" => {
                self.by_hand.remove(&event.id);
            }
            _ => {}
        }
    }

    fn record(&mut self, out: &mut Outcome, container: &str, action: &str, reason: String) {
        let entry = Entry {
            time: unix_now(),
            container: container.to_string(),
            action: action.to_string(),
            reason,
        };
        tracing::info!("{entry}");
        self.history.push(entry.clone());
        out.done.push(entry);
    }

    /// One pass over `project`; services in `stopped` are left alone.
    pub async fn reconcile(
        &mut self,
        project: &Arc<Project>,
        files: &BTreeMap<String, String>,
        stopped: &BTreeSet<String>,
    ) -> Result<Outcome, EngineError> {
        let mut out = Outcome::default();
        let observed = observe(self.engine.as_ref(), project).await?;
        let now = self.clock.now();
        self.forget_gone(&observed, now);

        let mut plan = plan_up(
            &Desired {
                project,
                files: files.clone(),
            },
            &observed,
            &UpOptions::default(),
        );
        plan.warnings.clear();
        if !plan.blockers.is_empty() {
            // Missing images, changed volumes: `stack up` has to sort that out.
            for b in &plan.blockers {
                tracing::warn!("not healing until `stack up` is run: {}", b.message);
            }
            return Ok(out);
        }
        let mut keep: Vec<Step> = Vec::new();
        let mut restarts: Vec<Restarting> = Vec::new();
        // Replicas whose new container `up` would make but the healer does
        // not: their sidecars must not follow a replacement that is not made.
        let mut left: BTreeSet<planner::Ref> = BTreeSet::new();
        for step in plan.steps.drain(..) {
            let service = step_service(&step);
            let stopped_service = service.as_ref().is_some_and(|s| stopped.contains(s));
            match &step.action {
                Action::CreateContainer { spec } | Action::RecreateContainer { spec, .. }
                    if stopped_service =>
                {
                    left.insert(spec.of.clone());
                }
                Action::CreateContainer { .. }
                | Action::CreateNetwork { .. }
                | Action::CreateVolume { .. } => keep.push(step),
                Action::RecreateContainer { old_id, spec, .. } => {
                    // Heal only what is not a change of the file: a sidecar
                    // whose parent was replaced (or a secret that changed).
                    let old = observed.containers.iter().find(|c| &c.id == old_id);
                    let unchanged = old.is_some_and(|c| {
                        hash::runs_definition(c.labels.get(labels::CONFIG), &spec.definition)
                            && c.image_id == image_id(&observed, &spec.image)
                    });
                    let parent_left = spec.refs().iter().any(|(_, r)| left.contains(*r));
                    if unchanged && !parent_left {
                        keep.push(step);
                    } else {
                        left.insert(spec.of.clone());
                    }
                }
                // Exited replicas are judged below, by their restart policy.
                Action::StartContainer { .. } | Action::RestartContainer { .. } => {}
                // An interrupted `up` is finished by the next `up`.
                Action::AdoptContainer { .. }
                | Action::RemoveContainer { .. }
                | Action::RemoveNetwork { .. }
                | Action::RemoveVolume { .. }
                | Action::RecreateNetwork { .. }
                | Action::RecreateVolume { .. } => {}
            }
        }

        // Exited replicas come back when their restart policy says so,
        // after the crash-loop backoff.
        for c in &observed.containers {
            let RunState::Exited { code } = c.state else {
                continue;
            };
            if stopped.contains(&c.service) {
                continue;
            }
            let Some(svc) = project.services.get(&c.service) else {
                continue;
            };
            if c.replica > planner::replicas_of(project, &c.service) {
                continue;
            }
            let by_hand = self.by_hand.contains(&c.id);
            let Restart::Yes {
                max_attempts,
                delay,
            } = restart_rule(svc, code, by_hand)
            else {
                continue;
            };
            // The first restart is immediate (unless a delay is asked
            // for); the crash-loop backoff starts with the second.
            match self.turn(&c.name, delay, max_attempts, delay.is_none(), now) {
                Turn::Now => {
                    let oom = self
                        .engine
                        .inspect_container(&c.id)
                        .await
                        .is_ok_and(|st| st.oom_killed);
                    restarts.push(Restarting {
                        id: c.id.clone(),
                        name: c.name.clone(),
                        reason: why_exited(code, oom),
                        running: false,
                    })
                }
                Turn::Wait(wait) => requeue_within(&mut out, wait),
                Turn::Never => {}
            }
        }

        // Unhealthy replicas are replaced.
        for c in observed
            .containers
            .iter()
            .filter(|c| c.health == Some(Health::Unhealthy) && c.is_running())
        {
            if stopped.contains(&c.service)
                || keep.iter().any(|s| step_container_id(s) == Some(&c.id))
            {
                continue;
            }
            let running_for = self
                .running_since
                .get(&c.id)
                .map_or(Duration::ZERO, |since| now.duration_since(*since));
            if running_for < self.grace {
                requeue_within(&mut out, self.grace - running_for);
                continue;
            }
            let Some(svc) = project.services.get(&c.service) else {
                continue;
            };
            // The first replacement is immediate; a replacement that turns
            // unhealthy again waits out the crash-loop backoff.
            match self.turn(&c.name, None, None, true, now) {
                Turn::Now => {}
                Turn::Wait(wait) => {
                    requeue_within(&mut out, wait);
                    continue;
                }
                Turn::Never => continue,
            }
            let spec = planner::container_spec(project, &c.service, svc, c.replica);
            let output = self
                .engine
                .inspect_container(&c.id)
                .await
                .ok()
                .and_then(|s| s.last_health_output)
                .unwrap_or_default();
            let retries = svc
                .healthcheck
                .as_ref()
                .and_then(|h| h.retries)
                .unwrap_or(3);
            keep.push(Step {
                action: Action::RecreateContainer {
                    old_id: c.id.clone(),
                    spec: Box::new(spec),
                    update: None,
                },
                reason: format!(
                    "unhealthy for {retries} checks: {}",
                    output.lines().last().unwrap_or("").trim()
                ),
                after: Vec::new(),
                waits: Vec::new(),
            });
        }

        self.follow_parent_restarts(project, &observed, &keep, stopped, &mut restarts)
            .await;
        self.report_orphans(project, &observed, &mut out);

        for r in restarts {
            let engine = &self.engine;
            let result = async {
                if r.running {
                    engine
                        .stop_container(&r.id, Duration::from_secs(10))
                        .await?;
                }
                engine.start_container(&r.id).await
            }
            .await;
            match result {
                Ok(()) => self.record(&mut out, &r.name, "restarted", r.reason),
                Err(e) => self.record(
                    &mut out,
                    &r.name,
                    "failed to restart",
                    format!("{}; {e}", r.reason),
                ),
            }
        }
        if !keep.is_empty() {
            self.execute(project, files, keep, &mut out).await;
        }
        Ok(out)
    }

    /// Whether a replica may be restarted (or replaced) now, later, or
    /// never again; counts the attempt when it is now.
    fn turn(
        &mut self,
        name: &str,
        fixed: Option<Duration>,
        max_attempts: Option<u32>,
        first_is_free: bool,
        now: Instant,
    ) -> Turn {
        let backoff = self.backoff;
        let crashes = self.crashes.entry(name.to_string()).or_insert(Crashes {
            restarts: 0,
            not_before: None,
            first_seen_running: None,
        });
        crashes.first_seen_running = None;
        if max_attempts.is_some_and(|m| crashes.restarts >= m) {
            return Turn::Never;
        }
        let n = crashes.restarts + 1;
        let due = *crashes.not_before.get_or_insert_with(|| {
            let wait = match (first_is_free, fixed) {
                (true, _) if n == 1 => Duration::ZERO,
                (true, _) => backoff.delay(n - 1),
                (false, Some(d)) => d,
                (false, None) => backoff.delay(n),
            };
            now + wait
        });
        if now >= due {
            crashes.restarts += 1;
            crashes.not_before = None;
            Turn::Now
        } else {
            Turn::Wait(due - now)
        }
    }

    /// A sidecar's namespace goes with its parent's process: when the
    /// parent was restarted (by the engine's restart policy, or by us)
    /// after the sidecar started, restart the sidecar so it joins again.
    async fn follow_parent_restarts(
        &mut self,
        project: &Project,
        observed: &Observed,
        keep: &[Step],
        stopped: &BTreeSet<String>,
        restarts: &mut Vec<Restarting>,
    ) {
        let by_name: BTreeMap<&str, &ObservedContainer> = observed
            .containers
            .iter()
            .map(|c| (c.name.as_str(), c))
            .collect();
        let project_name = project.project_name().to_string();
        for c in observed
            .containers
            .iter()
            .filter(|c| c.is_running() && !stopped.contains(&c.service))
        {
            let Some(svc) = project.services.get(&c.service) else {
                continue;
            };
            if keep.iter().any(|s| step_container_id(s) == Some(&c.id)) {
                continue;
            }
            let spec = planner::container_spec(project, &c.service, svc, c.replica);
            for (field, r) in spec
                .refs()
                .into_iter()
                .filter(|(f, _)| *f != "volumes_from")
            {
                let parent_name = planner::ref_name(project, &project_name, r);
                let Some(parent) = by_name.get(parent_name.as_str()).filter(|p| p.is_running())
                else {
                    continue;
                };
                let (Ok(mine), Ok(theirs)) = (
                    self.engine.inspect_container(&c.id).await,
                    self.engine.inspect_container(&parent.id).await,
                ) else {
                    continue;
                };
                let later = match (mine.started_at, theirs.started_at) {
                    (Some(a), Some(b)) => started_key(&b) > started_key(&a),
                    _ => false,
                };
                if later {
                    restarts.push(Restarting {
                        id: c.id.clone(),
                        name: c.name.clone(),
                        reason: format!("its {field} parent {parent_name} restarted"),
                        running: true,
                    });
                    break;
                }
            }
        }
    }

    /// Containers of the project the stack file no longer has: said once.
    fn report_orphans(&mut self, project: &Project, observed: &Observed, out: &mut Outcome) {
        for c in &observed.containers {
            if project.services.contains_key(&c.service) || !self.reported.insert(c.name.clone()) {
                continue;
            }
            let reason = format!(
                "service `{}` is not in the stack file; remove it with `stack up -d --remove-orphans`",
                c.service
            );
            self.record(out, &c.name, "found orphan", reason);
        }
    }

    /// Run healing steps one by one (each independent), recording each.
    async fn execute(
        &mut self,
        project: &Arc<Project>,
        files: &BTreeMap<String, String>,
        steps: Vec<Step>,
        out: &mut Outcome,
    ) {
        for mut step in steps {
            step.after.clear();
            let name = step.action.subject();
            let action = match step.action {
                Action::CreateContainer { .. } => "recreated",
                Action::RecreateContainer { .. } => "replaced",
                _ => "created",
            };
            let reason = match &step.action {
                Action::CreateContainer { .. } => "it was removed".to_string(),
                _ => step.reason.clone(),
            };
            let plan = Plan {
                steps: vec![step],
                ..Default::default()
            };
            let executor = Executor::new(self.engine.clone(), project.clone(), files.clone())
                .with_options(ExecuteOptions {
                    wait_timeout: Duration::from_secs(60),
                    ..Default::default()
                });
            match executor.execute(plan).await {
                Ok(()) => self.record(out, &name, action, reason),
                Err(
                    e @ (ExecError::Engine { .. }
                    | ExecError::MissingParent(_)
                    | ExecError::NfsMount { .. }),
                ) => {
                    self.record(out, &name, "failed to heal", format!("{reason}; {e}"));
                    out.requeue = Some(
                        out.requeue
                            .map_or(Duration::from_secs(5), |r| r.min(Duration::from_secs(5))),
                    );
                }
                Err(e) => self.record(out, &name, "failed to heal", format!("{reason}; {e}")),
            }
        }
    }

    /// Reset crash counts of replicas that have run long enough, and
    /// forget replicas that are gone.
    fn forget_gone(&mut self, observed: &Observed, now: Instant) {
        let names: BTreeSet<&String> = observed.containers.iter().map(|c| &c.name).collect();
        self.crashes.retain(|n, _| names.contains(n));
        let running: BTreeSet<&String> = observed
            .containers
            .iter()
            .filter(|c| c.is_running())
            .map(|c| &c.id)
            .collect();
        self.running_since.retain(|id, _| running.contains(id));
        for id in running {
            self.running_since.entry(id.clone()).or_insert(now);
        }
        for c in observed.containers.iter().filter(|c| c.is_running()) {
            if let Some(cr) = self.crashes.get_mut(&c.name) {
                let since = *cr.first_seen_running.get_or_insert(now);
                if now.duration_since(since) >= self.backoff.reset_after {
                    self.crashes.remove(&c.name);
                }
            }
        }
    }
}

fn image_id(observed: &Observed, image: &str) -> String {
    observed.images.get(image).cloned().unwrap_or_default()
}

fn step_service(step: &Step) -> Option<String> {
    match &step.action {
        Action::CreateContainer { spec } | Action::RecreateContainer { spec, .. } => {
            Some(spec.of.service.clone())
        }
        Action::StartContainer { service, .. } => Some(service.clone()),
        _ => None,
    }
}

fn step_container_id(step: &Step) -> Option<&String> {
    match &step.action {
        Action::RecreateContainer { old_id, .. } => Some(old_id),
        Action::StartContainer { id, .. } => Some(id),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let b = Backoff::default();
        let secs: Vec<u64> = (1..=7).map(|n| b.delay(n).as_secs()).collect();
        assert_eq!(secs, vec![10, 20, 40, 80, 160, 300, 300]);
        let zero = Backoff {
            initial: Duration::ZERO,
            ..b
        };
        assert_eq!(zero.delay(5), Duration::ZERO);
    }

    #[test]
    fn restart_rules() {
        let svc = |yaml: &str| -> Service {
            serde_json::from_value(serde_json::from_str::<serde_json::Value>(yaml).unwrap())
                .unwrap()
        };
        let yes = |max_attempts| Restart::Yes {
            max_attempts,
            delay: None,
        };
        // `restart:` is the engine's, but for an `always` replica that
        // stays stopped anyway (stopped by hand).
        assert_eq!(
            restart_rule(&svc(r#"{"restart": "no"}"#), 1, false),
            Restart::No
        );
        assert_eq!(
            restart_rule(&svc(r#"{"restart": "always"}"#), 0, true),
            yes(None)
        );
        for engine_s in ["unless-stopped", "on-failure", "on-failure:3"] {
            let s = svc(&format!(r#"{{"restart": "{engine_s}"}}"#));
            assert_eq!(restart_rule(&s, 2, false), Restart::No, "{engine_s}");
            assert_eq!(restart_rule(&s, 143, true), Restart::No, "{engine_s}");
        }
        // `deploy.restart_policy` is the agent's.
        let on_failure = svc(
            r#"{"deploy": {"restart_policy": {"condition": "on-failure", "max_attempts": 2}}}"#,
        );
        assert_eq!(restart_rule(&on_failure, 1, false), yes(Some(2)));
        assert_eq!(restart_rule(&on_failure, 0, false), Restart::No);
        assert_eq!(
            restart_rule(&on_failure, 143, true),
            Restart::No,
            "stopped by hand"
        );
        let any = svc(r#"{"deploy": {"restart_policy": {"condition": "any"}}}"#);
        assert_eq!(restart_rule(&any, 137, true), yes(None));
        assert_eq!(
            restart_rule(
                &svc(
                    r#"{"deploy": {"restart_policy": {"condition": "none"}}, "restart": "always"}"#
                ),
                1,
                false
            ),
            Restart::No
        );
    }
}
