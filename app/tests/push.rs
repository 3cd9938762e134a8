//! `push` on the fake engine: which services push, with which login, and
//! what `--ignore-push-failures` and `--include-deps` change.

use std::sync::Arc;

use app::images::PushRequest;
use app::sink::Silent;
use app::{Inputs, Session};
use reconciler::fake::FakeEngine;

const STACK: &str = r#"name: pushes
services:
  api:
    image: registry.test:5000/team/api:1
    build: {context: ., tags: ["registry.test:5000/team/api:latest"]}
    depends_on: [lib]
  lib:
    image: registry.test:5000/team/lib:1
    build: {context: .}
  db:
    image: busybox:1.36
"#;

#[tokio::test]
async fn push_selects_builders_uses_the_login_and_can_go_on_after_failures() {
    let config = std::env::temp_dir().join(format!("stack-push-test-{}", std::process::id()));
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.json"),
        // alice:pw
        r#"{"auths": {"registry.test:5000": {"auth": "YWxpY2U6cHc="}}}"#,
    )
    .unwrap();
    // SAFETY: set before any other thread of this test binary reads it;
    // this binary has one test.
    unsafe { std::env::set_var("DOCKER_CONFIG", &config) };

    let engine = FakeEngine::new();
    engine.require_login("registry.test:5000", "alice", "pw");
    engine.add_image("registry.test:5000/team/api:1", "sha256:api");
    engine.add_image("registry.test:5000/team/api:latest", "sha256:api");
    let inputs = Inputs::text(STACK);
    let session = Session::open_with(&inputs, &[], Arc::new(engine.clone()))
        .await
        .expect("loads");

    // `api` alone: its image and its extra tag, with the login on file.
    let api_only = PushRequest {
        services: vec!["api".into()],
        ..PushRequest::default()
    };
    let pushed = app::images::push(&session, &api_only, &Silent)
        .await
        .expect("pushes");
    assert_eq!(
        pushed,
        [
            "registry.test:5000/team/api:1",
            "registry.test:5000/team/api:latest"
        ]
    );

    // With its dependencies, `lib` (never built) fails the push...
    let with_deps = PushRequest {
        include_deps: true,
        ..api_only.clone()
    };
    assert!(app::images::push(&session, &with_deps, &Silent)
        .await
        .is_err());
    // ... unless failures are only warnings; `db` (no build) is skipped.
    let everything = PushRequest {
        ignore_failures: true,
        ..PushRequest::default()
    };
    let pushed = app::images::push(&session, &everything, &Silent)
        .await
        .expect("goes on");
    assert_eq!(pushed.len(), 2, "{pushed:?}");

    // Without the login the registry refuses, and the error says what to do.
    std::fs::write(config.join("config.json"), "{}").unwrap();
    let err = app::images::push(&session, &api_only, &Silent)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("stack login registry.test:5000"), "{err}");
    std::fs::remove_dir_all(&config).unwrap();
}
