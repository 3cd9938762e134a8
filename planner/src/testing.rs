//! Test helpers: load a project from YAML text.

/// Load `yaml` as the stack file of a project named `test` (from memory).
pub fn project(yaml: &str) -> schema::Project {
    match schema::load_str(yaml, "test") {
        Ok(l) => l.project,
        Err(d) => panic!("test stack must load:\n{d}"),
    }
}
