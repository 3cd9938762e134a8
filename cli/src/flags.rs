//! Command-line flags several subcommands share, and how they become the
//! application layer's requests.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use app::up::{PlanRequest, DEFAULT_PARALLEL};
use clap::ValueEnum;
use reconciler::images::PullPolicy;

use crate::settings;

/// `--format` of commands that print text or JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// For people.
    Text,
    /// For machines.
    Json,
}

/// `--pull`.
#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum PullArg {
    /// Pull images that are missing (default).
    #[default]
    Missing,
    /// Pull every image.
    Always,
    /// Never pull.
    Never,
}

impl PullArg {
    /// The application layer's policy.
    pub fn policy(self) -> PullPolicy {
        match self {
            PullArg::Missing => PullPolicy::Missing,
            PullArg::Always => PullPolicy::Always,
            PullArg::Never => PullPolicy::Never,
        }
    }
}

/// Flags `up` and `plan` share.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct UpFlags {
    /// Build images of services with `build:` before starting.
    #[arg(long)]
    pub build: bool,
    /// Only the named services, not what they depend on.
    #[arg(long)]
    pub no_deps: bool,
    /// When to pull images.
    #[arg(long, value_enum, default_value = "missing")]
    pub pull: PullArg,
    /// Recreate containers even when nothing changed.
    #[arg(long, conflicts_with = "no_recreate")]
    pub force_recreate: bool,
    /// Never recreate: only create missing containers and start stopped ones.
    #[arg(long)]
    pub no_recreate: bool,
    /// Remove containers of services no longer in the file.
    #[arg(long)]
    pub remove_orphans: bool,
    /// Recreate named volumes whose definition changed; their data is lost
    /// (asks first on a terminal).
    #[arg(long)]
    pub recreate_volumes: bool,
    /// Run N replicas of SERVICE (overrides the file); repeatable.
    #[arg(long, value_name = "SERVICE=N")]
    pub scale: Vec<String>,
}

impl UpFlags {
    /// The plan these flags ask for, with the `STACK_*`/`COMPOSE_*`
    /// settings of the environment.
    pub fn request(&self, services: &[String]) -> PlanRequest {
        PlanRequest {
            services: services.to_vec(),
            no_deps: self.no_deps,
            build: self.build,
            pull: self.pull.policy(),
            force_recreate: self.force_recreate,
            no_recreate: self.no_recreate,
            remove_orphans: self.remove_orphans
                || settings::flag(&["STACK_REMOVE_ORPHANS", "COMPOSE_REMOVE_ORPHANS"]),
            ignore_orphans: settings::flag(&["STACK_IGNORE_ORPHANS", "COMPOSE_IGNORE_ORPHANS"]),
            recreate_volumes: self.recreate_volumes,
            scale: self.scale.clone(),
            one_off: None,
        }
    }
}

/// Engine operations in flight: `--parallel`, else `STACK_PARALLEL_LIMIT`
/// or `COMPOSE_PARALLEL_LIMIT`, else the default.
pub fn parallel_limit(given: Option<usize>) -> usize {
    given
        .or_else(|| {
            settings::setting(&["STACK_PARALLEL_LIMIT", "COMPOSE_PARALLEL_LIMIT"])
                .and_then(|v| v.parse().ok())
        })
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_PARALLEL)
}

/// How the agent heals and serves DNS: options of `stack agent` and of
/// the `stack up` that starts it.
#[derive(Debug, Clone, clap::Args)]
pub struct AgentFlags {
    /// Seconds before the first restart of a crashed replica (doubles up to 300).
    #[arg(long, default_value_t = 10)]
    backoff: u64,
    /// Seconds after a replica starts during which it is not replaced for
    /// being unhealthy (on top of its healthcheck's start_period).
    #[arg(long, default_value_t = 0, value_name = "SECONDS")]
    grace: u64,
    /// Loopback port where the host can ask the stack's DNS
    /// (`dig @127.0.0.1 -p 5380 web.<project>.stack`); 0: none.
    #[arg(long, default_value_t = 5380, value_name = "PORT")]
    dns_port: u16,
    /// Resolver for names that are not the stack's, as IP or IP:PORT
    /// (repeat for more; default: the host's, from /etc/resolv.conf).
    #[arg(long, value_name = "ADDR", value_parser = parse_upstream)]
    dns_upstream: Vec<SocketAddr>,
    /// Time to live of the stack's DNS answers, in seconds (short, so
    /// health changes reach clients fast).
    #[arg(long, default_value_t = agent::dns_feed::DEFAULT_TTL, value_name = "SECONDS")]
    dns_ttl: u32,
    /// Do not serve the stack's DNS (names then resolve through the engine only).
    #[arg(long)]
    no_dns: bool,
}

impl AgentFlags {
    /// The agent's settings.
    pub fn options(&self) -> agent::Options {
        agent::Options {
            backoff: Duration::from_secs(self.backoff),
            grace: Duration::from_secs(self.grace),
            dns_port: (self.dns_port != 0).then_some(self.dns_port),
            dns_upstreams: self.dns_upstream.clone(),
            dns_ttl: self.dns_ttl,
            no_dns: self.no_dns,
        }
    }
}

/// `10.0.0.1` (port 53) or `10.0.0.1:5353` or `[fd00::1]:53`.
fn parse_upstream(text: &str) -> Result<SocketAddr, String> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    text.parse().map_err(|_| {
        format!("`{text}` is not an IP address or IP:PORT (e.g. 10.0.0.1 or 127.0.0.1:5353)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstreams_default_to_port_53() {
        assert_eq!(parse_upstream("10.0.0.1").unwrap().port(), 53);
        assert_eq!(parse_upstream("127.0.0.1:5353").unwrap().port(), 5353);
        assert!(parse_upstream("resolver").is_err());
    }
}
