//! [`InMemoryMetricSource`]: stored samples served on the query's grid.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

use super::{KIND, faults::Faults, lock};
use crate::{
    error::{Error, Result},
    ids::{Environment, ResourceKind, ServiceId},
    series::{Sample, TimeSeries},
    traits::metric::{MetricQuery, MetricSource},
};

type Key = (ServiceId, Environment, ResourceKind);
type Store = BTreeMap<Key, BTreeMap<DateTime<Utc>, f64>>;

/// A [`MetricSource`] that serves samples stored per (service, environment, resource).
///
/// # Contract
/// `fetch` returns exactly the grid of the [`MetricSource`] contract: `query.points()` values at
/// `range.start + i * step`.
///
/// # Resampling
/// The value at a grid point is the stored sample at **exactly** that timestamp. There is no interpolation, no
/// aggregation and no look-back: a grid point with no sample at its timestamp is `NaN` (never zero), a coarser
/// step picks every k-th stored sample, and samples between grid points are not seen.
///
/// # Errors
/// - [`Error::NotFound`] when nothing was ever stored for the service (in any environment), or for this resource
///   of the service. A known service and resource with no data in the queried environment gives an all-`NaN`
///   series, as a real backend would.
/// - [`Error::InvalidInput`] when the query's step is zero or not a whole number of milliseconds.
/// - Whatever [`InMemoryMetricSource::fail_next`] injected.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> shadow_core::Result<()> {
/// use std::time::Duration;
/// use chrono::{TimeZone, Utc};
/// use shadow_core::{memory::InMemoryMetricSource, *};
///
/// let t = |s| Utc.timestamp_opt(s, 0).unwrap();
/// let svc = ServiceId::new("checkout")?;
/// let minute = Duration::from_secs(60);
/// let source = InMemoryMetricSource::new();
/// source.insert(&svc, Environment::Live, ResourceKind::Cpu,
///     &TimeSeries::new(t(0), minute, vec![1.0, f64::NAN, 3.0])?);
///
/// let q = MetricQuery::new(svc, ResourceKind::Cpu, TimeRange::new(t(-60), t(240))?, minute)?;
/// let got = source.fetch(&q).await?;
/// assert_eq!(got.start(), t(-60));
/// assert_eq!(got.len(), 5);
/// assert!(got.values()[0].is_nan() && got.values()[2].is_nan() && got.values()[4].is_nan());
/// assert_eq!((got.values()[1], got.values()[3]), (1.0, 3.0));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct InMemoryMetricSource {
    series: Arc<Mutex<Store>>,
    faults: Faults,
}

impl InMemoryMetricSource {
    /// An empty source.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores the present values of `series`, replacing samples at the same timestamps.
    ///
    /// `NaN` values are gaps and are not stored. Storing an empty or all-`NaN` series still makes the service
    /// and resource known, so queries for them return `NaN` instead of [`Error::NotFound`].
    pub fn insert(
        &self,
        service: &ServiceId,
        environment: Environment,
        resource: ResourceKind,
        series: &TimeSeries,
    ) {
        let mut all = lock(&self.series);
        let stored = all.entry((service.clone(), environment, resource)).or_default();
        stored.extend(series.samples().map(|s| (s.at, s.value)));
    }

    /// Stores samples at any timestamps, replacing samples at the same timestamps. `NaN` values are skipped.
    ///
    /// # Errors
    /// [`Error::NonFinite`] when a value is infinite; nothing is stored then.
    pub fn insert_samples(
        &self,
        service: &ServiceId,
        environment: Environment,
        resource: ResourceKind,
        samples: &[Sample],
    ) -> Result<()> {
        if samples.iter().any(|s| s.value.is_infinite()) {
            return Err(Error::NonFinite {
                what: "metric samples (use NaN for missing values)",
            });
        }
        let mut all = lock(&self.series);
        let stored = all.entry((service.clone(), environment, resource)).or_default();
        stored.extend(
            samples
                .iter()
                .filter(|s| !s.value.is_nan())
                .map(|s| (s.at, s.value)),
        );
        Ok(())
    }

    /// Removes every stored sample of every service.
    pub fn clear(&self) {
        lock(&self.series).clear();
    }

    /// Makes the next `n` calls to `fetch` fail with errors made by `make_error`, after any failures already
    /// queued. A failed call reads nothing.
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
impl MetricSource for InMemoryMetricSource {
    fn name(&self) -> &str {
        KIND
    }

    async fn fetch(&self, query: &MetricQuery) -> Result<TimeSeries> {
        self.faults.check()?;
        let step = query.step;
        if step.is_zero() || step.subsec_nanos() % 1_000_000 != 0 {
            return Err(Error::invalid(
                "step",
                format!("{step:?} must be a positive whole number of milliseconds"),
            ));
        }
        let all = lock(&self.series);
        if !all.keys().any(|(s, _, _)| *s == query.service) {
            return Err(Error::NotFound {
                provider: KIND,
                what: format!("service `{}`", query.service),
            });
        }
        if !all
            .keys()
            .any(|(s, _, r)| *s == query.service && *r == query.resource)
        {
            return Err(Error::NotFound {
                provider: KIND,
                what: format!("resource `{}` of service `{}`", query.resource, query.service),
            });
        }
        let key = (query.service.clone(), query.environment, query.resource.clone());
        let stored = all.get(&key);
        let step_ms = step.as_millis() as i64;
        let values = (0..query.points())
            .map(|i| {
                let at = query.range.start + TimeDelta::milliseconds(step_ms * i as i64);
                stored.and_then(|m| m.get(&at)).copied().unwrap_or(f64::NAN)
            })
            .collect();
        TimeSeries::new(query.range.start, step, values)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeZone;

    use super::*;
    use crate::series::TimeRange;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(s, 0).unwrap()
    }

    fn query(service: &str, resource: ResourceKind, from: i64, to: i64, step: u64) -> MetricQuery {
        MetricQuery::new(
            ServiceId::new(service).unwrap(),
            resource,
            TimeRange::new(t(from), t(to)).unwrap(),
            Duration::from_secs(step),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn coarser_steps_pick_exact_timestamps_and_environments_are_separate() {
        let source = InMemoryMetricSource::new();
        let svc = ServiceId::new("a").unwrap();
        let samples: Vec<_> = (0..6).map(|i| Sample::new(t(i * 60), i as f64)).collect();
        source
            .insert_samples(&svc, Environment::Live, ResourceKind::Cpu, &samples)
            .unwrap();

        let got = source
            .fetch(&query("a", ResourceKind::Cpu, 0, 360, 120))
            .await
            .unwrap();
        assert_eq!(got.values(), &[0.0, 2.0, 4.0]);
        // Off-grid: no sample sits at 30 s, 150 s or 270 s.
        let off = source
            .fetch(&query("a", ResourceKind::Cpu, 30, 360, 120))
            .await
            .unwrap();
        assert_eq!(off.len(), 3);
        assert!(off.values().iter().all(|v| v.is_nan()));
        // Known service and resource, no data in shadow: NaN, not NotFound.
        let shadow = query("a", ResourceKind::Cpu, 0, 120, 60).in_environment(Environment::Shadow);
        assert!(
            source
                .fetch(&shadow)
                .await
                .unwrap()
                .values()
                .iter()
                .all(|v| v.is_nan())
        );
    }

    #[tokio::test]
    async fn unknown_service_or_resource_is_not_found() {
        let source = InMemoryMetricSource::new();
        let svc = ServiceId::new("a").unwrap();
        source.insert(
            &svc,
            Environment::Live,
            ResourceKind::Cpu,
            &TimeSeries::new(t(0), Duration::from_secs(60), vec![]).unwrap(),
        );
        let err = source
            .fetch(&query("b", ResourceKind::Cpu, 0, 60, 60))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{err}");
        let err = source
            .fetch(&query("a", ResourceKind::Memory, 0, 60, 60))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "memory: not found: resource `memory` of service `a`"
        );
        // Known but empty: all NaN.
        let got = source
            .fetch(&query("a", ResourceKind::Cpu, 0, 60, 60))
            .await
            .unwrap();
        assert!(got.values()[0].is_nan());
        let inf = [Sample::new(t(0), f64::INFINITY)];
        assert!(
            source
                .insert_samples(&svc, Environment::Live, ResourceKind::Cpu, &inf)
                .is_err()
        );
    }

    #[tokio::test]
    async fn injected_failures_come_first_then_clear() {
        let source = InMemoryMetricSource::new();
        source.insert(
            &ServiceId::new("a").unwrap(),
            Environment::Live,
            ResourceKind::Cpu,
            &TimeSeries::new(t(0), Duration::from_secs(60), vec![1.0]).unwrap(),
        );
        source.fail_next(2, || Error::Timeout {
            provider: KIND,
            after: Duration::from_secs(1),
        });
        let q = query("a", ResourceKind::Cpu, 0, 60, 60);
        assert!(source.fetch(&q).await.unwrap_err().is_retryable());
        assert_eq!(source.pending_failures(), 1);
        assert!(source.fetch(&q).await.is_err());
        assert_eq!(source.fetch(&q).await.unwrap().values(), &[1.0]);
        let mut bad = q.clone();
        bad.step = Duration::ZERO;
        assert!(matches!(
            source.fetch(&bad).await,
            Err(Error::InvalidInput { .. })
        ));
    }
}
