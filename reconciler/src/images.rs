//! Getting images onto the engine before anything else is touched: pull
//! or build per the pull policy, so a missing image fails the run with the
//! service and image named, before a single container changes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use schema::{Project, PullPolicy as ServicePull};

use crate::engine::{BuildRequest, Engine, EngineError};

/// When to pull (`--pull`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PullPolicy {
    /// Pull images that are not on the engine (default).
    #[default]
    Missing,
    /// Pull every image, present or not.
    Always,
    /// Never pull; a missing image is an error.
    Never,
}

/// Why images could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// Pulling failed.
    #[error(
        "service `{service}`: image `{image}` is not on the engine and cannot be pulled: {message}"
    )]
    Pull {
        /// The service.
        service: String,
        /// The image.
        image: String,
        /// Why.
        message: String,
    },
    /// Missing with pulling disabled.
    #[error("service `{service}`: image `{image}` is not on the engine, and pulling is disabled (--pull never / pull_policy: never)")]
    Missing {
        /// The service.
        service: String,
        /// The image.
        image: String,
    },
    /// Building failed.
    #[error("service `{service}`: building `{image}` failed: {message}")]
    Build {
        /// The service.
        service: String,
        /// The image.
        image: String,
        /// Why.
        message: String,
    },
    /// The engine could not be asked.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// Make the images of `services` (all when empty) present: build those
/// with `build:` when `build` is set or their image is missing, pull the
/// others per `policy` (a service's `pull_policy` wins). `report` is told
/// each pull or build as it starts.
pub async fn ensure_images(
    engine: &dyn Engine,
    project: &Project,
    services: &BTreeSet<String>,
    policy: PullPolicy,
    build: bool,
    report: &dyn Fn(&str, &str),
) -> Result<(), ImageError> {
    let mut done = BTreeSet::new();
    for (name, svc) in project
        .services
        .iter()
        .filter(|(n, _)| services.is_empty() || services.contains(*n))
    {
        let image = project.image_of(name, svc);
        if !done.insert(image.clone()) {
            continue;
        }
        let present = engine.image_id(&image).await?.is_some();
        let own_policy = match &svc.pull_policy {
            Some(ServicePull::Always) => PullPolicy::Always,
            Some(ServicePull::Never) => PullPolicy::Never,
            Some(ServicePull::Missing { .. }) => PullPolicy::Missing,
            Some(p) => match p.refresh() {
                // Compose's refresh: pull when missing or last pulled
                // longer ago than the window.
                Some(window) if present => match engine
                    .image_details(&image)
                    .await?
                    .and_then(|d| d.tagged_at)
                {
                    Some(at) if at.elapsed().unwrap_or_default() < window => PullPolicy::Missing,
                    _ => PullPolicy::Always,
                },
                _ => policy,
            },
            None => policy,
        };
        if let Some(b) = &svc.build {
            if build || !present || svc.pull_policy == Some(ServicePull::Build) {
                report("build", &image);
                build_service(engine, name, &image, b).await?;
                continue;
            }
        }
        match (own_policy, present) {
            (PullPolicy::Always, _) | (PullPolicy::Missing, false) => {
                report("pull", &image);
                engine
                    .pull_image(&image)
                    .await
                    .map_err(|e| ImageError::Pull {
                        service: name.clone(),
                        image: image.clone(),
                        message: match e {
                            EngineError::Pull { message, .. } => message,
                            other => other.to_string(),
                        },
                    })?;
            }
            (PullPolicy::Never, false) => {
                return Err(ImageError::Missing {
                    service: name.clone(),
                    image,
                })
            }
            _ => {}
        }
    }
    Ok(())
}

async fn build_service(
    engine: &dyn Engine,
    service: &str,
    image: &str,
    b: &schema::Build,
) -> Result<(), ImageError> {
    let err = |message: String| ImageError::Build {
        service: service.into(),
        image: image.into(),
        message,
    };
    if b.entitlements.as_ref().is_some_and(|e| !e.is_empty()) {
        return Err(err(
            "`build.entitlements` needs BuildKit, and stack builds with the engine's classic builder; remove them, or build with `docker buildx build --allow ...` and give the image by name".into(),
        ));
    }
    let context = b.context.clone().unwrap_or_else(|| ".".into());
    // `dockerfile_inline` travels in the context, under a name of its own.
    let inline = b
        .dockerfile_inline
        .clone()
        .map(|text| (INLINE_DOCKERFILE.to_string(), text));
    let dockerfile = match &inline {
        Some((name, _)) => name.clone(),
        None => b.dockerfile.clone().unwrap_or_else(|| "Dockerfile".into()),
    };
    // Reading the context is file system work: off the runtime.
    let context_tar = tokio::task::spawn_blocking(move || context_tar(Path::new(&context), inline))
        .await
        .map_err(|e| err(e.to_string()))?
        .map_err(err)?;
    let args: BTreeMap<String, String> = b
        .args
        .iter()
        .flat_map(|a| a.0.iter())
        .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
        .collect();
    engine
        .build_image(BuildRequest {
            tag: image.into(),
            context_tar,
            dockerfile,
            args,
            target: b.target.clone(),
        })
        .await
        .map_err(|e| err(e.to_string()))
}

/// The name `dockerfile_inline` is given in the build context.
const INLINE_DOCKERFILE: &str = ".stack-inline.Dockerfile";

/// A tar of the build context, leaving out what `.dockerignore` excludes,
/// with `extra` (name, content) added.
pub fn context_tar(dir: &Path, extra: Option<(String, String)>) -> Result<Vec<u8>, String> {
    if !dir.is_dir() {
        return Err(format!(
            "build context {} is not a directory",
            dir.display()
        ));
    }
    let mut walker = ignore::WalkBuilder::new(dir);
    walker
        .standard_filters(false)
        .hidden(false)
        .add_custom_ignore_filename(".dockerignore");
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    for entry in walker.build() {
        let entry = entry.map_err(|e| e.to_string())?;
        let path = entry.path();
        let Ok(rel) = path.strip_prefix(dir) else {
            continue;
        };
        if rel.as_os_str().is_empty() || entry.file_type().is_some_and(|t| t.is_dir()) {
            continue;
        }
        builder
            .append_path_with_name(path, rel)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if let Some((name, content)) = extra {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, &name, content.as_bytes())
            .map_err(|e| format!("{name}: {e}"))?;
    }
    builder.into_inner().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_tar_honours_dockerignore() {
        let dir = std::env::temp_dir().join(format!("stack-ctx-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("skip")).unwrap();
        std::fs::write(dir.join("Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::write(dir.join("keep.txt"), "x").unwrap();
        std::fs::write(dir.join("skip/secret.txt"), "x").unwrap();
        std::fs::write(dir.join(".dockerignore"), "skip\n").unwrap();
        let inline = Some((
            "inline.Dockerfile".to_string(),
            "FROM scratch\n".to_string(),
        ));
        let tar = context_tar(&dir, inline).unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let mut names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            vec![
                ".dockerignore",
                "Dockerfile",
                "inline.Dockerfile",
                "keep.txt"
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
