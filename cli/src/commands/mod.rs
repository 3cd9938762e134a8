//! One module per subcommand: each turns its arguments into a request of
//! the application layer (`app`) and renders what comes back. No command
//! module uses another; what they share lives beside them (`flags`,
//! `render`, `output`, `progress`).

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
