//! The use cases driven as the CLI drives them, without the binary: on
//! the fake engine, with the stack file in memory and a private state
//! directory.

use std::sync::Arc;
use std::time::Duration;

use app::lifecycle::Verb;
use app::sink::Silent;
use app::up::{PlanRequest, UpRequest};
use app::{Inputs, Session, Sink};
use planner::RunState;
use reconciler::fake::FakeEngine;
use tokio_util::sync::CancellationToken;

const STACK: &str = "name: usecases\nservices:\n  web:\n    image: busybox:1.36\n    depends_on: [db]\n    deploy: {replicas: 2}\n  db:\n    image: busybox:1.36\n";

fn inputs(yaml: &str) -> Inputs {
    Inputs::text(yaml)
}

fn states(engine: &FakeEngine) -> Vec<(String, RunState)> {
    engine
        .containers()
        .into_values()
        .map(|c| (c.name, c.state))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_plan_stop_start_scale_down_on_the_fake() {
    let state = std::env::temp_dir().join(format!("stack-app-test-{}", std::process::id()));
    std::fs::create_dir_all(&state).unwrap();
    std::fs::set_permissions(&state, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    // SAFETY: set before any other thread of this test binary reads it;
    // this binary has one test.
    unsafe { std::env::set_var("STACK_STATE_DIR", &state) };

    let engine = FakeEngine::new();
    engine.add_image("busybox:1.36", "sha256:busybox");
    let session = Session::open_with(&inputs(STACK), &[], Arc::new(engine.clone()))
        .await
        .expect("the stack loads");
    let sink: Arc<dyn Sink> = Arc::new(Silent);
    let cancel = CancellationToken::new();

    app::up::converge(&session, &UpRequest::default(), &sink, &cancel, false)
        .await
        .expect("up converges");
    let names: Vec<String> = states(&engine).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["usecases-db-1", "usecases-web-1", "usecases-web-2"]);

    let planned = app::up::prepare(&session, &PlanRequest::default(), false, &Silent)
        .await
        .expect("plans");
    assert!(planned.plan.is_empty(), "converged: {:?}", planned.plan);

    let timeout = Duration::from_secs(1);
    app::lifecycle::run(&session, &["db".into()], Verb::Stop, timeout, &sink)
        .await
        .expect("stop");
    assert!(
        states(&engine)
            .iter()
            .any(|(n, s)| n == "usecases-db-1" && matches!(s, RunState::Exited { .. })),
        "{:?}",
        states(&engine)
    );
    assert!(session
        .agent_files()
        .await
        .unwrap()
        .stopped()
        .contains("db"));
    app::lifecycle::run(&session, &["web".into()], Verb::Start, timeout, &sink)
        .await
        .expect("start starts what web depends on too");
    assert!(states(&engine).iter().all(|(_, s)| *s == RunState::Running));

    let mut scale = UpRequest::services(vec!["web".into()]);
    scale.plan.scale = vec!["web=1".into()];
    app::up::converge(&session, &scale, &sink, &cancel, false)
        .await
        .expect("scale converges");
    assert_eq!(states(&engine).len(), 2, "{:?}", states(&engine));

    let bad = UpRequest {
        plan: PlanRequest {
            scale: vec!["nope=2".into()],
            ..PlanRequest::default()
        },
        ..UpRequest::default()
    };
    let refused = app::up::converge(&session, &bad, &sink, &cancel, false).await;
    assert!(
        matches!(&refused, Err(app::AppError::Scale(e)) if e.to_string().contains("no service named `nope`")),
        "{:?}",
        refused.err()
    );

    app::down::run(&session, &app::down::DownRequest::default(), &sink)
        .await
        .expect("down");
    assert!(engine.containers().is_empty());
    assert!(engine.networks().is_empty());
    let _ = std::fs::remove_dir_all(&state);
}
