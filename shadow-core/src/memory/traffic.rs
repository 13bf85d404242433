//! [`InMemoryTrafficShifter`]: a traffic split per service, rounded to a granularity.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use async_trait::async_trait;

use super::{KIND, faults::Faults, lock};
use crate::{
    error::{Error, Result},
    ids::ServiceId,
    quantity::TrafficWeight,
    traits::traffic::{ShifterCapability, TrafficShifter, TrafficSplit},
};

/// A [`TrafficShifter`] that keeps one split per service in memory.
///
/// # Contract
/// - A service is known once [`with_service`](Self::with_service) or [`set_split`](Self::set_split) named it;
///   it starts with all traffic on live.
/// - `set_weights` rounds the shadow share to the nearest multiple of `granularity_bp` (halves round up),
///   stores it and returns it. Setting the same split twice leaves the same split as once.
/// - Every successful `set_weights` is appended to [`history`](Self::history) as (service, applied split), the
///   no-op repeats included.
///
/// # Errors
/// [`Error::NotFound`] for an unknown service, and whatever [`fail_next`](Self::fail_next) injected (a failed
/// call changes nothing and is not recorded).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> shadow_core::Result<()> {
/// use shadow_core::{memory::InMemoryTrafficShifter, *};
///
/// let svc = ServiceId::new("checkout")?;
/// let shifter = InMemoryTrafficShifter::with_granularity(500)?.with_service(&svc);
/// let applied = shifter
///     .set_weights(&svc, TrafficSplit::to_shadow(TrafficWeight::from_percent(12.0)?))
///     .await?;
/// assert_eq!(applied.shadow, TrafficWeight::from_percent(10.0)?);
/// assert_eq!(shifter.history(), vec![(svc, applied)]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct InMemoryTrafficShifter {
    state: Arc<Mutex<State>>,
    faults: Faults,
}

#[derive(Debug)]
struct State {
    capability: ShifterCapability,
    splits: BTreeMap<ServiceId, TrafficSplit>,
    history: Vec<(ServiceId, TrafficSplit)>,
}

impl Default for InMemoryTrafficShifter {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryTrafficShifter {
    /// A shifter with no services, a granularity of 1 basis point, and `drains_in_flight: true` (it has no
    /// requests in flight to drop).
    #[must_use]
    pub fn new() -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                capability: ShifterCapability {
                    granularity_bp: 1,
                    drains_in_flight: true,
                },
                splits: BTreeMap::new(),
                history: Vec::new(),
            })),
            faults: Faults::default(),
        }
    }

    /// A shifter that rounds to `granularity_bp` basis points.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] unless `granularity_bp` is in `1..=10_000` and divides 10 000, so that 0 % and
    /// 100 % stay exact.
    pub fn with_granularity(granularity_bp: u16) -> Result<Self> {
        if granularity_bp == 0 || granularity_bp > 10_000 || 10_000 % granularity_bp != 0 {
            return Err(Error::invalid(
                "granularity",
                format!("{granularity_bp} basis points must be in 1..=10000 and divide 10000"),
            ));
        }
        let shifter = Self::new();
        lock(&shifter.state).capability.granularity_bp = granularity_bp;
        Ok(shifter)
    }

    /// Sets whether the reported capability says that weight 0 drains requests in flight.
    #[must_use]
    pub fn with_drains_in_flight(self, drains: bool) -> Self {
        lock(&self.state).capability.drains_in_flight = drains;
        self
    }

    /// Adds a service with all traffic on live.
    #[must_use]
    pub fn with_service(self, service: &ServiceId) -> Self {
        self.set_split(service, TrafficSplit::ALL_LIVE);
        self
    }

    /// Sets the split of a service as is, without rounding and without recording it. Use it to seed state or
    /// to simulate an outside change.
    pub fn set_split(&self, service: &ServiceId, split: TrafficSplit) {
        lock(&self.state).splits.insert(service.clone(), split);
    }

    /// Every split applied through `set_weights`, with its service, in order.
    #[must_use]
    pub fn history(&self) -> Vec<(ServiceId, TrafficSplit)> {
        lock(&self.state).history.clone()
    }

    /// Makes the next `n` calls to `weights` or `set_weights` fail with errors made by `make_error`, after any
    /// failures already queued. A failed call changes nothing.
    pub fn fail_next(&self, n: usize, make_error: impl Fn() -> Error + Send + Sync + 'static) {
        self.faults.push(n, make_error);
    }

    /// How many calls will still fail.
    #[must_use]
    pub fn pending_failures(&self) -> usize {
        self.faults.pending()
    }
}

fn not_found(service: &ServiceId) -> Error {
    Error::NotFound {
        provider: KIND,
        what: format!("service `{service}`"),
    }
}

/// Rounds to the nearest multiple of `granularity`, halves up. `granularity` divides 10 000, so the result
/// stays within `0..=10_000`.
fn round(weight: TrafficWeight, granularity: u16) -> Result<TrafficWeight> {
    let (bp, g) = (u32::from(weight.basis_points()), u32::from(granularity.max(1)));
    let rounded = (bp + g / 2) / g * g;
    TrafficWeight::try_new(rounded.min(10_000) as u16)
}

#[async_trait]
impl TrafficShifter for InMemoryTrafficShifter {
    fn name(&self) -> &str {
        KIND
    }

    fn capability(&self) -> ShifterCapability {
        lock(&self.state).capability
    }

    async fn weights(&self, service: &ServiceId) -> Result<TrafficSplit> {
        self.faults.check()?;
        lock(&self.state)
            .splits
            .get(service)
            .copied()
            .ok_or_else(|| not_found(service))
    }

    async fn set_weights(&self, service: &ServiceId, split: TrafficSplit) -> Result<TrafficSplit> {
        self.faults.check()?;
        let mut state = lock(&self.state);
        let granularity = state.capability.granularity_bp;
        let current = state.splits.get_mut(service).ok_or_else(|| not_found(service))?;
        let applied = TrafficSplit::to_shadow(round(split.shadow, granularity)?);
        *current = applied;
        state.history.push((service.clone(), applied));
        Ok(applied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bp(v: u16) -> TrafficWeight {
        TrafficWeight::try_new(v).unwrap()
    }

    #[test]
    fn rounds_to_the_nearest_multiple() {
        assert_eq!(round(bp(1249), 500).unwrap(), bp(1000));
        assert_eq!(round(bp(1250), 500).unwrap(), bp(1500));
        assert_eq!(round(bp(9999), 2500).unwrap(), bp(10_000));
        assert_eq!(round(bp(1), 1).unwrap(), bp(1));
        assert!(InMemoryTrafficShifter::with_granularity(300).is_err());
        assert!(InMemoryTrafficShifter::with_granularity(0).is_err());
        assert!(InMemoryTrafficShifter::with_granularity(10_000).is_ok());
    }

    #[tokio::test]
    async fn unknown_services_and_failures_change_nothing() {
        let svc = ServiceId::new("a").unwrap();
        let shifter = InMemoryTrafficShifter::new().with_service(&svc);
        let other = ServiceId::new("b").unwrap();
        let half = TrafficSplit::to_shadow(bp(5000));
        assert_eq!(
            shifter.set_weights(&other, half).await.unwrap_err().kind(),
            "not_found"
        );
        shifter.fail_next(1, || Error::Unavailable {
            provider: KIND,
            message: "injected".into(),
        });
        assert!(shifter.set_weights(&svc, half).await.unwrap_err().is_retryable());
        assert_eq!(shifter.weights(&svc).await.unwrap(), TrafficSplit::ALL_LIVE);
        assert!(shifter.history().is_empty());
        assert_eq!(shifter.set_weights(&svc, half).await.unwrap(), half);
        assert!(
            !shifter
                .clone()
                .with_drains_in_flight(false)
                .capability()
                .drains_in_flight
        );
    }
}
