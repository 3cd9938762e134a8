//! `stack logs`: the output of the project's containers, multiplexed, each
//! line prefixed with its container name; stdout to stdout, stderr to
//! stderr.

use std::process::ExitCode;

use app::containers::Target;
use app::logs::{Event, Logs};
use reconciler::engine::LogOptions;

use crate::output::Printer;
use crate::project::ProjectArgs;
use crate::signals::cancel_on_signal;

/// Arguments of `stack logs`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Keep following new output.
    #[arg(short, long)]
    follow: bool,
    /// Only the last N lines of each container.
    #[arg(short = 'n', long)]
    tail: Option<usize>,
    /// Show the engine's timestamps.
    #[arg(short, long)]
    timestamps: bool,
    /// Only output since this time: RFC 3339 (`2026-01-02T15:04:05Z`),
    /// Unix seconds, or a duration before now (`10m`, `1h30m`).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Only output before this time (same forms as `--since`).
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// Only this replica (1-based).
    #[arg(long)]
    index: Option<u32>,
    /// Do not prefix lines with the container's name.
    #[arg(long)]
    no_log_prefix: bool,
    /// Do not colour the prefixes.
    #[arg(long)]
    no_color: bool,
    /// Services to show (default: all).
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::completion::services))]
    services: Vec<String>,
}

/// Run `stack logs`.
pub async fn run(project: &ProjectArgs, args: &Args) -> anyhow::Result<ExitCode> {
    let options = LogOptions {
        follow: args.follow,
        tail: args.tail,
        timestamps: args.timestamps,
        since: args.since.as_deref().map(moment).transpose()?,
        until: args.until.as_deref().map(moment).transpose()?,
    };
    let session = project.session_or_named(&[]).await?;
    let cancel = cancel_on_signal(false)?;
    let target = Target {
        services: args.services.clone(),
        index: args.index,
    };
    let mut logs = Logs::open(&session, &target, options).await?;
    let mut printer = Printer::new(!args.no_log_prefix);
    if args.no_color {
        printer = printer.without_colour();
    }
    while let Some(event) = logs.next(&cancel).await {
        if let Event::Line(index, line) = event? {
            // Names as of now: containers started since are followed too.
            printer.print(&logs.names(), index, &line)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `--since`/`--until` as Unix seconds, read as the docker CLI reads them.
fn moment(text: &str) -> anyhow::Result<i64> {
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds);
    }
    if let Ok(at) = text.parse::<jiff::Timestamp>() {
        return Ok(at.as_second());
    }
    match schema::units::Duration::parse(text) {
        Ok(ago) => {
            let ago = i64::try_from(ago.0.as_secs()).unwrap_or(i64::MAX);
            Ok(jiff::Timestamp::now().as_second().saturating_sub(ago))
        }
        Err(_) => anyhow::bail!(
            "`{text}` is no time: write RFC 3339 (2026-01-02T15:04:05Z), Unix seconds, or a duration before now (10m, 1h30m)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::moment;

    #[test]
    fn times_are_read_as_the_docker_cli_reads_them() {
        assert_eq!(moment("1700000000").ok(), Some(1_700_000_000));
        assert_eq!(moment("2023-11-14T22:13:20Z").ok(), Some(1_700_000_000));
        let now = jiff::Timestamp::now().as_second();
        let ten_minutes_ago = moment("10m").expect("a duration");
        assert!((now - 600 - ten_minutes_ago).abs() <= 2);
        assert!(moment("yesterday").is_err());
    }
}
