//! `stack lint`: the warnings of the loader on their own; exit 1 when the
//! file has errors or warnings, so CI can gate on it.

use std::process::ExitCode;

use crate::project::ProjectArgs;

/// Run `stack lint`.
pub fn run(project: &ProjectArgs) -> anyhow::Result<ExitCode> {
    // Loading prints the findings.
    let loaded = project.load(&[])?;
    if loaded.warnings.is_empty() {
        println!("no findings");
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::FAILURE)
    }
}
