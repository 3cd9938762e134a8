//! Helpers shared by the reconciler's integration tests.

use std::sync::atomic::{AtomicUsize, Ordering};

use schema::Project;

static N: AtomicUsize = AtomicUsize::new(0);

/// Load `yaml` as the stack file of a project named `p`.
#[allow(dead_code)] // Not every test binary uses it.
pub fn project(yaml: &str) -> Project {
    project_named(yaml, "p")
}

/// Load `yaml` as the stack file of a project named `name`.
pub fn project_named(yaml: &str, name: &str) -> Project {
    let dir = std::env::temp_dir().join(format!(
        "stack-fake-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("stack.yaml"), yaml).unwrap();
    let loaded = schema::load(&schema::Options {
        working_dir: dir.clone(),
        project_name: Some(name.into()),
        ..Default::default()
    });
    let _ = std::fs::remove_dir_all(&dir);
    loaded.unwrap_or_else(|d| panic!("{d}")).project
}
