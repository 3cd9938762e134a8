//! A corpus case's `args` file, shared by the corpus test and the Compose
//! comparison test.
//!
//! Lines: `-f FILE`, `--profile NAME`, `--env-file FILE`, `service NAME`,
//! `env KEY=VALUE`, and `name-from-file` to take the project name from the
//! file instead of the fixed `corpus`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a case asks of the loader.
#[derive(Debug, Default)]
pub struct CaseArgs {
    /// `-f` files.
    pub files: Vec<String>,
    /// `--profile` names.
    pub profiles: Vec<String>,
    /// `--env-file` files.
    pub env_files: Vec<String>,
    /// Services named on the command line.
    pub services: Vec<String>,
    /// Environment of the run (always has `HOME`).
    pub env: BTreeMap<String, String>,
    /// Project name (`None`: from the file).
    pub project_name: Option<String>,
}

/// Read `dir/args`.
pub fn case_args(dir: &Path) -> CaseArgs {
    let mut args = CaseArgs {
        env: BTreeMap::from([("HOME".to_string(), "/home/user".to_string())]),
        project_name: Some("corpus".into()),
        ..Default::default()
    };
    let text = std::fs::read_to_string(dir.join("args")).unwrap_or_default();
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (flag, value) = line.split_once(' ').unwrap_or((line, ""));
        match flag {
            "-f" => args.files.push(value.into()),
            "--profile" => args.profiles.push(value.into()),
            "--env-file" => args.env_files.push(value.into()),
            "service" => args.services.push(value.into()),
            "name-from-file" => args.project_name = None,
            "env" => {
                let (k, v) = value.split_once('=').expect("env KEY=VALUE");
                args.env.insert(k.into(), v.into());
            }
            other => panic!("{}: unknown args line `{other}`", dir.display()),
        }
    }
    args
}

/// The case directories of `corpus/<kind>`, sorted.
pub fn cases(kind: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../schema/tests/corpus")
        .join(kind)
        .canonicalize()
        .expect("corpus directory");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}
