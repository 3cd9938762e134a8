//! A systemd unit that runs a project's agent at boot. The variables the
//! stack file interpolates go to an environment file (0600, in the
//! persistent state directory) that the unit names, so the agent started
//! at boot reads the file as `stack up` did.

use std::collections::BTreeMap;

use reconciler::state::StateDir;

use crate::AgentError;

/// What the unit runs.
#[derive(Debug, Clone)]
pub struct Unit {
    /// The project.
    pub project: String,
    /// The command line: the `stack` binary, the options that select the
    /// stack, `agent --foreground`.
    pub command: Vec<String>,
    /// The variables the stack file interpolates.
    pub environment: BTreeMap<String, String>,
}

/// Write the unit's environment file and return the unit's text.
pub fn write(unit: &Unit) -> Result<String, AgentError> {
    let project = &unit.project;
    let exec: Vec<String> = unit.command.iter().map(|w| quote_word(w)).collect();
    let state = StateDir::persistent()?;
    let env_name = format!("{project}.agent.env");
    let env: String = unit
        .environment
        .iter()
        .map(|(k, v)| format!("{k}={}\n", quote_value(v)))
        .collect();
    state.write(&env_name, env.as_bytes())?;
    let env_path = state.file(&env_name)?;
    Ok(format!(
        "# Save as /etc/systemd/system/stack-agent-{project}.service, then:\n#   systemctl daemon-reload && systemctl enable --now stack-agent-{project}\n[Unit]\nDescription=stack agent for project {project}\nAfter=docker.service\nRequires=docker.service\n\n[Service]\nEnvironmentFile={}\nExecStart={}\nKillSignal=SIGTERM\nRestart=on-failure\n\n[Install]\nWantedBy=multi-user.target\n",
        env_path.to_string_lossy().replace('%', "%%"),
        exec.join(" ")
    ))
}

/// A word of a systemd command line, quoted when it needs to be (systemd
/// splits `ExecStart=` like a shell: spaces, quotes, backslashes, and `%`
/// and `$` are its own specifiers).
fn quote_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,+@".contains(c));
    if plain {
        return word.to_string();
    }
    let mut out = String::from("\"");
    for c in word.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '%' => out.push_str("%%"),
            '$' => out.push_str("$$"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A value of a systemd environment file: double-quoted, with `"`, `\\`
/// and newlines escaped (systemd expands neither `$` nor `%` there).
fn quote_value(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_words_with_spaces_and_specifiers_are_quoted() {
        assert_eq!(quote_word("/usr/bin/stack"), "/usr/bin/stack");
        assert_eq!(
            quote_word("/home/ann/my stacks/stack.yaml"),
            "\"/home/ann/my stacks/stack.yaml\""
        );
        assert_eq!(quote_word("50%$HOME\"x"), "\"50%%$$HOME\\\"x\"");
        assert_eq!(quote_value("a \"b\"\nc"), "\"a \\\"b\\\"\\nc\"");
    }
}
