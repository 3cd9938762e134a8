//! The docker CLI's `config.json` (and Podman's `auth.json`, which has the
//! same `auths`): read, changed in the `auths` section only, written back
//! with every other key as it was.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::{reference, Auth, Error};

/// A credentials file as read.
#[derive(Debug, Clone, Default)]
pub struct ConfigFile {
    path: PathBuf,
    doc: Map<String, Value>,
}

impl ConfigFile {
    /// Read `path`; a file that does not exist reads as empty.
    pub fn read(path: &Path) -> Result<ConfigFile, Error> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(Error::Read {
                    path: path.into(),
                    source,
                })
            }
        };
        let doc = if text.trim().is_empty() {
            Map::new()
        } else {
            serde_json::from_str(&text).map_err(|e| Error::Parse {
                path: path.into(),
                message: e.to_string(),
            })?
        };
        Ok(ConfigFile {
            path: path.into(),
            doc,
        })
    }

    /// Where it lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The default credential helper (`credsStore`), if one is set.
    pub fn creds_store(&self) -> Option<&str> {
        self.doc
            .get("credsStore")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    /// The helper `credHelpers` names for `host`, if any.
    pub fn cred_helper(&self, host: &str) -> Option<&str> {
        let host = reference::normalise(host);
        self.doc
            .get("credHelpers")
            .and_then(Value::as_object)?
            .iter()
            .find(|(key, _)| reference::normalise(key) == host)
            .and_then(|(_, v)| v.as_str())
    }

    fn auths(&self) -> Option<&Map<String, Value>> {
        self.doc.get("auths").and_then(Value::as_object)
    }

    /// The credentials the `auths` section holds for `host`: `auth`
    /// (base64 of `user:password`), or `username`/`password`, and
    /// `identitytoken`. Podman's keys may carry a repository path
    /// (`host/team`); the host alone matches them too.
    pub fn entry(&self, host: &str) -> Result<Option<Auth>, Error> {
        let host = reference::normalise(host);
        let Some((_, entry)) = self
            .auths()
            .into_iter()
            .flatten()
            .find(|(key, _)| reference::normalise(key) == host)
        else {
            return Ok(None);
        };
        let field = |name: &str| {
            entry
                .get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let mut auth = Auth {
            server: host.clone(),
            ..Auth::default()
        };
        if let Some(encoded) = field("auth") {
            let decoded = STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| self.bad_entry(&host, "`auth` is not base64 of `user:password`"))?;
            let (user, password) = decoded
                .split_once(':')
                .ok_or_else(|| self.bad_entry(&host, "`auth` is not base64 of `user:password`"))?;
            auth.username = user.into();
            auth.password = password.into();
        }
        if let Some(user) = field("username") {
            auth.username = user.into();
        }
        if let Some(password) = field("password") {
            auth.password = password.into();
        }
        auth.identity_token = field("identitytoken").map(str::to_string);
        if auth.username.is_empty() && auth.password.is_empty() && auth.identity_token.is_none() {
            // `{}`: a marker the docker CLI leaves when a helper holds
            // the secret.
            return Ok(None);
        }
        Ok(Some(auth))
    }

    fn bad_entry(&self, host: &str, what: &str) -> Error {
        Error::Parse {
            path: self.path.clone(),
            message: format!("auths entry for {host}: {what}; log in again (`stack login {host}`)"),
        }
    }

    /// File `auth` in `auths`, as the docker CLI does: `auth` holds
    /// `user:password` in base64, or `user:` with the `identitytoken`
    /// beside it. `secret == false` leaves the `{}` marker only (the secret
    /// is with a helper). Any other spelling of the same host is replaced.
    pub fn set_entry(&mut self, auth: &Auth, secret: bool) {
        self.remove_entry(&auth.server);
        let mut entry = Map::new();
        if secret {
            let pair = match &auth.identity_token {
                Some(token) => {
                    entry.insert("identitytoken".into(), Value::String(token.clone()));
                    format!("{}:", auth.username)
                }
                None => format!("{}:{}", auth.username, auth.password),
            };
            entry.insert("auth".into(), Value::String(STANDARD.encode(pair)));
        }
        let auths = self
            .doc
            .entry("auths")
            .or_insert_with(|| Value::Object(Map::new()));
        if !auths.is_object() {
            *auths = Value::Object(Map::new());
        }
        if let Value::Object(auths) = auths {
            auths.insert(reference::config_key(&auth.server), Value::Object(entry));
        }
    }

    /// Drop every `auths` entry for `host`; `true` when there was one.
    pub fn remove_entry(&mut self, host: &str) -> bool {
        let host = reference::normalise(host);
        let Some(Value::Object(auths)) = self.doc.get_mut("auths") else {
            return false;
        };
        let before = auths.len();
        auths.retain(|key, _| reference::normalise(key) != host);
        auths.len() != before
    }

    /// Write it back: owner-only (0600), replaced whole (a temporary file
    /// renamed over it), its directory made 0700 when missing. A
    /// `config.json` that is a link (dotfile managers) is written through
    /// to its target, as the docker CLI does.
    pub fn write(&self) -> Result<(), Error> {
        let write_err = |source: std::io::Error| Error::Write {
            path: self.path.clone(),
            source,
        };
        let target = match fs::canonicalize(&self.path) {
            Ok(resolved) => resolved,
            Err(_) => self.path.clone(),
        };
        let dir = target.parent().unwrap_or(Path::new("."));
        if !dir.exists() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(write_err)?;
        }
        let text = serde_json::to_string_pretty(&self.doc).map_err(|e| Error::Parse {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        let temp = dir.join(format!(
            ".{}.tmp-{}",
            target
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "config.json".into()),
            std::process::id()
        ));
        let _ = fs::remove_file(&temp);
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&temp)
            .map_err(write_err)?;
        let written = file
            .write_all(text.as_bytes())
            .and_then(|()| file.write_all(b"\n"))
            .and_then(|()| file.sync_all())
            .and_then(|()| fs::set_permissions(&temp, fs::Permissions::from_mode(0o600)))
            .and_then(|()| fs::rename(&temp, &target));
        if let Err(e) = written {
            let _ = fs::remove_file(&temp);
            return Err(write_err(e));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> ConfigFile {
        ConfigFile {
            path: "config.json".into(),
            doc: serde_json::from_str(text).unwrap(),
        }
    }

    #[test]
    fn entries_in_each_spelling() {
        let config = file(
            r#"{"auths": {
                "https://index.docker.io/v1/": {"auth": "bWU6aHVudGVyMg=="},
                "localhost:5000": {"username": "u", "password": "p?~>"},
                "ghcr.io": {"auth": "bWU6", "identitytoken": "tok"},
                "quay.io/team": {"auth": "dGVhbTpwdw=="},
                "helper.example": {}
            }}"#,
        );
        let hub = config.entry("registry-1.docker.io").unwrap().unwrap();
        assert_eq!(
            (hub.username.as_str(), hub.password.as_str()),
            ("me", "hunter2")
        );
        assert_eq!(hub.server, "docker.io");
        let local = config.entry("http://localhost:5000/v2/").unwrap().unwrap();
        assert_eq!(local.password, "p?~>");
        let ghcr = config.entry("ghcr.io").unwrap().unwrap();
        assert_eq!(ghcr.identity_token.as_deref(), Some("tok"));
        assert_eq!(ghcr.username, "me");
        assert_eq!(config.entry("quay.io").unwrap().unwrap().username, "team");
        assert_eq!(config.entry("helper.example").unwrap(), None);
        assert_eq!(config.entry("elsewhere.example").unwrap(), None);
    }

    #[test]
    fn a_broken_auth_names_the_fix() {
        let config = file(r#"{"auths": {"localhost:5000": {"auth": "not base64!"}}}"#);
        let err = config.entry("localhost:5000").unwrap_err().to_string();
        assert!(err.contains("stack login localhost:5000"), "{err}");
    }

    #[test]
    fn setting_replaces_other_spellings_and_keeps_the_rest() {
        let mut config = file(
            r#"{"auths": {"index.docker.io": {"auth": "b2xkOm9sZA=="}}, "psFormat": "x", "credHelpers": {"gcr.io": "gcloud"}}"#,
        );
        config.set_entry(&Auth::basic("docker.io", "me", "pw"), true);
        let doc = serde_json::to_value(&config.doc).unwrap();
        assert_eq!(doc["auths"].as_object().unwrap().len(), 1);
        assert_eq!(
            doc["auths"]["https://index.docker.io/v1/"]["auth"],
            "bWU6cHc="
        );
        assert_eq!(doc["psFormat"], "x");
        assert_eq!(config.cred_helper("gcr.io"), Some("gcloud"));
        assert!(config.remove_entry("registry-1.docker.io"));
        assert!(!config.remove_entry("docker.io"));
    }

    #[test]
    fn written_owner_only_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/config.json");
        let mut config = ConfigFile::read(&path).unwrap();
        let mut auth = Auth::basic("localhost:5000", "u", "");
        auth.identity_token = Some("tok".into());
        config.set_entry(&auth, true);
        config.write().unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dir_mode, 0o700);
        let again = ConfigFile::read(&path)
            .unwrap()
            .entry("localhost:5000")
            .unwrap()
            .unwrap();
        assert_eq!(again.identity_token.as_deref(), Some("tok"));
        assert_eq!(again.username, "u");
    }
}
