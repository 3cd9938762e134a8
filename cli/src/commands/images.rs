//! `stack images [SERVICE...]`: the images the project's containers run,
//! as `docker compose images` lists them.

use std::process::ExitCode;

use app::images::ImageRow;
use serde_json::{Map, Value};

use crate::listing::{self, Format};
use crate::project::ProjectArgs;

/// Arguments of `stack images`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only the image ids.
    #[arg(short, long)]
    quiet: bool,
    /// `table`, `json` (one array, as Compose), or a template.
    #[arg(long, default_value = "table")]
    format: Format,
    /// Services (default: all).
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::completion::services))]
    services: Vec<String>,
}

/// Run `stack images`.
pub async fn run(project: &ProjectArgs, args: &Args) -> anyhow::Result<ExitCode> {
    let session = project.session_or_named(&args.services).await?;
    let rows = app::images::used(&session, &args.services).await?;
    if args.quiet {
        let mut ids: Vec<&str> = rows.iter().map(id_hex).collect();
        ids.dedup();
        for id in ids {
            println!("{id}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let objects: Vec<Map<String, Value>> = rows.iter().map(object).collect();
    match &args.format {
        Format::Json => println!(
            "{}",
            Value::Array(objects.into_iter().map(Value::Object).collect())
        ),
        Format::Template(t) => print!("{}", listing::template(t, &objects)),
        Format::Table => {
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    let (repository, tag) = split(&r.reference);
                    vec![
                        r.container.clone(),
                        repository.to_string(),
                        tag.to_string(),
                        r.details.platform.clone(),
                        id_hex(r).chars().take(12).collect(),
                        listing::size(r.details.size),
                        r.details
                            .created
                            .map(listing::running_for)
                            .unwrap_or_default(),
                    ]
                })
                .collect();
            print!(
                "{}",
                listing::columns(
                    &[
                        "CONTAINER",
                        "REPOSITORY",
                        "TAG",
                        "PLATFORM",
                        "IMAGE ID",
                        "SIZE",
                        "CREATED"
                    ],
                    &cells
                )
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The id without its `sha256:`.
fn id_hex(r: &ImageRow) -> &str {
    r.details
        .id
        .strip_prefix("sha256:")
        .unwrap_or(&r.details.id)
}

/// `registry:5000/app:1.2` -> (`registry:5000/app`, `1.2`); no tag is
/// `latest`.
fn split(reference: &str) -> (&str, &str) {
    let reference = reference.split('@').next().unwrap_or(reference);
    match reference.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (reference, "latest"),
    }
}

/// What `docker compose images --format json` prints of one row.
fn object(r: &ImageRow) -> Map<String, Value> {
    let (repository, tag) = split(&r.reference);
    let tagged = r
        .details
        .tagged_at
        .map(jiff::Timestamp::try_from)
        .and_then(Result::ok)
        .map(|t| t.to_string())
        .unwrap_or_default();
    [
        ("ID", Value::from(r.details.id.clone())),
        ("ContainerName", r.container.clone().into()),
        ("Repository", repository.into()),
        ("Tag", tag.into()),
        ("Platform", r.details.platform.clone().into()),
        ("Size", r.details.size.into()),
        ("LastTagTime", tagged.into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn references_split_into_repository_and_tag() {
        assert_eq!(split("busybox:1.36"), ("busybox", "1.36"));
        assert_eq!(split("busybox"), ("busybox", "latest"));
        assert_eq!(
            split("localhost:5000/app"),
            ("localhost:5000/app", "latest")
        );
        assert_eq!(
            split("localhost:5000/app:2@sha256:ab"),
            ("localhost:5000/app", "2")
        );
    }
}
