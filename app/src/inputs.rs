//! Which stack, and how to read it: the options every command shares
//! (`-f`, `-p`, `--project-directory`, `--env-file`, `--profile`), as
//! plain values.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;

use schema::Loaded;

/// What to load.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inputs {
    /// Stack files, merged in order (empty: look one up).
    pub files: Vec<PathBuf>,
    /// The project name, over the file's `name:` and the directory's.
    pub project_name: Option<String>,
    /// Where relative paths resolve (default: the first file's directory).
    pub project_directory: Option<PathBuf>,
    /// Variables files instead of `.env`.
    pub env_files: Vec<PathBuf>,
    /// Profiles to enable.
    pub profiles: Vec<String>,
    /// The text of the stack file `-`, read from standard input.
    pub stdin: Option<String>,
}

impl Inputs {
    /// Loader options for these inputs, in this process (its working
    /// directory and environment).
    pub fn options(&self) -> std::io::Result<schema::Options> {
        let mut opts = schema::Options::from_process()?;
        if let Some(text) = &self.stdin {
            let path = opts.working_dir.join("-");
            opts.source = Some(Arc::new(schema::read::Overlay {
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

    /// Load the stack; services named in `services` are enabled whatever
    /// their profiles.
    pub fn load(&self, services: &[String]) -> crate::Result<Loaded> {
        self.load_with(services, |_| {})
    }

    /// The same, with the loader options `adjust`ed (`config`'s
    /// `--no-interpolate`, `--no-normalize`).
    pub fn load_with(
        &self,
        services: &[String],
        adjust: impl FnOnce(&mut schema::Options),
    ) -> crate::Result<Loaded> {
        let mut opts = self.options()?;
        opts.services = services.to_vec();
        adjust(&mut opts);
        Ok(schema::load_guarded(&opts)?)
    }

    /// These inputs as `stack` arguments, with paths made absolute, to
    /// start another `stack` process (the agent) on the same stack.
    pub fn to_args(&self) -> std::io::Result<Vec<OsString>> {
        let cwd = std::env::current_dir()?;
        let mut out: Vec<OsString> = Vec::new();
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
