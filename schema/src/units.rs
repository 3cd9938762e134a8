//! Durations (`1m30s`) and byte sizes (`512m`) as Compose writes them.
//!
//! Both serialize the way `docker compose config` prints them: durations
//! in Go's `time.Duration` notation (`1m30s`, `1h0m0s`, `500ms`), byte sizes
//! as a decimal string of bytes (`"536870912"`).

use std::fmt;
use std::time::Duration as StdDuration;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// A length of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub StdDuration);

impl Duration {
    /// Parse Go-style durations: a sequence of number+unit pairs, units
    /// `ns us µs ms s m h d`, decimals allowed (`1.5s`). A bare number is
    /// seconds, as Compose accepts for integer fields.
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::parse_inner(text.trim()).map_err(|why| {
            crate::de::with_hint(
                format!("`{text}` is not a duration: {why}"),
                "write a number and a unit, without spaces: 30s, 1m30s, 500ms, 2h",
            )
        })
    }

    fn parse_inner(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("it is empty".into());
        }
        if let Ok(secs) = s.parse::<u64>() {
            return Ok(Duration(StdDuration::from_secs(secs)));
        }
        let mut total: f64 = 0.0;
        let mut rest = s;
        while !rest.is_empty() {
            let num_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or("a number has no unit")?;
            if num_len == 0 {
                return Err("it does not start with a number".into());
            }
            let value: f64 = rest[..num_len]
                .parse()
                .map_err(|_| "a number is malformed")?;
            rest = &rest[num_len..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(rest.len());
            let nanos_per = match &rest[..unit_len] {
                "ns" => 1.0,
                "us" | "µs" => 1e3,
                "ms" => 1e6,
                "s" => 1e9,
                "m" => 60e9,
                "h" => 3600e9,
                "d" => 86400e9,
                other => return Err(format!("`{other}` is not a time unit")),
            };
            total += value * nanos_per;
            rest = &rest[unit_len..];
        }
        if !total.is_finite() || total > u64::MAX as f64 {
            return Err("it is too long".into());
        }
        Ok(Duration(StdDuration::from_nanos(total as u64)))
    }
}

impl fmt::Display for Duration {
    /// Go's `time.Duration.String()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0.as_nanos();
        if nanos == 0 {
            return f.write_str("0s");
        }
        if nanos < 1_000_000_000 {
            let (v, unit) = if nanos < 1_000 {
                (nanos as f64, "ns")
            } else if nanos < 1_000_000 {
                (nanos as f64 / 1e3, "µs")
            } else {
                (nanos as f64 / 1e6, "ms")
            };
            return write!(f, "{}{unit}", trim_float(v));
        }
        let hours = nanos / 3_600_000_000_000;
        let minutes = (nanos / 60_000_000_000) % 60;
        let secs = (nanos % 60_000_000_000) as f64 / 1e9;
        if hours > 0 {
            write!(f, "{hours}h{minutes}m{}s", trim_float(secs))
        } else if minutes > 0 {
            write!(f, "{minutes}m{}s", trim_float(secs))
        } else {
            write!(f, "{}s", trim_float(secs))
        }
    }
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.9}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration like 30s, 1m30s or 500ms")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                Duration::parse(v).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
                u64::try_from(v)
                    .map(|s| Duration(StdDuration::from_secs(s)))
                    .map_err(|_| E::custom("a duration cannot be negative"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
                Ok(Duration(StdDuration::from_secs(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// Parse `512m`, `1g`, `1.5gb`, `64k`, `1024` (bytes). Units are binary
    /// (k = 1024) as in Docker.
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::parse_inner(&text.trim().to_ascii_lowercase()).map_err(|why| {
            crate::de::with_hint(
                format!("`{text}` is not a size: {why}"),
                "write a number and a unit, without spaces: 512m, 1g, 64k",
            )
        })
    }

    fn parse_inner(s: &str) -> Result<Self, String> {
        let split = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let value: f64 = num.parse().map_err(|_| "it does not start with a number")?;
        let mult: u64 = match unit {
            "" | "b" => 1,
            "k" | "kb" | "kib" => 1 << 10,
            "m" | "mb" | "mib" => 1 << 20,
            "g" | "gb" | "gib" => 1 << 30,
            "t" | "tb" | "tib" => 1 << 40,
            other => return Err(format!("`{other}` is not a size unit")),
        };
        let bytes = value * mult as f64;
        if !bytes.is_finite() || bytes > u64::MAX as f64 {
            return Err("it is too large".into());
        }
        Ok(ByteSize(bytes as u64))
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size like 512m or 1g")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                ByteSize::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                u64::try_from(v)
                    .map(ByteSize)
                    .map_err(|_| E::custom("a size cannot be negative"))
            }
        }
        d.deserialize_str(V)
    }
}

/// A file permission mode. Written with a leading `0` (`0440`) or `0o` it
/// is octal, as YAML 1.1 and Compose read it; otherwise decimal. Printed in
/// octal with a leading zero, as `docker compose config` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileMode(pub u32);

impl Serialize for FileMode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("0{:o}", self.0))
    }
}

impl FileMode {
    /// Parse `0440`, `0o440` (octal) or `288` (decimal).
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let octal = t
            .strip_prefix("0o")
            .or_else(|| t.strip_prefix('0').filter(|r| !r.is_empty()));
        let parsed = match octal {
            Some(digits) => u32::from_str_radix(digits, 8),
            None => t.parse(),
        };
        parsed.map(FileMode).map_err(|_| {
            crate::de::with_hint(
                format!("`{text}` is not a file mode"),
                "write it in octal with a leading zero, e.g. 0440 or 0644",
            )
        })
    }
}

impl FileMode {
    /// Serialize as a plain number (Compose prints tmpfs modes this way).
    pub fn as_number<S: Serializer>(mode: &Option<FileMode>, s: S) -> Result<S::Ok, S::Error> {
        match mode {
            Some(m) => s.serialize_u32(m.0),
            None => s.serialize_none(),
        }
    }
}

impl<'de> Deserialize<'de> for FileMode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = FileMode;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a file mode like 0440")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FileMode, E> {
                FileMode::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<FileMode, E> {
                u32::try_from(v).map(FileMode).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<FileMode, E> {
                u32::try_from(v).map(FileMode).map_err(E::custom)
            }
        }
        // As text, so a leading zero survives.
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> String {
        Duration::parse(s).unwrap().to_string()
    }

    #[test]
    fn durations_print_like_go() {
        assert_eq!(d("90s"), "1m30s");
        assert_eq!(d("1m30s"), "1m30s");
        assert_eq!(d("1h"), "1h0m0s");
        assert_eq!(d("500ms"), "500ms");
        assert_eq!(d("1.5s"), "1.5s");
        assert_eq!(d("10"), "10s");
        assert_eq!(d("0s"), "0s");
        assert_eq!(d("2h45m"), "2h45m0s");
    }

    #[test]
    fn bad_durations_say_why() {
        assert!(Duration::parse("10 parsecs")
            .unwrap_err()
            .contains("time unit"));
        assert!(Duration::parse("").is_err());
        assert!(Duration::parse("s").is_err());
        assert!(Duration::parse("1.2.3s").is_err());
    }

    #[test]
    fn file_modes() {
        assert_eq!(FileMode::parse("0440").unwrap().0, 0o440);
        assert_eq!(FileMode::parse("0o644").unwrap().0, 0o644);
        assert_eq!(FileMode::parse("288").unwrap().0, 288);
        assert_eq!(FileMode::parse("0").unwrap().0, 0);
        assert!(FileMode::parse("0999").is_err());
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(ByteSize::parse("512m").unwrap().0, 536_870_912);
        assert_eq!(ByteSize::parse("1g").unwrap().0, 1 << 30);
        assert_eq!(ByteSize::parse("1.5GB").unwrap().0, 3 << 29);
        assert_eq!(ByteSize::parse("64k").unwrap().0, 65_536);
        assert_eq!(ByteSize::parse("1024").unwrap().0, 1024);
        assert!(ByteSize::parse("12 parsecs").is_err());
    }
}
