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
    /// `ns us µs ms s m h`, decimals allowed (`1.5s`). A bare number is
    /// seconds, as Compose accepts for integer fields.
    pub fn parse(text: &str) -> Result<Self, String> {
        let s = text.trim();
        if s.is_empty() {
            return Err("empty duration".into());
        }
        if let Ok(secs) = s.parse::<u64>() {
            return Ok(Duration(StdDuration::from_secs(secs)));
        }
        let mut total: f64 = 0.0;
        let mut rest = s;
        while !rest.is_empty() {
            let num_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(|| format!("`{text}` has a number without a unit (use s, m or h)"))?;
            if num_len == 0 {
                return Err(format!(
                    "`{text}` is not a duration like 30s, 1m30s or 500ms"
                ));
            }
            let value: f64 = rest[..num_len]
                .parse()
                .map_err(|_| format!("`{text}` has a malformed number"))?;
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
                other => return Err(format!("`{other}` is not a time unit (use ms, s, m or h)")),
            };
            total += value * nanos_per;
            rest = &rest[unit_len..];
        }
        if !total.is_finite() || total > u64::MAX as f64 {
            return Err(format!("`{text}` is too long a duration"));
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
        let s = text.trim().to_ascii_lowercase();
        let split = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let value: f64 = num
            .parse()
            .map_err(|_| format!("`{text}` is not a size like 512m or 1g"))?;
        let mult: u64 = match unit.trim() {
            "" | "b" => 1,
            "k" | "kb" | "kib" => 1 << 10,
            "m" | "mb" | "mib" => 1 << 20,
            "g" | "gb" | "gib" => 1 << 30,
            "t" | "tb" | "tib" => 1 << 40,
            other => return Err(format!("`{other}` is not a size unit (use b, k, m or g)")),
        };
        let bytes = value * mult as f64;
        if !bytes.is_finite() || bytes > u64::MAX as f64 {
            return Err(format!("`{text}` is too large"));
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
    fn byte_sizes() {
        assert_eq!(ByteSize::parse("512m").unwrap().0, 536_870_912);
        assert_eq!(ByteSize::parse("1g").unwrap().0, 1 << 30);
        assert_eq!(ByteSize::parse("1.5GB").unwrap().0, 3 << 29);
        assert_eq!(ByteSize::parse("64k").unwrap().0, 65_536);
        assert_eq!(ByteSize::parse("1024").unwrap().0, 1024);
        assert!(ByteSize::parse("12 parsecs").is_err());
    }
}
