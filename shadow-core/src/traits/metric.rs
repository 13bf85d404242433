//! [`MetricSource`]: where observed resource usage comes from.

use std::{fmt::Debug, time::Duration};

use async_trait::async_trait;

use crate::{
    error::{Error, Result},
    ids::{Environment, ResourceKind, ServiceId},
    series::{TimeRange, TimeSeries},
};

/// What to fetch: one resource of one service over a time range at a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricQuery {
    /// The service.
    pub service: ServiceId,
    /// Which copy of the service.
    pub environment: Environment,
    /// The resource kind.
    pub resource: ResourceKind,
    /// The time range, `[start, end)`.
    pub range: TimeRange,
    /// The grid step of the result.
    pub step: Duration,
}

impl MetricQuery {
    /// Creates a query for the live environment.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `step` is zero or not a whole number of milliseconds.
    pub fn new(service: ServiceId, resource: ResourceKind, range: TimeRange, step: Duration) -> Result<Self> {
        if step.is_zero() || step.subsec_nanos() % 1_000_000 != 0 {
            return Err(Error::invalid(
                "step",
                format!("{step:?} must be a positive whole number of milliseconds"),
            ));
        }
        Ok(Self {
            service,
            environment: Environment::Live,
            resource,
            range,
            step,
        })
    }

    /// Sets the environment.
    #[must_use]
    pub fn in_environment(mut self, environment: Environment) -> Self {
        self.environment = environment;
        self
    }

    /// The number of grid points in the range.
    #[must_use]
    pub fn points(&self) -> usize {
        let span = (self.range.end - self.range.start).num_milliseconds().max(0) as u128;
        span.div_ceil(self.step.as_millis()) as usize
    }
}

/// A source of observed resource usage: Prometheus, Datadog, New Relic, or a fake.
///
/// # Contract
/// `fetch` returns a series on the grid `range.start + i * step` for `i` in `0..query.points()`: the grid starts
/// exactly at `range.start` and has exactly `query.points()` values.
///
/// # Guarantees
/// A point the backend has no data for is `NaN`, never zero. Partial results are gaps.
///
/// # Errors
/// [`Error::NotFound`] when the service or resource is unknown; [`Error::Unavailable`], [`Error::Timeout`] and
/// [`Error::RateLimited`] (retryable) when the backend cannot answer now.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait MetricSource: Debug + Send + Sync + 'static {
    /// The provider's name, for logs and errors.
    fn name(&self) -> &str;

    /// Fetches one resource's series.
    async fn fetch(&self, query: &MetricQuery) -> Result<TimeSeries>;
}

/// A [`MetricSource`] behind a pointer.
pub type DynMetricSource = dyn MetricSource;

#[cfg(test)]
mod tests {
    use super::*;

    fn _obj_safe(_: Box<dyn MetricSource>) {}

    #[test]
    fn counts_grid_points() {
        use chrono::{TimeZone, Utc};
        let t = |s| Utc.timestamp_opt(s, 0).unwrap();
        let q = MetricQuery::new(
            ServiceId::new("a").unwrap(),
            ResourceKind::Cpu,
            TimeRange::new(t(0), t(301)).unwrap(),
            Duration::from_secs(60),
        )
        .unwrap();
        assert_eq!(q.points(), 6);
        assert!(
            MetricQuery::new(
                q.service.clone(),
                ResourceKind::Cpu,
                q.range,
                Duration::from_nanos(5)
            )
            .is_err()
        );
    }
}
