//! `cp`: files between the host and a service's containers, with the
//! docker CLI's rules for where they land: into a destination directory
//! that exists, else under the destination's name.

use std::path::{Component, Path, PathBuf};

use crate::containers::{select, Target};
use crate::{blocking, AppError, Result, Session};

/// One end of a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// A path on this host (`-`: standard input or output, as a tar).
    Host(PathBuf),
    /// A path in the service's container.
    Container(String),
}

/// What `cp` copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyRequest {
    /// The service whose container is the other end.
    pub service: String,
    /// Its replica (default 1).
    pub index: Option<u32>,
    /// Into every replica (host to container only).
    pub all: bool,
    /// Keep the files' owners (`-a`).
    pub archive: bool,
    /// From here...
    pub from: End,
    /// ...to there.
    pub to: End,
}

/// Copy; the containers copied from or to.
pub async fn run(session: &Session, request: &CopyRequest) -> Result<Vec<String>> {
    let target = Target {
        services: vec![request.service.clone()],
        index: if request.all {
            None
        } else {
            Some(request.index.unwrap_or(1))
        },
    };
    let containers = select(session, &target).await?;
    if containers.is_empty() {
        return Err(AppError::Invalid(format!(
            "service `{}` has no container #{}; create it with `stack up -d {}`",
            request.service,
            request.index.unwrap_or(1),
            request.service
        )));
    }
    let on = |name: &str| {
        let name = name.to_string();
        move |source| AppError::EngineOn {
            subject: name.clone(),
            source,
        }
    };
    match (&request.from, &request.to) {
        (End::Container(src), End::Host(dest)) => {
            let c = &containers[0];
            let tar = session
                .engine
                .download(&c.id, src)
                .await
                .map_err(on(&c.name))?;
            let (dest, archive) = (dest.clone(), request.archive);
            blocking(move || unpack(&tar, &dest, archive)).await?;
            Ok(vec![c.name.clone()])
        }
        (End::Host(src), End::Container(dest)) => {
            let mut done = Vec::new();
            for c in &containers {
                let stat = session
                    .engine
                    .path_is_dir(&c.id, dest)
                    .await
                    .map_err(on(&c.name))?;
                let (dir, name) = match stat {
                    Some(true) => (dest.clone(), None),
                    _ => split(dest)?,
                };
                let (src, name) = (src.clone(), name);
                let tar = blocking(move || pack(&src, name.as_deref())).await?;
                session
                    .engine
                    .upload(&c.id, &dir, tar, request.archive)
                    .await
                    .map_err(on(&c.name))?;
                done.push(c.name.clone());
            }
            Ok(done)
        }
        _ => Err(AppError::Invalid(
            "cp copies between the host and a container: name the container end as SERVICE:PATH"
                .into(),
        )),
    }
}

/// `/a/b/c` -> (`/a/b`, `c`).
fn split(path: &str) -> Result<(String, Option<String>)> {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rsplit_once('/') {
        Some((dir, name)) if !name.is_empty() => Ok((
            if dir.is_empty() {
                "/".into()
            } else {
                dir.into()
            },
            Some(name.into()),
        )),
        _ => Err(AppError::Invalid(format!(
            "`{path}` names no file in the container: give an absolute path"
        ))),
    }
}

/// A tar of `src` (file or directory) whose top entry is `name`, else
/// `src`'s own name; `-` is a tar read from standard input.
pub(crate) fn pack(src: &Path, name: Option<&str>) -> Result<Vec<u8>> {
    if src.as_os_str() == "-" {
        let mut tar = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut tar)?;
        return Ok(tar);
    }
    let own = src
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| AppError::Invalid(format!("`{}` names no file", src.display())))?;
    let name = name.map_or(own, str::to_string);
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    if src.is_dir() {
        builder.append_dir_all(&name, src)?;
    } else {
        builder.append_path_with_name(src, &name)?;
    }
    Ok(builder.into_inner()?)
}

/// Unpack a tar whose top entry is the copied file or directory: into
/// `dest` when it is a directory, else as `dest`; `-` writes the tar to
/// standard output. With `archive`, owners are kept.
fn unpack(tar: &[u8], dest: &Path, archive: bool) -> Result<()> {
    if dest.as_os_str() == "-" {
        std::io::Write::write_all(&mut std::io::stdout(), tar)?;
        return Ok(());
    }
    let (base, rename) = if dest.is_dir() {
        (dest.to_path_buf(), None)
    } else {
        let parent = dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !parent.is_dir() {
            return Err(AppError::Invalid(format!(
                "{} is not a directory",
                parent.display()
            )));
        }
        (parent.to_path_buf(), dest.file_name().map(PathBuf::from))
    };
    let mut entries = tar::Archive::new(tar);
    entries.set_preserve_ownerships(archive);
    entries.set_preserve_permissions(true);
    for entry in entries.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        // Nothing may land outside the destination.
        if path
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(AppError::Invalid(format!(
                "the archive names `{}`, outside the destination",
                path.display()
            )));
        }
        let mut parts = path.components();
        let top = parts.next();
        let relative: PathBuf = match (&rename, top) {
            (Some(name), Some(_)) => std::iter::once(Component::Normal(name.as_os_str()))
                .chain(parts)
                .collect(),
            _ => path.clone(),
        };
        entry.unpack(base.join(relative))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("stack-cp-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn files_land_in_a_directory_or_under_the_new_name() {
        let dir = temp("land");
        std::fs::create_dir_all(dir.join("src/sub")).unwrap();
        std::fs::write(dir.join("src/sub/a.txt"), "a").unwrap();
        let tar = pack(&dir.join("src"), None).unwrap();
        std::fs::create_dir_all(dir.join("into")).unwrap();
        unpack(&tar, &dir.join("into"), false).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("into/src/sub/a.txt")).unwrap(),
            "a"
        );
        unpack(&tar, &dir.join("renamed"), false).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("renamed/sub/a.txt")).unwrap(),
            "a"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_archive_cannot_write_outside_the_destination() {
        let dir = temp("escape");
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(1);
        header.set_mode(0o644);
        // `append_data` refuses `..`; write the name as a hostile archive would.
        header.as_gnu_mut().unwrap().name[..9].copy_from_slice(b"../evil.x");
        header.set_cksum();
        builder.append(&header, &b"x"[..]).unwrap();
        let tar = builder.into_inner().unwrap();
        let err = unpack(&tar, &dir, false).unwrap_err();
        assert!(err.to_string().contains("outside the destination"), "{err}");
        assert!(!dir.parent().unwrap().join("evil.x").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn container_paths_split_into_directory_and_name() {
        assert_eq!(split("/tmp/x").unwrap(), ("/tmp".into(), Some("x".into())));
        assert_eq!(split("/x/").unwrap(), ("/".into(), Some("x".into())));
        assert!(split("relative").is_err());
    }
}
