//! [`InMemoryHealthProbe`]: health per (service, environment), settable at run time.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;

use super::{KIND, faults::Faults, lock};
use crate::{
    error::{Error, Result},
    ids::{Environment, ServiceId},
    traits::{
        clock::Clock,
        health::{HealthProbe, HealthStatus},
    },
};

/// A [`HealthProbe`] that reports health set by the test, with a fixed latency.
///
/// # Contract
/// - `check` reports what [`set_healthy`](Self::set_healthy) last set for the (service, environment), with the
///   configured latency (1 ms unless [`with_latency`](Self::with_latency) changed it). An unhealthy target is
///   `Ok` with `healthy: false`.
/// - With [`with_clock`](Self::with_clock), each `check` sleeps its latency on that clock, so a
///   [`ManualClock`](crate::ManualClock) moves forward as a real probe would take time. Without one it returns
///   at once.
///
/// # Errors
/// [`Error::NotFound`] for a (service, environment) whose health was never set (the probe is not configured
/// for it), and whatever [`fail_next`](Self::fail_next) injected.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> shadow_core::Result<()> {
/// use shadow_core::{memory::InMemoryHealthProbe, *};
///
/// let svc = ServiceId::new("checkout")?;
/// let probe = InMemoryHealthProbe::new().with_healthy(&svc, Environment::Shadow, true);
/// assert!(probe.check(&svc, Environment::Shadow).await?.healthy);
/// probe.set_healthy(&svc, Environment::Shadow, false);
/// assert!(!probe.check(&svc, Environment::Shadow).await?.healthy);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct InMemoryHealthProbe {
    state: Arc<Mutex<State>>,
    faults: Faults,
}

#[derive(Debug)]
struct State {
    latency: Duration,
    clock: Option<Arc<dyn Clock>>,
    health: BTreeMap<(ServiceId, Environment), bool>,
}

impl Default for InMemoryHealthProbe {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryHealthProbe {
    /// A probe with no targets and a latency of 1 ms.
    #[must_use]
    pub fn new() -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                latency: Duration::from_millis(1),
                clock: None,
                health: BTreeMap::new(),
            })),
            faults: Faults::default(),
        }
    }

    /// Sets the latency every check reports.
    #[must_use]
    pub fn with_latency(self, latency: Duration) -> Self {
        lock(&self.state).latency = latency;
        self
    }

    /// Makes every check sleep its latency on `clock`.
    #[must_use]
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        lock(&self.state).clock = Some(clock);
        self
    }

    /// Sets the health of a target.
    #[must_use]
    pub fn with_healthy(self, service: &ServiceId, environment: Environment, healthy: bool) -> Self {
        self.set_healthy(service, environment, healthy);
        self
    }

    /// Sets the health of a target; later checks report it.
    pub fn set_healthy(&self, service: &ServiceId, environment: Environment, healthy: bool) {
        lock(&self.state)
            .health
            .insert((service.clone(), environment), healthy);
    }

    /// Makes the next `n` calls to `check` fail with errors made by `make_error`, after any failures already
    /// queued.
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
impl HealthProbe for InMemoryHealthProbe {
    fn name(&self) -> &str {
        KIND
    }

    async fn check(&self, service: &ServiceId, environment: Environment) -> Result<HealthStatus> {
        self.faults.check()?;
        let (healthy, latency, clock) = {
            let state = lock(&self.state);
            let healthy = state
                .health
                .get(&(service.clone(), environment))
                .copied()
                .ok_or_else(|| Error::NotFound {
                    provider: KIND,
                    what: format!("health target `{service}` in {environment}"),
                })?;
            (healthy, state.latency, state.clock.clone())
        };
        if let Some(clock) = clock {
            clock.sleep(latency).await;
        }
        Ok(if healthy {
            HealthStatus::healthy(latency, "healthy (set in memory)")
        } else {
            HealthStatus::unhealthy(latency, "unhealthy (set in memory)")
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::traits::clock::ManualClock;

    #[tokio::test]
    async fn checks_take_their_latency_on_the_clock() {
        let t0 = Utc.timestamp_opt(0, 0).unwrap();
        let clock = ManualClock::new(t0);
        let svc = ServiceId::new("a").unwrap();
        let probe = InMemoryHealthProbe::new()
            .with_latency(Duration::from_millis(250))
            .with_clock(Arc::new(clock.clone()))
            .with_healthy(&svc, Environment::Live, true);
        let status = probe.check(&svc, Environment::Live).await.unwrap();
        assert_eq!(status.latency, Duration::from_millis(250));
        assert_eq!(clock.now(), t0 + chrono::TimeDelta::milliseconds(250));
        assert_eq!(
            probe.check(&svc, Environment::Shadow).await.unwrap_err().kind(),
            "not_found"
        );
        probe.fail_next(1, || Error::invalid("probe", "injected"));
        assert!(probe.check(&svc, Environment::Live).await.is_err());
        assert!(probe.check(&svc, Environment::Live).await.unwrap().healthy);
    }
}
