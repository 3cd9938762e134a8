//! Registries as the docker CLI knows them, so that a user who ran
//! `docker login` (or `podman login`) changes nothing for `stack`.
//!
//! - [`reference`]: which registry an image names, and the one spelling of
//!   each registry host credentials are filed under.
//! - [`Credentials`]: where the CLI keeps logins and in which order it asks:
//!   `credHelpers` for the host, then `credsStore`, then the `auths` of
//!   `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`); then
//!   Podman's `$REGISTRY_AUTH_FILE` and `$XDG_RUNTIME_DIR/containers/auth.json`.
//! - [`Helper`]: the `docker-credential-<name>` protocol.
//!
//! **Invariant:** a secret is never logged, displayed (`Auth`'s `Debug`
//! redacts it), put in an argument list or an environment variable; it
//! reaches a helper on stdin and a file only owner-readable.

mod auth;
mod config;
mod helper;
pub mod reference;

use std::path::{Path, PathBuf};

pub use auth::Auth;
pub use config::ConfigFile;
pub use helper::Helper;

/// What went wrong reading or writing credentials.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A credentials file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A credentials file is not what the docker CLI writes.
    #[error("{path} is not a docker CLI config file: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A credentials file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A credential helper failed.
    #[error("credential helper {program}: {message}")]
    Helper {
        /// `docker-credential-<name>`.
        program: String,
        /// What it said.
        message: String,
    },
}

/// Where a login was filed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// In this file's `auths`.
    File(PathBuf),
    /// With this credential helper (`config.json` keeps an empty marker).
    Helper(String),
}

/// The credential sources of this user, in the order they are asked.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The docker CLI's `config.json`: read first, and the one written.
    docker: PathBuf,
    /// Podman's auth files, read when the docker CLI has nothing.
    podman: Vec<PathBuf>,
}

impl Credentials {
    /// The sources the environment names: `$DOCKER_CONFIG/config.json`
    /// (else `$HOME/.docker/config.json`), `$REGISTRY_AUTH_FILE`,
    /// `$XDG_RUNTIME_DIR/containers/auth.json`.
    pub fn from_env() -> Credentials {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let docker_dir = var("DOCKER_CONFIG").map(PathBuf::from).unwrap_or_else(|| {
            var("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/"))
                .join(".docker")
        });
        let podman = [
            var("REGISTRY_AUTH_FILE").map(PathBuf::from),
            var("XDG_RUNTIME_DIR").map(|d| PathBuf::from(d).join("containers/auth.json")),
        ]
        .into_iter()
        .flatten()
        .collect();
        Credentials::at(&docker_dir.join("config.json"), podman)
    }

    /// Sources at explicit paths.
    pub fn at(docker_config: &Path, podman: Vec<PathBuf>) -> Credentials {
        Credentials {
            docker: docker_config.into(),
            podman,
        }
    }

    /// The docker CLI's file, the one `store` and `erase` change.
    pub fn config_path(&self) -> &Path {
        &self.docker
    }

    /// The login for `host` (any spelling), if the user has one.
    pub fn lookup(&self, host: &str) -> Result<Option<Auth>, Error> {
        let config = ConfigFile::read(&self.docker)?;
        if let Some(helper) = config.cred_helper(host).or(config.creds_store()) {
            return Helper::new(helper).get(host);
        }
        if let Some(auth) = config.entry(host)? {
            return Ok(Some(auth));
        }
        for path in &self.podman {
            if let Some(auth) = ConfigFile::read(path)?.entry(host)? {
                return Ok(Some(auth));
            }
        }
        Ok(None)
    }

    /// File `auth` where the docker CLI would: with the host's helper or
    /// the `credsStore` when one is configured, else in `auths`.
    pub fn store(&self, auth: &Auth) -> Result<Stored, Error> {
        let mut config = ConfigFile::read(&self.docker)?;
        let helper = config
            .cred_helper(&auth.server)
            .or(config.creds_store())
            .map(str::to_string);
        let stored = match helper {
            Some(name) => {
                Helper::new(&name).store(auth)?;
                config.set_entry(auth, false);
                Stored::Helper(Helper::new(&name).program())
            }
            None => {
                config.set_entry(auth, true);
                Stored::File(self.docker.clone())
            }
        };
        config.write()?;
        Ok(stored)
    }

    /// Forget the login for `host`; `false` when there was none.
    pub fn erase(&self, host: &str) -> Result<bool, Error> {
        let mut config = ConfigFile::read(&self.docker)?;
        let mut erased = false;
        if let Some(helper) = config.cred_helper(host).or(config.creds_store()) {
            erased |= Helper::new(helper).erase(host)?;
        }
        if config.remove_entry(host) {
            erased = true;
            config.write()?;
        }
        Ok(erased)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A helper as a shell script that keeps its secrets in a directory,
    /// one file per server, as the protocol describes.
    fn helper_in(dir: &Path) -> PathBuf {
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let script = bin.join("docker-credential-test");
        let store = dir.join("secrets");
        std::fs::create_dir_all(&store).unwrap();
        std::fs::write(
            &script,
            format!(
                r#"#!/bin/sh
store={store}
case "$1" in
  get) read -r server; f="$store/$(echo "$server" | tr / _)"
       if [ -f "$f" ]; then cat "$f"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  store) body=$(cat); server=$(echo "$body" | sed 's/.*"ServerURL":"\([^"]*\)".*/\1/')
       echo "$body" > "$store/$(echo "$server" | tr / _)" ;;
  erase) read -r server; f="$store/$(echo "$server" | tr / _)"
       [ -f "$f" ] || {{ echo "credentials not found in native keychain"; exit 1; }}; rm "$f" ;;
esac
"#,
                store = store.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        bin
    }

    #[test]
    fn file_store_round_trip_and_podman_fallback() {
        let dir = tempfile::tempdir().unwrap();
        let podman = dir.path().join("auth.json");
        std::fs::write(&podman, r#"{"auths":{"quay.io":{"auth":"cDpx"}}}"#).unwrap();
        let creds = Credentials::at(&dir.path().join("docker/config.json"), vec![podman]);
        assert_eq!(creds.lookup("localhost:5000").unwrap(), None);
        let auth = Auth::basic("localhost:5000", "u", "s3cret");
        assert_eq!(
            creds.store(&auth).unwrap(),
            Stored::File(dir.path().join("docker/config.json"))
        );
        assert_eq!(creds.lookup("localhost:5000").unwrap(), Some(auth));
        assert_eq!(creds.lookup("quay.io").unwrap().unwrap().username, "p");
        assert!(creds.erase("localhost:5000").unwrap());
        assert!(!creds.erase("localhost:5000").unwrap());
        assert_eq!(creds.lookup("localhost:5000").unwrap(), None);
    }

    #[test]
    fn helper_store_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let bin = helper_in(dir.path());
        let path = std::env::var("PATH").unwrap_or_default();
        // The helper is found on the PATH, as the docker CLI finds it.
        std::env::set_var("PATH", format!("{}:{path}", bin.display()));
        let config = dir.path().join("config.json");
        std::fs::write(&config, r#"{"credsStore": "test"}"#).unwrap();
        let creds = Credentials::at(&config, vec![]);
        let auth = Auth::basic("localhost:5000", "u", "p?ss~word>");
        assert_eq!(
            creds.store(&auth).unwrap(),
            Stored::Helper("docker-credential-test".into())
        );
        let written = std::fs::read_to_string(&config).unwrap();
        assert!(
            !written.contains("p?ss"),
            "the secret stays with the helper: {written}"
        );
        assert!(written.contains("localhost:5000"), "{written}");
        assert_eq!(creds.lookup("localhost:5000").unwrap(), Some(auth));
        assert!(creds.erase("localhost:5000").unwrap());
        assert_eq!(creds.lookup("localhost:5000").unwrap(), None);
    }

    #[test]
    fn a_missing_helper_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.json");
        std::fs::write(
            &config,
            r#"{"credHelpers": {"localhost:5000": "absent-here"}}"#,
        )
        .unwrap();
        let err = Credentials::at(&config, vec![])
            .lookup("localhost:5000")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("docker-credential-absent-here") && err.contains("install"),
            "{err}"
        );
    }
}
