//! Published ports: the short syntax (`"127.0.0.1:8080-8081:80-81/udp"`)
//! and the long one, normalised to one [`PortConfig`] per container port.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::forms::Text;

/// One published or exposed container port, in Compose's long form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortConfig {
    /// A name for the port (used for SRV records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `ingress` (default) or `host`; only meaningful on Swarm.
    #[serde(default = "ingress")]
    pub mode: String,
    /// Host address to bind (all addresses when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
    /// Container port.
    pub target: u16,
    /// Host port or range (`"8080"`, `"8080-8082"`); a random port when absent.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "published"
    )]
    pub published: Option<String>,
    /// `tcp` (default) or `udp` or `sctp`.
    #[serde(default = "tcp")]
    pub protocol: String,
    /// An application protocol hint (`http`, `grpc`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
}

fn ingress() -> String {
    "ingress".into()
}

fn tcp() -> String {
    "tcp".into()
}

fn published<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<Text>::deserialize(d)?.map(|t| t.0))
}

impl PortConfig {
    /// The published host ports as an inclusive range, if any.
    pub fn published_range(&self) -> Option<(u16, u16)> {
        parse_range(self.published.as_deref()?).ok()
    }
}

fn parse_range(s: &str) -> Result<(u16, u16), String> {
    let bad = || format!("`{s}` is not a port or a port range like 8080-8082");
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (a, b),
        None => (s, s),
    };
    let a: u16 = a.trim().parse().map_err(|_| bad())?;
    let b: u16 = b.trim().parse().map_err(|_| bad())?;
    if a > b {
        return Err(format!("port range `{s}` ends before it starts"));
    }
    Ok((a, b))
}

/// Parse the short syntax into one or more long-form ports.
///
/// `[host_ip:][published[-end]:]target[-end][/protocol]`. A range of
/// container ports maps one-to-one onto a range of host ports of the same
/// length; a single container port with a host range stays one port (the
/// engine picks a free host port from the range, and replicas spread over it).
pub fn parse_short(spec: &str) -> Result<Vec<PortConfig>, String> {
    let (rest, protocol) = match spec.rsplit_once('/') {
        Some((r, p)) => (r, p.to_ascii_lowercase()),
        None => (spec, "tcp".to_string()),
    };
    if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!(
            "`{protocol}` is not a protocol (use tcp, udp or sctp)"
        ));
    }
    // An IPv6 host address is written in brackets: `[::1]:8080:80`.
    let (host_ip, rest) = if let Some(after) = rest.strip_prefix('[') {
        let (ip, tail) = after
            .split_once(']')
            .ok_or_else(|| format!("`{spec}` opens `[` for an IPv6 address but never closes it"))?;
        let tail = tail
            .strip_prefix(':')
            .ok_or_else(|| format!("`{spec}`: expected `:` after the IPv6 address"))?;
        (Some(ip.to_string()), tail)
    } else {
        (None, rest)
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (host_ip, published, target) = match parts.as_slice() {
        [t] => (host_ip, None, *t),
        [p, t] => (host_ip, Some(*p), *t),
        [ip, p, t] if host_ip.is_none() => (Some(ip.to_string()), Some(*p), *t),
        _ => {
            return Err(format!(
                "`{spec}` is not [host_ip:][host_port:]container_port[/protocol]"
            ))
        }
    };
    if let Some(ip) = &host_ip {
        ip.parse::<std::net::IpAddr>()
            .map_err(|_| format!("`{ip}` in `{spec}` is not an IP address"))?;
    }
    let (t0, t1) = parse_range(target)?;
    let published = published.filter(|p| !p.is_empty());
    let make = |target: u16, published: Option<String>| PortConfig {
        name: None,
        mode: ingress(),
        host_ip: host_ip.clone(),
        target,
        published,
        protocol: protocol.clone(),
        app_protocol: None,
    };
    match published {
        None => Ok((t0..=t1).map(|t| make(t, None)).collect()),
        Some(p) => {
            let (p0, p1) = parse_range(p)?;
            if t0 == t1 {
                Ok(vec![make(t0, Some(p.to_string()))])
            } else if p1 - p0 == t1 - t0 {
                Ok((t0..=t1)
                    .zip(p0..=p1)
                    .map(|(t, p)| make(t, Some(p.to_string())))
                    .collect())
            } else {
                Err(format!(
                    "`{spec}` maps {} container ports onto {} host ports; the ranges must be the same length",
                    t1 - t0 + 1,
                    p1 - p0 + 1
                ))
            }
        }
    }
}

/// `ports:` as a list of short strings, numbers and long-form mappings.
pub fn ports<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<PortConfig>>, D::Error> {
    struct Item(Vec<PortConfig>);
    impl<'de> Deserialize<'de> for Item {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Item;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a port like \"8080:80\" or a mapping with target/published")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Item, E> {
                    parse_short(v).map(Item).map_err(E::custom)
                }
                fn visit_i64<E: de::Error>(self, v: i64) -> Result<Item, E> {
                    self.visit_str(&v.to_string())
                }
                fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Item, A::Error> {
                    PortConfig::deserialize(de::value::MapAccessDeserializer::new(map))
                        .map(|p| Item(vec![p]))
                }
            }
            d.deserialize_any(V)
        }
    }
    struct List;
    impl<'de> Visitor<'de> for List {
        type Value = Vec<PortConfig>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of ports")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<PortConfig>, A::Error> {
            let mut out = Vec::new();
            while let Some(Item(p)) = seq.next_element()? {
                out.extend(p);
            }
            Ok(out)
        }
    }
    Ok(Some(d.deserialize_seq(List)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(spec: &str) -> PortConfig {
        let mut v = parse_short(spec).unwrap();
        assert_eq!(v.len(), 1, "{spec}");
        v.remove(0)
    }

    #[test]
    fn short_forms() {
        let p = one("8080:80");
        assert_eq!(
            (p.target, p.published.as_deref(), p.protocol.as_str()),
            (80, Some("8080"), "tcp")
        );
        let p = one("127.0.0.1:8080:80/udp");
        assert_eq!(p.host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(p.protocol, "udp");
        let p = one("9000");
        assert_eq!((p.target, p.published), (9000, None));
        let p = one("[::1]:7000:70");
        assert_eq!(p.host_ip.as_deref(), Some("::1"));
        let p = one("8080-8082:80");
        assert_eq!(p.published.as_deref(), Some("8080-8082"));
        assert_eq!(p.published_range(), Some((8080, 8082)));
    }

    #[test]
    fn ranges_expand_pairwise() {
        let v = parse_short("5000-5001:6000-6001").unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(
            (v[1].target, v[1].published.as_deref()),
            (6001, Some("5001"))
        );
    }

    #[test]
    fn bad_short_forms_say_why() {
        assert!(parse_short("80:90:100:1").unwrap_err().contains("host_ip"));
        assert!(parse_short("8080:80/xtp").unwrap_err().contains("protocol"));
        assert!(parse_short("5000-5002:6000-6001")
            .unwrap_err()
            .contains("same length"));
        assert!(parse_short("x:80").unwrap_err().contains("not a port"));
        assert!(parse_short("999.1.1.1:80:80")
            .unwrap_err()
            .contains("IP address"));
        assert!(parse_short("90-80").unwrap_err().contains("ends before"));
    }
}
