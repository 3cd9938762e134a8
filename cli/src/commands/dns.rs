//! `stack dns records`: what the stack's DNS answers on each network, so
//! a learner can see what resolves where; `stack dns query`: one name, as
//! a given service would be answered. Read from the engine the way the
//! agent reads it; the agent need not run. `stack dns log -f`: the
//! agent's answers as they happen.

use std::process::ExitCode;

use clap::Subcommand;
use dns::{Answer, RecordType, Stacks};

use crate::project::ProjectArgs;

/// `stack dns ...`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the records each network's containers can resolve.
    Records {
        /// Only this network (its key in the stack file).
        #[arg(long)]
        network: Option<String>,
    },
    /// Ask the stack's DNS for NAME as SERVICE's first replica would
    /// (default: as the host asks on loopback); no `dig` needed.
    Query {
        /// The name (`web`, `web.<project>.stack`, `_http._tcp.web...`).
        name: String,
        /// Record type.
        #[arg(long = "type", default_value = "A", value_parser = ["A", "AAAA", "SRV", "PTR"])]
        kind: String,
        /// Ask as this service's first running replica.
        #[arg(long, value_name = "SERVICE")]
        from: Option<String>,
    },
    /// Follow what the stack's DNS answers, live: who asked what, and
    /// what they got (NXDOMAIN across networks shows here). Recorded only
    /// while someone follows; Ctrl-C stops.
    Log {
        /// Follow (the default, and the only way: nothing is kept).
        #[arg(short, long)]
        follow: bool,
    },
}

/// Answer `name` as `from`'s first running replica (or the host) would be
/// answered: exit 0 with records, 1 for NXDOMAIN or none.
fn query(stacks: &Stacks, name: &str, kind: &str, from: Option<&str>) -> anyhow::Result<ExitCode> {
    let kind: RecordType = kind.parse()?;
    match app::dns::query(stacks, name, kind, from)? {
        Answer::Records { answers, .. } if !answers.is_empty() => {
            for record in answers {
                println!(
                    "{} {} {}",
                    record.name(),
                    record.record_type(),
                    record.data()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Answer::Records { .. } => {
            println!("{name}: no {kind} record");
            Ok(ExitCode::FAILURE)
        }
        Answer::NxDomain => {
            println!(
                "{name}: NXDOMAIN (not a name {} may see)",
                from.unwrap_or("the host")
            );
            Ok(ExitCode::FAILURE)
        }
        Answer::Forward => {
            println!("{name}: not the stack's: the agent forwards it to the upstream resolvers");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Run `stack dns`.
pub async fn run(project: &ProjectArgs, command: &Command) -> anyhow::Result<ExitCode> {
    let session = project.session(&[]).await?;
    if let Command::Log { .. } = command {
        let cancel = crate::signals::cancel_on_signal(false)?;
        let mut print = |line: &str| println!("{line}");
        app::dns::follow_log(&session, &cancel, &mut print).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let stacks = app::dns::stacks(&session).await?;
    let zone = stacks.own();
    let network = match command {
        Command::Records { network } => network,
        Command::Query { name, kind, from } => return query(&stacks, name, kind, from.as_deref()),
        Command::Log { .. } => return Ok(ExitCode::SUCCESS),
    };
    let name = session.name();
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
        let gateways: Vec<String> = net
            .gateway
            .map(|g| format!("{g}:53"))
            .into_iter()
            .chain(net.gateway_v6.map(|g| format!("[{g}]:53")))
            .collect();
        let asked = if gateways.is_empty() {
            "answered on loopback only, for the host".to_string()
        } else {
            format!("asked at {}", gateways.join(" and "))
        };
        if subnets.is_empty() {
            println!("network {} ({asked})", net.key);
        } else {
            println!("network {} ({}; {asked})", net.key, subnets.join(", "));
        }
        let lines = zone.render(&net.key);
        if lines.is_empty() {
            println!("  (no service on this network)");
        }
        for line in lines {
            println!("  {line}");
        }
        // Another stack's services on a shared network: by their
        // project-qualified names.
        for (other, key) in app::dns::sharing(&stacks, &net.key) {
            println!("  shared with stack `{}`:", other.data().project);
            for line in other.render(&key) {
                println!("    {line}");
            }
        }
        println!();
    }
    for warning in zone.warnings() {
        println!("note: {warning}");
    }
    match app::agent::running_pid(&name).await? {
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
