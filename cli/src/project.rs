//! The options every subcommand shares (`-f`, `-p`, `--profile`...; given
//! before the subcommand, as with `docker compose`) and
//! loading the stack they describe.

use std::path::PathBuf;

use clap::Args;
use schema::{Diagnostic, Loaded};

/// Which stack, and how to read it.
#[derive(Debug, Clone, Args)]
pub struct ProjectArgs {
    /// Stack file; repeat to merge several, later ones override earlier ones.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Project name (default: `name:` in the file, else the directory name).
    #[arg(short = 'p', long = "project-name", value_name = "NAME")]
    pub project_name: Option<String>,

    /// Directory relative paths are resolved against (default: the first file's).
    #[arg(long, value_name = "DIR")]
    pub project_directory: Option<PathBuf>,

    /// Read variables from this file instead of `.env`; repeatable.
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_files: Vec<PathBuf>,

    /// Enable services of this profile; repeatable.
    #[arg(long = "profile", value_name = "NAME")]
    pub profiles: Vec<String>,

    /// The stack file read from standard input, for `-f -`.
    #[arg(skip)]
    pub stdin: Option<String>,
}

impl ProjectArgs {
    /// These options as command-line arguments, with paths made absolute,
    /// to start another `stack` process (the agent) on the same stack.
    pub fn to_args(&self) -> std::io::Result<Vec<std::ffi::OsString>> {
        let cwd = std::env::current_dir()?;
        let mut out: Vec<std::ffi::OsString> = Vec::new();
        // Name the files the lookup finds here (an override file and
        // COMPOSE_FILE included): the other process may start elsewhere
        // (systemd starts units in /).
        let found = schema::stack_files(&self.options()?).unwrap_or_default();
        for f in found {
            out.push("-f".into());
            out.push(f.into_os_string());
        }
        if let Some(p) = &self.project_name {
            out.push("-p".into());
            out.push(p.into());
        }
        let dir = self
            .project_directory
            .clone()
            .unwrap_or_else(|| cwd.clone());
        out.push("--project-directory".into());
        out.push(cwd.join(dir).into_os_string());
        for e in &self.env_files {
            out.push("--env-file".into());
            out.push(cwd.join(e).into_os_string());
        }
        for p in &self.profiles {
            out.push("--profile".into());
            out.push(p.into());
        }
        Ok(out)
    }
}

/// A load failure, already rendered for the terminal.
#[derive(Debug)]
pub struct LoadFailed;

impl ProjectArgs {
    /// With `-f -`, read the stack file from standard input (once, before
    /// anything else runs).
    pub fn read_stdin(&mut self) -> anyhow::Result<()> {
        if self.files.iter().any(|f| f.as_os_str() == "-") {
            let mut text = String::new();
            std::io::Read::read_to_string(
                &mut std::io::Read::take(std::io::stdin(), schema::read::MAX_FILE_BYTES),
                &mut text,
            )?;
            self.stdin = Some(text);
        }
        Ok(())
    }

    /// Loader options for these arguments, in this process.
    pub fn options(&self) -> std::io::Result<schema::Options> {
        let mut opts = schema::Options::from_process()?;
        if let Some(text) = &self.stdin {
            let path = opts.working_dir.join("-");
            opts.source = Some(std::sync::Arc::new(schema::read::Overlay {
                top: schema::read::Memory {
                    files: [(path, Some(text.clone()))].into(),
                },
                bottom: schema::read::FileSystem,
            }));
        }
        opts.files = self.files.clone();
        opts.project_name = self.project_name.clone();
        opts.project_directory = self.project_directory.clone();
        opts.env_files = self.env_files.clone();
        opts.profiles = self.profiles.clone();
        Ok(opts)
    }

    /// Load the stack, printing warnings; on failure print every
    /// diagnostic and return [`LoadFailed`].
    pub fn load(&self, services: &[String]) -> anyhow::Result<Result<Loaded, LoadFailed>> {
        let mut opts = self.options()?;
        opts.services = services.to_vec();
        match load_guarded(&opts) {
            Ok(loaded) => {
                print_diagnostics(&loaded.warnings);
                Ok(Ok(loaded))
            }
            Err(report) => {
                eprintln!("{report}");
                Ok(Err(LoadFailed))
            }
        }
    }
}

/// Load a stack; a loader that panics on some input (a bug) is an error
/// like any other, so the agent and `--watch` report it and go on with
/// the last good model instead of dying.
pub fn load_guarded(opts: &schema::Options) -> Result<Loaded, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| schema::load(opts))) {
        Ok(Ok(loaded)) => Ok(loaded),
        Ok(Err(diags)) => Err(diags.to_string()),
        Err(_) => Err("error: the stack file could not be loaded (the loader failed on it: this is a bug in stack, please report it with the file)".into()),
    }
}

/// Print findings to stderr, if there are any.
pub fn print_diagnostics(diags: &[Diagnostic]) {
    if !diags.is_empty() {
        eprintln!("{}", schema::diag::render_all(diags));
    }
}
