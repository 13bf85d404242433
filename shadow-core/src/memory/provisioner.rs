//! [`InMemoryProvisioner`]: replica counts per (service, environment), with optional boot delays.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

use super::{KIND, faults::Faults, lock};
use crate::{
    error::{Error, Result},
    ids::{Environment, ServiceId},
    quantity::Replicas,
    scaling::{Allocation, ProvisioningRequest},
    series::to_delta,
    traits::{
        clock::Clock,
        provisioner::{Provisioner, ProvisionerCapability},
    },
};

/// A [`Provisioner`] that keeps replica counts in memory.
///
/// # Contract
/// - A service is known once [`with_service`](Self::with_service) or [`set_replicas`](Self::set_replicas)
///   named it in any environment. An environment of a known service that was never set is at 0 replicas.
/// - `apply` sets the target; it never adds. Applying a request twice leaves the same allocation as once.
/// - `apply` refuses, and changes nothing, a target outside `[min_replicas, max_replicas]` or more than
///   `max_step` away from the current target ([`Error::InvalidInput`]), and a scale-in when the capability says
///   `scale_in: false` ([`Error::NotSupported`]).
/// - Without a boot delay, `ready` equals `desired` at once. With [`with_boot_delay`](Self::with_boot_delay),
///   new replicas become ready one delay after the `apply` that asked for them, measured on the injected
///   [`Clock`]; removed replicas stop being ready at once.
/// - Every successful `apply` is appended to [`history`](Self::history), the no-op repeats included.
///
/// # Errors
/// [`Error::NotFound`] for an unknown service, the refusals above, and whatever
/// [`fail_next`](Self::fail_next) injected (a failed call changes nothing and is not recorded).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> shadow_core::Result<()> {
/// use std::{sync::Arc, time::Duration};
/// use chrono::{TimeZone, Utc};
/// use shadow_core::{memory::InMemoryProvisioner, *};
///
/// let t0 = Utc.timestamp_opt(0, 0).unwrap();
/// let clock = ManualClock::new(t0);
/// let svc = ServiceId::new("checkout")?;
/// let prov = InMemoryProvisioner::new()
///     .with_boot_delay(Arc::new(clock.clone()), Duration::from_secs(90))
///     .with_service(&svc, Environment::Shadow, 2);
///
/// let req = ProvisioningRequest {
///     service: svc.clone(),
///     environment: Environment::Shadow,
///     target: Replicas(5),
///     issue_at: t0,
///     deadline: t0,
///     reason: "peak".into(),
/// };
/// let after = prov.apply(&req).await?;
/// assert_eq!((after.desired, after.ready), (Replicas(5), Replicas(2)));
/// clock.advance(Duration::from_secs(90));
/// assert_eq!(prov.describe(&svc, Environment::Shadow).await?.ready, Replicas(5));
/// assert_eq!(prov.history(), vec![req]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct InMemoryProvisioner {
    state: Arc<Mutex<State>>,
    faults: Faults,
}

#[derive(Debug)]
struct State {
    capability: ProvisionerCapability,
    boot: Option<(Arc<dyn Clock>, Duration)>,
    slots: BTreeMap<(ServiceId, Environment), Slot>,
    history: Vec<ProvisioningRequest>,
}

/// One (service, environment). Invariant: `ready + sum(booting) == desired`.
#[derive(Debug, Default, Clone)]
struct Slot {
    desired: u32,
    ready: u32,
    /// Replicas still booting: (ready at, count), oldest first.
    booting: Vec<(DateTime<Utc>, u32)>,
}

impl Slot {
    fn settle(&mut self, now: Option<DateTime<Utc>>) {
        let Some(now) = now else {
            self.ready = self.desired;
            self.booting.clear();
            return;
        };
        let done: u32 = self
            .booting
            .iter()
            .filter(|(at, _)| *at <= now)
            .map(|(_, n)| n)
            .sum();
        self.booting.retain(|(at, _)| *at > now);
        self.ready += done;
    }

    fn set_target(&mut self, target: u32, now: Option<DateTime<Utc>>, delay: TimeDelta) {
        self.settle(now);
        if target >= self.desired {
            let added = target - self.desired;
            match now {
                Some(now) if added > 0 => {
                    let at = now.checked_add_signed(delay).unwrap_or(DateTime::<Utc>::MAX_UTC);
                    self.booting.push((at, added));
                }
                _ => self.ready += added,
            }
        } else {
            // Remove booting replicas first, newest first, then ready ones.
            let mut remove = self.desired - target;
            while remove > 0 {
                let Some(last) = self.booting.last_mut() else {
                    self.ready -= remove;
                    break;
                };
                let take = last.1.min(remove);
                last.1 -= take;
                remove -= take;
                if last.1 == 0 {
                    self.booting.pop();
                }
            }
        }
        self.desired = target;
    }

    fn allocation(&self, service: &ServiceId, environment: Environment) -> Allocation {
        Allocation {
            service: service.clone(),
            environment,
            desired: Replicas(self.desired),
            ready: Replicas(self.ready),
        }
    }
}

impl State {
    fn now(&self) -> Option<DateTime<Utc>> {
        self.boot.as_ref().map(|(clock, _)| clock.now())
    }

    fn delay(&self) -> TimeDelta {
        self.boot
            .as_ref()
            .map_or(TimeDelta::zero(), |(_, d)| to_delta(*d).unwrap_or(TimeDelta::MAX))
    }

    fn knows(&self, service: &ServiceId) -> bool {
        self.slots.keys().any(|(s, _)| s == service)
    }

    fn not_found(service: &ServiceId) -> Error {
        Error::NotFound {
            provider: KIND,
            what: format!("service `{service}`"),
        }
    }

    /// Checks a target against the capability; `None` when the request may be applied.
    fn refusal(&self, current: u32, target: u32) -> Option<Error> {
        let cap = &self.capability;
        if target < current && !cap.scale_in {
            return Some(Error::NotSupported {
                provider: KIND,
                operation: "scale in",
            });
        }
        if target < cap.min_replicas || target > cap.max_replicas {
            return Some(Error::invalid(
                "target replicas",
                format!(
                    "{target} is outside the provisioner's range {}..={}",
                    cap.min_replicas, cap.max_replicas
                ),
            ));
        }
        match cap.max_step {
            Some(step) if target.abs_diff(current) > step => Some(Error::invalid(
                "target replicas",
                format!("{current} -> {target} changes more than the provisioner's max step of {step}"),
            )),
            _ => None,
        }
    }
}

impl Default for InMemoryProvisioner {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryProvisioner {
    /// The capability of a new provisioner: scales in, no step limit, 0 to 10 000 replicas.
    pub const DEFAULT_CAPABILITY: ProvisionerCapability = ProvisionerCapability {
        scale_in: true,
        max_step: None,
        min_replicas: 0,
        max_replicas: 10_000,
    };

    /// A provisioner with no services and [`DEFAULT_CAPABILITY`](Self::DEFAULT_CAPABILITY).
    #[must_use]
    pub fn new() -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                capability: Self::DEFAULT_CAPABILITY,
                boot: None,
                slots: BTreeMap::new(),
                history: Vec::new(),
            })),
            faults: Faults::default(),
        }
    }

    /// Sets the capability that `apply` honours and `capability` reports.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `min_replicas > max_replicas` or `max_step` is `Some(0)`.
    pub fn with_capability(self, capability: ProvisionerCapability) -> Result<Self> {
        if capability.min_replicas > capability.max_replicas {
            return Err(Error::invalid(
                "provisioner capability",
                format!(
                    "min_replicas {} is above max_replicas {}",
                    capability.min_replicas, capability.max_replicas
                ),
            ));
        }
        if capability.max_step == Some(0) {
            return Err(Error::invalid(
                "provisioner capability",
                "max_step must be at least 1",
            ));
        }
        lock(&self.state).capability = capability;
        Ok(self)
    }

    /// Makes new replicas become ready `delay` after the `apply` that asked for them, measured on `clock`.
    #[must_use]
    pub fn with_boot_delay(self, clock: Arc<dyn Clock>, delay: Duration) -> Self {
        lock(&self.state).boot = Some((clock, delay));
        self
    }

    /// Adds a service in one environment with `replicas` desired and ready.
    #[must_use]
    pub fn with_service(self, service: &ServiceId, environment: Environment, replicas: u32) -> Self {
        self.set_replicas(service, environment, replicas);
        self
    }

    /// Sets the replicas of a service in one environment, desired and ready, bypassing the capability and the
    /// history. Use it to seed state or to simulate an outside change.
    pub fn set_replicas(&self, service: &ServiceId, environment: Environment, replicas: u32) {
        let mut state = lock(&self.state);
        state.slots.insert(
            (service.clone(), environment),
            Slot {
                desired: replicas,
                ready: replicas,
                booting: Vec::new(),
            },
        );
    }

    /// Every successfully applied request, in order.
    #[must_use]
    pub fn history(&self) -> Vec<ProvisioningRequest> {
        lock(&self.state).history.clone()
    }

    /// Makes the next `n` calls to `describe` or `apply` fail with errors made by `make_error`, after any
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

#[async_trait]
impl Provisioner for InMemoryProvisioner {
    fn name(&self) -> &str {
        KIND
    }

    fn capability(&self) -> ProvisionerCapability {
        lock(&self.state).capability
    }

    async fn describe(&self, service: &ServiceId, environment: Environment) -> Result<Allocation> {
        self.faults.check()?;
        let mut state = lock(&self.state);
        if !state.knows(service) {
            return Err(State::not_found(service));
        }
        let now = state.now();
        let slot = state.slots.entry((service.clone(), environment)).or_default();
        slot.settle(now);
        Ok(slot.allocation(service, environment))
    }

    async fn apply(&self, request: &ProvisioningRequest) -> Result<Allocation> {
        self.faults.check()?;
        let mut state = lock(&self.state);
        if !state.knows(&request.service) {
            return Err(State::not_found(&request.service));
        }
        let key = (request.service.clone(), request.environment);
        let current = state.slots.get(&key).map_or(0, |s| s.desired);
        if let Some(refusal) = state.refusal(current, request.target.0) {
            return Err(refusal);
        }
        let (now, delay) = (state.now(), state.delay());
        let slot = state.slots.entry(key).or_default();
        slot.set_target(request.target.0, now, delay);
        let allocation = slot.allocation(&request.service, request.environment);
        state.history.push(request.clone());
        Ok(allocation)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::traits::clock::ManualClock;

    fn request(service: &ServiceId, target: u32) -> ProvisioningRequest {
        let t0 = Utc.timestamp_opt(0, 0).unwrap();
        ProvisioningRequest {
            service: service.clone(),
            environment: Environment::Live,
            target: Replicas(target),
            issue_at: t0,
            deadline: t0,
            reason: "test".into(),
        }
    }

    #[tokio::test]
    async fn refusals_change_nothing_and_are_not_recorded() {
        let svc = ServiceId::new("a").unwrap();
        let cap = ProvisionerCapability {
            scale_in: false,
            max_step: Some(2),
            min_replicas: 1,
            max_replicas: 6,
        };
        let prov = InMemoryProvisioner::new()
            .with_capability(cap)
            .unwrap()
            .with_service(&svc, Environment::Live, 3);
        for (target, kind) in [(2, "not_supported"), (7, "invalid_input"), (6, "invalid_input")] {
            let err = prov.apply(&request(&svc, target)).await.unwrap_err();
            assert_eq!(err.kind(), kind, "target {target}: {err}");
        }
        assert_eq!(
            prov.describe(&svc, Environment::Live).await.unwrap().desired,
            Replicas(3)
        );
        assert!(prov.history().is_empty());
        assert_eq!(prov.apply(&request(&svc, 5)).await.unwrap().desired, Replicas(5));
        assert_eq!(prov.apply(&request(&svc, 5)).await.unwrap().desired, Replicas(5));
        assert_eq!(prov.history().len(), 2);
        let unknown = ServiceId::new("b").unwrap();
        assert_eq!(
            prov.apply(&request(&unknown, 1)).await.unwrap_err().kind(),
            "not_found"
        );
        let bad = ProvisionerCapability {
            min_replicas: 9,
            ..cap
        };
        assert!(InMemoryProvisioner::new().with_capability(bad).is_err());
    }

    #[tokio::test]
    async fn boot_delay_and_scale_in_keep_ready_within_desired() {
        let t0 = Utc.timestamp_opt(0, 0).unwrap();
        let clock = ManualClock::new(t0);
        let svc = ServiceId::new("a").unwrap();
        let prov = InMemoryProvisioner::new()
            .with_boot_delay(Arc::new(clock.clone()), Duration::from_secs(60))
            .with_service(&svc, Environment::Live, 2);
        let ready = |a: Allocation| (a.desired.0, a.ready.0);
        assert_eq!(ready(prov.apply(&request(&svc, 4)).await.unwrap()), (4, 2));
        clock.advance(Duration::from_secs(30));
        assert_eq!(ready(prov.apply(&request(&svc, 7)).await.unwrap()), (7, 2));
        clock.advance(Duration::from_secs(30));
        assert_eq!(
            ready(prov.describe(&svc, Environment::Live).await.unwrap()),
            (7, 4)
        );
        // Scale-in drops the newest booting replicas first.
        assert_eq!(ready(prov.apply(&request(&svc, 5)).await.unwrap()), (5, 4));
        assert_eq!(ready(prov.apply(&request(&svc, 1)).await.unwrap()), (1, 1));
        clock.advance(Duration::from_secs(120));
        assert_eq!(
            ready(prov.describe(&svc, Environment::Live).await.unwrap()),
            (1, 1)
        );
        // An environment never set reads as zero.
        assert_eq!(
            ready(prov.describe(&svc, Environment::Shadow).await.unwrap()),
            (0, 0)
        );
    }
}
