//! `watch`: Compose's `develop.watch` rules applied to the running
//! containers as files change: `sync` copies the change in (a deletion is
//! deleted there), `rebuild` builds the image and recreates the service,
//! `restart` restarts it, `sync+restart` and `sync+exec` do both halves.
//! Each action is reported as it happens.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use notify::{RecursiveMode, Watcher};
use planner::RunState;
use reconciler::engine::ExecRequest;
use schema::develop::{watch_rules, WatchAction, WatchRule};
use tokio_util::sync::CancellationToken;

use crate::lifecycle::{act, Verb};
use crate::up::{converge, PlanRequest, UpRequest};
use crate::{blocking, AppError, Result, Session, Sink};

/// Quiet time after the last change before acting.
const QUIET: Duration = Duration::from_millis(300);

/// Files editors and tools write beside the real ones, never synced.
const ALWAYS_IGNORED: [&str; 5] = [".git/", "*~", "*.swp", "*.swx", "4913"];

/// How to watch.
#[derive(Debug, Clone, Default)]
pub struct WatchRequest {
    /// Services whose rules apply (all with rules when empty).
    pub services: Vec<String>,
    /// Do not bring the stack up first.
    pub no_up: bool,
}

/// A rule of a service, with its patterns compiled.
struct Rule {
    service: String,
    rule: WatchRule,
    ignored: Gitignore,
    included: Option<Gitignore>,
}

impl Rule {
    fn new(service: &str, rule: WatchRule) -> Result<Rule> {
        let root = PathBuf::from(&rule.path);
        let compile = |patterns: &mut dyn Iterator<Item = &str>| -> Result<Gitignore> {
            let mut builder = GitignoreBuilder::new(&root);
            for p in patterns {
                builder.add_line(None, p).map_err(|e| {
                    AppError::Invalid(format!("service `{service}`: watch pattern `{p}`: {e}"))
                })?;
            }
            builder
                .build()
                .map_err(|e| AppError::Invalid(format!("service `{service}`: {e}")))
        };
        let ignored = compile(
            &mut ALWAYS_IGNORED
                .into_iter()
                .chain(rule.ignore.iter().map(String::as_str)),
        )?;
        let included = if rule.include.is_empty() {
            None
        } else {
            Some(compile(&mut rule.include.iter().map(String::as_str))?)
        };
        Ok(Rule {
            service: service.to_string(),
            rule,
            ignored,
            included,
        })
    }

    /// Whether a change of `path` is this rule's.
    fn covers(&self, path: &Path) -> bool {
        let root = Path::new(&self.rule.path);
        if path.strip_prefix(root).is_err() {
            return false;
        }
        let is_dir = path.is_dir();
        if self
            .ignored
            .matched_path_or_any_parents(path, is_dir)
            .is_ignore()
        {
            return false;
        }
        self.included.as_ref().is_none_or(|inc| {
            path == root || inc.matched_path_or_any_parents(path, is_dir).is_ignore()
        })
    }

    /// Where `path` lands in the container.
    fn target_of(&self, path: &Path) -> Option<String> {
        let target = self.rule.target.as_deref()?;
        let rel = path.strip_prefix(&self.rule.path).ok()?;
        if rel.as_os_str().is_empty() {
            return Some(target.to_string());
        }
        Some(format!(
            "{}/{}",
            target.trim_end_matches('/'),
            rel.display()
        ))
    }
}

/// Bring the stack up (unless `no_up`), then apply the rules until
/// `cancel`.
pub async fn run(
    session: &Session,
    request: &WatchRequest,
    sink: &Arc<dyn Sink>,
    cancel: &CancellationToken,
) -> Result<()> {
    let mut rules = Vec::new();
    for (name, svc) in &session.project.services {
        if !request.services.is_empty() && !request.services.contains(name) {
            continue;
        }
        for rule in watch_rules(svc).map_err(AppError::Invalid)? {
            rules.push(Rule::new(name, rule)?);
        }
    }
    if rules.is_empty() {
        return Err(AppError::Invalid(
            "no service has `develop.watch` rules: add them to the stack file (https://docs.docker.com/compose/how-tos/file-watch/)".into(),
        ));
    }
    if !request.no_up {
        let up = UpRequest {
            plan: PlanRequest {
                services: request.services.clone(),
                build: true,
                ..PlanRequest::default()
            },
            ..UpRequest::default()
        };
        converge(session, &up, sink, cancel, false).await?;
    }
    for r in rules
        .iter()
        .filter(|r| r.rule.initial_sync && r.rule.action.syncs())
    {
        let all = vec![PathBuf::from(&r.rule.path)];
        sync(session, r, &all, sink).await?;
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(e) = event {
            let _ = tx.send(e.paths);
        }
    })?;
    for r in &rules {
        watcher.watch(Path::new(&r.rule.path), RecursiveMode::Recursive)?;
    }
    sink.note("Watching for changes (Ctrl-C to stop).");
    loop {
        let Some(first) = crate::changes::next_burst(&mut rx, QUIET, cancel).await else {
            return Ok(());
        };
        // Each rule once per burst, with the paths it covers.
        let mut work: BTreeMap<usize, BTreeSet<PathBuf>> = BTreeMap::new();
        for path in first {
            for (i, r) in rules.iter().enumerate() {
                if r.covers(&path) {
                    work.entry(i).or_default().insert(path.clone());
                }
            }
        }
        for (i, paths) in work {
            let paths: Vec<PathBuf> = paths.into_iter().collect();
            // A failed action is reported; the watch goes on.
            if let Err(e) = apply(session, &rules[i], &paths, sink, cancel).await {
                sink.error(&e);
            }
        }
    }
}

/// Run one rule's action for the changed `paths`.
async fn apply(
    session: &Session,
    r: &Rule,
    paths: &[PathBuf],
    sink: &Arc<dyn Sink>,
    cancel: &CancellationToken,
) -> Result<()> {
    let service = std::slice::from_ref(&r.service);
    match r.rule.action {
        WatchAction::Sync => sync(session, r, paths, sink).await,
        WatchAction::Rebuild => {
            sink.note(&format!("{}: rebuilding", r.service));
            let up = UpRequest {
                plan: PlanRequest {
                    services: service.to_vec(),
                    build: true,
                    no_deps: true,
                    ..PlanRequest::default()
                },
                ..UpRequest::default()
            };
            converge(session, &up, sink, cancel, false).await?;
            sink.note(&format!("{}: rebuilt and recreated", r.service));
            Ok(())
        }
        WatchAction::Restart => restart(session, r, sink).await,
        WatchAction::SyncRestart => {
            sync(session, r, paths, sink).await?;
            restart(session, r, sink).await
        }
        WatchAction::SyncExec => {
            sync(session, r, paths, sink).await?;
            let Some(exec) = &r.rule.exec else {
                return Ok(());
            };
            let request = ExecRequest {
                command: exec.command.0.clone(),
                user: exec.user.clone(),
                privileged: exec.privileged,
                working_dir: exec.working_dir.clone(),
                env: exec
                    .environment
                    .iter()
                    .flat_map(|e| e.0.iter())
                    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
                    .collect(),
                detach: false,
            };
            for c in running(session, &r.service).await? {
                let out = session.engine.exec(&c.0, request.clone()).await?;
                sink.note(&format!(
                    "{}: ran `{}` (exit {})",
                    c.1,
                    exec.command.0.join(" "),
                    out.code
                ));
            }
            Ok(())
        }
    }
}

async fn restart(session: &Session, r: &Rule, sink: &Arc<dyn Sink>) -> Result<()> {
    let service = std::slice::from_ref(&r.service);
    act(
        session,
        service,
        Verb::RestartAlone,
        Duration::from_secs(10),
    )
    .await?;
    sink.note(&format!("{}: restarted", r.service));
    Ok(())
}

/// The running containers of `service`: (id, name).
async fn running(session: &Session, service: &str) -> Result<Vec<(String, String)>> {
    let containers = session.engine.list_containers(&session.name()).await?;
    Ok(containers
        .into_iter()
        .filter(|c| c.service == service && c.state == RunState::Running)
        .map(|c| (c.id, c.name))
        .collect())
}

/// Copy the changed `paths` into every running container of the rule's
/// service; a path gone from the host is deleted there.
async fn sync(session: &Session, r: &Rule, paths: &[PathBuf], sink: &Arc<dyn Sink>) -> Result<()> {
    let containers = running(session, &r.service).await?;
    let mut copied = 0;
    for path in paths {
        let Some(target) = r.target_of(path) else {
            continue;
        };
        let Some((dir, name)) = target.rsplit_once('/') else {
            continue;
        };
        let dir = if dir.is_empty() { "/" } else { dir }.to_string();
        let exists = path.exists();
        let tar = if exists {
            let (path, name) = (path.clone(), name.to_string());
            Some(blocking(move || crate::copy::pack(&path, Some(&name))).await?)
        } else {
            None
        };
        for (id, _) in &containers {
            match &tar {
                Some(tar) => {
                    // The directory the file goes in may be new too.
                    mkdir(session, id, &dir).await?;
                    session.engine.upload(id, &dir, tar.clone(), false).await?;
                }
                None => {
                    let rm = ExecRequest::command(vec!["rm".into(), "-rf".into(), target.clone()]);
                    session.engine.exec(id, rm).await?;
                }
            }
        }
        copied += 1;
    }
    if copied > 0 {
        sink.note(&format!(
            "{}: synced {copied} change(s) to {}",
            r.service,
            r.rule.target.as_deref().unwrap_or_default()
        ));
    }
    Ok(())
}

/// `mkdir -p dir` in the container, unless it is there.
async fn mkdir(session: &Session, id: &str, dir: &str) -> Result<()> {
    if session.engine.path_is_dir(id, dir).await? != Some(true) {
        let mkdir = ExecRequest::command(vec!["mkdir".into(), "-p".into(), dir.into()]);
        session.engine.exec(id, mkdir).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(ignore: &[&str], include: &[&str]) -> Rule {
        let r = WatchRule {
            path: "/src".into(),
            action: WatchAction::Sync,
            target: Some("/app".into()),
            ignore: ignore.iter().map(|s| s.to_string()).collect(),
            include: include.iter().map(|s| s.to_string()).collect(),
            initial_sync: false,
            exec: None,
        };
        Rule::new("web", r).expect("valid patterns")
    }

    #[test]
    fn patterns_choose_what_counts() {
        let r = rule(&["node_modules/", "*.log"], &[]);
        assert!(r.covers(Path::new("/src/app.js")));
        assert!(!r.covers(Path::new("/src/node_modules/x/index.js")));
        assert!(!r.covers(Path::new("/src/debug.log")));
        assert!(!r.covers(Path::new("/src/.git/HEAD")), "always ignored");
        assert!(!r.covers(Path::new("/elsewhere/app.js")));
        let only = rule(&[], &["*.py"]);
        assert!(only.covers(Path::new("/src/main.py")));
        assert!(!only.covers(Path::new("/src/README.md")));
    }

    #[test]
    fn a_change_lands_under_the_target() {
        let r = rule(&[], &[]);
        assert_eq!(
            r.target_of(Path::new("/src/a/b.txt")).as_deref(),
            Some("/app/a/b.txt")
        );
        assert_eq!(r.target_of(Path::new("/src")).as_deref(), Some("/app"));
    }
}
