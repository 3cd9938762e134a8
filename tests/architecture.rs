//! The workspace's shape, checked: the CLI's command modules never use
//! one another, the pure crates (schema, planner) depend on no runtime and
//! no engine, and no crate has a cycle between its top-level modules.
//! Reads the sources; needs no engine.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives in the workspace")
        .to_path_buf()
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("readable source dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The code of a source file: without comment lines (docs link to other
/// modules freely) and without its `#[cfg(test)]` tail (tests may reach
/// anywhere).
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("readable source");
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text,
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules `text` names as `crate::<module>`.
fn crate_paths(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        if text[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let rest = &text[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.insert(name);
        }
    }
    // `use crate::{a, b::c}`.
    for (i, _) in text.match_indices("crate::{") {
        let rest = &text[i + "crate::{".len()..];
        let inner = &rest[..rest.find('}').unwrap_or(rest.len())];
        for part in inner.split(',') {
            let name: String = part
                .trim()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

#[test]
fn command_modules_do_not_use_each_other() {
    let dir = workspace().join("cli/src/commands");
    let mut offences = Vec::new();
    for file in sources(&dir) {
        let text = code(&file);
        if text.contains("crate::commands::") || text.contains("super::") {
            offences.push(file.display().to_string());
        }
    }
    assert!(
        offences.is_empty(),
        "command modules using other command modules (move the shared part to the app crate or beside the commands): {offences:?}"
    );
}

/// The `[dependencies]` names of a crate's manifest.
fn dependencies(krate: &str) -> BTreeSet<String> {
    let manifest = std::fs::read_to_string(workspace().join(krate).join("Cargo.toml"))
        .expect("readable manifest");
    let mut out = BTreeSet::new();
    let mut inside = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == "[dependencies]";
            continue;
        }
        if inside {
            if let Some((name, _)) = line.split_once(['=', '.']) {
                out.insert(name.trim().to_string());
            }
        }
    }
    out
}

#[test]
fn pure_crates_depend_on_no_runtime_and_no_engine() {
    let forbidden = [
        "tokio",
        "tokio-util",
        "bollard",
        "futures",
        "async-trait",
        "reconciler",
        "agent",
        "app",
    ];
    for krate in ["schema", "planner"] {
        let deps = dependencies(krate);
        let bad: Vec<&&str> = forbidden.iter().filter(|f| deps.contains(**f)).collect();
        assert!(
            bad.is_empty(),
            "{krate} must stay pure, but depends on {bad:?}"
        );
        for file in sources(&workspace().join(krate).join("src")) {
            let text = code(&file);
            assert!(
                !text.contains("async fn") && !text.contains("tokio::"),
                "{} is in a pure crate but has async code",
                file.display()
            );
        }
    }
}

#[test]
fn the_engine_api_and_its_adapters_speak_no_stack_file_types() {
    // What an engine is asked is lowered by the planner: the trait and
    // the adapters translate it, and never read the stack file's model.
    let reconciler = workspace().join("reconciler/src");
    let mut files = vec![reconciler.join("engine.rs"), reconciler.join("fake.rs")];
    files.extend(sources(&reconciler.join("docker")));
    for file in files {
        assert!(
            !code(&file).contains("schema::"),
            "{} uses the stack file's types: lower what it needs in the planner instead",
            file.display()
        );
    }
}

/// The top-level module a source file belongs to (`src/a.rs` and
/// `src/a/b.rs` are both `a`); `None` for the crate root.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel
        .components()
        .next()?
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    let name = first.trim_end_matches(".rs").to_string();
    (!matches!(name.as_str(), "lib" | "main")).then_some(name)
}

/// A cycle in `edges`, if there is one, as the modules along it.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == node) {
            let mut cycle = path[i..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|n| visit(n, edges, &mut Vec::new(), &mut done))
}

#[test]
fn no_crate_has_a_module_cycle() {
    let root = workspace();
    for krate in [
        "schema",
        "planner",
        "reconciler",
        "dns",
        "agent",
        "app",
        "cli",
    ] {
        let src = root.join(krate).join("src");
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for file in sources(&src) {
            let Some(module) = module_of(&src, &file) else {
                continue;
            };
            if file.file_name().is_some_and(|n| n == "tests.rs") {
                continue;
            }
            let used = crate_paths(&code(&file));
            let entry = edges.entry(module.clone()).or_default();
            entry.extend(used.into_iter().filter(|u| *u != module));
        }
        let known: BTreeSet<String> = edges.keys().cloned().collect();
        for targets in edges.values_mut() {
            targets.retain(|t| known.contains(t));
        }
        if let Some(cycle) = find_cycle(&edges) {
            panic!("{krate} has a module cycle: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges.entry("a".into()).or_default().insert("b".into());
    edges.entry("b".into()).or_default().insert("c".into());
    assert_eq!(find_cycle(&edges), None);
    edges.entry("c".into()).or_default().insert("a".into());
    assert_eq!(
        find_cycle(&edges),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    assert_eq!(
        crate_paths("use crate::{x, y::z};\nlet _ = crate::w::f();"),
        ["w", "x", "y"].into_iter().map(String::from).collect()
    );
}
