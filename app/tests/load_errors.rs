//! A stack file with errors stops a use case before the engine is asked
//! anything, with a report naming the place.

use std::sync::Arc;

use app::{Inputs, Session};
use reconciler::fake::FakeEngine;

#[tokio::test]
async fn a_file_with_errors_is_a_load_error_naming_the_place() {
    let engine = Arc::new(FakeEngine::new());
    let broken = "services:\n  web:\n    image: busybox:1.36\n    restart: sometimes\n";
    let Err(error) = Session::open_with(&Inputs::text(broken), &[], engine).await else {
        panic!("a broken file must not load");
    };
    let text = error.to_string();
    assert!(matches!(error, app::AppError::Load(_)), "{text}");
    assert!(text.contains("-:4:"), "names the line: {text}");
}
