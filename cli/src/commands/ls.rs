//! `stack ls`: the stack projects on the engine, as `docker compose ls`
//! lists Compose's.

use std::process::ExitCode;

use app::inspect::ProjectRow;
use serde_json::{Map, Value};

use crate::listing::{self, Format};

/// Arguments of `stack ls`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Projects with no running container too.
    #[arg(short, long)]
    all: bool,
    /// Only the names.
    #[arg(short, long)]
    quiet: bool,
    /// Filter by a property: `name=NAME` (a part of the name).
    #[arg(long, value_name = "KEY=VALUE")]
    filter: Vec<String>,
    /// `table`, `json` (one array, as Compose), or a template.
    #[arg(long, default_value = "table")]
    format: Format,
}

/// Run `stack ls`.
pub async fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let mut names = Vec::new();
    for f in &args.filter {
        match f.split_once('=') {
            Some(("name", name)) => names.push(name.to_string()),
            _ => anyhow::bail!("unsupported filter `{f}`: `ls --filter` knows `name=NAME`"),
        }
    }
    let engine = app::session::connect().await?;
    let mut rows = app::inspect::projects(engine.as_ref(), args.all).await?;
    rows.retain(|r| names.iter().all(|n| r.name.contains(n.as_str())));
    if args.quiet {
        for r in &rows {
            println!("{}", r.name);
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
                .map(|r| vec![r.name.clone(), status(r), r.config_files.join(",")])
                .collect();
            print!(
                "{}",
                listing::columns(&["NAME", "STATUS", "CONFIG FILES"], &cells)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `exited(1), running(2)`, as Compose words a project's state.
fn status(r: &ProjectRow) -> String {
    r.states
        .iter()
        .map(|(state, n)| format!("{state}({n})"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn object(r: &ProjectRow) -> Map<String, Value> {
    [
        ("Name", r.name.clone()),
        ("Status", status(r)),
        ("ConfigFiles", r.config_files.join(",")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), Value::String(v)))
    .collect()
}
