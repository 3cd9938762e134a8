//! The engine calls made with hyper on the engine's socket rather than
//! through bollard: those that carry registry credentials (pull, push,
//! build of base images, the registry's digest of an image, login with
//! `/auth`), and a container create with a field of the older APIs that
//! bollard's models no longer have (the container-wide `MacAddress` of
//! API < 1.44).
//!
//! For the registry calls, two reasons. bollard has no `/auth`. And it encodes `X-Registry-Auth`
//! and `X-Registry-Config` in standard base64 where the engine decodes
//! base64url: a password with `?`, `>` or `~` in the wrong place then
//! reaches the engine as undecodable, which a pull silently treats as no
//! credentials at all. Here the headers are base64url, as the docker CLI
//! sends them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE;
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use hyperlocal::UnixConnector;
use registry::{reference, Auth};
use serde_json::{json, Value};

use super::{deadline, with_tag};
use crate::engine::{BuildRequest, EngineError, RegistryFailure, Result};

/// The engine's HTTP endpoint, for the calls above.
#[derive(Debug, Clone)]
pub(super) struct RawCalls {
    transport: Transport,
    /// `v1.41`: the API version negotiated when connecting.
    version: String,
}

#[derive(Debug, Clone)]
enum Transport {
    Unix(Client<UnixConnector, Full<Bytes>>, PathBuf),
    Tcp(Client<HttpConnector, Full<Bytes>>, String),
}

/// One call's shape.
struct Call<'a> {
    method: Method,
    /// After the version prefix, query included.
    path: String,
    /// `X-Registry-Auth` or `X-Registry-Config`, already encoded.
    credentials: Option<(&'static str, String)>,
    body: Option<(&'a str, Vec<u8>)>,
}

impl RawCalls {
    /// For the engine at `host` (`unix:///...` or `tcp://...`), speaking
    /// API `version` (`1.41`).
    pub(super) fn new(host: &str, version: &str) -> Result<RawCalls> {
        let transport = match host.split_once("://") {
            Some(("unix", path)) => Transport::Unix(
                Client::builder(TokioExecutor::new()).build(UnixConnector),
                PathBuf::from(path),
            ),
            Some(("tcp" | "http", authority)) => Transport::Tcp(
                Client::builder(TokioExecutor::new()).build_http(),
                authority.trim_end_matches('/').to_string(),
            ),
            _ => {
                return Err(EngineError::Unreachable(format!(
                    "DOCKER_HOST={host} is not a unix:// or tcp:// address"
                )))
            }
        };
        Ok(RawCalls {
            transport,
            version: format!("v{version}"),
        })
    }

    /// Pull `reference` with `auth`.
    pub(super) async fn pull(&self, reference: &str, auth: Option<&Auth>) -> Result<()> {
        let image = with_tag(reference);
        let query = serde_urlencoded::to_string([("fromImage", image.as_str())])
            .map_err(|e| EngineError::api(e.to_string()))?;
        let call = Call {
            method: Method::POST,
            path: format!("/images/create?{query}"),
            credentials: Some(("X-Registry-Auth", auth_header(auth))),
            body: None,
        };
        self.progress(call)
            .await
            .map_err(|e| registry_error(reference, e))
    }

    /// Push `reference` (its tag, `latest` when it names none) with `auth`.
    pub(super) async fn push(&self, reference: &str, auth: Option<&Auth>) -> Result<()> {
        let image = with_tag(reference);
        let (name, tag) = split_tag(&image);
        let query = serde_urlencoded::to_string([("tag", tag)])
            .map_err(|e| EngineError::api(e.to_string()))?;
        let call = Call {
            method: Method::POST,
            path: format!("/images/{name}/push?{query}"),
            credentials: Some(("X-Registry-Auth", auth_header(auth))),
            body: None,
        };
        self.progress(call)
            .await
            .map_err(|e| registry_error(reference, e))
    }

    /// Build `request`, with the logins its base images may need.
    pub(super) async fn build(&self, request: BuildRequest) -> Result<()> {
        let query = build_query(&request).map_err(EngineError::api)?;
        let config: BTreeMap<String, Value> = request
            .registry_auths
            .iter()
            .map(|a| (reference::config_key(&a.server), auth_json(a)))
            .collect();
        let call = Call {
            method: Method::POST,
            path: format!("/build?{query}"),
            credentials: Some((
                "X-Registry-Config",
                URL_SAFE.encode(Value::from(serde_json::Map::from_iter(config)).to_string()),
            )),
            body: Some(("application/x-tar", request.context_tar)),
        };
        self.progress(call).await.map_err(|e| match e {
            EngineError::Api { status, message } => EngineError::Api {
                status,
                message: format!("building {}: {message}", request.tag),
            },
            other => other,
        })
    }

    /// Check `auth` against its registry (the engine does the talking);
    /// the identity token the registry gave in exchange, if any.
    pub(super) async fn login(&self, auth: &Auth) -> Result<Option<String>> {
        let call = Call {
            method: Method::POST,
            path: "/auth".into(),
            credentials: None,
            body: Some(("application/json", auth_json(auth).to_string().into_bytes())),
        };
        let answer = self
            .json(call)
            .await
            .map_err(|e| registry_error(&auth.server, e))?;
        Ok(answer
            .get("IdentityToken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string))
    }

    /// The digest the registry serves for `reference` (`sha256:...`).
    pub(super) async fn digest(&self, reference: &str, auth: Option<&Auth>) -> Result<String> {
        let call = Call {
            method: Method::GET,
            path: format!("/distribution/{}/json", with_tag(reference)),
            credentials: Some(("X-Registry-Auth", auth_header(auth))),
            body: None,
        };
        let answer = self
            .json(call)
            .await
            .map_err(|e| registry_error(reference, e))?;
        answer
            .pointer("/Descriptor/digest")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| EngineError::api(format!("the engine named no digest for {reference}")))
    }

    /// Create container `name` from `body`, the create body as JSON
    /// (with what bollard's models lack); its id.
    pub(super) async fn create_container(&self, name: &str, body: &Value) -> Result<String> {
        let query = serde_urlencoded::to_string([("name", name)])
            .map_err(|e| EngineError::api(e.to_string()))?;
        let created = self
            .json(Call {
                method: Method::POST,
                path: format!("/containers/create?{query}"),
                credentials: None,
                body: Some(("application/json", json(body).into_bytes())),
            })
            .await?;
        created
            .get("Id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| EngineError::api(format!("the engine named no id for {name}")))
    }

    /// Make `call`; the response once its status says it succeeded.
    async fn send(&self, call: Call<'_>) -> Result<Response<Incoming>> {
        let path = format!("/{}{}", self.version, call.path);
        let mut builder = Request::builder().method(call.method);
        builder = match &self.transport {
            Transport::Unix(_, socket) => builder.uri(hyperlocal::Uri::new(socket, &path)),
            Transport::Tcp(_, authority) => builder.uri(format!("http://{authority}{path}")),
        };
        if let Some((name, value)) = call.credentials {
            builder = builder.header(name, value);
        }
        let body = match call.body {
            Some((content_type, bytes)) => {
                builder = builder.header("Content-Type", content_type);
                Full::new(Bytes::from(bytes))
            }
            None => Full::new(Bytes::new()),
        };
        let request = builder
            .body(body)
            .map_err(|e| EngineError::api(e.to_string()))?;
        let sent = match &self.transport {
            Transport::Unix(client, _) => within(client.request(request)).await?,
            Transport::Tcp(client, _) => within(client.request(request)).await?,
        };
        let response = sent.map_err(|e| EngineError::Unreachable(e.to_string()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = read_all(response).await?;
        let message = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_string());
        Err(match status.as_u16() {
            404 => EngineError::NotFound(message),
            409 => EngineError::Conflict(message),
            code => EngineError::Api {
                status: Some(code),
                message,
            },
        })
    }

    /// A call answered with one JSON document.
    async fn json(&self, call: Call<'_>) -> Result<Value> {
        let body = read_all(self.send(call).await?).await?;
        serde_json::from_slice(&body).map_err(|e| EngineError::api(e.to_string()))
    }

    /// A call answered with a stream of JSON progress messages, any of
    /// which may carry the error that ends it. Each message must arrive
    /// within the deadline: a long pull is fine as long as it moves.
    async fn progress(&self, call: Call<'_>) -> Result<()> {
        let mut body = self.send(call).await?.into_body();
        let mut pending: Vec<u8> = Vec::new();
        loop {
            let Some(frame) = within(body.frame()).await? else {
                break;
            };
            let frame = frame.map_err(|e| EngineError::Unreachable(e.to_string()))?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            pending.extend_from_slice(&data);
            while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                progress_error(&line)?;
            }
        }
        progress_error(&pending)
    }
}

/// `future`, or a timeout error once the engine deadline passes.
async fn within<T>(future: impl std::future::Future<Output = T>) -> Result<T> {
    let limit: Duration = deadline();
    tokio::time::timeout(limit, future)
        .await
        .map_err(|_| EngineError::Timeout(limit))
}

async fn read_all(response: Response<Incoming>) -> Result<Bytes> {
    within(response.into_body().collect())
        .await?
        .map(|b| b.to_bytes())
        .map_err(|e| EngineError::Unreachable(e.to_string()))
}

/// The error a progress message carries, if it carries one.
fn progress_error(line: &[u8]) -> Result<()> {
    let Ok(message) = serde_json::from_slice::<Value>(line) else {
        return Ok(());
    };
    let text = message
        .pointer("/errorDetail/message")
        .or_else(|| message.get("error"))
        .and_then(Value::as_str);
    match text {
        Some(text) => Err(EngineError::api(text)),
        None => Ok(()),
    }
}

/// The credentials as the engine reads them: JSON, base64url. No login is
/// `{}`, which the engine reads as anonymous.
fn auth_header(auth: Option<&Auth>) -> String {
    URL_SAFE.encode(auth.map_or_else(|| json!({}), auth_json).to_string())
}

fn auth_json(auth: &Auth) -> Value {
    let mut value = json!({
        "username": auth.username,
        "password": auth.password,
        "serveraddress": auth.server,
    });
    if let Some(token) = &auth.identity_token {
        value["identitytoken"] = Value::String(token.clone());
    }
    value
}

/// `localhost:5000/app:1` -> (`localhost:5000/app`, `1`).
fn split_tag(image: &str) -> (&str, &str) {
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, tag),
        _ => (image, "latest"),
    }
}

/// The `/build` query: every tag, and what the build section asks for.
fn build_query(request: &BuildRequest) -> std::result::Result<String, String> {
    let mut query: Vec<(&str, String)> = vec![("dockerfile", request.dockerfile.clone())];
    for tag in std::iter::once(&request.tag).chain(&request.tags) {
        query.push(("t", tag.clone()));
    }
    query.push(("buildargs", json(&request.args)));
    if !request.labels.is_empty() {
        query.push(("labels", json(&request.labels)));
    }
    if let Some(target) = &request.target {
        query.push(("target", target.clone()));
    }
    if request.no_cache {
        query.push(("nocache", "1".into()));
    }
    if request.pull {
        query.push(("pull", "1".into()));
    }
    if let Some(network) = &request.network {
        query.push(("networkmode", network.clone()));
    }
    if !request.extra_hosts.is_empty() {
        query.push(("extrahosts", request.extra_hosts.join(",")));
    }
    if let Some(size) = request.shm_size {
        query.push(("shmsize", size.to_string()));
    }
    if !request.cache_from.is_empty() {
        query.push(("cachefrom", json(&request.cache_from)));
    }
    query.push(("rm", "1".into()));
    serde_urlencoded::to_string(&query).map_err(|e| e.to_string())
}

/// A map or list as the build query carries it (JSON; these shapes
/// always serialise).
fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// What kind of registry failure the engine's message describes, read
/// from the words Docker uses (Podman's adapter will have its own).
pub(super) fn classify(message: &str) -> RegistryFailure {
    let m = message.to_ascii_lowercase();
    let any = |words: &[&str]| words.iter().any(|w| m.contains(w));
    if any(&["x509:", "certificate", "tls: "]) {
        RegistryFailure::Untrusted
    } else if any(&[
        "connection refused",
        "no such host",
        "i/o timeout",
        "network is unreachable",
        "server gave http response to https client",
        "context deadline exceeded",
        "connection reset",
    ]) {
        RegistryFailure::Unreachable
    } else if any(&[
        "unauthorized",
        "no basic auth credentials",
        "authentication required",
        "incorrect username or password",
        "denied",
    ]) {
        RegistryFailure::Unauthorized
    } else if any(&[
        "manifest unknown",
        "not found",
        "name unknown",
        "does not exist",
    ]) {
        RegistryFailure::NotFound
    } else {
        RegistryFailure::Other
    }
}

/// A failed registry call as an error that says which registry, what kind
/// of failure, and the engine's words.
fn registry_error(subject: &str, error: EngineError) -> EngineError {
    let message = match error {
        EngineError::Timeout(_) | EngineError::Unreachable(_) => return error,
        EngineError::NotFound(m) | EngineError::Conflict(m) | EngineError::NotSwarm(m) => m,
        EngineError::Api { message, .. } => message,
        EngineError::Registry { .. } => return error,
    };
    EngineError::Registry {
        reference: subject.into(),
        registry: reference::registry_of(subject),
        failure: classify(&message),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_base64url_so_any_password_survives() {
        let auth = Auth::basic("localhost:5000", "me", "?~>?~>?~>");
        let header = auth_header(Some(&auth));
        assert!(!header.contains(['+', '/']), "{header}");
        let decoded: Value = serde_json::from_slice(&URL_SAFE.decode(header).unwrap()).unwrap();
        assert_eq!(decoded["password"], "?~>?~>?~>");
        assert_eq!(decoded["serveraddress"], "localhost:5000");
        assert_eq!(URL_SAFE.decode(auth_header(None)).unwrap(), b"{}");
    }

    #[test]
    fn docker_messages_classified() {
        for (message, failure) in [
            ("Head \"http://127.0.0.1:5000/v2/app/manifests/1\": no basic auth credentials", RegistryFailure::Unauthorized),
            ("unauthorized: authentication required", RegistryFailure::Unauthorized),
            ("Get \"https://localhost:5443/v2/\": x509: certificate signed by unknown authority", RegistryFailure::Untrusted),
            ("Get \"http://127.0.0.1:5999/v2/\": dial tcp 127.0.0.1:5999: connect: connection refused", RegistryFailure::Unreachable),
            ("manifest for 127.0.0.1:5000/app:nope not found: manifest unknown: manifest unknown", RegistryFailure::NotFound),
            ("something else", RegistryFailure::Other),
        ] {
            assert_eq!(classify(message), failure, "{message}");
        }
    }

    #[test]
    fn every_tag_and_build_option_in_the_query() {
        let request = BuildRequest {
            tag: "localhost:5000/app:1".into(),
            tags: vec!["app:dev".into()],
            dockerfile: "Dockerfile".into(),
            labels: BTreeMap::from([("team".to_string(), "a".to_string())]),
            no_cache: true,
            pull: true,
            ..BuildRequest::default()
        };
        let query = build_query(&request).unwrap();
        for part in [
            "t=localhost%3A5000%2Fapp%3A1",
            "t=app%3Adev",
            "nocache=1",
            "pull=1",
            "labels=%7B%22team%22%3A%22a%22%7D",
        ] {
            assert!(query.contains(part), "{part} in {query}");
        }
    }

    #[test]
    fn tags_split_off_names_with_ports() {
        assert_eq!(
            split_tag("localhost:5000/app:1"),
            ("localhost:5000/app", "1")
        );
        assert_eq!(
            split_tag("localhost:5000/app"),
            ("localhost:5000/app", "latest")
        );
    }
}
