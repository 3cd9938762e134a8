//! Which stack, and how to read it: the options every command shares
//! (`-f`, `-p`, `--project-directory`, `--env-file`, `--profile`), as
//! plain values.

use std::ffi::OsString;
use std::sync::Arc;

use schema::{Loaded, StackInputs};

/// What to load.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inputs {
    /// Which stack (`-f`, `-p`, `--project-directory`, `--env-file`,
    /// `--profile`).
    pub stack: StackInputs,
    /// The text of the stack file `-`, read from standard input.
    pub stdin: Option<String>,
}

impl Inputs {
    /// The stack file given as its text, as `-f -` reads it from
    /// standard input.
    pub fn text(yaml: &str) -> Inputs {
        Inputs {
            stack: StackInputs {
                files: vec!["-".into()],
                ..StackInputs::default()
            },
            stdin: Some(yaml.to_string()),
        }
    }

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
        opts.stack = self.stack.clone();
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
        if let Some(p) = &self.stack.project_name {
            out.push("-p".into());
            out.push(p.into());
        }
        let dir = self
            .stack
            .project_directory
            .clone()
            .unwrap_or_else(|| cwd.clone());
        out.push("--project-directory".into());
        out.push(cwd.join(dir).into_os_string());
        for e in &self.stack.env_files {
            out.push("--env-file".into());
            out.push(cwd.join(e).into_os_string());
        }
        for p in &self.stack.profiles {
            out.push("--profile".into());
            out.push(p.into());
        }
        Ok(out)
    }
}
