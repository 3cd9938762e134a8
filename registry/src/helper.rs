//! The docker credential helper protocol: `docker-credential-<name>
//! get|store|erase`, the request on stdin, the answer on stdout. The
//! secret travels on the pipes only, never in an argument or the
//! environment.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use wait_timeout::ChildExt;

use crate::{reference, Auth, Error};

/// How long a helper may take (it may ask a keyring to unlock).
const DEADLINE: Duration = Duration::from_secs(60);

/// The user name a helper files an identity token under, by convention.
const TOKEN_USER: &str = "<token>";

/// A credential helper, by the name `credsStore` / `credHelpers` give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Helper {
    name: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Message {
    #[serde(rename = "ServerURL", default)]
    server_url: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    secret: String,
}

impl Helper {
    /// The helper `docker-credential-<name>`.
    pub fn new(name: &str) -> Helper {
        Helper { name: name.into() }
    }

    /// The program run.
    pub fn program(&self) -> String {
        format!("docker-credential-{}", self.name)
    }

    /// The credentials it holds for `host`, if any.
    pub fn get(&self, host: &str) -> Result<Option<Auth>, Error> {
        let (ok, out) = self.call("get", reference::config_key(host).as_bytes())?;
        if !ok {
            // Helpers say "credentials not found in native keychain" and
            // exit 1 for an unknown server.
            if out.to_ascii_lowercase().contains("not found") {
                return Ok(None);
            }
            return Err(self.failed("get", &out));
        }
        let message: Message = serde_json::from_str(&out).map_err(|e| Error::Helper {
            program: self.program(),
            message: format!("`get` answered something that is not its JSON: {e}"),
        })?;
        let mut auth = Auth {
            server: reference::normalise(host),
            ..Auth::default()
        };
        if message.username == TOKEN_USER {
            auth.identity_token = Some(message.secret);
        } else {
            auth.username = message.username;
            auth.password = message.secret;
        }
        Ok(Some(auth))
    }

    /// File `auth` with the helper.
    pub fn store(&self, auth: &Auth) -> Result<(), Error> {
        let message = match &auth.identity_token {
            Some(token) => Message {
                server_url: reference::config_key(&auth.server),
                username: TOKEN_USER.into(),
                secret: token.clone(),
            },
            None => Message {
                server_url: reference::config_key(&auth.server),
                username: auth.username.clone(),
                secret: auth.password.clone(),
            },
        };
        let body = serde_json::to_vec(&message).map_err(|e| Error::Helper {
            program: self.program(),
            message: e.to_string(),
        })?;
        match self.call("store", &body)? {
            (true, _) => Ok(()),
            (false, out) => Err(self.failed("store", &out)),
        }
    }

    /// Forget what it holds for `host`; `false` when it held nothing.
    pub fn erase(&self, host: &str) -> Result<bool, Error> {
        match self.call("erase", reference::config_key(host).as_bytes())? {
            (true, _) => Ok(true),
            (false, out) if out.to_ascii_lowercase().contains("not found") => Ok(false),
            (false, out) => Err(self.failed("erase", &out)),
        }
    }

    fn failed(&self, verb: &str, output: &str) -> Error {
        Error::Helper {
            program: self.program(),
            message: format!("`{verb}` failed: {}", output.trim()),
        }
    }

    /// Run `program verb` with `input` on stdin: (exit status 0, stdout
    /// or, on failure, stdout and stderr).
    fn call(&self, verb: &str, input: &[u8]) -> Result<(bool, String), Error> {
        let program = self.program();
        let io_err = |e: std::io::Error| Error::Helper {
            program: program.clone(),
            message: if e.kind() == std::io::ErrorKind::NotFound {
                "not found on the PATH (config.json names it); install it, or remove `credsStore`/`credHelpers` from config.json".to_string()
            } else {
                e.to_string()
            },
        };
        let mut child = Command::new(&program)
            .arg(verb)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(io_err)?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(input).map_err(io_err)?;
        }
        let Some(status) = child.wait_timeout(DEADLINE).map_err(io_err)? else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Helper {
                program,
                message: format!("`{verb}` did not answer within {DEADLINE:?}"),
            });
        };
        let mut out = String::new();
        if let Some(mut stdout) = child.stdout.take() {
            stdout.read_to_string(&mut out).map_err(io_err)?;
        }
        if !status.success() {
            if let Some(mut stderr) = child.stderr.take() {
                let mut err = String::new();
                stderr.read_to_string(&mut err).map_err(io_err)?;
                out.push_str(&err);
            }
        }
        Ok((status.success(), out))
    }
}
