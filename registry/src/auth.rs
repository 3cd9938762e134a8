//! One registry's credentials, kept out of every `Debug` and log line.

use std::fmt;

/// A login for one registry: a user and password, or the identity token a
/// registry handed out in exchange for them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Auth {
    /// The registry host, normalised (`docker.io`, `localhost:5000`).
    pub server: String,
    /// The user name (may be empty with an identity token).
    pub username: String,
    /// The password. Secret.
    pub password: String,
    /// A token from an earlier login, used instead of the password. Secret.
    pub identity_token: Option<String>,
}

impl Auth {
    /// A user and password for `server` (any spelling of it).
    pub fn basic(server: &str, username: &str, password: &str) -> Auth {
        Auth {
            server: crate::reference::normalise(server),
            username: username.into(),
            password: password.into(),
            identity_token: None,
        }
    }
}

/// Shows who and where, never the secrets.
impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("server", &self.server)
            .field("username", &self.username)
            .field(
                "password",
                &if self.password.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .field(
                "identity_token",
                &self.identity_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_secret() {
        let mut auth = Auth::basic("https://index.docker.io/v1/", "me", "hunter2");
        auth.identity_token = Some("tok-123".into());
        let shown = format!("{auth:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("tok-123"),
            "{shown}"
        );
        assert!(
            shown.contains("docker.io") && shown.contains("me"),
            "{shown}"
        );
    }
}
