//! One module per subcommand: each turns its arguments into a request of
//! the application layer (`app`) and renders what comes back. No command
//! module uses another; what they share lives beside them (`flags`,
//! `render`, `output`, `progress`).

pub mod agent;
pub mod attach;
pub mod config;
pub mod cp;
pub mod dns;
pub mod down;
pub mod events;
pub mod exec;
pub mod images;
pub mod kill;
pub mod lifecycle;
pub mod lint;
pub mod login;
pub mod logs;
pub mod ls;
pub mod pause;
pub mod plan;
pub mod port;
pub mod ps;
pub mod pull;
pub mod push;
pub mod rm;
pub mod run;
pub mod stats;
pub mod top;
pub mod up;
pub mod version;
pub mod volume;
pub mod wait;
pub mod watch;
