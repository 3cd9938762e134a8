//! Shell completion: `stack completion SHELL` prints what registers it;
//! the shell then asks `stack` itself (with `STACK_COMPLETE` set) for the
//! candidates, so service arguments complete with the services of the
//! stack file found here.

use std::ffi::OsStr;

use clap_complete::engine::CompletionCandidate;
use clap_complete::env::EnvCompleter;

/// The variable that makes a `stack` run answer a completion request.
pub const VAR: &str = "STACK_COMPLETE";

/// The shells completion is generated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    /// Bash.
    Bash,
    /// Zsh.
    Zsh,
    /// Fish.
    Fish,
}

/// Write the script that registers completion for `shell`.
pub fn register(shell: Shell, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let completer: &dyn EnvCompleter = match shell {
        Shell::Bash => &clap_complete::env::Bash,
        Shell::Zsh => &clap_complete::env::Zsh,
        Shell::Fish => &clap_complete::env::Fish,
    };
    completer.write_registration(VAR, "stack", "stack", "stack", out)
}

/// The services of the stack file found from here that start with
/// `current`; none when no file loads (completion never reports errors).
pub fn services(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(prefix) = current.to_str() else {
        return Vec::new();
    };
    let Ok(loaded) = app::Inputs::default().load(&[]) else {
        return Vec::new();
    };
    loaded
        .project
        .services
        .into_keys()
        .filter(|s| s.starts_with(prefix))
        .map(CompletionCandidate::new)
        .collect()
}
