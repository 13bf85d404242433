//! Samples and regular-grid time series. Missing observations are `NaN`, never zero.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One observation at a wall-clock time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// When the value was observed.
    pub at: DateTime<Utc>,
    /// The observed value.
    pub value: f64,
}

impl Sample {
    /// Creates a sample.
    #[must_use]
    pub const fn new(at: DateTime<Utc>, value: f64) -> Self {
        Self { at, value }
    }
}

/// Converts a `Duration` into a `TimeDelta`.
///
/// # Errors
/// [`Error::InvalidInput`] when the duration is out of chrono's range.
pub fn to_delta(d: Duration) -> Result<TimeDelta> {
    TimeDelta::from_std(d).map_err(|_| Error::invalid("duration", format!("{d:?} is out of range")))
}

/// A time series on a regular grid: `values[i]` was observed at `start + i * step`.
///
/// A missing observation is `NaN`. Infinite values are rejected on construction.
///
/// # Guarantees
/// - `step` is positive and a whole number of milliseconds.
/// - No value is infinite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeSeries {
    start: DateTime<Utc>,
    #[serde(with = "humantime_serde")]
    step: Duration,
    values: Vec<f64>,
}

impl TimeSeries {
    /// Creates a series from values on a grid. Use `f64::NAN` for missing values.
    ///
    /// # Errors
    /// - [`Error::InvalidInput`] when `step` is zero or not a whole number of milliseconds.
    /// - [`Error::NonFinite`] when a value is infinite.
    pub fn new(start: DateTime<Utc>, step: Duration, values: Vec<f64>) -> Result<Self> {
        validate_step(step)?;
        if values.iter().any(|v| v.is_infinite()) {
            return Err(Error::NonFinite {
                what: "time series values (use NaN for missing values)",
            });
        }
        Ok(Self { start, step, values })
    }

    /// Places samples on the grid `start + i * step`, leaving gaps as `NaN`.
    ///
    /// The grid starts at the first sample. Every sample must sit on the grid.
    ///
    /// # Errors
    /// - [`Error::NotEnoughData`] when `samples` is empty.
    /// - [`Error::InvalidInput`] when timestamps are not strictly increasing or a sample is off the grid.
    /// - [`Error::NonFinite`] when a value is infinite.
    pub fn from_samples(samples: &[Sample], step: Duration) -> Result<Self> {
        validate_step(step)?;
        let first = samples.first().ok_or(Error::NotEnoughData { need: 1, got: 0 })?;
        let step_ms = step.as_millis() as i64;
        let mut values = Vec::with_capacity(samples.len());
        let mut prev: Option<DateTime<Utc>> = None;
        for (i, s) in samples.iter().enumerate() {
            if let Some(p) = prev {
                if s.at <= p {
                    let what = if s.at == p { "duplicate" } else { "unsorted" };
                    return Err(Error::invalid(
                        "time series",
                        format!("{what} timestamp {} at sample {} (previous {p})", s.at, i + 1),
                    ));
                }
            }
            prev = Some(s.at);
            let offset = (s.at - first.at).num_milliseconds();
            if offset % step_ms != 0 {
                return Err(Error::invalid(
                    "time series",
                    format!(
                        "timestamp {} at sample {} is not on the {step:?} grid",
                        s.at,
                        i + 1
                    ),
                ));
            }
            let idx = (offset / step_ms) as usize;
            values.resize(idx, f64::NAN);
            values.push(s.value);
        }
        Self::new(first.at, step, values)
    }

    /// Infers the step from samples (the smallest positive difference) and places them on the grid.
    ///
    /// # Errors
    /// As [`TimeSeries::from_samples`], and [`Error::NotEnoughData`] with fewer than two samples.
    pub fn from_samples_infer_step(samples: &[Sample]) -> Result<Self> {
        if samples.len() < 2 {
            return Err(Error::NotEnoughData {
                need: 2,
                got: samples.len(),
            });
        }
        let mut step = i64::MAX;
        for (i, w) in samples.windows(2).enumerate() {
            let d = (w[1].at - w[0].at).num_milliseconds();
            if d <= 0 {
                let what = if d == 0 { "duplicate" } else { "unsorted" };
                return Err(Error::invalid(
                    "time series",
                    format!(
                        "{what} timestamp {} at sample {} (previous {})",
                        w[1].at,
                        i + 2,
                        w[0].at
                    ),
                ));
            }
            step = step.min(d);
        }
        Self::from_samples(samples, Duration::from_millis(step as u64))
    }

    /// When the first value was observed.
    #[must_use]
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// The grid step.
    #[must_use]
    pub fn step(&self) -> Duration {
        self.step
    }

    /// The values; `NaN` marks a missing observation.
    #[must_use]
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Consumes the series and returns its values.
    #[must_use]
    pub fn into_values(self) -> Vec<f64> {
        self.values
    }

    /// The number of grid points, missing ones included.
    #[must_use]
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the series has no grid points.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The number of missing values.
    #[must_use]
    pub fn missing(&self) -> usize {
        self.values.iter().filter(|v| v.is_nan()).count()
    }

    /// The value at grid index `i`, or `None` when it is missing or out of range.
    #[must_use]
    pub fn get(&self, i: usize) -> Option<f64> {
        self.values.get(i).copied().filter(|v| !v.is_nan())
    }

    /// The timestamp of grid index `i`.
    #[must_use]
    pub fn time_at(&self, i: usize) -> DateTime<Utc> {
        self.start + TimeDelta::milliseconds(self.step.as_millis() as i64 * i as i64)
    }

    /// The timestamp just after the last value: where a forecast starts.
    #[must_use]
    pub fn end(&self) -> DateTime<Utc> {
        self.time_at(self.values.len())
    }

    /// The timestamps of every grid point.
    pub fn timestamps(&self) -> impl ExactSizeIterator<Item = DateTime<Utc>> + '_ {
        (0..self.values.len()).map(|i| self.time_at(i))
    }

    /// The present observations as samples, skipping gaps.
    pub fn samples(&self) -> impl Iterator<Item = Sample> + '_ {
        self.values
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.is_nan())
            .map(|(i, v)| Sample::new(self.time_at(i), *v))
    }

    /// The last present observation.
    #[must_use]
    pub fn last_present(&self) -> Option<Sample> {
        let i = self.values.iter().rposition(|v| !v.is_nan())?;
        Some(Sample::new(self.time_at(i), self.values[i]))
    }

    /// The grid points in `[from, to)`, as a new series. Empty when nothing falls in the range.
    #[must_use]
    pub fn slice_time(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> TimeSeries {
        let step_ms = self.step.as_millis() as i64;
        let idx = |t: DateTime<Utc>| {
            let off = (t - self.start).num_milliseconds();
            // ceil division for the offset so that [from, to) holds only points at or after `from`.
            off.div_euclid(step_ms) + i64::from(off.rem_euclid(step_ms) != 0)
        };
        let lo = idx(from).clamp(0, self.values.len() as i64) as usize;
        let hi = idx(to).clamp(lo as i64, self.values.len() as i64) as usize;
        TimeSeries {
            start: self.time_at(lo),
            step: self.step,
            values: self.values[lo..hi].to_vec(),
        }
    }

    /// Appends a value at the next grid point.
    ///
    /// # Errors
    /// [`Error::NonFinite`] when the value is infinite.
    pub fn push(&mut self, value: f64) -> Result<()> {
        if value.is_infinite() {
            return Err(Error::NonFinite {
                what: "time series values (use NaN for missing values)",
            });
        }
        self.values.push(value);
        Ok(())
    }
}

fn validate_step(step: Duration) -> Result<()> {
    if step.is_zero() || step.subsec_nanos() % 1_000_000 != 0 {
        return Err(Error::invalid(
            "step",
            format!("{step:?} must be a positive whole number of milliseconds"),
        ));
    }
    Ok(())
}

/// A half-open time range `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    /// Inclusive start.
    pub start: DateTime<Utc>,
    /// Exclusive end.
    pub end: DateTime<Utc>,
}

impl TimeRange {
    /// Creates a range.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `end <= start`.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self> {
        if end <= start {
            return Err(Error::invalid(
                "time range",
                format!("end {end} is not after start {start}"),
            ));
        }
        Ok(Self { start, end })
    }

    /// Whether `t` falls inside the range.
    #[must_use]
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t < self.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(s, 0).unwrap()
    }

    #[test]
    fn gaps_become_nan_not_zero() {
        let samples = [
            Sample::new(t(0), 1.0),
            Sample::new(t(60), 2.0),
            Sample::new(t(240), 5.0),
        ];
        let s = TimeSeries::from_samples(&samples, Duration::from_secs(60)).unwrap();
        assert_eq!(s.len(), 5);
        assert_eq!(s.missing(), 2);
        assert!(s.values()[2].is_nan() && s.values()[3].is_nan());
        assert_eq!(s.get(2), None);
        assert_eq!(s.get(4), Some(5.0));
        assert_eq!(s.end(), t(300));
        assert_eq!(s.samples().count(), 3);
    }

    #[test]
    fn rejects_unsorted_duplicate_and_off_grid() {
        let step = Duration::from_secs(60);
        let dup = [Sample::new(t(0), 1.0), Sample::new(t(0), 2.0)];
        assert!(
            TimeSeries::from_samples(&dup, step)
                .unwrap_err()
                .to_string()
                .contains("duplicate")
        );
        let unsorted = [Sample::new(t(60), 1.0), Sample::new(t(0), 2.0)];
        assert!(
            TimeSeries::from_samples(&unsorted, step)
                .unwrap_err()
                .to_string()
                .contains("unsorted")
        );
        let off = [Sample::new(t(0), 1.0), Sample::new(t(90), 2.0)];
        assert!(
            TimeSeries::from_samples(&off, step)
                .unwrap_err()
                .to_string()
                .contains("grid")
        );
        assert!(TimeSeries::new(t(0), step, vec![1.0, f64::INFINITY]).is_err());
        assert!(TimeSeries::new(t(0), Duration::ZERO, vec![]).is_err());
        assert!(matches!(
            TimeSeries::from_samples(&[], step),
            Err(Error::NotEnoughData { .. })
        ));
    }

    #[test]
    fn infers_step_and_slices() {
        let samples: Vec<_> = (0..10).map(|i| Sample::new(t(i * 300), i as f64)).collect();
        let s = TimeSeries::from_samples_infer_step(&samples).unwrap();
        assert_eq!(s.step(), Duration::from_secs(300));
        let sl = s.slice_time(t(450), t(1500));
        assert_eq!(sl.start(), t(600));
        assert_eq!(sl.values(), &[2.0, 3.0, 4.0]);
        assert!(s.slice_time(t(10_000), t(20_000)).is_empty());
    }
}
