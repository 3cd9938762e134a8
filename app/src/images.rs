//! `pull` and `build`: make the services' images ready.

use std::collections::BTreeSet;

use reconciler::images::{ensure_images, PullPolicy};

use crate::{Result, Session, Sink};

/// Pull (`build == false`) or build the images of `services` (all when
/// empty). `false` when `build` was asked and no service builds.
pub async fn run(
    session: &Session,
    services: &[String],
    build: bool,
    sink: &dyn Sink,
) -> Result<bool> {
    let mut selected: BTreeSet<String> = services.iter().cloned().collect();
    if build {
        // Only services that build; pulling is `stack pull`'s job.
        let builds: BTreeSet<String> = session
            .project
            .services
            .iter()
            .filter(|(n, s)| s.build.is_some() && (selected.is_empty() || selected.contains(*n)))
            .map(|(n, _)| n.clone())
            .collect();
        if builds.is_empty() {
            return Ok(false);
        }
        selected = builds;
    }
    let policy = if build {
        PullPolicy::Never
    } else {
        PullPolicy::Always
    };
    let report = |what: &str, image: &str| sink.note(&format!("{what} {image}"));
    ensure_images(
        session.engine.as_ref(),
        &session.project,
        &selected,
        policy,
        build,
        &report,
    )
    .await?;
    Ok(true)
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
