//! The [`metric_source`] check.

use chrono::{DateTime, TimeDelta, Utc};

use super::{assert_err_kind, unknown_service};
use crate::{
    ids::{Environment, ResourceKind, ServiceId},
    series::{TimeRange, TimeSeries},
    traits::metric::{MetricQuery, MetricSource},
};

/// A series the backend under test holds, seeded by the caller of [`metric_source`].
#[derive(Debug, Clone, PartialEq)]
pub struct SeededSeries {
    /// The service it belongs to.
    pub service: ServiceId,
    /// The environment it was seeded in.
    pub environment: Environment,
    /// The resource kind.
    pub resource: ResourceKind,
    /// The values on their grid, `NaN` where the backend holds no sample.
    pub series: TimeSeries,
}

impl SeededSeries {
    /// Describes a seeded series.
    #[must_use]
    pub fn new(
        service: ServiceId,
        environment: Environment,
        resource: ResourceKind,
        series: TimeSeries,
    ) -> Self {
        Self {
            service,
            environment,
            resource,
            series,
        }
    }
}

/// Checks the [`MetricSource`] contract against data the backend holds.
///
/// # Assumptions
/// - The backend holds exactly `seeded.series` for (`service`, `environment`, `resource`): a sample at every
///   present grid point, none at the gaps, none in the ten steps before the series and none in the twenty steps
///   after it. The series has at least one present value and should have a gap.
/// - The backend knows neither the service `shadow-conformance-no-such-service` nor the resource
///   `shadow_conformance_no_such_resource` of `seeded.service`.
///
/// # Asserts
/// 1. `name()` is not empty.
/// 2. For `[series.start(), series.end())` at the series' step: the result starts at `range.start`, has the
///    query's step, has exactly `query.points()` values, `NaN` exactly at the gaps, and the seeded values
///    elsewhere (relative tolerance 1e-9).
/// 3. For a range two steps wider before and three after: `NaN` (never zero) outside the seeded span and the
///    seeded values inside.
/// 4. For a range whose end falls 1 ms after the last grid point: the grid still includes that point
///    (`points()` rounds up) and the values match.
/// 5. For a range of ten steps ending at `series.start()`, and one ten steps after `series.end()`: all `NaN`.
/// 6. For twice the step: the grid shape (start, step, `points()` values); values are not checked, because
///    backends may aggregate.
/// 7. An unknown service and an unknown resource give [`Error::NotFound`](crate::Error::NotFound).
///
/// # Panics
/// On the first violation, with a message naming the provider and the rule.
pub async fn metric_source(source: &dyn MetricSource, seeded: &SeededSeries) {
    let name = source.name().to_string();
    assert!(!name.is_empty(), "conformance: metric source: name() is empty");
    let series = &seeded.series;
    assert!(
        series.samples().next().is_some(),
        "conformance: metric source `{name}`: precondition: the seeded series has no present value"
    );
    let step = series.step();
    let step_delta = TimeDelta::milliseconds(step.as_millis() as i64);
    let fetch = async |from: DateTime<Utc>, to: DateTime<Utc>, step| {
        let query = MetricQuery::new(
            seeded.service.clone(),
            seeded.resource.clone(),
            TimeRange::new(from, to).expect("a non-empty range"),
            step,
        )
        .expect("a valid step")
        .in_environment(seeded.environment);
        let got = source.fetch(&query).await.unwrap_or_else(|e| {
            panic!("conformance: metric source `{name}`: fetch of {query:?} failed: {e}")
        });
        assert_eq!(
            (got.start(), got.step(), got.len()),
            (query.range.start, query.step, query.points()),
            "conformance: metric source `{name}`: the result's (start, step, len) must be the query's grid"
        );
        got
    };
    let check_values = |context: &str, got: &[f64], expected: &[f64]| {
        for (i, (g, e)) in got.iter().zip(expected).enumerate() {
            let ok = if e.is_nan() {
                g.is_nan()
            } else {
                (g - e).abs() <= 1e-9 * g.abs().max(e.abs()).max(1.0)
            };
            assert!(
                ok,
                "conformance: metric source `{name}`: {context}: point {i} is {g}, expected {e} \
                 (a point without data must be NaN, never zero)"
            );
        }
    };

    // 2. The seeded span exactly.
    let got = fetch(series.start(), series.end(), step).await;
    check_values("seeded range", got.values(), series.values());

    // 3. Wider on both sides.
    let got = fetch(
        series.start() - step_delta * 2,
        series.end() + step_delta * 3,
        step,
    )
    .await;
    let mut expected = vec![f64::NAN; 2];
    expected.extend_from_slice(series.values());
    expected.extend_from_slice(&[f64::NAN; 3]);
    check_values("wider range", got.values(), &expected);

    // 4. An end that is not on the grid.
    let last = series.time_at(series.len() - 1);
    let got = fetch(series.start(), last + TimeDelta::milliseconds(1), step).await;
    check_values(
        "range ending 1 ms after the last point",
        got.values(),
        series.values(),
    );

    // 5. No data before or after.
    for (context, from) in [
        ("ten steps before the series", series.start() - step_delta * 10),
        ("ten steps after the series", series.end() + step_delta * 10),
    ] {
        let got = fetch(from, from + step_delta * 10, step).await;
        check_values(context, got.values(), &[f64::NAN; 10]);
    }

    // 6. A coarser step: shape only.
    fetch(series.start(), series.end(), step * 2).await;

    // 7. Unknown service and resource.
    let range = TimeRange::new(series.start(), series.end()).expect("a non-empty range");
    let unknown = MetricQuery::new(unknown_service(), seeded.resource.clone(), range, step)
        .expect("a valid step")
        .in_environment(seeded.environment);
    assert_err_kind(
        &source.fetch(&unknown).await,
        &["not_found"],
        &format!("conformance: metric source `{name}`: fetch for an unknown service"),
    );
    let resource = ResourceKind::custom("shadow_conformance_no_such_resource").expect("a valid name");
    let unknown = MetricQuery::new(seeded.service.clone(), resource, range, step)
        .expect("a valid step")
        .in_environment(seeded.environment);
    assert_err_kind(
        &source.fetch(&unknown).await,
        &["not_found"],
        &format!("conformance: metric source `{name}`: fetch for an unknown resource"),
    );
}
