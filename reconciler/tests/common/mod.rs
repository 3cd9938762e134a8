//! Helpers shared by the reconciler's integration tests.

use schema::Project;

/// Load `yaml` as the stack file of a project named `p` (from memory).
pub fn project(yaml: &str) -> Project {
    schema::load_str(yaml, "p")
        .unwrap_or_else(|d| panic!("{d}"))
        .project
}
