//! Effects: the `Engine` trait and its implementations, reading observed
//! state, and executing plans.
//!
//! - [`engine`]: the trait, engine-neutral.
//! - [`docker`]: Docker over its HTTP API (bollard), version negotiated.
//! - [`fake`]: an in-memory engine for tests, with failure injection.
//! - [`images`]: pull or build images before planning.
//! - [`files`]: secrets and configs: keyed digests and the copies containers mount.
//! - [`observe`](mod@observe): engine -> [`planner::Observed`].
//! - [`schedule`]: run any plan's steps in dependency order, in parallel.
//! - [`execute`]: the container actions of a [`planner::Plan`].
//! - [`lock`]: one `stack` process at a time per project.
//! - [`state`]: the private state directories and their files.
//! - [`stops`]: stops an interrupted `down` may still have in flight.
//! - [`preflight`]: refuse a plan that cannot work before it runs.
//! - [`nfs`]: NFS server checks and address resolution.
//! - `contract` (feature `contract`): what every engine must do alike,
//!   checked against the fake and the real engine.

#[cfg(feature = "contract")]
pub mod contract;
pub mod docker;
pub mod engine;
pub mod execute;
pub mod fake;
pub mod files;
pub mod host_ports;
pub mod images;
pub mod lock;
pub mod nfs;
pub mod observe;
pub mod preflight;
pub mod schedule;
pub mod state;
pub mod stops;

pub use engine::{Engine, EngineError};
pub use execute::{ExecError, ExecuteOptions, Executor, Progress, StepStatus};
pub use observe::observe;
