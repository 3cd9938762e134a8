//! The options every subcommand shares (`-f`, `-p`, `--profile`...; given
//! before the subcommand, as with `docker compose`), turned into the
//! application layer's [`app::Inputs`].

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
    /// With `-f -`, read the stack file from standard input (once, before
    /// anything else runs).
    pub fn read_stdin(&mut self) -> std::io::Result<()> {
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

    /// The same, for the application layer.
    pub fn inputs(&self) -> app::Inputs {
        app::Inputs {
            stack: schema::StackInputs {
                files: self.files.clone(),
                project_name: self.project_name.clone(),
                project_directory: self.project_directory.clone(),
                env_files: self.env_files.clone(),
                profiles: self.profiles.clone(),
            },
            stdin: self.stdin.clone(),
        }
    }

    /// Load the stack for a command that needs no engine (`config`,
    /// `lint`), printing its warnings.
    pub fn load(&self, services: &[String]) -> app::Result<Loaded> {
        self.load_with(services, |_| {})
    }

    /// As [`ProjectArgs::load`], with the loader options `adjust`ed.
    pub fn load_with(
        &self,
        services: &[String],
        adjust: impl FnOnce(&mut schema::Options),
    ) -> app::Result<Loaded> {
        let loaded = self.inputs().load_with(services, adjust)?;
        print_diagnostics(&loaded.warnings);
        Ok(loaded)
    }
}

impl ProjectArgs {
    /// Load the stack and connect to the engine, printing the warnings.
    pub async fn session(&self, services: &[String]) -> app::Result<app::Session> {
        let session = app::Session::open(&self.inputs(), services).await?;
        print_diagnostics(&session.warnings);
        Ok(session)
    }

    /// As [`ProjectArgs::session`]; but with `-p NAME` and no stack file
    /// here, the project as the engine's labels describe it.
    pub async fn session_or_named(&self, services: &[String]) -> app::Result<app::Session> {
        let session = app::Session::open_or_named(&self.inputs(), services).await?;
        print_diagnostics(&session.warnings);
        Ok(session)
    }
}

/// Print findings to stderr, if there are any.
pub fn print_diagnostics(diags: &[Diagnostic]) {
    if !diags.is_empty() {
        eprintln!("{}", schema::diag::render_all(diags));
    }
}
