//! Phases, events and the report of a switchover.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shadow_core::{ServiceId, TrafficSplit, TrafficWeight};

/// A phase of the switchover state machine (defined in `shadow-core`, where the state store needs it).
pub use shadow_core::SwitchPhase as Phase;

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
