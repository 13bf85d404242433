//! Forecasts, demand curves and known events: the values that flow out of a forecaster.

use std::{collections::BTreeMap, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    error::{Error, Result},
    ids::{ResourceKind, ServiceId},
    quantity::Quantile,
    series::TimeRange,
};

/// A forecast over a horizon: a point forecast and any set of quantiles per step.
///
/// # Guarantees
/// - Every path has `horizon()` steps and every value is finite.
/// - Quantile levels are strictly increasing, and at every step the values are non-decreasing in the level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    start: DateTime<Utc>,
    #[serde(with = "humantime_serde")]
    step: Duration,
    point: Vec<f64>,
    levels: Vec<Quantile>,
    /// `quantiles[k][h]` is the value of quantile `levels[k]` at step `h`.
    quantiles: Vec<Vec<f64>>,
}

impl Forecast {
    /// Creates a forecast and checks its guarantees.
    ///
    /// `start` is the timestamp of the first step. `quantiles[k]` holds the path of `levels[k]`. Levels may come
    /// in any order; they are sorted here.
    ///
    /// # Errors
    /// - [`Error::InvalidInput`] when lengths differ, a level repeats, or quantiles cross.
    /// - [`Error::NonFinite`] when a value is not finite.
    pub fn new(
        start: DateTime<Utc>,
        step: Duration,
        point: Vec<f64>,
        levels: Vec<Quantile>,
        quantiles: Vec<Vec<f64>>,
    ) -> Result<Self> {
        if step.is_zero() {
            return Err(Error::invalid("forecast", "step must be positive"));
        }
        if levels.len() != quantiles.len() {
            return Err(Error::invalid(
                "forecast",
                format!("{} levels but {} quantile paths", levels.len(), quantiles.len()),
            ));
        }
        let h = point.len();
        if let Some(bad) = quantiles.iter().find(|p| p.len() != h) {
            return Err(Error::invalid(
                "forecast",
                format!("a quantile path has {} steps, the point forecast {h}", bad.len()),
            ));
        }
        if point
            .iter()
            .chain(quantiles.iter().flatten())
            .any(|v| !v.is_finite())
        {
            return Err(Error::NonFinite { what: "forecast" });
        }
        let mut pairs: Vec<(Quantile, Vec<f64>)> = levels.into_iter().zip(quantiles).collect();
        pairs.sort_by_key(|a| a.0);
        if pairs.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err(Error::invalid("forecast", "a quantile level appears twice"));
        }
        for w in pairs.windows(2) {
            if let Some(i) = (0..h).find(|&i| w[1].1[i] < w[0].1[i]) {
                return Err(Error::invalid(
                    "forecast",
                    format!("quantile {} is below quantile {} at step {i}", w[1].0, w[0].0),
                ));
            }
        }
        let (levels, quantiles) = pairs.into_iter().unzip();
        Ok(Self {
            start,
            step,
            point,
            levels,
            quantiles,
        })
    }

    /// An empty forecast, to be filled by [`Forecast::reset`] and [`Forecast::finish`].
    #[must_use]
    pub fn empty() -> Self {
        Self {
            start: DateTime::<Utc>::UNIX_EPOCH,
            step: Duration::from_secs(1),
            point: Vec::new(),
            levels: Vec::new(),
            quantiles: Vec::new(),
        }
    }

    /// Prepares the buffers for a forecast of `horizon` steps and the given (strictly increasing) levels,
    /// reusing the allocations. Fill [`Forecast::point_mut`] and [`Forecast::quantile_paths_mut`], then call
    /// [`Forecast::finish`].
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the levels are not strictly increasing or `step` is zero.
    pub fn reset(
        &mut self,
        start: DateTime<Utc>,
        step: Duration,
        horizon: usize,
        levels: &[Quantile],
    ) -> Result<()> {
        if step.is_zero() {
            return Err(Error::invalid("forecast", "step must be positive"));
        }
        if levels.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::invalid(
                "forecast",
                "quantile levels must be strictly increasing",
            ));
        }
        self.start = start;
        self.step = step;
        self.point.clear();
        self.point.resize(horizon, 0.0);
        self.levels.clear();
        self.levels.extend_from_slice(levels);
        self.quantiles.resize_with(levels.len(), Vec::new);
        for path in &mut self.quantiles {
            path.clear();
            path.resize(horizon, 0.0);
        }
        Ok(())
    }

    /// The point forecast, for filling after [`Forecast::reset`].
    pub fn point_mut(&mut self) -> &mut [f64] {
        &mut self.point
    }

    /// The quantile paths, for filling after [`Forecast::reset`].
    pub fn quantile_paths_mut(&mut self) -> &mut [Vec<f64>] {
        &mut self.quantiles
    }

    /// Checks the guarantees after the buffers were filled in place.
    ///
    /// # Errors
    /// [`Error::NonFinite`] or [`Error::InvalidInput`] when a value is not finite or quantiles cross.
    pub fn finish(&self) -> Result<()> {
        if self
            .point
            .iter()
            .chain(self.quantiles.iter().flatten())
            .any(|v| !v.is_finite())
        {
            return Err(Error::NonFinite { what: "forecast" });
        }
        for (k, w) in self.quantiles.windows(2).enumerate() {
            if let Some(i) = (0..self.point.len()).find(|&i| w[1][i] < w[0][i]) {
                return Err(Error::invalid(
                    "forecast",
                    format!(
                        "quantile {} is below quantile {} at step {i}",
                        self.levels[k + 1],
                        self.levels[k]
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The timestamp of the first step.
    #[must_use]
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// The step between forecast points.
    #[must_use]
    pub fn step(&self) -> Duration {
        self.step
    }

    /// The number of steps.
    #[must_use]
    pub fn horizon(&self) -> usize {
        self.point.len()
    }

    /// The timestamp of step `h`.
    #[must_use]
    pub fn time_at(&self, h: usize) -> DateTime<Utc> {
        self.start + TimeDelta::milliseconds(self.step.as_millis() as i64 * h as i64)
    }

    /// The timestamps of the horizon.
    pub fn timestamps(&self) -> impl ExactSizeIterator<Item = DateTime<Utc>> + '_ {
        (0..self.horizon()).map(|h| self.time_at(h))
    }

    /// The point forecast (the model's mean or median).
    #[must_use]
    pub fn point(&self) -> &[f64] {
        &self.point
    }

    /// The quantile levels, increasing.
    #[must_use]
    pub fn levels(&self) -> &[Quantile] {
        &self.levels
    }

    /// The path of one quantile level, if the forecast has it.
    #[must_use]
    pub fn quantile(&self, level: Quantile) -> Option<&[f64]> {
        self.levels
            .iter()
            .position(|l| *l == level)
            .map(|k| self.quantiles[k].as_slice())
    }

    /// The path of the level closest to `level`, or the point forecast when there are no quantiles.
    #[must_use]
    pub fn nearest_quantile(&self, level: f64) -> &[f64] {
        self.levels
            .iter()
            .enumerate()
            .min_by(|a, b| (a.1.get() - level).abs().total_cmp(&(b.1.get() - level).abs()))
            .map_or(self.point.as_slice(), |(k, _)| self.quantiles[k].as_slice())
    }

    /// All quantile paths, in the order of [`Forecast::levels`].
    #[must_use]
    pub fn quantile_paths(&self) -> &[Vec<f64>] {
        &self.quantiles
    }
}

/// The forecast demand of one service, one forecast per resource kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemandCurve {
    /// The service whose demand this is.
    pub service: ServiceId,
    /// One forecast per resource kind.
    pub resources: BTreeMap<ResourceKind, Forecast>,
}

impl DemandCurve {
    /// Creates an empty curve for `service`.
    #[must_use]
    pub fn new(service: ServiceId) -> Self {
        Self {
            service,
            resources: BTreeMap::new(),
        }
    }

    /// Adds or replaces the forecast of one resource kind.
    #[must_use]
    pub fn with(mut self, kind: ResourceKind, forecast: Forecast) -> Self {
        self.resources.insert(kind, forecast);
        self
    }
}

/// A known event, past or future, such as a campaign, a launch or a holiday.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// The label that groups events of the same kind; events with one label share one learned effect.
    pub label: String,
    /// When the event starts and ends.
    #[serde(flatten)]
    pub window: TimeRange,
}

impl Event {
    /// Creates an event.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the label is not a valid name.
    pub fn new(label: impl Into<String>, window: TimeRange) -> Result<Self> {
        let label = label.into();
        crate::ids::validate_name("event label", &label)?;
        Ok(Self { label, window })
    }
}

/// Exogenous regressors on a grid: one named column per regressor, one row per grid step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Regressors {
    names: Vec<String>,
    columns: Vec<Vec<f64>>,
}

impl Regressors {
    /// No regressors.
    #[must_use]
    pub fn empty() -> Self {
        Self::default()
    }

    /// No regressors, in a `const` context.
    #[must_use]
    pub const fn empty_const() -> Self {
        Self {
            names: Vec::new(),
            columns: Vec::new(),
        }
    }

    /// Builds one indicator column per distinct event label: 1 where the grid point falls in any event with
    /// that label, 0 elsewhere. Labels are sorted, so the column order is stable.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `step` is zero.
    pub fn from_events(events: &[Event], start: DateTime<Utc>, step: Duration, len: usize) -> Result<Self> {
        if step.is_zero() {
            return Err(Error::invalid("step", "must be positive"));
        }
        let mut labels: Vec<&str> = events.iter().map(|e| e.label.as_str()).collect();
        labels.sort_unstable();
        labels.dedup();
        let step_ms = step.as_millis() as i64;
        let columns = labels
            .iter()
            .map(|label| {
                (0..len)
                    .map(|i| {
                        let t = start + TimeDelta::milliseconds(step_ms * i as i64);
                        let hit = events.iter().any(|e| e.label == *label && e.window.contains(t));
                        if hit { 1.0 } else { 0.0 }
                    })
                    .collect()
            })
            .collect();
        Ok(Self {
            names: labels.into_iter().map(String::from).collect(),
            columns,
        })
    }

    /// Adds a named column.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the length differs from the other columns or the name repeats;
    /// [`Error::NonFinite`] when a value is not finite.
    pub fn push(&mut self, name: impl Into<String>, column: Vec<f64>) -> Result<()> {
        let name = name.into();
        if self.names.contains(&name) {
            return Err(Error::invalid(
                "regressors",
                format!("column `{name}` appears twice"),
            ));
        }
        if let Some(first) = self.columns.first() {
            if first.len() != column.len() {
                return Err(Error::invalid(
                    "regressors",
                    format!(
                        "column `{name}` has {} rows, others {}",
                        column.len(),
                        first.len()
                    ),
                ));
            }
        }
        if column.iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: "regressor column",
            });
        }
        self.names.push(name);
        self.columns.push(column);
        Ok(())
    }

    /// The column names.
    #[must_use]
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The columns, in the order of [`Regressors::names`].
    #[must_use]
    pub fn columns(&self) -> &[Vec<f64>] {
        &self.columns
    }

    /// The number of rows (0 when there are no columns).
    #[must_use]
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, Vec::len)
    }

    /// Whether there are no columns.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn q(v: f64) -> Quantile {
        Quantile::try_new(v).unwrap()
    }

    fn t0() -> DateTime<Utc> {
        Utc.timestamp_opt(0, 0).unwrap()
    }

    #[test]
    fn sorts_levels_and_checks_monotonicity() {
        let step = Duration::from_secs(60);
        let f = Forecast::new(
            t0(),
            step,
            vec![1.0, 2.0],
            vec![q(0.9), q(0.1)],
            vec![vec![2.0, 3.0], vec![0.0, 1.0]],
        )
        .unwrap();
        assert_eq!(f.levels(), &[q(0.1), q(0.9)]);
        assert_eq!(f.quantile(q(0.9)).unwrap(), &[2.0, 3.0]);
        assert_eq!(f.time_at(1), t0() + TimeDelta::seconds(60));
        assert_eq!(f.nearest_quantile(0.95), &[2.0, 3.0]);

        let crossing = Forecast::new(
            t0(),
            step,
            vec![1.0],
            vec![q(0.1), q(0.9)],
            vec![vec![2.0], vec![1.0]],
        );
        assert!(crossing.unwrap_err().to_string().contains("below"));
        let nan = Forecast::new(t0(), step, vec![f64::NAN], vec![], vec![]);
        assert!(matches!(nan, Err(Error::NonFinite { .. })));
        let ragged = Forecast::new(t0(), step, vec![1.0], vec![q(0.5)], vec![vec![1.0, 2.0]]);
        assert!(ragged.is_err());
    }

    #[test]
    fn events_become_indicator_columns() {
        let w = |a, b| TimeRange::new(t0() + TimeDelta::seconds(a), t0() + TimeDelta::seconds(b)).unwrap();
        let events = vec![
            Event::new("sale", w(120, 240)).unwrap(),
            Event::new("launch", w(0, 60)).unwrap(),
        ];
        let r = Regressors::from_events(&events, t0(), Duration::from_secs(60), 5).unwrap();
        assert_eq!(r.names(), &["launch".to_string(), "sale".to_string()]);
        assert_eq!(r.columns()[0], vec![1.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(r.columns()[1], vec![0.0, 0.0, 1.0, 1.0, 0.0]);
        assert_eq!(r.rows(), 5);
    }
}
