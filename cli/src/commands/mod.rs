//! One module per subcommand.

pub mod agent;
pub mod config;
pub mod dns;
pub mod down;
pub mod exec;
pub mod images;
pub mod lifecycle;
pub mod lint;
pub mod logs;
pub mod plan;
pub mod ps;
pub mod up;
pub mod volume;
pub mod watch;

/// `--format` of commands that print text or JSON.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum OutputFormat {
    /// For people.
    Text,
    /// For machines.
    Json,
}
