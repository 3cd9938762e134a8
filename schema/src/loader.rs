//! From paths on disk to a [`Project`]: the whole loading pipeline.
//!
//! 1. find the stack files and the project directory;
//! 2. read `.env` (or `--env-file`) under the shell environment;
//! 3. per file: parse to a [`Node`] tree, interpolate, make paths absolute,
//!    pull in `include`d files;
//! 4. merge the files in order, then resolve `extends`;
//! 5. deserialize the typed model, entry by entry so that one bad service
//!    does not hide the problems of the next;
//! 6. normalise ([`crate::normalize`]), select profiles, validate, lint.
//!
//! Every step reports into one list of diagnostics; loading fails at the
//! end when any of them is an error, so a user sees everything at once.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::de::from_node;
use crate::diag::{did_you_mean, Diagnostic, Diagnostics};
use crate::interpolate::{interpolate_tree, interpolate_tree_quietly, Lookup};
use crate::merge::{merge_files, merge_service};
use crate::model::{FileObject, Network, Project, Service, Volume};
use serde::{Deserialize, Serialize};

use crate::policy::ProjectName;
use crate::read;
use crate::yaml::{self, Entry, Mapping, Node, SourceFile, Value};
use crate::{dotenv, lint, normalize, paths, profiles, validate};

/// File names looked up in the working directory, first found wins.
pub const DEFAULT_FILE_NAMES: &[&str] = &[
    "stack.yaml",
    "stack.yml",
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

/// Override files merged after the default file found beside them, first
/// found wins (Compose's, and ours for `stack.yaml`).
pub const OVERRIDE_FILE_NAMES: &[&str] = &[
    "stack.override.yaml",
    "stack.override.yml",
    "compose.override.yaml",
    "compose.override.yml",
    "docker-compose.override.yaml",
    "docker-compose.override.yml",
];

const TOP_LEVEL_KEYS: &[&str] = &[
    "name", "version", "include", "services", "networks", "volumes", "secrets", "configs", "models",
];

/// Which stack, as the command line names it: the part of the loader's
/// [`Options`] a run of `up` records for the agent to load again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackInputs {
    /// Stack files (`-f`), merged in order. Empty: look up a default name.
    pub files: Vec<PathBuf>,
    /// `--project-directory`; default: the first file's directory.
    pub project_directory: Option<PathBuf>,
    /// `-p`.
    pub project_name: Option<String>,
    /// `--env-file`; default: `.env` in the project directory.
    pub env_files: Vec<PathBuf>,
    /// `--profile`.
    pub profiles: Vec<String>,
}

/// What to load and how.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Which stack.
    pub stack: StackInputs,
    /// Where to look for a default file and resolve relative `-f` paths.
    pub working_dir: PathBuf,
    /// Services named on the command line: enabled whatever their profiles.
    pub services: Vec<String>,
    /// The shell environment (passed in so tests control it).
    pub environment: BTreeMap<String, String>,
    /// Where files are read from (default: the file system).
    pub source: Option<Arc<dyn read::Source>>,
    /// Leave out what Compose's normalisation adds (`config
    /// --no-normalize`): resource names, the default network, implied
    /// dependencies, the default Dockerfile. Such a project is for
    /// printing, not running.
    pub no_normalize: bool,
    /// Keep each value's text as written beside its interpolated one
    /// ([`Loaded::written`], for `config --no-interpolate`), and report
    /// nothing of variables: what cannot be interpolated stays as written.
    pub no_interpolate: bool,
}

impl Options {
    /// Where files are read from.
    fn source(&self) -> Arc<dyn read::Source> {
        self.source
            .clone()
            .unwrap_or_else(|| Arc::new(read::FileSystem))
    }
}

impl Options {
    /// Options for the current process: its working directory and environment.
    pub fn from_process() -> std::io::Result<Self> {
        Ok(Options {
            working_dir: std::env::current_dir()?,
            environment: std::env::vars().collect(),
            ..Default::default()
        })
    }
}

/// A loaded stack.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The normalised model; `name` is always set.
    pub project: Project,
    /// The project directory.
    pub project_dir: PathBuf,
    /// The files that were merged, in order.
    pub files: Vec<PathBuf>,
    /// Every profile named by any service (enabled or not).
    pub all_profiles: BTreeSet<String>,
    /// Warnings (lint findings, unset variables).
    pub warnings: Vec<Diagnostic>,
    /// The variables of the shell environment that the files interpolated,
    /// and the `STACK_*` / `COMPOSE_*` settings (what another process must
    /// be given to load them the same way).
    pub variables: BTreeMap<String, String>,
    /// Every variable interpolation could use: the env files under the
    /// shell environment (`config --environment`).
    pub environment: BTreeMap<String, String>,
    /// Every file the load read (and every one it looked for in vain), as
    /// it was then: with [`Loaded::variables`], loading from this gives
    /// the same model however the files change afterwards.
    pub sources: read::Memory,
    /// With [`Options::no_interpolate`]: the values that held variables,
    /// as written, by their path in the merged files.
    pub written: Vec<(Vec<crate::interpolate::Step>, String)>,
}

/// Load a stack as described by `opts`.
pub fn load(opts: &Options) -> Result<Loaded, Diagnostics> {
    let mut diags = Vec::new();
    let result = load_inner(opts, &mut diags);
    if diags.iter().any(Diagnostic::is_error) {
        return Err(Diagnostics(diags));
    }
    match result {
        Some(mut loaded) => {
            loaded.warnings = diags;
            Ok(loaded)
        }
        None => Err(Diagnostics(diags)),
    }
}

/// Why [`load_guarded`] gave no project.
#[derive(Debug, thiserror::Error)]
pub enum LoadFailure {
    /// The files have errors.
    #[error(transparent)]
    Invalid(#[from] Diagnostics),
    /// The loader itself failed on the input (a bug).
    #[error("error: the stack file could not be loaded (the loader failed on it: this is a bug in stack, please report it with the file)")]
    Panicked,
}

/// [`load`], with a loader that panics on some input (a bug) turned into
/// an error like any other: long-running callers (the agent, `--watch`)
/// report it and go on with the last good model instead of dying.
pub fn load_guarded(opts: &Options) -> Result<Loaded, LoadFailure> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| load(opts))) {
        Ok(result) => Ok(result?),
        Err(_) => Err(LoadFailure::Panicked),
    }
}

/// Load `yaml` as the only stack file of project `name`, from memory: no
/// file system and no shell environment (tests, and text already read).
/// Relative paths resolve under `/stack`.
pub fn load_str(yaml: &str, name: &str) -> Result<Loaded, Diagnostics> {
    let dir = PathBuf::from("/stack");
    load(&Options {
        stack: StackInputs {
            files: vec![dir.join("stack.yaml")],
            project_name: Some(name.to_string()),
            ..StackInputs::default()
        },
        working_dir: dir.clone(),
        source: Some(Arc::new(read::Memory {
            files: [(dir.join("stack.yaml"), Some(yaml.to_string()))].into(),
        })),
        ..Options::default()
    })
}

fn load_inner(outer: &Options, diags: &mut Vec<Diagnostic>) -> Option<Loaded> {
    let recorder = Arc::new(read::Recorder::new(outer.source()));
    let opts = &Options {
        source: Some(recorder.clone()),
        ..outer.clone()
    };
    let files = find_files(opts, diags)?;
    let project_dir = opts
        .stack
        .project_directory
        .clone()
        .map(|d| paths::normalize(&opts.working_dir.join(d)))
        .or_else(|| files[0].parent().map(Path::to_path_buf))
        .unwrap_or_else(|| opts.working_dir.clone());
    let vars = project_environment(opts, &project_dir, diags)?;
    let recorded = Recording {
        vars: &vars,
        asked: RefCell::default(),
    };
    let mut loader = Loader {
        source: recorder.as_ref(),
        vars: &recorded,
        home: vars.get("HOME").map(PathBuf::from),
        diags,
        including: Vec::new(),
        reported_cycles: BTreeSet::new(),
        quiet_interpolation: opts.no_interpolate,
    };
    let mut merged: Option<Node> = None;
    for file in &files {
        let Some(tree) = loader.read_stack_file(file, &project_dir) else {
            continue;
        };
        merged = Some(match merged {
            None => tree,
            Some(base) => merge_files(base, tree),
        });
    }
    let mut tree = merged?;
    loader.resolve_extends(&mut tree, &project_dir);
    let mut project = loader.typed(&tree)?;

    let all_profiles = profiles::all(&project);
    project.name = Some(project_name(opts, &project_dir, &tree, loader.diags)?);
    project.origin = crate::model::Origin {
        working_dir: project_dir.clone(),
        config_files: files.clone(),
    };
    normalize::normalize(&mut project, &vars, &tree, recorder.as_ref(), loader.diags);
    if !opts.no_normalize {
        normalize::fill_defaults(&mut project);
    }
    let active = profiles::active(&opts.stack.profiles, &vars);
    profiles::select(&mut project, &active, &opts.services, &tree, loader.diags);
    validate::validate(&project, &tree, loader.diags);
    lint::lint(&project, &tree, loader.diags);
    drop_consequential(loader.diags);
    let asked = recorded.asked.take();
    let variables = opts
        .environment
        .iter()
        .filter(|(k, _)| asked.contains(*k) || k.starts_with("STACK_") || k.starts_with("COMPOSE_"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Some(Loaded {
        project,
        project_dir,
        files,
        all_profiles,
        warnings: Vec::new(),
        variables,
        environment: vars.clone(),
        sources: recorder.memory(),
        written: if opts.no_interpolate {
            crate::interpolate::written_texts(&tree)
        } else {
            Vec::new()
        },
    })
}

/// The variables interpolation sees, noting which names it asked for.
struct Recording<'a> {
    vars: &'a BTreeMap<String, String>,
    asked: RefCell<BTreeSet<String>>,
}

impl Lookup for Recording<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.asked.borrow_mut().insert(name.to_string());
        self.vars.get(name).map(String::as_str)
    }
}

/// A service with an unknown key (most often a typo of `image` or
/// `build`) also "has no image": say only the first, which has the fix.
fn drop_consequential(diags: &mut Vec<Diagnostic>) {
    let typo_services: BTreeSet<String> = diags
        .iter()
        .filter(|d| d.code == "unknown-key")
        .filter_map(|d| d.service.clone())
        .collect();
    diags.retain(|d| {
        !(d.code == "no-image"
            && d.service
                .as_ref()
                .is_some_and(|s| typo_services.contains(s)))
    });
}

/// The files to merge, in order: the `-f` files; else `STACK_FILE` or
/// `COMPOSE_FILE` (a list split on `STACK_PATH_SEPARATOR` /
/// `COMPOSE_PATH_SEPARATOR`, `:` by default); else, as Compose looks them
/// up, the first of [`DEFAULT_FILE_NAMES`] in the working directory or the
/// nearest parent holding one, followed by the first of
/// [`OVERRIDE_FILE_NAMES`] beside it.
fn find_files(opts: &Options, diags: &mut Vec<Diagnostic>) -> Option<Vec<PathBuf>> {
    match stack_files(opts) {
        Ok(files) => Some(files),
        Err(d) => {
            diags.push(d);
            None
        }
    }
}

/// The stack files `opts` name or find (see [`find_files`]), absolute.
pub fn stack_files(opts: &Options) -> Result<Vec<PathBuf>, Diagnostic> {
    let source = opts.source();
    let absolute = |f: &Path| paths::normalize(&opts.working_dir.join(f));
    if !opts.stack.files.is_empty() {
        return Ok(opts.stack.files.iter().map(|f| absolute(f)).collect());
    }
    let env = |names: [&str; 2]| names.iter().find_map(|n| opts.environment.get(*n));
    if let Some(list) = env(["STACK_FILE", "COMPOSE_FILE"]).filter(|l| !l.is_empty()) {
        let separator =
            env(["STACK_PATH_SEPARATOR", "COMPOSE_PATH_SEPARATOR"]).map_or(":", String::as_str);
        return Ok(list
            .split(separator)
            .filter(|f| !f.is_empty())
            .map(|f| absolute(Path::new(f)))
            .collect());
    }
    let found = opts.working_dir.ancestors().find_map(|dir| {
        DEFAULT_FILE_NAMES
            .iter()
            .map(|n| dir.join(n))
            .find(|p| source.is_file(p))
    });
    let Some(main) = found else {
        return Err(Diagnostic::error(
            "no-stack-file",
            None,
            format!(
                "no stack file found in {} or its parents",
                opts.working_dir.display()
            ),
        )
        .with_hint(format!(
            "create one of {}, or name one with -f",
            DEFAULT_FILE_NAMES.join(", ")
        )));
    };
    let dir = main.parent().unwrap_or(&opts.working_dir).to_path_buf();
    let overrides = OVERRIDE_FILE_NAMES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| source.is_file(p));
    Ok(std::iter::once(main).chain(overrides).collect())
}

/// The variables interpolation sees: the env file(s) under the shell.
fn project_environment(
    opts: &Options,
    project_dir: &Path,
    diags: &mut Vec<Diagnostic>,
) -> Option<BTreeMap<String, String>> {
    // `--env-file`, else STACK_ENV_FILES / COMPOSE_ENV_FILES (comma-separated).
    let from_env: Vec<PathBuf> = ["STACK_ENV_FILES", "COMPOSE_ENV_FILES"]
        .iter()
        .find_map(|n| opts.environment.get(*n).filter(|v| !v.is_empty()))
        .map(|list| list.split(',').map(|f| PathBuf::from(f.trim())).collect())
        .unwrap_or_default();
    let given = if opts.stack.env_files.is_empty() {
        &from_env
    } else {
        &opts.stack.env_files
    };
    let explicit = !given.is_empty();
    let env_files: Vec<PathBuf> = if explicit {
        given.iter().map(|f| opts.working_dir.join(f)).collect()
    } else {
        vec![project_dir.join(".env")]
    };
    let source = opts.source();
    let mut vars = BTreeMap::new();
    for path in env_files {
        match source.read(&path) {
            Ok(text) => match dotenv::parse(&text, &opts.environment) {
                Ok(v) => vars.extend(v),
                Err(e) => {
                    diags.push(
                        Diagnostic::error("env-file", None, format!("{}: {e}", path.display()))
                            .with_hint(
                                "env files hold KEY=VALUE lines; quote values with spaces or #",
                            ),
                    );
                    return None;
                }
            },
            Err(e) if read::is_not_found(&e) && !explicit => {}
            Err(e) => {
                diags.push(Diagnostic::error(
                    "env-file",
                    None,
                    format!("cannot read env file {}: {e}", path.display()),
                ));
                return None;
            }
        }
    }
    vars.extend(opts.environment.clone());
    Some(vars)
}

/// Reads files into interpolated, path-resolved trees.
struct Loader<'a> {
    source: &'a dyn read::Source,
    vars: &'a Recording<'a>,
    home: Option<PathBuf>,
    diags: &'a mut Vec<Diagnostic>,
    /// Files being included, to refuse include cycles.
    including: Vec<PathBuf>,
    /// `extends` cycles already reported (as sets of links), to report each once.
    reported_cycles: BTreeSet<Vec<String>>,
    /// Interpolate without reporting ([`Options::no_interpolate`]).
    quiet_interpolation: bool,
}

impl Loader<'_> {
    fn read_tree(&mut self, path: &Path, base_dir: &Path) -> Option<Node> {
        let text = match self.source.read(path) {
            Ok(t) => t,
            Err(e) => {
                self.diags.push(
                    Diagnostic::error(
                        "read-file",
                        None,
                        format!("cannot read {}: {e}", path.display()),
                    )
                    .with_hint("check the path given with -f, extends.file or include"),
                );
                return None;
            }
        };
        let file = Arc::new(SourceFile::new(path, text));
        let mut tree = match yaml::parse(file) {
            Ok(t) => t,
            Err(e) => {
                let mut d = Diagnostic::error("yaml", Some(e.span), e.message);
                d.hint = e.hint;
                self.diags.push(d);
                return None;
            }
        };
        if matches!(tree.value, Value::Null) {
            tree.value = Value::Map(Mapping::new());
        }
        if tree.as_map().is_none() {
            self.diags.push(Diagnostic::error(
                "not-a-mapping",
                Some(tree.span.clone()),
                format!(
                    "a stack file is a mapping with `services:` at the top, this is {}",
                    tree.kind()
                ),
            ));
            return None;
        }
        if self.quiet_interpolation {
            interpolate_tree_quietly(&mut tree, self.vars);
        } else {
            interpolate_tree(&mut tree, self.vars, self.diags);
        }
        paths::resolve(&mut tree, base_dir, self.home.as_deref());
        Some(tree)
    }

    /// Read a top-level stack file and merge the files it includes.
    fn read_stack_file(&mut self, path: &Path, base_dir: &Path) -> Option<Node> {
        let mut tree = self.read_tree(path, base_dir)?;
        let include = tree.as_map_mut().and_then(|m| m.shift_remove("include"));
        if let Some(include) = include {
            let file_dir = path.parent().unwrap_or(base_dir).to_path_buf();
            self.including.push(path.to_path_buf());
            self.apply_includes(&mut tree, include, &file_dir);
            self.including.pop();
        }
        Some(tree)
    }

    fn apply_includes(&mut self, tree: &mut Node, include: Entry, file_dir: &Path) {
        let Some(items) = include.value.as_seq() else {
            self.diags.push(
                Diagnostic::error(
                    "include",
                    Some(include.value.span.clone()),
                    "`include` takes a list of files",
                )
                .with_hint("write `include: [other.yaml]` or a list of `{path: ..., project_directory: ...}`"),
            );
            return;
        };
        for item in items {
            let (paths, project_dir) = match &item.value {
                Value::Scalar(s) => (vec![s.text.clone()], None),
                Value::Map(_) => {
                    let paths = match item.get("path").map(|p| &p.value) {
                        Some(Value::Scalar(s)) => vec![s.text.clone()],
                        Some(Value::Seq(list)) => list
                            .iter()
                            .filter_map(|n| n.as_str().map(str::to_owned))
                            .collect(),
                        _ => Vec::new(),
                    };
                    let dir = item
                        .get("project_directory")
                        .and_then(Node::as_str)
                        .map(str::to_owned);
                    (paths, dir)
                }
                _ => (Vec::new(), None),
            };
            if paths.is_empty() {
                self.diags.push(Diagnostic::error(
                    "include",
                    Some(item.span.clone()),
                    "an include entry needs a `path`",
                ));
                continue;
            }
            let files: Vec<PathBuf> = paths
                .iter()
                .map(|p| paths::normalize(&file_dir.join(p)))
                .collect();
            if let Some(cycle) = files.iter().find(|f| self.including.contains(f)) {
                self.diags.push(Diagnostic::error(
                    "include",
                    Some(item.span.clone()),
                    format!(
                        "{} includes itself (through {})",
                        cycle.display(),
                        self.chain()
                    ),
                ));
                continue;
            }
            let sub_dir = project_dir
                .map(|d| paths::normalize(&file_dir.join(d)))
                .or_else(|| files[0].parent().map(Path::to_path_buf))
                .unwrap_or_else(|| file_dir.to_path_buf());
            let mut sub: Option<Node> = None;
            for f in &files {
                if let Some(t) = self.read_stack_file(f, &sub_dir) {
                    sub = Some(match sub {
                        None => t,
                        Some(base) => merge_files(base, t),
                    });
                }
            }
            let Some(mut sub) = sub else { continue };
            self.resolve_extends(&mut sub, &sub_dir);
            self.import(tree, sub, &item.span);
        }
    }

    fn chain(&self) -> String {
        self.including
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" -> ")
    }

    /// Copy the resources of an included tree into `tree`; a name defined
    /// in both is an error, as in Compose.
    fn import(&mut self, tree: &mut Node, sub: Node, at: &yaml::Span) {
        let Value::Map(sub_map) = sub.value else {
            return;
        };
        let Some(map) = tree.as_map_mut() else { return };
        for (kind, entry) in sub_map {
            if !matches!(
                kind.as_str(),
                "services" | "networks" | "volumes" | "secrets" | "configs"
            ) {
                continue;
            }
            let Value::Map(items) = entry.value.value else {
                continue;
            };
            let target = map.entry(kind.clone()).or_insert_with(|| Entry {
                key_span: entry.key_span.clone(),
                value: Node::new(Value::Map(Mapping::new()), entry.value.span.clone()),
            });
            if matches!(target.value.value, Value::Null) {
                target.value.value = Value::Map(Mapping::new());
            }
            let Some(target_map) = target.value.as_map_mut() else {
                continue;
            };
            for (name, item) in items {
                if let Some(existing) = target_map.get(&name) {
                    self.diags.push(
                        Diagnostic::error(
                            "include-conflict",
                            Some(existing.key_span.clone()),
                            format!(
                                "{} `{name}` is defined here and also in the included file {}",
                                singular(&kind),
                                item.key_span.path().display()
                            ),
                        )
                        .with_hint(format!(
                            "rename one of them; an included file's resources cannot be overridden (included at {at})"
                        )),
                    );
                    continue;
                }
                target_map.insert(name, item);
            }
        }
    }

    /// Replace every service's `extends` by the merged definition. Only
    /// services that extend another are touched (no copies otherwise).
    fn resolve_extends(&mut self, tree: &mut Node, dir: &Path) {
        let Some(map) = tree.get("services").and_then(Node::as_map) else {
            return;
        };
        let mut resolved = Vec::new();
        for (name, entry) in map {
            if entry.value.get("extends").is_none() {
                continue;
            }
            let mut chain = Vec::new();
            if let Some(value) = self.resolve_service(map, name, dir, &mut chain) {
                resolved.push((name.clone(), value));
            }
        }
        let Some(map) = tree
            .as_map_mut()
            .and_then(|m| m.get_mut("services"))
            .and_then(|s| s.value.as_map_mut())
        else {
            return;
        };
        for (name, value) in resolved {
            if let Some(entry) = map.get_mut(&name) {
                entry.value = value;
            }
        }
    }

    fn resolve_service(
        &mut self,
        services: &Mapping,
        name: &str,
        dir: &Path,
        chain: &mut Vec<String>,
    ) -> Option<Node> {
        let entry = services.get(name)?;
        let mut node = entry.value.clone();
        let Some(extends) = node.as_map_mut().and_then(|m| m.shift_remove("extends")) else {
            return Some(node);
        };
        let link = format!("{}:{name}", entry.key_span.path().display());
        if chain.contains(&link) {
            let mut members: Vec<String> = chain.clone();
            members.sort();
            if !self.reported_cycles.insert(members) {
                return None;
            }
            chain.push(link);
            let names: Vec<&str> = chain
                .iter()
                .map(|l| l.rsplit(':').next().unwrap_or(l))
                .collect();
            self.diags.push(
                Diagnostic::error(
                    "extends-cycle",
                    Some(extends.key_span.clone()),
                    format!("`extends` goes round in a circle: {}", names.join(" -> ")),
                )
                .for_service(name)
                .with_hint("break the circle: a service cannot extend itself, directly or not"),
            );
            return None;
        }
        chain.push(link);
        let (base_name, file) = match &extends.value.value {
            Value::Scalar(s) => (s.text.clone(), None),
            Value::Map(_) => {
                let service = extends.value.get("service").and_then(Node::as_str);
                let file = extends
                    .value
                    .get("file")
                    .and_then(Node::as_str)
                    .map(PathBuf::from);
                match service {
                    Some(s) => (s.to_string(), file),
                    None => {
                        self.diags.push(
                            Diagnostic::error(
                                "extends",
                                Some(extends.value.span.clone()),
                                "`extends` needs a `service`",
                            )
                            .for_service(name)
                            .with_hint("write `extends: {service: base, file: common.yaml}`"),
                        );
                        return None;
                    }
                }
            }
            _ => {
                self.diags.push(
                    Diagnostic::error(
                        "extends",
                        Some(extends.value.span.clone()),
                        "`extends` takes a service name or a mapping",
                    )
                    .for_service(name),
                );
                return None;
            }
        };
        let base = match file {
            Some(file) => {
                let other_dir = file.parent().unwrap_or(dir).to_path_buf();
                let other = self.read_tree(&file, &other_dir)?;
                let other_services = other
                    .get("services")
                    .and_then(Node::as_map)
                    .cloned()
                    .unwrap_or_default();
                if !other_services.contains_key(&base_name) {
                    self.missing_base(&extends, name, &base_name, &other_services, Some(&file));
                    return None;
                }
                self.resolve_service(&other_services, &base_name, &other_dir, chain)?
            }
            None => {
                if !services.contains_key(&base_name) {
                    self.missing_base(&extends, name, &base_name, services, None);
                    return None;
                }
                self.resolve_service(services, &base_name, dir, chain)?
            }
        };
        Some(merge_service(base, node))
    }

    fn missing_base(
        &mut self,
        at: &Entry,
        name: &str,
        base: &str,
        services: &Mapping,
        file: Option<&Path>,
    ) {
        let where_ = file
            .map(|f| format!(" in {}", f.display()))
            .unwrap_or_default();
        let mut d = Diagnostic::error(
            "extends",
            Some(at.value.span.clone()),
            format!("`extends` names the service `{base}`, which is not defined{where_}"),
        )
        .for_service(name);
        d.hint = Some(
            match did_you_mean(base, services.keys().map(String::as_str)) {
                Some(s) => format!("did you mean `{s}`?"),
                None => "name a service defined in that file".into(),
            },
        );
        self.diags.push(d);
    }

    /// Deserialize the typed model, one entry at a time.
    fn typed(&mut self, tree: &Node) -> Option<Project> {
        let map = tree.as_map()?;
        for (key, entry) in map {
            if key.starts_with("x-") || TOP_LEVEL_KEYS.contains(&key.as_str()) {
                continue;
            }
            let mut d = Diagnostic::error(
                "unknown-key",
                Some(entry.key_span.clone()),
                format!("unknown top-level key `{key}`"),
            );
            d.hint = Some(match did_you_mean(key, TOP_LEVEL_KEYS.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => "top-level keys are services, networks, volumes, secrets, configs, name, include; prefix extensions with `x-`".into(),
            });
            self.diags.push(d);
        }
        // The name is settled later (`project_name`): `-p` comes first.
        Some(Project {
            services: self.entries::<Service>(tree, "services", true),
            networks: self.entries::<Network>(tree, "networks", false),
            volumes: self.entries::<Volume>(tree, "volumes", false),
            secrets: self.entries::<FileObject>(tree, "secrets", false),
            configs: self.entries::<FileObject>(tree, "configs", false),
            ..Project::default()
        })
    }

    fn entries<T>(&mut self, tree: &Node, kind: &str, services: bool) -> BTreeMap<String, T>
    where
        T: for<'de> serde::Deserialize<'de> + Default,
    {
        let mut out = BTreeMap::new();
        let Some(section) = tree.get(kind) else {
            return out;
        };
        let map = match &section.value {
            Value::Null => return out,
            Value::Map(m) => m,
            _ => {
                self.diags.push(Diagnostic::error(
                    "invalid-value",
                    Some(section.span.clone()),
                    format!(
                        "`{kind}` must be a mapping of names to definitions, found {}",
                        section.kind()
                    ),
                ));
                return out;
            }
        };
        for (name, entry) in map {
            if matches!(entry.value.value, Value::Null) && !services {
                out.insert(name.clone(), T::default());
                continue;
            }
            let (result, unknown) = from_node::<T>(&entry.value);
            let tag = |d: Diagnostic| if services { d.for_service(name) } else { d };
            for d in unknown {
                self.diags.push(tag(d));
            }
            match result {
                Ok(v) => {
                    out.insert(name.clone(), v);
                }
                Err(e) => {
                    // serde stops at the first wrong field: ask each field
                    // alone, so the user sees every one at once.
                    let mut errors = field_errors::<T>(&entry.value);
                    if errors.is_empty() {
                        errors.push(e);
                    }
                    for e in errors {
                        let mut d = e.into_diagnostic();
                        if !services {
                            d.message = format!("{} `{name}`: {}", singular(kind), d.message);
                        }
                        self.diags.push(tag(d));
                    }
                }
            }
        }
        out
    }
}

/// The type error of each field of the mapping `node`, deserialized one
/// field at a time (unknown keys were reported already). A field that is
/// itself a mapping (`deploy`) is narrowed the same way, a few levels
/// deep, so two wrong settings inside it are both reported.
fn field_errors<T>(node: &Node) -> Vec<crate::de::DeError>
where
    T: for<'de> serde::Deserialize<'de>,
{
    let mut out = Vec::new();
    narrow::<T>(node, &mut Vec::new(), &mut out);
    out
}

/// How deep [`field_errors`] narrows into nested mappings.
const NARROW_DEPTH: usize = 3;

fn narrow<T>(node: &Node, path: &mut Vec<(String, Entry)>, out: &mut Vec<crate::de::DeError>)
where
    T: for<'de> serde::Deserialize<'de>,
{
    let Value::Map(map) = &node.value else {
        return;
    };
    for (key, entry) in map {
        let Err(e) = from_node::<T>(&only(path, key, entry, node)).0 else {
            continue;
        };
        let before = out.len();
        if path.len() < NARROW_DEPTH && matches!(entry.value.value, Value::Map(_)) {
            path.push((key.clone(), entry.clone()));
            narrow::<T>(&entry.value, path, out);
            path.pop();
        }
        if out.len() == before {
            out.push(e);
        }
    }
}

/// A document holding only `key: entry`, inside the mappings of `path`.
fn only(path: &[(String, Entry)], key: &str, entry: &Entry, parent: &Node) -> Node {
    let mut one = Mapping::new();
    one.insert(key.to_string(), entry.clone());
    let mut doc = Node::new(Value::Map(one), parent.span.clone());
    for (outer_key, outer) in path.iter().rev() {
        let mut wrap = Mapping::new();
        wrap.insert(
            outer_key.clone(),
            Entry {
                key_span: outer.key_span.clone(),
                value: doc,
            },
        );
        doc = Node::new(Value::Map(wrap), outer.value.span.clone());
    }
    doc
}

fn singular(kind: &str) -> &str {
    match kind {
        "services" => "service",
        "networks" => "network",
        "volumes" => "volume",
        "secrets" => "secret",
        "configs" => "config",
        other => other,
    }
}

/// `-p`, then `STACK_PROJECT_NAME` / `COMPOSE_PROJECT_NAME`, then `name:`
/// as written, then the project directory's name (normalised).
fn project_name(
    opts: &Options,
    project_dir: &Path,
    tree: &Node,
    diags: &mut Vec<Diagnostic>,
) -> Option<ProjectName> {
    let explicit = opts
        .stack
        .project_name
        .clone()
        .map(|n| (n, "-p", None))
        .or_else(|| {
            opts.environment
                .get("STACK_PROJECT_NAME")
                .map(|n| (n.clone(), "STACK_PROJECT_NAME", None))
        })
        .or_else(|| {
            opts.environment
                .get("COMPOSE_PROJECT_NAME")
                .map(|n| (n.clone(), "COMPOSE_PROJECT_NAME", None))
        })
        .or_else(|| {
            let written = tree.get("name")?;
            Some((
                written.as_str()?.to_string(),
                "name:",
                Some(written.span.clone()),
            ))
        });
    if let Some((name, source, span)) = explicit {
        if let Some(valid) = ProjectName::new(&name) {
            return Some(valid);
        }
        let example = ProjectName::normalized(&name);
        diags.push(
            Diagnostic::error(
                "project-name",
                span,
                format!("project name `{name}` (from {source}) is not valid"),
            )
            .with_hint(format!(
                "use lowercase letters, digits, `-` and `_`, starting with a letter or digit, e.g. `{}`",
                example.as_ref().map_or("myapp", ProjectName::as_str)
            )),
        );
        return None;
    }
    let dir_name = project_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match ProjectName::normalized(&dir_name) {
        Some(n) => Some(n),
        None => {
            diags.push(
                Diagnostic::error(
                    "project-name",
                    None,
                    format!("cannot make a project name from the directory name `{dir_name}`"),
                )
                .with_hint("name the project with -p NAME or `name:` in the stack file"),
            );
            None
        }
    }
}
