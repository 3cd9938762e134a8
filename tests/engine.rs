//! The Docker `Engine` implementation on its own, against the real engine.

use reconciler::docker::DockerEngine;
use reconciler::engine::Images;
use reconciler::Engine;
use stack_e2e::docker;

/// Removes the image when the test ends, passed or not.
struct ImageGuard(String);

impl Drop for ImageGuard {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["rmi", "-f", &self.0])
            .output();
    }
}

#[tokio::test]
async fn connects_with_a_negotiated_api_version() {
    let engine = DockerEngine::connect().await.expect("engine");
    let description = engine.describe().await.expect("describe");
    assert!(description.starts_with("Docker Engine"), "{description}");
    // The client speaks the daemon's version, whatever bollard's newest is.
    let server_api = docker(&["version", "--format", "{{.Server.APIVersion}}"]);
    assert!(
        description.contains(&format!("using {}", server_api.trim())),
        "{description}"
    );
}

#[tokio::test]
async fn imports_a_root_filesystem_as_an_image() {
    let reference = format!("stack-e2e-import:{}", std::process::id());
    let _guard = ImageGuard(reference.clone());
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    let content = b"imported by the stack end-to-end tests\n";
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder
        .append_data(&mut header, "etc/stack-e2e", &content[..])
        .unwrap();
    let rootfs = builder.into_inner().unwrap();
    let engine = DockerEngine::connect().await.expect("engine");
    let id = engine
        .import_image(&reference, rootfs, vec!["LABEL io.stack.e2e=import".into()])
        .await
        .expect("import");
    assert_eq!(engine.image_id(&reference).await.unwrap(), Some(id));
    let label = docker(&[
        "image",
        "inspect",
        "-f",
        "{{index .Config.Labels \"io.stack.e2e\"}}",
        &reference,
    ]);
    assert_eq!(label.trim(), "import");
}

#[tokio::test]
async fn a_missing_image_cannot_be_pulled_and_says_so() {
    let engine = DockerEngine::connect().await.expect("engine");
    assert_eq!(engine.image_id("stack-e2e-absent:0").await.unwrap(), None);
    let err = engine
        .pull_image("stack-e2e-absent:0", None)
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("stack-e2e-absent:0: "), "{err}");
    // No registry is reachable from here: Docker Hub does not answer.
    match err {
        reconciler::EngineError::Registry {
            registry, failure, ..
        } => {
            assert_eq!(registry, "docker.io");
            assert_eq!(failure, reconciler::engine::RegistryFailure::Unreachable);
        }
        other => panic!("not a registry error: {other:?}"),
    }
}
