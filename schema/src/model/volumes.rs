//! Service mounts: named volumes, bind mounts, tmpfs, from the short
//! syntax (`data:/var/lib/db:ro`) or the long one.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::units::{ByteSize, FileMode};

/// The kind of a mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MountType {
    /// A named or anonymous volume.
    Volume,
    /// A host path.
    Bind,
    /// A memory-backed filesystem.
    Tmpfs,
    /// A named pipe (Windows engines).
    Npipe,
    /// An image mounted read-only.
    Image,
    /// A cluster volume (Swarm CSI).
    Cluster,
}

/// Options of a bind mount.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindOptions {
    /// Mount propagation (`rprivate`, `shared`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagation: Option<String>,
    /// Create the host path as a directory if it is missing (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_host_path: Option<bool>,
    /// SELinux relabel: `z` (shared) or `Z` (private).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selinux: Option<String>,
    /// Recursive read-only mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recursive: Option<String>,
}

/// Options of a volume mount.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeOptions {
    /// Do not copy the image's content into an empty volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nocopy: Option<bool>,
    /// Mount only this path inside the volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subpath: Option<String>,
}

/// Options of a tmpfs mount.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TmpfsOptions {
    /// Size limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<ByteSize>,
    /// File mode (`01777` is octal, `1777` decimal, as in Compose).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "FileMode::as_number"
    )]
    pub mode: Option<FileMode>,
}

/// One mount of a service, in Compose's long form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceVolume {
    /// The kind of mount.
    #[serde(rename = "type")]
    pub kind: MountType,
    /// Volume name or host path; absent for anonymous volumes and tmpfs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Path inside the container.
    pub target: String,
    /// Mount read-only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    /// Bind options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind: Option<BindOptions>,
    /// Volume options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<VolumeOptions>,
    /// Tmpfs options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tmpfs: Option<TmpfsOptions>,
    /// macOS consistency hint (kept, ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistency: Option<String>,
}

/// Whether a short-syntax source is a host path rather than a volume name.
pub fn is_host_path(source: &str) -> bool {
    source.starts_with('/') || source.starts_with('.') || source.starts_with('~')
}

/// Parse the short syntax `[source:]target[:options]`.
pub fn parse_short(spec: &str) -> Result<ServiceVolume, String> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, target, options) = match parts.as_slice() {
        [t] => (None, *t, None),
        [s, t] => (Some(*s), *t, None),
        [s, t, o] => (Some(*s), *t, Some(*o)),
        _ => return Err(format!("`{spec}` is not [source:]target[:ro|rw|...]")),
    };
    if target.is_empty() {
        return Err(format!("`{spec}` has no target path in the container"));
    }
    let kind = match source {
        Some(s) if is_host_path(s) => MountType::Bind,
        _ => MountType::Volume,
    };
    let mut v = ServiceVolume {
        kind,
        source: source.filter(|s| !s.is_empty()).map(str::to_string),
        target: target.to_string(),
        read_only: false,
        bind: (kind == MountType::Bind).then(|| BindOptions {
            create_host_path: Some(true),
            ..Default::default()
        }),
        volume: (kind == MountType::Volume).then(VolumeOptions::default),
        tmpfs: None,
        consistency: None,
    };
    for opt in options.into_iter().flat_map(|o| o.split(',')) {
        match opt {
            "ro" => v.read_only = true,
            "rw" => v.read_only = false,
            "z" | "Z" if kind == MountType::Bind => {
                if let Some(b) = v.bind.as_mut() {
                    b.selinux = Some(opt.to_string());
                }
            }
            "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate"
                if kind == MountType::Bind =>
            {
                if let Some(b) = v.bind.as_mut() {
                    b.propagation = Some(opt.to_string());
                }
            }
            "nocopy" if kind == MountType::Volume => {
                if let Some(vo) = v.volume.as_mut() {
                    vo.nocopy = Some(true);
                }
            }
            "cached" | "delegated" | "consistent" => v.consistency = Some(opt.to_string()),
            other => {
                return Err(format!(
                    "`{other}` is not a mount option for a {} mount (use ro, rw{})",
                    if kind == MountType::Bind {
                        "bind"
                    } else {
                        "volume"
                    },
                    if kind == MountType::Bind {
                        ", z, Z, shared, rslave..."
                    } else {
                        ", nocopy"
                    }
                ))
            }
        }
    }
    Ok(v)
}

/// `volumes:` of a service: a list of short strings or long mappings.
pub fn volumes<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<ServiceVolume>>, D::Error> {
    struct Item(ServiceVolume);
    impl<'de> Deserialize<'de> for Item {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Item;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a mount like \"data:/data\" or a mapping with type/source/target")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Item, E> {
                    parse_short(v).map(Item).map_err(E::custom)
                }
                fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Item, A::Error> {
                    let mut v =
                        ServiceVolume::deserialize(de::value::MapAccessDeserializer::new(map))?;
                    // Compose always prints the options block of the mount's kind.
                    match v.kind {
                        MountType::Volume if v.volume.is_none() => {
                            v.volume = Some(Default::default())
                        }
                        MountType::Bind => {
                            let b = v.bind.get_or_insert_with(Default::default);
                            b.create_host_path.get_or_insert(true);
                        }
                        _ => {}
                    }
                    Ok(Item(v))
                }
            }
            d.deserialize_any(V)
        }
    }
    struct List;
    impl<'de> Visitor<'de> for List {
        type Value = Vec<ServiceVolume>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of mounts")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<ServiceVolume>, A::Error> {
            let mut out = Vec::new();
            while let Some(Item(v)) = seq.next_element()? {
                out.push(v);
            }
            Ok(out)
        }
    }
    Ok(Some(d.deserialize_seq(List)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_forms() {
        let v = parse_short("data:/var/lib/db:ro").unwrap();
        assert_eq!(v.kind, MountType::Volume);
        assert_eq!(v.source.as_deref(), Some("data"));
        assert!(v.read_only);
        let b = parse_short("./src:/src:z").unwrap();
        assert_eq!(b.kind, MountType::Bind);
        assert_eq!(b.bind.unwrap().selinux.as_deref(), Some("z"));
        let a = parse_short("/cache").unwrap();
        assert_eq!((a.kind, a.source), (MountType::Volume, None));
        let n = parse_short("data:/d:nocopy").unwrap();
        assert_eq!(n.volume.unwrap().nocopy, Some(true));
    }

    #[test]
    fn bad_options_are_refused() {
        assert!(parse_short("data:/d:rox")
            .unwrap_err()
            .contains("not a mount option"));
        assert!(parse_short("a:b:c:d").is_err());
        assert!(parse_short("data:").unwrap_err().contains("no target"));
    }
}
