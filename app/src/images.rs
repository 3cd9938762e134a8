//! `pull`, `build` and `push`: the services' images, to and from their
//! registries with the user's logins.

use std::collections::BTreeSet;

use reconciler::images::{ensure_images, login_for, registry_error, Logins, PullPolicy, Wanted};

use crate::logins::UserLogins;
use crate::{Result, Session, Sink};

/// Make the images of `services` of `project` ready (pull per `policy`,
/// build when `build` or missing), with the user's logins, each pull or
/// build told to `sink`: what `up`, `run`, `pull` and `build` share.
pub(crate) async fn ensure(
    session: &Session,
    project: &schema::Project,
    services: &BTreeSet<String>,
    policy: PullPolicy,
    build: bool,
    sink: &dyn Sink,
) -> Result<()> {
    let report = |what: &str, image: &str| sink.note(&format!("{what} {image}"));
    let wanted = Wanted {
        services,
        policy,
        build,
        logins: &UserLogins::from_env(),
        report: &report,
    };
    Ok(ensure_images(session.engine.as_ref(), project, &wanted).await?)
}

/// Pull (`build == false`) or build the images of `services` (all when
/// empty). `false` when `build` was asked and no service builds.
///
/// Pulling, a service that builds and names an image is pulled too (its
/// image may have been pushed), and one that cannot be is left to be
/// built, with a warning, as Compose does.
pub async fn run(
    session: &Session,
    services: &[String],
    build: bool,
    sink: &dyn Sink,
) -> Result<bool> {
    let project = &session.project;
    let in_selection = |name: &String| services.is_empty() || services.iter().any(|s| s == name);
    let (builders, others): (BTreeSet<String>, BTreeSet<String>) = project
        .services
        .iter()
        .filter(|(n, _)| in_selection(n))
        .map(|(n, _)| n.clone())
        .partition(|n| project.services[n].build.is_some());
    let logins = UserLogins::from_env();
    let report = |what: &str, image: &str| sink.note(&format!("{what} {image}"));
    if build {
        if builders.is_empty() {
            return Ok(false);
        }
        ensure(session, project, &builders, PullPolicy::Never, true, sink).await?;
        return Ok(true);
    }
    if !others.is_empty() {
        ensure(session, project, &others, PullPolicy::Always, false, sink).await?;
    }
    let engine = session.engine.as_ref();
    for name in &builders {
        let Some(image) = project.services.get(name).and_then(|s| s.image.as_ref()) else {
            continue;
        };
        report("pull", image);
        let auth = login_for(&logins, name, image).await?;
        if let Err(e) = engine.pull_image(image, auth.as_ref()).await {
            sink.note(&format!(
                "warning: {name}: {e}; `stack build` (or `up`) builds it from source"
            ));
        }
    }
    Ok(true)
}

/// What `push` pushes.
#[derive(Debug, Clone, Default)]
pub struct PushRequest {
    /// These services (all when empty).
    pub services: Vec<String>,
    /// And the services they depend on.
    pub include_deps: bool,
    /// Warn about a failed push and go on with the others.
    pub ignore_failures: bool,
}

/// Push the image of every selected service that builds and names one
/// (`image:`), with its `build.tags`, as Compose does; the others are
/// skipped (and said so). The references pushed, in order.
pub async fn push(
    session: &Session,
    request: &PushRequest,
    sink: &dyn Sink,
) -> Result<Vec<String>> {
    let project = &session.project;
    let selected = if request.include_deps {
        project.with_dependencies(&request.services)
    } else {
        request.services.iter().cloned().collect()
    };
    let logins = UserLogins::from_env();
    let mut pushed = Vec::new();
    for (name, svc) in project
        .services
        .iter()
        .filter(|(n, _)| selected.is_empty() || selected.contains(*n))
    {
        let (Some(build), Some(image)) = (&svc.build, &svc.image) else {
            sink.note(&format!(
                "{name} skipped: only a service with `build:` and `image:` is pushed"
            ));
            continue;
        };
        for tag in std::iter::once(image).chain(build.tags.iter().flatten()) {
            sink.note(&format!("push {tag}"));
            match push_one(session, &logins, name, tag).await {
                Ok(()) => pushed.push(tag.clone()),
                Err(e) if request.ignore_failures => sink.note(&format!("warning: {e}")),
                Err(e) => return Err(e),
            }
        }
    }
    Ok(pushed)
}

async fn push_one(
    session: &Session,
    logins: &dyn Logins,
    service: &str,
    image: &str,
) -> Result<()> {
    let engine = session.engine.as_ref();
    let auth = login_for(logins, service, image).await?;
    engine
        .push_image(image, auth.as_ref())
        .await
        .map_err(|e| registry_error(engine, service, image, "pushing", e).into())
}

/// An image a container of the project runs (`images`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRow {
    /// The container.
    pub container: String,
    /// The image as the container names it (`busybox:1.36`).
    pub reference: String,
    /// What the engine knows of it.
    pub details: reconciler::engine::ImageDetails,
}

/// The images the containers of `services` (all when empty) run, by
/// container.
pub async fn used(session: &Session, services: &[String]) -> Result<Vec<ImageRow>> {
    let target = crate::containers::Target {
        services: services.to_vec(),
        index: None,
    };
    let containers = crate::containers::select(session, &target).await?;
    let listed = session
        .engine
        .list_listings(&reconciler::engine::Selection::Project(session.name()))
        .await?;
    let mut rows = Vec::new();
    for c in containers {
        let reference = listed
            .iter()
            .find(|l| l.observed.id == c.id)
            .map(|l| l.image.clone())
            .unwrap_or_default();
        let details = session
            .engine
            .image_details(&c.image_id)
            .await?
            .unwrap_or_default();
        rows.push(ImageRow {
            container: c.name,
            reference,
            details,
        });
    }
    Ok(rows)
}

/// Pin the image of every service that names one to the digest its
/// registry serves now (`config --resolve-image-digests`), as Compose
/// does: `busybox:1.36` becomes `docker.io/library/busybox:1.36@sha256:...`.
/// Images already pinned are left alone; so is the image of a service that
/// builds and has not been pushed yet (Compose fails there).
pub async fn pin_digests(
    engine: &dyn reconciler::engine::Engine,
    project: &mut schema::Project,
) -> Result<()> {
    use registry::reference;
    let logins = UserLogins::from_env();
    for (name, svc) in project.services.iter_mut() {
        let Some(image) = svc.image.clone() else {
            continue;
        };
        if reference::has_digest(&image) {
            continue;
        }
        let auth = login_for(&logins, name, &image).await?;
        match engine.registry_digest(&image, auth.as_ref()).await {
            Ok(digest) => svc.image = Some(format!("{}@{digest}", reference::full_name(&image))),
            Err(reconciler::EngineError::Registry {
                failure: reconciler::engine::RegistryFailure::NotFound,
                ..
            }) if svc.build.is_some() => {}
            Err(e) => return Err(registry_error(engine, name, &image, "resolving", e).into()),
        }
    }
    Ok(())
}
