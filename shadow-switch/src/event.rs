//! Phases, events and the report of a switchover.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shadow_core::{ServiceId, TrafficSplit, TrafficWeight};

/// A phase of the switchover state machine.
///
/// ```text
/// Preparing -> Verifying -> Shifting{0} -> ... -> Shifting{n-1} -> Promoted
///                                  \______________________/
///                                   any failure -> RollingBack -> RolledBack
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "phase")]
pub enum Phase {
    /// Applying the shadow's provisioning requests and waiting until it is ready.
    Preparing,
    /// Waiting until the shadow has been healthy for the whole settle window.
    Verifying,
    /// Holding step `step` (an index into the configured steps) while probing both sides.
    Shifting {
        /// The index of the step in [`shadow_core::config::SwitchConfig::steps`].
        step: usize,
    },
    /// All traffic is on the shadow and it stayed healthy.
    Promoted,
    /// Making sure live can carry the load, then moving traffic back to it.
    RollingBack,
    /// All traffic is back on live.
    RolledBack,
}

impl Phase {
    /// Whether the state machine stops in this phase.
    #[must_use]
    pub const fn is_terminal(self) -> bool {
        matches!(self, Phase::Promoted | Phase::RolledBack)
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Phase::Preparing => f.write_str("preparing"),
            Phase::Verifying => f.write_str("verifying"),
            Phase::Shifting { step } => write!(f, "shifting[{step}]"),
            Phase::Promoted => f.write_str("promoted"),
            Phase::RollingBack => f.write_str("rolling-back"),
            Phase::RolledBack => f.write_str("rolled-back"),
        }
    }
}

/// One entry of the switchover log: a transition or a confirmed step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SwitchEvent {
    /// When it happened, on the injected clock.
    pub at: DateTime<Utc>,
    /// The phase entered (or held).
    pub phase: Phase,
    /// The last split the shifter confirmed at that moment.
    pub split: TrafficSplit,
    /// What happened, in words.
    pub detail: String,
}

impl fmt::Display for SwitchEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}  {:<13} shadow {:>4}  {}",
            self.at.format("%Y-%m-%d %H:%M:%S"),
            self.phase.to_string(),
            self.split.shadow.to_string(),
            self.detail
        )
    }
}

/// The outcome of a switchover that ended in a known traffic state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SwitchReport {
    /// The service.
    pub service: ServiceId,
    /// [`Phase::Promoted`] or [`Phase::RolledBack`].
    pub phase: Phase,
    /// Every transition and confirmed step, in order.
    pub events: Vec<SwitchEvent>,
}

impl SwitchReport {
    /// Whether all traffic ended on the shadow.
    #[must_use]
    pub fn is_promoted(&self) -> bool {
        self.phase == Phase::Promoted
    }

    /// The shadow weights the shifter confirmed while shifting forward, in order.
    #[must_use]
    pub fn split_history(&self) -> Vec<TrafficWeight> {
        self.events
            .iter()
            .filter(|e| matches!(e.phase, Phase::Shifting { .. }))
            .map(|e| e.split.shadow)
            .collect()
    }
}
