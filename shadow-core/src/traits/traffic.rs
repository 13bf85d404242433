//! [`TrafficShifter`]: what moves traffic between live and shadow.

use std::fmt::{self, Debug};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{error::Result, ids::ServiceId, quantity::TrafficWeight};

/// How traffic is split between live and shadow. The live share is the complement of the shadow share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TrafficSplit {
    /// The share of traffic that the shadow environment serves.
    pub shadow: TrafficWeight,
}

impl TrafficSplit {
    /// All traffic on live.
    pub const ALL_LIVE: TrafficSplit = TrafficSplit {
        shadow: TrafficWeight::ZERO,
    };
    /// All traffic on shadow.
    pub const ALL_SHADOW: TrafficSplit = TrafficSplit {
        shadow: TrafficWeight::FULL,
    };

    /// A split that sends `shadow` to the shadow environment.
    #[must_use]
    pub const fn to_shadow(shadow: TrafficWeight) -> Self {
        Self { shadow }
    }

    /// The share of traffic that live serves.
    #[must_use]
    pub const fn live(self) -> TrafficWeight {
        self.shadow.complement()
    }
}

impl fmt::Display for TrafficSplit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "live {} / shadow {}", self.live(), self.shadow)
    }
}

/// What a traffic shifter can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShifterCapability {
    /// The smallest weight change it can express, in basis points (100 = 1 %).
    pub granularity_bp: u16,
    /// Whether taking a side to weight 0 lets requests in flight finish.
    pub drains_in_flight: bool,
}

/// Sets the weights between live and shadow: a load balancer's weighted target groups, an nginx upstream, or a
/// fake.
///
/// # Contract
/// - `set_weights` is idempotent and returns the split the backend actually applied, read back after the change.
///   It may round to [`ShifterCapability::granularity_bp`].
/// - A weight of 0 takes a side out of rotation; a weight of 100 % leaves no traffic on the other side.
///
/// # Errors
/// [`crate::Error::NotFound`] for an unknown service; retryable errors when the backend cannot answer now.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait TrafficShifter: Debug + Send + Sync + 'static {
    /// The provider's name, for logs and errors.
    fn name(&self) -> &str;

    /// What this shifter can do.
    fn capability(&self) -> ShifterCapability;

    /// The split in effect now.
    async fn weights(&self, service: &ServiceId) -> Result<TrafficSplit>;

    /// Applies `split` and returns the split now in effect.
    async fn set_weights(&self, service: &ServiceId, split: TrafficSplit) -> Result<TrafficSplit>;
}

/// A [`TrafficShifter`] behind a pointer.
pub type DynTrafficShifter = dyn TrafficShifter;

#[cfg(test)]
mod tests {
    use super::*;

    fn _obj_safe(_: Box<dyn TrafficShifter>) {}

    #[test]
    fn split_display() {
        let s = TrafficSplit::to_shadow(TrafficWeight::from_percent(5.0).unwrap());
        assert_eq!(s.to_string(), "live 95% / shadow 5%");
        assert_eq!(TrafficSplit::ALL_SHADOW.live(), TrafficWeight::ZERO);
    }
}
