//! How the agent heals and serves DNS, as plain values: what `stack agent`
//! and the `stack up` that starts it were asked for.

use std::net::SocketAddr;
use std::time::Duration;

use crate::dns_feed::{self, DnsOptions};

/// The agent's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Wait before the first restart of a crashed replica (doubles up to 300 s).
    pub backoff: Duration,
    /// After a replica starts, how long it is not replaced for being unhealthy.
    pub grace: Duration,
    /// Loopback port where the host asks the stack's DNS; `None`: none.
    pub dns_port: Option<u16>,
    /// Resolvers for names that are not the stack's (empty: the host's).
    pub dns_upstreams: Vec<SocketAddr>,
    /// Time to live of the stack's answers, in seconds.
    pub dns_ttl: u32,
    /// Serve no DNS at all.
    pub no_dns: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            backoff: Duration::from_secs(10),
            grace: Duration::ZERO,
            dns_port: Some(5380),
            dns_upstreams: Vec::new(),
            dns_ttl: dns_feed::DEFAULT_TTL,
            no_dns: false,
        }
    }
}

impl Options {
    /// How long a replica replaced in a rolling update keeps serving after
    /// it leaves the DNS: until answers naming it have expired, and a second.
    pub fn drain(&self) -> Duration {
        Duration::from_secs(u64::from(self.dns_ttl) + 1)
    }

    /// The same settings as `stack agent` arguments, for the agent process.
    pub fn to_args(&self) -> Vec<String> {
        let mut out = vec![
            "--backoff".to_string(),
            self.backoff.as_secs().to_string(),
            "--grace".to_string(),
            self.grace.as_secs().to_string(),
            "--dns-port".to_string(),
            self.dns_port.unwrap_or(0).to_string(),
            "--dns-ttl".to_string(),
            self.dns_ttl.to_string(),
        ];
        for u in &self.dns_upstreams {
            out.extend(["--dns-upstream".to_string(), u.to_string()]);
        }
        if self.no_dns {
            out.push("--no-dns".into());
        }
        out
    }

    /// How to serve DNS, or `None` for no DNS.
    pub fn dns(&self) -> Option<DnsOptions> {
        if self.no_dns {
            return None;
        }
        let mut dns = DnsOptions {
            loopback_port: self.dns_port,
            ttl: self.dns_ttl,
            ..DnsOptions::default()
        };
        if !self.dns_upstreams.is_empty() {
            dns.upstreams = self.dns_upstreams.clone();
        }
        Some(dns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_carry_every_setting() {
        let o = Options {
            backoff: Duration::from_secs(3),
            dns_port: None,
            dns_upstreams: vec!["127.0.0.1:5353".parse().unwrap()],
            no_dns: true,
            ..Options::default()
        };
        let args = o.to_args().join(" ");
        assert_eq!(
            args,
            "--backoff 3 --grace 0 --dns-port 0 --dns-ttl 2 --dns-upstream 127.0.0.1:5353 --no-dns"
        );
        assert!(o.dns().is_none());
    }
}
