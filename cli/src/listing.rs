//! How containers are shown, as the docker CLI and Compose show them:
//! `CreatedAt`, `RunningFor`, the ports column, the truncated command, and
//! `--format table|json|TEMPLATE`.

use std::collections::BTreeMap;
use std::str::FromStr;

use reconciler::engine::PortBinding;
use serde_json::{Map, Value};

/// `--format` of listing commands: `table` (default), `json` (one object
/// per line, as `docker compose` prints), or a Go-style template such as
/// `{{.Name}} {{.State}}` (`table {{.Name}}` adds a header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// Columns for people.
    Table,
    /// One JSON object per line.
    Json,
    /// A template over the JSON object's keys.
    Template(String),
}

impl FromStr for Format {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Format, Self::Err> {
        Ok(match s {
            "table" | "text" | "pretty" | "" => Format::Table,
            "json" => Format::Json,
            other => Format::Template(other.to_string()),
        })
    }
}

/// What `{{json .}}` stands for: the whole object.
const WHOLE: &str = "json .";

/// Render `objects` with a template: `{{.Key}}` is the key's value,
/// `{{json .}}` the whole object, `\t` a tab; with a `table ` prefix, a
/// header of the upper-cased keys first.
pub fn template(template: &str, objects: &[Map<String, Value>]) -> String {
    let (header, body) = match template.strip_prefix("table") {
        Some(rest) => (true, rest.trim_start()),
        None => (false, template),
    };
    let body = body.replace("\\t", "\t").replace("\\n", "\n");
    let mut out = String::new();
    if header {
        out.push_str(&fill(&body, |key| key.to_uppercase()));
        out.push('\n');
    }
    for object in objects {
        out.push_str(&fill(&body, |key| match object.get(key) {
            _ if key == WHOLE => Value::Object(object.clone()).to_string(),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        }));
        out.push('\n');
    }
    out
}

/// Replace each `{{ .Key }}` of `text` with `value(Key)`, and `{{json .}}`
/// with `value(WHOLE)`; other actions are left as written.
fn fill(text: &str, value: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let action = rest[start + 2..start + end].trim();
        match action.strip_prefix('.') {
            _ if action == WHOLE => out.push_str(&value(WHOLE)),
            Some(key) if !key.is_empty() && !key.contains(' ') => out.push_str(&value(key)),
            _ => out.push_str(&rest[start..start + end + 2]),
        }
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

/// Columns aligned as the docker CLI aligns them (Go's tabwriter with a
/// minimum cell width of 10 and a padding of 3).
pub fn columns(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(cell);
                let pad = (widths[i] + 3).max(10) - cell.chars().count();
                out.push_str(&" ".repeat(pad));
            }
        }
        out.trim_end().to_string()
    };
    let mut out = line(header.to_vec());
    out.push('\n');
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

/// The command column: quoted, cut to 20 characters unless `full`.
pub fn command(command: &str, full: bool) -> String {
    let shown: String = if !full && command.chars().count() > 20 {
        command.chars().take(19).chain(['…']).collect()
    } else {
        command.to_string()
    };
    format!("\"{shown}\"")
}

/// The ports column: `0.0.0.0:8080->80/tcp, [::]:8080->80/tcp, 5432/tcp`.
pub fn ports(ports: &[PortBinding]) -> String {
    ports
        .iter()
        .map(|p| match (&p.host_ip, p.host_port) {
            (ip, Some(host)) => {
                let ip = ip.as_deref().unwrap_or("0.0.0.0");
                let ip = if ip.contains(':') {
                    format!("[{ip}]")
                } else {
                    ip.to_string()
                };
                format!("{ip}:{host}->{}/{}", p.container_port, p.protocol)
            }
            (_, None) => format!("{}/{}", p.container_port, p.protocol),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Compose's `Publishers`: one entry per port.
pub fn publishers(ports: &[PortBinding]) -> Value {
    Value::Array(
        ports
            .iter()
            .map(|p| {
                serde_json::json!({
                    "URL": p.host_ip.clone().unwrap_or_default(),
                    "TargetPort": p.container_port,
                    "PublishedPort": p.host_port.unwrap_or(0),
                    "Protocol": p.protocol,
                })
            })
            .collect(),
    )
}

/// `2026-12-02 22:04:18 +0000 UTC`, in the system's time zone, as Go
/// prints a time.
pub fn created_at(unix_seconds: i64) -> String {
    let Ok(at) = jiff::Timestamp::from_second(unix_seconds) else {
        return String::new();
    };
    let zoned = at.to_zoned(jiff::tz::TimeZone::system());
    zoned.strftime("%Y-%m-%d %H:%M:%S %z %Z").to_string()
}

/// `5 minutes ago`: how long ago, as the docker CLI words it.
pub fn running_for(unix_seconds: i64) -> String {
    let now = jiff::Timestamp::now().as_second();
    format!("{} ago", human_duration(now.saturating_sub(unix_seconds)))
}

/// The docker CLI's human durations (go-units' `HumanDuration`).
pub fn human_duration(seconds: i64) -> String {
    let minutes = seconds / 60;
    let hours = (seconds as f64 / 3600.0).round() as i64;
    match seconds {
        s if s < 1 => "Less than a second".into(),
        1 => "1 second".into(),
        s if s < 60 => format!("{s} seconds"),
        _ if minutes == 1 => "About a minute".into(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".into(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", hours / 24 / 365),
    }
}

/// Bytes as the docker CLI prints sizes: decimal units, three
/// significant digits (`1.99MB`, `512B`).
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    let digits = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    let text = format!("{value:.digits$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    format!("{text}{}", UNITS[unit])
}

/// Labels as the docker CLI lists them: `k=v,k=v`.
pub fn labels(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(ip: Option<&str>, host: Option<u16>, container: u16) -> PortBinding {
        PortBinding {
            host_ip: ip.map(Into::into),
            host_port: host,
            container_port: container,
            protocol: "tcp".into(),
        }
    }

    #[test]
    fn ports_read_as_the_docker_cli_prints_them() {
        let shown = ports(&[
            port(Some("0.0.0.0"), Some(8080), 80),
            port(Some("::"), Some(8080), 80),
            port(None, None, 5432),
        ]);
        assert_eq!(shown, "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp, 5432/tcp");
    }

    #[test]
    fn sizes_read_as_the_docker_cli_prints_them() {
        assert_eq!(size(1_985_570), "1.99MB");
        assert_eq!(size(512), "512B");
        assert_eq!(size(1_000), "1kB");
        assert_eq!(size(123_456_789), "123MB");
        assert_eq!(size(12_340_000_000), "12.3GB");
    }

    #[test]
    fn commands_are_quoted_and_cut_at_twenty() {
        assert_eq!(command("sleep 300", false), "\"sleep 300\"");
        assert_eq!(
            command("sh -c 'echo hi; echo err >&2'", false),
            "\"sh -c 'echo hi; ech…\""
        );
        assert_eq!(
            command("sh -c 'echo hi; echo err'", true),
            "\"sh -c 'echo hi; echo err'\""
        );
    }

    #[test]
    fn durations_are_worded_as_go_units_words_them() {
        let cases = [
            (0, "Less than a second"),
            (1, "1 second"),
            (59, "59 seconds"),
            (90, "About a minute"),
            (600, "10 minutes"),
            (3600, "About an hour"),
            (5 * 3600, "5 hours"),
            (3 * 86400, "3 days"),
            (20 * 86400, "2 weeks"),
            (90 * 86400, "3 months"),
            (800 * 86400, "2 years"),
        ];
        for (seconds, words) in cases {
            assert_eq!(human_duration(seconds), words, "{seconds}s");
        }
    }

    #[test]
    fn templates_fill_keys_and_tables_get_a_header() {
        let mut object = Map::new();
        object.insert("Name".into(), "web-1".into());
        object.insert("ExitCode".into(), 3.into());
        let objects = [object];
        assert_eq!(template("{{.Name}} {{ .ExitCode }}", &objects), "web-1 3\n");
        assert_eq!(
            template("table {{.Name}}\\t{{.Missing}}", &objects),
            "NAME\tMISSING\nweb-1\t\n"
        );
        assert_eq!(
            template("{{json .}}", &objects),
            "{\"ExitCode\":3,\"Name\":\"web-1\"}\n"
        );
        assert_eq!(template("{{if .Name}}", &objects), "{{if .Name}}\n");
    }

    #[test]
    fn formats_parse_with_templates_as_the_fallback() {
        assert_eq!("json".parse::<Format>().ok(), Some(Format::Json));
        assert_eq!("table".parse::<Format>().ok(), Some(Format::Table));
        assert_eq!(
            "{{.Name}}".parse::<Format>().ok(),
            Some(Format::Template("{{.Name}}".into()))
        );
    }
}
