//! Planning: desired state + observed state -> an ordered plan of actions.
//!
//! Invariant: everything here is a pure function. No async, no engine
//! calls, no file I/O: the reconciler reads the engine ([`Observed`]) and
//! the secret files ([`Desired::files`]), and executes what [`plan_up`] or
//! [`plan_down`] return. That keeps the plan engine-neutral and every
//! decision unit-testable.
//!
//! - [`capabilities`]: what the engine in use can do.
//! - [`spec`]: the engine-neutral container to create for a replica.
//! - [`resource`]: the networks and volumes to create, and their fingerprints.
//! - [`hash`]: what makes a container "the same" (the config hash).
//! - [`plan`]: the diff, with a reason for every step.
//! - [`observed`]: what the engine runs, read from labels.

pub mod capabilities;
pub mod hash;
pub mod observed;
pub mod plan;
pub mod resource;
pub mod spec;

#[cfg(test)]
mod testing;

pub use capabilities::{ApiVersion, Capabilities, EngineKind};
pub use observed::{
    labels, Health, NetworkAddresses, Observed, ObservedContainer, ObservedResource, PublishedPort,
    RunState,
};
pub use plan::{
    hash_inputs, plan_down, plan_up, previous_definition, ref_name, state_labels, with_sidecars,
    Action, Blocker, BlockerKind, Change, Desired, FailureAction, NetworkUser, Plan, Rolling, Step,
    UpOptions, Wait,
};
pub use resource::{AddressPool, IpamSpec, NetworkSpec, VolumeSpec};
pub use spec::{
    container_spec, file_uses, replicas_of, Attachment, ContainerSpec, FileKind, FileUse, Mount,
    MountKind, Namespace, Networking, Recursion, Ref, Restart,
};
