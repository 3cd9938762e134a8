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
