//! Which registry an image reference names, read as the docker CLI reads
//! it (`distribution/reference`): the first path component is a registry
//! host when it has a `.` or a `:`, or is `localhost`; otherwise the image
//! is on Docker Hub.

/// Docker Hub's host, as references and `docker login` name it.
pub const DOCKER_HUB: &str = "docker.io";

/// The key the docker CLI files Docker Hub's credentials under in
/// `config.json` (a URL, for historical reasons).
pub const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// The registry host of `image` (`localhost:5000/app:1` ->
/// `localhost:5000`, `busybox` -> `docker.io`).
pub fn registry_of(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => normalise(first),
        _ => DOCKER_HUB.to_string(),
    }
}

/// A registry as a user may write it (`https://index.docker.io/v1/`,
/// `registry-1.docker.io`, `http://localhost:5000/v2/`) as one host
/// (`docker.io`, `localhost:5000`), so that every spelling finds the same
/// credentials.
pub fn normalise(server: &str) -> String {
    let server = server.trim();
    let without_scheme = server
        .strip_prefix("https://")
        .or_else(|| server.strip_prefix("http://"))
        .unwrap_or(server);
    let host = without_scheme
        .split('/')
        .next()
        .unwrap_or(without_scheme)
        .to_ascii_lowercase();
    match host.as_str() {
        "" | "docker.io" | "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_string(),
        _ => host,
    }
}

/// The key credentials for `host` are stored under, as the docker CLI
/// writes it: Docker Hub's URL, or the host itself.
pub fn config_key(host: &str) -> String {
    match normalise(host).as_str() {
        DOCKER_HUB => DOCKER_HUB_KEY.to_string(),
        other => other.to_string(),
    }
}

/// `reference` with its registry and, on Docker Hub, its `library/`
/// namespace spelled out (`busybox:1.36` ->
/// `docker.io/library/busybox:1.36`), as Compose writes pinned images.
pub fn full_name(reference: &str) -> String {
    let first = reference.split('/').next().unwrap_or(reference);
    let has_registry =
        reference.contains('/') && (first.contains(['.', ':']) || first == "localhost");
    match (has_registry, reference.contains('/')) {
        (true, _) => reference.to_string(),
        (false, true) => format!("{DOCKER_HUB}/{reference}"),
        (false, false) => format!("{DOCKER_HUB}/library/{reference}"),
    }
}

/// Is `reference` pinned to content (`@sha256:...`)?
pub fn has_digest(reference: &str) -> bool {
    reference.contains('@')
}

/// Does `reference` name a tag (`app:1`, `localhost:5000/app:1`), as
/// opposed to the implicit `latest` (`app`, `localhost:5000/app`)?
pub fn has_tag(reference: &str) -> bool {
    let name = reference.split('@').next().unwrap_or(reference);
    let last = name.rsplit('/').next().unwrap_or(name);
    last.contains(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_is_the_first_component_when_it_looks_like_a_host() {
        for (image, host) in [
            ("busybox", "docker.io"),
            ("busybox:1.36", "docker.io"),
            ("library/busybox", "docker.io"),
            ("me/app:1", "docker.io"),
            ("localhost/app", "localhost"),
            ("localhost:5000/app:1", "localhost:5000"),
            ("127.0.0.1:5000/team/app@sha256:ab", "127.0.0.1:5000"),
            ("ghcr.io/org/app", "ghcr.io"),
            ("Registry.Example.com/app", "registry.example.com"),
            ("docker.io/library/busybox", "docker.io"),
            ("index.docker.io/me/app", "docker.io"),
        ] {
            assert_eq!(registry_of(image), host, "{image}");
        }
    }

    #[test]
    fn every_spelling_of_docker_hub_is_one_host() {
        for spelling in [
            "docker.io",
            "index.docker.io",
            "registry-1.docker.io",
            "https://index.docker.io/v1/",
            "https://registry-1.docker.io",
            "",
        ] {
            assert_eq!(normalise(spelling), DOCKER_HUB, "{spelling}");
            assert_eq!(config_key(spelling), DOCKER_HUB_KEY, "{spelling}");
        }
        assert_eq!(normalise("http://localhost:5000/v2/"), "localhost:5000");
        assert_eq!(config_key("localhost:5000"), "localhost:5000");
    }

    #[test]
    fn full_names() {
        assert_eq!(full_name("busybox:1.36"), "docker.io/library/busybox:1.36");
        assert_eq!(full_name("me/app"), "docker.io/me/app");
        assert_eq!(full_name("localhost:5000/app:1"), "localhost:5000/app:1");
        assert_eq!(
            full_name("docker.io/library/busybox"),
            "docker.io/library/busybox"
        );
    }

    #[test]
    fn tags_and_digests() {
        assert!(has_tag("app:1"));
        assert!(has_tag("localhost:5000/app:1"));
        assert!(!has_tag("localhost:5000/app"));
        assert!(!has_tag("app"));
        assert!(!has_tag("app@sha256:ab"));
        assert!(has_digest("app@sha256:ab"));
        assert!(!has_digest("app:1"));
    }
}
