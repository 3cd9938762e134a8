//! `stack version`: this binary's version, and the engine it talks to
//! with the API version they agreed on (beyond Compose, which prints only
//! its own).

use std::process::ExitCode;

use crate::flags::OutputFormat;

/// Arguments of `stack version`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only the version number.
    #[arg(long)]
    short: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "text")]
    format: OutputFormat,
}

/// Run `stack version`.
pub async fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let version = env!("CARGO_PKG_VERSION");
    if args.short {
        println!("{version}");
        return Ok(ExitCode::SUCCESS);
    }
    // The engine is reported when it answers; the version is printed
    // either way.
    let engine = match app::session::connect().await {
        Ok(engine) => Some((engine.describe().await?, engine.capabilities())),
        Err(e) => {
            tracing::warn!("{e}");
            None
        }
    };
    match args.format {
        OutputFormat::Json => {
            let mut out = serde_json::json!({ "version": version });
            if let Some((described, caps)) = &engine {
                out["engine"] = described.clone().into();
                out["api_version"] = caps.api_version.to_string().into();
            }
            println!("{out}");
        }
        OutputFormat::Text => {
            println!("stack version {version}");
            match &engine {
                Some((described, _)) => println!("engine: {described}"),
                None => println!("engine: not reachable"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
