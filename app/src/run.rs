//! `run`: a one-off container of a service, with what it depends on
//! started first. One-offs carry `io.stack.oneoff` instead of the project
//! label, so `up`, the planner and the agent never see them; `down`
//! removes them, and `ps -a` lists them.

use std::collections::BTreeMap;
use std::sync::Arc;

use planner::{container_spec, labels, Networking, Ref};
use reconciler::engine::AttachedIo;
use reconciler::images::PullPolicy;
use reconciler::Executor;
use schema::{Command, Dict, Project, Service, Text};
use tokio_util::sync::CancellationToken;

use crate::up::{PlanRequest, UpRequest};
use crate::{AppError, Result, Session, Sink};

/// A one-off container to run.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    /// The service it is made from.
    pub service: String,
    /// The command instead of the service's.
    pub command: Vec<String>,
    /// The entrypoint instead of the service's.
    pub entrypoint: Option<String>,
    /// Start it and return (`-d`): no output followed, no exit code.
    pub detach: bool,
    /// Remove it once it exits (`--rm`).
    pub remove: bool,
    /// `KEY=VALUE` (or `KEY`, from this process) on top of the service's.
    pub env: Vec<String>,
    /// Run as this user.
    pub user: Option<String>,
    /// In this directory.
    pub workdir: Option<String>,
    /// More mounts, in the short syntax (`./src:/src:ro`).
    pub volumes: Vec<String>,
    /// Ports to publish, in the short syntax (`8080:80`).
    pub publish: Vec<String>,
    /// Publish the service's own ports too (by default none are).
    pub service_ports: bool,
    /// Join the networks with the service's aliases (by default, none).
    pub use_aliases: bool,
    /// Do not start what the service depends on.
    pub no_deps: bool,
    /// Its name (default `<project>-<service>-run-<id>`).
    pub name: Option<String>,
    /// With a pseudo-terminal.
    pub tty: bool,
    /// Keep stdin open.
    pub interactive: bool,
    /// When to pull the images.
    pub pull: PullPolicy,
    /// Build the images of services with `build:` first.
    pub build: bool,
}

/// What a run ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    /// The container's name.
    pub name: String,
    /// Its exit code; `None` when detached.
    pub exit_code: Option<i64>,
}

/// Run the one-off: dependencies up (unless `no_deps`), image ready, the
/// container created, attached to `io` and started; then (unless
/// detached) its exit code, and it is removed with `remove`.
pub async fn run(
    session: &Session,
    request: &RunRequest,
    io: AttachedIo,
    sink: &Arc<dyn Sink>,
    cancel: &CancellationToken,
) -> Result<RunOutcome> {
    let project = &session.project;
    let Some(svc) = project.services.get(&request.service) else {
        return Err(AppError::Invalid(format!(
            "no service named `{}` in the stack (it has: {})",
            request.service,
            project
                .services
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    // As Compose: the service's networks and volumes, its image, and
    // (unless `no_deps`) what it depends on, made ready first.
    let up = UpRequest {
        plan: PlanRequest {
            services: vec![request.service.clone()],
            no_deps: request.no_deps,
            build: request.build,
            pull: request.pull,
            one_off: Some(request.service.clone()),
            ..PlanRequest::default()
        },
        ..UpRequest::default()
    };
    crate::up::converge(session, &up, sink, cancel, false).await?;
    let one_off = one_off_service(project, svc, request)?;
    let name = request
        .name
        .clone()
        .unwrap_or_else(|| format!("{}-{}-run-{}", session.name(), request.service, suffix()));
    let mut spec = container_spec(project, &request.service, &one_off, 1);
    spec.name = name.clone();
    spec.stdin_once = request.interactive;
    mark_one_off(&mut spec.labels, &session.name());
    if !request.use_aliases {
        if let Networking::Networks(networks) = &mut spec.networking {
            for n in networks {
                n.aliases.clear();
            }
        }
    }
    let refs = resolve_refs(session, &spec.refs()).await?;
    let on = |source| AppError::EngineOn {
        subject: name.clone(),
        source,
    };
    // The secret and config copies it mounts were written by the
    // converge above; a one-off has no config hash, so no digests.
    let id = Executor::new(
        session.engine.clone(),
        session.project.clone(),
        BTreeMap::new(),
    )
    .create_one_off(&spec, refs)
    .await?;
    if request.detach {
        session.engine.start_container(&id).await.map_err(on)?;
        return Ok(RunOutcome {
            name,
            exit_code: None,
        });
    }
    let output = session.engine.attach_container(&id, io).await.map_err(on)?;
    session.engine.start_container(&id).await.map_err(on)?;
    let followed = tokio::select! {
        done = output => done.map_err(on),
        () = cancel.cancelled() => Err(AppError::Cancelled),
    };
    let code = match followed {
        Ok(()) => session.engine.wait_container(&id).await.map_err(on),
        Err(e) => Err(e),
    };
    if request.remove {
        session
            .engine
            .remove_container(&id, true)
            .await
            .map_err(on)?;
    }
    Ok(RunOutcome {
        name,
        exit_code: Some(code?),
    })
}

/// The service as the one-off runs it: the request's overrides, no
/// restart policy (a one-off is not kept alive), its ports only with
/// `service_ports`.
fn one_off_service(project: &Project, svc: &Service, request: &RunRequest) -> Result<Service> {
    let mut one = svc.clone();
    if !request.command.is_empty() {
        one.command = Some(Command(request.command.clone()));
    }
    if let Some(e) = &request.entrypoint {
        one.entrypoint = Some(Command(shell_words(e)));
    }
    let mut env = one.environment.take().unwrap_or(Dict(BTreeMap::new()));
    for e in &request.env {
        let (k, v) = match e.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (e.clone(), std::env::var(e).ok()),
        };
        env.0.insert(k, v);
    }
    one.environment = Some(env);
    if let Some(u) = &request.user {
        one.user = Some(Text(u.clone()));
    }
    if let Some(w) = &request.workdir {
        one.working_dir = Some(w.clone());
    }
    let base = &project.origin.working_dir;
    for v in &request.volumes {
        let mut mount = schema::model::volumes::parse_short(v)
            .map_err(|e| AppError::Invalid(format!("-v {v}: {e}")))?;
        if let Some(src) = &mount.source {
            if src.starts_with('.') {
                mount.source = Some(base.join(src).display().to_string());
            }
        }
        one.volumes.get_or_insert_with(Vec::new).push(mount);
    }
    let mut ports = if request.service_ports {
        one.ports.take().unwrap_or_default()
    } else {
        Vec::new()
    };
    for p in &request.publish {
        ports.extend(
            schema::model::ports::parse_short(p)
                .map_err(|e| AppError::Invalid(format!("-p {p}: {e}")))?,
        );
    }
    one.ports = Some(ports);
    one.restart = None;
    if let Some(d) = &mut one.deploy {
        d.restart_policy = None;
    }
    one.container_name = None;
    one.tty = Some(request.tty);
    one.stdin_open = Some(request.interactive);
    Ok(one)
}

/// Labels of a one-off: the project label swapped for the one-off one,
/// and Compose's `oneoff` set.
fn mark_one_off(labels: &mut BTreeMap<String, String>, project: &str) {
    labels.remove(labels::PROJECT);
    labels.insert(labels::ONEOFF.into(), project.into());
    labels.insert(labels::compose::ONEOFF.into(), "True".into());
}

/// The container ids of the replicas a one-off borrows namespaces from.
async fn resolve_refs(
    session: &Session,
    refs: &[(&'static str, &Ref)],
) -> Result<BTreeMap<Ref, String>> {
    let containers = session.engine.list_containers(&session.name()).await?;
    let mut out = BTreeMap::new();
    for (field, r) in refs {
        let Some(c) = containers
            .iter()
            .find(|c| c.service == r.service && c.replica == r.replica)
        else {
            return Err(AppError::Invalid(format!(
                "{field} names service `{}`, which has no replica {}: start it first (`stack up -d {}`)",
                r.service, r.replica, r.service
            )));
        };
        out.insert((*r).clone(), c.id.clone());
    }
    Ok(out)
}

/// Twelve hex digits, different for each run (as Compose's names).
fn suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("{:012x}", h.finish() & 0xffff_ffff_ffff)
}

/// `--entrypoint "sh -c"` -> `["sh", "-c"]` (whitespace-separated, as
/// the docker CLI splits it).
fn shell_words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> Project {
        let yaml = "services:\n  web:\n    image: busybox:1.36\n    restart: always\n    ports: ['8080:80']\n    environment: {A: '1'}\n    container_name: fixed\n";
        schema::load_str(yaml, "test").expect("loads").project
    }

    #[test]
    fn a_one_off_takes_the_overrides_and_drops_what_keeps_services_alive() {
        let p = project();
        let request = RunRequest {
            service: "web".into(),
            command: vec!["echo".into(), "hi".into()],
            env: vec!["B=2".into()],
            user: Some("nobody".into()),
            publish: vec!["9090:90".into()],
            ..RunRequest::default()
        };
        let one = one_off_service(&p, &p.services["web"], &request).expect("valid");
        assert_eq!(one.command, Some(Command(vec!["echo".into(), "hi".into()])));
        let env = one.environment.expect("env").0;
        assert_eq!(env.get("A"), Some(&Some("1".into())));
        assert_eq!(env.get("B"), Some(&Some("2".into())));
        assert_eq!(one.user, Some(Text("nobody".into())));
        assert_eq!(one.restart, None);
        assert_eq!(one.container_name, None);
        let ports = one.ports.expect("ports");
        assert_eq!(ports.len(), 1, "the service's own ports are not published");
        assert_eq!(ports[0].target, 90);
    }

    #[test]
    fn one_offs_leave_the_project_label_for_their_own() {
        let mut labels = BTreeMap::from([(labels::PROJECT.to_string(), "p".to_string())]);
        mark_one_off(&mut labels, "p");
        assert!(!labels.contains_key(labels::PROJECT));
        assert_eq!(labels[labels::ONEOFF], "p");
        assert_eq!(labels[labels::compose::ONEOFF], "True");
    }

    #[test]
    fn bad_short_syntax_names_the_flag() {
        let p = project();
        let request = RunRequest {
            service: "web".into(),
            publish: vec!["nope:x".into()],
            ..RunRequest::default()
        };
        let err = one_off_service(&p, &p.services["web"], &request).unwrap_err();
        assert!(err.to_string().starts_with("-p nope:x"), "{err}");
    }
}
