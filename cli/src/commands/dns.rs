//! `stack dns records`: what the stack's DNS answers on each network, so
//! a learner can see what resolves where. Read from the engine the way the
//! agent reads it; the agent need not run.

use std::process::ExitCode;

use clap::Subcommand;
use dns::Zone;
use reconciler::dns_feed::{read_zone, DEFAULT_TTL};

use crate::project::ProjectArgs;
use crate::session::Session;

/// `stack dns ...`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the records each network's containers can resolve.
    Records {
        /// Only this network (its key in the stack file).
        #[arg(long)]
        network: Option<String>,
    },
}

/// Run `stack dns`.
pub async fn run(project: &ProjectArgs, command: &Command) -> anyhow::Result<ExitCode> {
    let Command::Records { network } = command;
    let Some(session) = Session::open(project, &[]).await? else {
        return Ok(ExitCode::FAILURE);
    };
    let name = session.name();
    let zone = Zone::new(read_zone(&*session.engine, &name, DEFAULT_TTL).await?, 0);
    let networks: Vec<_> = zone
        .data()
        .networks
        .iter()
        .filter(|n| network.as_ref().is_none_or(|w| *w == n.key))
        .collect();
    if networks.is_empty() {
        match network {
            Some(n) => eprintln!("error: project `{name}` has no network `{n}` on the engine"),
            None => eprintln!(
                "error: project `{name}` has no networks on the engine; run `stack up` first"
            ),
        }
        return Ok(ExitCode::FAILURE);
    }
    for net in networks {
        let subnets: Vec<String> = net.subnets.iter().map(ToString::to_string).collect();
        let gateway = net
            .gateway
            .map_or_else(|| "no gateway".to_string(), |g| format!("asked at {g}:53"));
        println!("network {} ({}; {gateway})", net.key, subnets.join(", "));
        let lines = zone.render(&net.key);
        if lines.is_empty() {
            println!("  (no service on this network)");
        }
        for line in lines {
            println!("  {line}");
        }
        println!();
    }
    for warning in zone.warnings() {
        println!("note: {warning}");
    }
    match crate::commands::agent::running_pid(&name)? {
        Some(pid) => println!(
            "The agent (pid {pid}) serves these; from the host: dig @127.0.0.1 -p <--dns-port, default 5380> <service>.{}",
            zone.origin().to_ascii().trim_end_matches('.')
        ),
        None => println!(
            "No agent runs: containers resolve service names through the engine only (start it with `stack agent`)."
        ),
    }
    Ok(ExitCode::SUCCESS)
}
