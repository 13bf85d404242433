//! The one error type of the switchover.

use std::time::Duration;

use shadow_core::{Environment, Replicas, TrafficSplit};

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can stop a switchover.
///
/// A health failure or a shifter error *during shifting* is not an error: it triggers a rollback, and
/// [`crate::Switchover::run`] returns `Ok` with [`crate::Phase::RolledBack`]. The variants here are the cases in
/// which the switchover stops before traffic moved, or cannot restore a known-safe split.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The switchover config is invalid. `field` is the dotted path of the field.
    #[error("invalid switch config at `{field}`: {message}")]
    Config {
        /// Dotted path of the offending field, such as `switch.steps`.
        field: String,
        /// What is wrong with it.
        message: String,
    },

    /// The switch request is inconsistent (no shadow request, a request for another service, ...).
    #[error("invalid switch request: {0}")]
    InvalidRequest(String),

    /// A provisioner call failed after retries. No traffic moved because of it.
    #[error("provisioning {environment} failed")]
    Provision {
        /// The environment being provisioned.
        environment: Environment,
        /// The provisioner's error.
        #[source]
        source: shadow_core::Error,
    },

    /// An environment did not reach its target within the ready timeout.
    #[error("{environment} not ready after {waited:?}: {ready} of {target} replicas ready")]
    NotReady {
        /// The environment that was waited for.
        environment: Environment,
        /// Ready replicas at the last check.
        ready: Replicas,
        /// The replicas that were needed.
        target: Replicas,
        /// How long it waited.
        waited: Duration,
    },

    /// The shadow failed a health check while settling, before any traffic moved.
    #[error("shadow failed verification: {detail}")]
    ShadowUnhealthy {
        /// What the probe saw.
        detail: String,
    },

    /// The traffic shifter could not be read before the switchover started.
    #[error("traffic shifter failed before any traffic moved")]
    Shifter(#[source] shadow_core::Error),

    /// The state store failed before traffic moved (load, or a save in preparing/verifying).
    #[error("switch state store failed")]
    State(#[source] shadow_core::Error),

    /// The metric gate could not fetch or judge its metrics.
    #[error("analysis failed")]
    Analysis(#[source] shadow_core::Error),

    /// The capacity for the switch window could not be computed from the forecast.
    #[error("capacity from the forecast")]
    Capacity(#[source] shadow_core::Error),

    /// Rolling back failed: traffic may still be at `split`, the last split the shifter confirmed.
    #[error("rollback failed; traffic is still at the last confirmed split ({split})")]
    RollbackFailed {
        /// The last split the shifter confirmed.
        split: TrafficSplit,
        /// Why the rollback failed.
        #[source]
        source: shadow_core::Error,
    },
}
