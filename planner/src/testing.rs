//! Test helpers: load a project from YAML text.

use std::sync::atomic::{AtomicUsize, Ordering};

static N: AtomicUsize = AtomicUsize::new(0);

/// Load `yaml` as the stack file of a project named `test`.
pub fn project(yaml: &str) -> schema::Project {
    let dir = std::env::temp_dir().join(format!(
        "stack-planner-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("stack.yaml"), yaml).expect("write");
    let loaded = schema::load(&schema::Options {
        working_dir: dir.clone(),
        project_name: Some("test".into()),
        ..Default::default()
    });
    let _ = std::fs::remove_dir_all(&dir);
    match loaded {
        Ok(l) => l.project,
        Err(d) => panic!("test stack must load:\n{d}"),
    }
}
