//! The corpus: realistic stack files and what loading them must produce.
//!
//! `corpus/valid/<case>/` holds a stack file (found by the usual names),
//! optionally an `args` file, and `expected.yaml`: the normalised model as
//! `stack config` prints it. `corpus/invalid/<case>/` holds a broken stack
//! and `expected.txt`: every diagnostic, rendered with file, line, column
//! and caret. Paths inside the case directory print as `$CASE`.
//!
//! An optional `args` file says how to load the case (see `common/case.rs`).
//!
//! To update snapshots after a deliberate change, run with
//! `UPDATE_SNAPSHOTS=1` and review the diff before committing.

mod common;

use std::path::Path;

use common::case::{case_args, cases};

/// Loader options for a case.
fn case_options(dir: &Path) -> schema::Options {
    let args = case_args(dir);
    schema::Options {
        working_dir: dir.to_path_buf(),
        stack: schema::StackInputs {
            project_name: args.project_name,
            files: args.files.into_iter().map(Into::into).collect(),
            profiles: args.profiles,
            env_files: args.env_files.into_iter().map(Into::into).collect(),
            project_directory: None,
        },
        environment: args.env,
        services: args.services,
        ..Default::default()
    }
}

fn check_snapshot(path: &Path, actual: &str, failures: &mut Vec<String>) {
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    if expected == actual {
        return;
    }
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(path, actual).expect("write snapshot");
        return;
    }
    failures.push(format!(
        "{} differs.\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    ));
}

#[test]
fn valid_files_load_to_their_snapshot() {
    let cases = cases("valid");
    assert!(
        cases.len() >= 40,
        "the corpus needs at least 40 valid files, has {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for dir in &cases {
        let case = dir.to_string_lossy().into_owned();
        match schema::load(&case_options(dir)) {
            Ok(loaded) => {
                let value = serde_json::to_value(&loaded.project).expect("serialize");
                let text = serde_yaml::to_string(&value)
                    .expect("yaml")
                    .replace(&case, "$CASE");
                check_snapshot(&dir.join("expected.yaml"), &text, &mut failures);
            }
            Err(diags) => failures.push(format!("{case} failed to load:\n{diags}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn invalid_files_produce_their_diagnostics() {
    let cases = cases("invalid");
    assert!(
        cases.len() >= 40,
        "the corpus needs at least 40 broken files, has {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for dir in &cases {
        let case = dir.to_string_lossy().into_owned();
        match schema::load(&case_options(dir)) {
            Ok(_) => failures.push(format!("{case} loaded, but it is in the invalid corpus")),
            Err(diags) => {
                let text = diags.to_string().replace(&case, "$CASE") + "\n";
                check_snapshot(&dir.join("expected.txt"), &text, &mut failures);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
