//! `down`: remove the project's containers and networks; its named
//! volumes only when asked. External networks and volumes are never
//! touched: they carry no project label, and the planner skips what the
//! file declares external.

use std::sync::Arc;
use std::time::Duration;

use planner::plan_down;
use reconciler::state::StateDir;
use reconciler::{stops, ExecuteOptions, Executor};

use reconciler::engine::Selection;
use reconciler::EngineError;

use crate::{blocking, AppError, Result, Session, Sink};

/// What to take down.
#[derive(Debug, Clone, Default)]
pub struct DownRequest {
    /// Only these services' containers (networks and volumes stay, and so
    /// does the agent, which leaves them removed); all when empty.
    pub services: Vec<String>,
    /// Also remove the named volumes (their data is lost).
    pub volumes: bool,
    /// Stop every container within this, whatever its `stop_grace_period`.
    pub timeout: Option<Duration>,
    /// Remove the services' images too.
    pub images: RemoveImages,
    /// Also the containers of services the file no longer has (by
    /// default they are kept, with a warning, as Compose keeps them).
    pub remove_orphans: bool,
}

/// `--rmi`: which images `down` removes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RemoveImages {
    /// None.
    #[default]
    None,
    /// Those without a name of their own: built for a service with no
    /// `image:` (`<project>-<service>`).
    Local,
    /// Every image a service uses.
    All,
}

/// Remove the project's one-off containers (`stack run`) of `services`
/// (all when empty), running or not: they hold its networks.
async fn remove_one_offs(session: &Session, services: &[String], sink: &dyn Sink) -> Result<()> {
    let selection = Selection::OneOffs(session.name());
    let listed = session.engine.list_listings(&selection).await?;
    for c in listed
        .into_iter()
        .filter(|c| services.is_empty() || services.contains(&c.observed.service))
    {
        let name = c.observed.name;
        match session.engine.remove_container(&c.observed.id, true).await {
            Ok(()) | Err(EngineError::NotFound(_)) => sink.note(&format!("remove {name}: done")),
            Err(source) => {
                return Err(AppError::EngineOn {
                    subject: name,
                    source,
                })
            }
        }
    }
    Ok(())
}

/// Leave out of `observed` what `down` keeps without `--remove-orphans`:
/// the containers of services the file does not have (those of services
/// no active profile enables are the file's, and go), and the networks
/// they are still on; say so, as Compose does.
fn keep_orphans(project: &schema::Project, observed: &mut planner::Observed, sink: &dyn Sink) {
    let orphan = |service: &String| {
        !project.services.contains_key(service) && !project.disabled_services.contains(service)
    };
    let (orphans, taken): (Vec<_>, Vec<_>) = std::mem::take(&mut observed.containers)
        .into_iter()
        .partition(|c| orphan(&c.service));
    observed.containers = taken;
    if orphans.is_empty() {
        return;
    }
    let names: Vec<&str> = orphans.iter().map(|c| c.name.as_str()).collect();
    sink.note(&format!(
        "Found orphan containers ({}) for this project: kept, with the networks they are on. If you removed or renamed their service in the stack file, `stack down --remove-orphans` removes them.",
        names.join(", ")
    ));
    observed.networks.retain(|n| {
        !orphans
            .iter()
            .any(|c| c.addresses.contains_key(&n.name) || c.addresses_v6.contains_key(&n.name))
    });
}

/// Take the stack down.
pub async fn run(session: &Session, request: &DownRequest, sink: &Arc<dyn Sink>) -> Result<()> {
    let _lock = session.lock("down", sink.as_ref()).await?;
    let partial = !request.services.is_empty();
    if let Some(unknown) = request
        .services
        .iter()
        .find(|s| !session.project.services.contains_key(*s))
    {
        return Err(AppError::Invalid(format!(
            "no service named `{unknown}` in the stack"
        )));
    }
    if partial {
        // The agent stays for the rest; these stay removed.
        session.mark_stopped(&request.services, true).await?;
    } else {
        // Stop the agent first, or it would bring back what down removes.
        if agent::process::stop(&session.name()).await? {
            sink.note("stopped the agent");
        }
        session.mark_stopped(&[], false).await?;
    }
    remove_one_offs(session, &request.services, sink.as_ref()).await?;
    let mut observed = reconciler::observe(session.engine.as_ref(), &session.project).await?;
    if partial {
        observed
            .containers
            .retain(|c| request.services.contains(&c.service));
        observed.networks.clear();
        observed.volumes.clear();
    } else if !request.remove_orphans {
        keep_orphans(&session.project, &mut observed, sink.as_ref());
    }
    let plan = plan_down(&session.project, &observed, request.volumes && !partial);
    if plan.is_empty() {
        sink.note("Nothing to remove.");
    }
    let default_timeout = Duration::from_secs(10);
    let opts = ExecuteOptions {
        stop_timeout: request.timeout.unwrap_or(default_timeout),
        timeout_given: request.timeout.is_some(),
        ..Default::default()
    };
    // Killed from here on, its stops may land after the next `up` looked:
    // say until when.
    let grace = session
        .project
        .services
        .values()
        .filter_map(|s| s.stop_grace_period.map(|d| d.0))
        .fold(opts.stop_timeout, Duration::max);
    let name = session.name();
    blocking(move || Ok(stops::begin(&StateDir::runtime()?, &name, grace)?)).await?;
    Executor::new(
        session.engine.clone(),
        session.project.clone(),
        Default::default(),
    )
    .with_options(opts)
    .with_progress(crate::sink::steps(sink))
    .execute(plan)
    .await?;
    let (name, files) = (session.name(), session.agent_files().await?);
    blocking(move || {
        stops::end(&StateDir::runtime()?, &name)?;
        if !partial {
            files.forget_applied()?;
        }
        Ok(())
    })
    .await?;
    remove_images(session, request, sink.as_ref()).await
}

/// `--rmi`: the images of the services taken down. One still used by
/// another container is left, with a note, as Compose does.
async fn remove_images(session: &Session, request: &DownRequest, sink: &dyn Sink) -> Result<()> {
    let project = &session.project;
    let mut images: Vec<String> = project
        .services
        .iter()
        .filter(|(name, _)| request.services.is_empty() || request.services.contains(*name))
        .filter(|(_, svc)| match request.images {
            RemoveImages::None => false,
            RemoveImages::Local => svc.image.is_none(),
            RemoveImages::All => true,
        })
        .map(|(name, svc)| project.image_of(name, svc))
        .collect();
    images.sort();
    images.dedup();
    for image in images {
        match session.engine.remove_image(&image).await {
            Ok(()) => sink.note(&format!("remove image {image}: done")),
            Err(EngineError::NotFound(_)) => {}
            Err(e) if e.status() == Some(409) => {
                sink.note(&format!("image {image} kept: {e}"));
            }
            Err(source) => {
                return Err(AppError::EngineOn {
                    subject: format!("image {image}"),
                    source,
                })
            }
        }
    }
    Ok(())
}
