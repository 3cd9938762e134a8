//! `stack cp SERVICE:SRC DEST` / `stack cp SRC SERVICE:DEST`: files
//! between the host and a service's container (`-` for a tar on stdin or
//! stdout), as `docker compose cp`.

use std::path::PathBuf;
use std::process::ExitCode;

use app::copy::{CopyRequest, End};

use crate::project::ProjectArgs;

/// Arguments of `stack cp`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which replica (1-based).
    #[arg(long)]
    index: Option<u32>,
    /// Into every replica of the service.
    #[arg(long, conflicts_with = "index")]
    all: bool,
    /// Keep the files' owners (uid/gid).
    #[arg(short, long)]
    archive: bool,
    /// `SERVICE:PATH` or a host path (`-`: a tar on stdin).
    source: String,
    /// `SERVICE:PATH` or a host path (`-`: a tar on stdout).
    destination: String,
}

/// `web:/etc/x` -> (`web`, `/etc/x`); a host path (which may hold `:`
/// only after a `/`) -> `None`.
fn container_end(arg: &str) -> Option<(String, String)> {
    let (service, path) = arg.split_once(':')?;
    (!service.is_empty() && !service.contains('/')).then(|| (service.to_string(), path.to_string()))
}

/// Run `stack cp`.
pub async fn run(project: &ProjectArgs, args: &Args) -> anyhow::Result<ExitCode> {
    let (service, from, to) = match (container_end(&args.source), container_end(&args.destination)) {
        (Some((service, path)), None) => (
            service,
            End::Container(path),
            End::Host(PathBuf::from(&args.destination)),
        ),
        (None, Some((service, path))) => (
            service,
            End::Host(PathBuf::from(&args.source)),
            End::Container(path),
        ),
        _ => anyhow::bail!(
            "name exactly one end as SERVICE:PATH: `stack cp web:/etc/hosts .` or `stack cp ./conf web:/etc/app/`"
        ),
    };
    if args.all && matches!(from, End::Container(_)) {
        anyhow::bail!("--all copies into every replica; from a container, pick one with --index");
    }
    let session = project.session_or_named(&[]).await?;
    let request = CopyRequest {
        service,
        index: args.index,
        all: args.all,
        archive: args.archive,
        from,
        to,
    };
    for name in app::copy::run(&session, &request).await? {
        eprintln!(" Container {name}  Copied");
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::container_end;

    #[test]
    fn the_container_end_is_service_colon_path() {
        assert_eq!(
            container_end("web:/etc/x"),
            Some(("web".into(), "/etc/x".into()))
        );
        assert_eq!(container_end("./a:b"), None);
        assert_eq!(container_end("/tmp/x"), None);
        assert_eq!(container_end(":x"), None);
    }
}
