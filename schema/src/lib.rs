//! The stack file: model, loading and validation.
//!
//! [`load`] turns stack files on disk into a [`Project`] — the desired
//! state the planner works from — or into [`Diagnostics`] naming every
//! problem with its file, line, column and a hint. Nothing here talks to a
//! container engine; the only I/O is reading the stack files and the env
//! files they name.
//!
//! Module map, in pipeline order: [`yaml`] (positions-preserving parse),
//! [`interpolate`] and [`dotenv`], [`paths`], [`merge`] (override files and
//! `extends`), [`de`] (typed deserialization that collects every unknown
//! key), [`model`], [`normalize`], [`profiles`], [`validate`], [`lint`],
//! and [`graph`] (start order and parallel waves).

pub mod de;
pub mod develop;
pub mod diag;
pub mod dotenv;
pub mod graph;
pub mod interpolate;
pub mod lint;
pub mod loader;
pub mod locate;
pub mod merge;
pub mod model;
pub mod normalize;
pub mod paths;
pub mod policy;
pub mod profiles;
pub mod read;
pub mod units;
pub mod validate;
pub mod values;
pub mod yaml;

pub use diag::{Diagnostic, Diagnostics, Severity};
pub use graph::ServiceGraph;
pub use loader::{
    load, load_guarded, load_str, stack_files, LoadFailure, Loaded, Options, StackInputs,
    DEFAULT_FILE_NAMES, OVERRIDE_FILE_NAMES,
};
pub use model::ScaleError;
pub use model::*;
pub use policy::{
    FailureAction, NamespaceRef, ProjectName, PullPolicy, RestartPolicy, UpdateOrder, VolumesFrom,
};
