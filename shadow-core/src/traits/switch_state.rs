//! [`SwitchStateStore`]: where a switchover persists its state, so that a restarted controller resumes it.

use std::fmt::{self, Debug};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{error::Result, ids::ServiceId, traits::traffic::TrafficSplit};

/// A phase of the switchover state machine.
///
/// ```text
/// Preparing -> Verifying -> Shifting{0} -> ... -> Shifting{n-1} -> Promoted
///                                  \______________________/
///                                   any failure -> RollingBack -> RolledBack
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "phase")]
pub enum SwitchPhase {
    /// Applying the shadow's provisioning requests and waiting until it is ready.
    Preparing,
    /// Waiting until the shadow has been healthy for the whole settle window.
    Verifying,
    /// Holding step `step` (an index into the configured steps) while analysing both sides.
    Shifting {
        /// The index of the step in the configured steps.
        step: usize,
    },
    /// All traffic is on the shadow and it stayed healthy.
    Promoted,
    /// Making sure live can carry the load, then moving traffic back to it.
    RollingBack,
    /// All traffic is back on live.
    RolledBack,
}

impl SwitchPhase {
    /// Whether the state machine stops in this phase.
    #[must_use]
    pub const fn is_terminal(self) -> bool {
        matches!(self, SwitchPhase::Promoted | SwitchPhase::RolledBack)
    }

    /// A small stable number per phase, for a metric gauge: preparing 1, verifying 2, shifting 3, promoted 4,
    /// rolling-back 5, rolled-back 6.
    #[must_use]
    pub const fn code(self) -> u8 {
        match self {
            SwitchPhase::Preparing => 1,
            SwitchPhase::Verifying => 2,
            SwitchPhase::Shifting { .. } => 3,
            SwitchPhase::Promoted => 4,
            SwitchPhase::RollingBack => 5,
            SwitchPhase::RolledBack => 6,
        }
    }
}

impl fmt::Display for SwitchPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SwitchPhase::Preparing => f.write_str("preparing"),
            SwitchPhase::Verifying => f.write_str("verifying"),
            SwitchPhase::Shifting { step } => write!(f, "shifting[{step}]"),
            SwitchPhase::Promoted => f.write_str("promoted"),
            SwitchPhase::RollingBack => f.write_str("rolling-back"),
            SwitchPhase::RolledBack => f.write_str("rolled-back"),
        }
    }
}

/// The persisted state of one service's switchover.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchState {
    /// The service.
    pub service: ServiceId,
    /// Which switchover this is (stable across restarts of the same switchover).
    pub run_id: String,
    /// The phase the switchover is in.
    pub phase: SwitchPhase,
    /// The last split the traffic shifter confirmed.
    pub split: TrafficSplit,
    /// A split being applied and not yet confirmed (written before the shifter is called). After a crash the
    /// real split is either `split` or this one; read it back from the shifter.
    pub pending: Option<TrafficSplit>,
    /// Increases by one with every save; the store refuses a save that does not follow the stored revision.
    pub revision: u64,
    /// When the state was saved, on the switchover's clock.
    pub updated_at: DateTime<Utc>,
    /// The last transition, in words.
    pub detail: String,
}

/// Persists switchover state: a file, etcd, or an in-memory fake.
///
/// # Contract
/// - `load` returns the last state saved for the service, or `None`.
/// - `save` is a compare-and-swap on the revision: it stores `state` only when the stored revision is
///   `state.revision - 1` (no stored state counts as revision 0), so two controllers cannot interleave writes.
///   A save is atomic: a crash leaves either the old or the new state, never a mix.
///
/// # Errors
/// [`crate::Error::Conflict`] when the revision does not follow the stored one; retryable errors when the
/// backend cannot answer now.
#[async_trait]
pub trait SwitchStateStore: Debug + Send + Sync + 'static {
    /// The store's name, for logs and errors.
    fn name(&self) -> &str;

    /// Loads the state of `service`.
    async fn load(&self, service: &ServiceId) -> Result<Option<SwitchState>>;

    /// Saves `state` if its revision follows the stored one.
    async fn save(&self, state: &SwitchState) -> Result<()>;
}

/// A [`SwitchStateStore`] behind a pointer.
pub type DynSwitchStateStore = dyn SwitchStateStore;

#[cfg(test)]
mod tests {
    use super::*;

    fn _obj_safe(_: Box<dyn SwitchStateStore>) {}

    #[test]
    fn phase_serialises_with_a_tag() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct W {
            p: SwitchPhase,
        }
        let text = toml::to_string(&W {
            p: SwitchPhase::Shifting { step: 2 },
        })
        .unwrap();
        assert!(text.contains("phase = \"shifting\""), "{text}");
        assert_eq!(
            toml::from_str::<W>(&text).unwrap().p,
            SwitchPhase::Shifting { step: 2 }
        );
        assert_eq!(SwitchPhase::RollingBack.to_string(), "rolling-back");
        assert!(SwitchPhase::RolledBack.is_terminal() && !SwitchPhase::Verifying.is_terminal());
    }
}
