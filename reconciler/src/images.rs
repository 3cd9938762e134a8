//! Getting images onto the engine before anything else is touched: pull
//! or build per the pull policy, so a missing image fails the run with the
//! service and image named, before a single container changes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use async_trait::async_trait;
use planner::EngineKind;
use registry::Auth;
use schema::{Project, PullPolicy as ServicePull};

use crate::engine::{BuildRequest, Engine, EngineError, RegistryFailure};

/// Where the user's registry logins come from. Asked only when an image
/// is pulled, pushed or built, so a credential helper that wants a
/// keyring unlocked is not woken for images already present.
#[async_trait]
pub trait Logins: Send + Sync {
    /// The login for registry `host`, if the user has one.
    async fn for_registry(&self, host: &str) -> Result<Option<Auth>, String>;
}

/// No logins: anonymous pulls only.
#[derive(Debug, Clone, Copy, Default)]
pub struct Anonymous;

#[async_trait]
impl Logins for Anonymous {
    async fn for_registry(&self, _host: &str) -> Result<Option<Auth>, String> {
        Ok(None)
    }
}

/// What to make ready, and how.
pub struct Wanted<'a> {
    /// The services whose images (all when empty).
    pub services: &'a BTreeSet<String>,
    /// When to pull (a service's `pull_policy` wins).
    pub policy: PullPolicy,
    /// Build every service that has `build:`, present or not.
    pub build: bool,
    /// The user's registry logins.
    pub logins: &'a dyn Logins,
    /// Told each pull or build as it starts (`pull`/`build`, image).
    pub report: &'a dyn Fn(&str, &str),
}

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
    /// A registry refused or failed a pull or push.
    #[error("service `{service}`: {verb} `{image}` failed: {message}\n  {}", registry_hint(*.failure, .registry, *.engine))]
    Registry {
        /// The service.
        service: String,
        /// The image.
        image: String,
        /// `pulling` or `pushing`.
        verb: &'static str,
        /// The registry host.
        registry: String,
        /// What kind of failure.
        failure: RegistryFailure,
        /// The engine's words.
        message: String,
        /// The engine, whose fixes differ (certificate directories).
        engine: EngineKind,
    },
    /// The user's logins could not be read.
    #[error("service `{service}`: reading the login for {registry}: {message}")]
    Logins {
        /// The service.
        service: String,
        /// The registry host.
        registry: String,
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

/// What to tell the user to do about a registry failure, for `engine`.
pub fn registry_hint(failure: RegistryFailure, registry: &str, engine: EngineKind) -> String {
    match failure {
        RegistryFailure::Unauthorized => format!(
            "{registry} wants a login: run `stack login {registry}` (a `docker login` works too), then try again"
        ),
        RegistryFailure::NotFound => format!(
            "{registry} has no such image or tag: check `image:` in the stack file (a private image also reads as missing without a login: `stack login {registry}`)"
        ),
        RegistryFailure::Untrusted => {
            let dir = match engine {
                EngineKind::Podman => "/etc/containers/certs.d",
                _ => "/etc/docker/certs.d",
            };
            format!(
                "the engine does not trust {registry}'s TLS certificate: put the CA certificate that signed it in {dir}/{registry}/ca.crt (read at each pull, no restart needed)"
            )
        }
        RegistryFailure::Unreachable => format!(
            "{registry} does not answer: is the registry running, and are its host and port in the image name right?"
        ),
        RegistryFailure::Other => format!("the registry {registry} refused it"),
    }
}

/// The login `logins` has for the registry of `image`.
pub async fn login_for(
    logins: &dyn Logins,
    service: &str,
    image: &str,
) -> Result<Option<Auth>, ImageError> {
    let host = registry::reference::registry_of(image);
    logins
        .for_registry(&host)
        .await
        .map_err(|message| ImageError::Logins {
            service: service.into(),
            registry: host,
            message,
        })
}

/// A failed registry call as the error that says what to do.
pub fn registry_error(
    engine: &dyn Engine,
    service: &str,
    image: &str,
    verb: &'static str,
    error: EngineError,
) -> ImageError {
    match error {
        EngineError::Registry {
            registry,
            failure,
            message,
            ..
        } => ImageError::Registry {
            service: service.into(),
            image: image.into(),
            verb,
            registry,
            failure,
            message,
            engine: engine.capabilities().engine,
        },
        other => ImageError::Engine(other),
    }
}

/// Make the images of the wanted services present: build those with
/// `build:` when asked or when their image is missing, pull the others per
/// the policy, with the user's logins.
pub async fn ensure_images(
    engine: &dyn Engine,
    project: &Project,
    wanted: &Wanted<'_>,
) -> Result<(), ImageError> {
    let Wanted {
        services,
        policy,
        build,
        logins,
        report,
    } = *wanted;
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
                build_service(engine, logins, name, &image, b).await?;
                continue;
            }
        }
        match (own_policy, present) {
            (PullPolicy::Always, _) | (PullPolicy::Missing, false) => {
                report("pull", &image);
                let auth = login_for(logins, name, &image).await?;
                engine
                    .pull_image(&image, auth.as_ref())
                    .await
                    .map_err(|e| registry_error(engine, name, &image, "pulling", e))?;
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
    logins: &dyn Logins,
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
    let file = dockerfile.clone();
    let (context_tar, dockerfile_text) = tokio::task::spawn_blocking(move || {
        let text = match &inline {
            Some((_, text)) => text.clone(),
            None => std::fs::read_to_string(Path::new(&context).join(&file)).unwrap_or_default(),
        };
        context_tar(Path::new(&context), inline).map(|tar| (tar, text))
    })
    .await
    .map_err(|e| err(e.to_string()))?
    .map_err(err)?;
    let args: BTreeMap<String, String> = b
        .args
        .iter()
        .flat_map(|a| a.0.iter())
        .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
        .collect();
    // The logins of the registries the base images come from.
    let mut registry_auths = Vec::new();
    let mut asked = BTreeSet::new();
    for base in base_images(&dockerfile_text) {
        let host = registry::reference::registry_of(&base);
        if asked.insert(host) {
            registry_auths.extend(login_for(logins, service, &base).await?);
        }
    }
    engine
        .build_image(BuildRequest {
            tag: image.into(),
            tags: b.tags.clone().unwrap_or_default(),
            context_tar,
            dockerfile,
            args,
            target: b.target.clone(),
            labels: b.labels.clone().unwrap_or_default(),
            no_cache: b.no_cache.unwrap_or(false),
            pull: b.pull.unwrap_or(false),
            network: b.network.clone(),
            extra_hosts: b
                .extra_hosts
                .iter()
                .flatten()
                .map(|h| h.replacen('=', ":", 1))
                .collect(),
            shm_size: b.shm_size.map(|s| s.0),
            cache_from: b.cache_from.clone().unwrap_or_default(),
            registry_auths,
        })
        .await
        .map_err(|e| err(e.to_string()))
}

/// The images a Dockerfile builds `FROM`, leaving out `scratch` and its
/// own earlier stages.
fn base_images(dockerfile: &str) -> Vec<String> {
    let mut stages = BTreeSet::new();
    let mut images = Vec::new();
    for line in dockerfile.lines() {
        let mut words = line.split_whitespace();
        if !words.next().is_some_and(|w| w.eq_ignore_ascii_case("from")) {
            continue;
        }
        let mut rest = words.skip_while(|w| w.starts_with("--"));
        let Some(image) = rest.next() else { continue };
        if let (Some(r#as), Some(stage)) = (rest.next(), rest.next()) {
            if r#as.eq_ignore_ascii_case("as") {
                stages.insert(stage.to_ascii_lowercase());
            }
        }
        let lower = image.to_ascii_lowercase();
        if lower != "scratch" && !stages.contains(&lower) && !image.contains('$') {
            images.push(image.to_string());
        }
    }
    images
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
    fn base_images_leave_out_stages_scratch_and_variables() {
        let dockerfile = "FROM --platform=linux/amd64 localhost:5000/base:1 AS build\nRUN make\nfrom build\nFROM scratch\nFROM ${BASE}\nFROM busybox:1.36 as final\n";
        assert_eq!(
            base_images(dockerfile),
            vec!["localhost:5000/base:1", "busybox:1.36"]
        );
    }

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
