//! The chart of `shadow forecast --plot`: the recent history, the point forecast, a fan of quantile bands and
//! the known events shaded.
//!
//! ```
//! use std::time::Duration;
//! use chrono::{TimeZone, Utc};
//! use shadow::chart::forecast::forecast_chart;
//! use shadow_core::{Forecast, Quantile, TimeSeries};
//!
//! let t0 = Utc.timestamp_opt(0, 0).unwrap();
//! let step = Duration::from_secs(3600);
//! let history = TimeSeries::new(t0, step, (0..48).map(|i| (i % 24) as f64).collect()).unwrap();
//! let q = |v| Quantile::try_new(v).unwrap();
//! let f = Forecast::new(history.end(), step, vec![1.0; 4], vec![q(0.1), q(0.9)], vec![vec![0.0; 4], vec![2.0; 4]])
//!     .unwrap();
//! let svg = forecast_chart("demo", &history, &f, &[], None).to_svg();
//! assert!(svg.contains("p10–p90"));
//! ```

use chrono::{DateTime, Utc};
use shadow_core::{Event, Forecast, Quantile, TimeSeries};

use super::{Band, Chart, Series};

/// Colours of event labels, cycled in label order.
const EVENT_COLORS: [&str; 6] = ["#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

/// Builds the chart: the last `history_points` of the history (default: four horizons, at least 200 points),
/// the point forecast, one band per central interval of the forecast's quantiles (the pair `τ`, `1 − τ`;
/// outer bands lighter), and one shaded span per event that falls in the shown time range.
#[must_use]
pub fn forecast_chart(
    title: &str,
    history: &TimeSeries,
    forecast: &Forecast,
    events: &[Event],
    history_points: Option<usize>,
) -> Chart {
    let shown = history_points
        .unwrap_or((4 * forecast.horizon()).max(200))
        .min(history.len());
    let first = history.len() - shown;
    let mut chart = Chart::new(title, 1100, 480);
    let levels = forecast.levels();
    let paths = forecast.quantile_paths();
    let times: Vec<DateTime<Utc>> = forecast.timestamps().collect();
    // Central intervals from the outside in, so the inner (darker) bands are drawn on top.
    let pairs: Vec<(usize, usize)> = (0..levels.len())
        .filter(|&k| levels[k].get() < 0.5)
        .filter_map(|k| {
            let want = 1.0 - levels[k].get();
            levels
                .iter()
                .position(|l| (l.get() - want).abs() < 1e-9)
                .map(|j| (k, j))
        })
        .collect();
    let n_bands = pairs.len().max(1) as f64;
    for (i, &(lo, hi)) in pairs.iter().enumerate() {
        let opacity = 0.15 + 0.25 * (i as f64 + 1.0) / n_bands;
        let label = format!("{}–{}", levels[lo].label(), levels[hi].label());
        let points = times
            .iter()
            .enumerate()
            .map(|(h, &t)| (t, paths[lo][h], paths[hi][h]))
            .collect();
        chart.add_band(Band::new(label, "#1f77b4", opacity, points));
    }
    // Single quantiles without a partner (such as p99 alone) are dashed lines; the median is left to the
    // point forecast's line.
    for (k, level) in levels.iter().enumerate() {
        if *level == Quantile::MEDIAN || pairs.iter().any(|&(lo, hi)| lo == k || hi == k) {
            continue;
        }
        let points = times.iter().enumerate().map(|(h, &t)| (t, paths[k][h])).collect();
        chart.add_series(Series::new(level.label(), "#1f77b4", points).dashed().width(1.0));
    }
    let hist: Vec<(DateTime<Utc>, f64)> = (first..history.len())
        .map(|i| (history.time_at(i), history.values()[i]))
        .collect();
    chart.add_series(Series::new("history", "#333333", hist));
    let point: Vec<(DateTime<Utc>, f64)> = times
        .iter()
        .zip(forecast.point())
        .map(|(&t, &v)| (t, v))
        .collect();
    chart.add_series(Series::new("forecast", "#1f77b4", point).width(2.0));
    chart.add_marker("forecast start", forecast.start(), "#555555");
    let from = history.time_at(first);
    let to = forecast.time_at(forecast.horizon());
    let mut labels: Vec<&str> = events.iter().map(|e| e.label.as_str()).collect();
    labels.sort_unstable();
    labels.dedup();
    for e in events {
        if e.window.end <= from || e.window.start >= to {
            continue;
        }
        let color = labels
            .iter()
            .position(|l| *l == e.label)
            .map_or(EVENT_COLORS[0], |i| EVENT_COLORS[i % EVENT_COLORS.len()]);
        chart.add_span(
            e.label.clone(),
            e.window.start.max(from),
            e.window.end.min(to),
            color,
        );
    }
    chart
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::{TimeDelta, TimeZone};
    use shadow_core::TimeRange;

    use super::*;

    #[test]
    fn fan_events_and_history_window() {
        let t0 = Utc.timestamp_opt(0, 0).unwrap();
        let step = Duration::from_secs(3600);
        let history = TimeSeries::new(t0, step, (0..500).map(|i| (i % 24) as f64).collect()).unwrap();
        let q = |v| Quantile::try_new(v).unwrap();
        let levels = vec![q(0.05), q(0.25), q(0.5), q(0.75), q(0.95), q(0.99)];
        let paths: Vec<Vec<f64>> = [-2.0, -1.0, 0.0, 1.0, 2.0, 3.0]
            .iter()
            .map(|d| vec![10.0 + d; 24])
            .collect();
        let f = Forecast::new(history.end(), step, vec![10.0; 24], levels, paths).unwrap();
        let ev = |h: i64, label: &str| {
            Event::new(
                label,
                TimeRange::new(t0 + TimeDelta::hours(h), t0 + TimeDelta::hours(h + 3)).unwrap(),
            )
            .unwrap()
        };
        // One event in the shown history, one in the horizon, one long before the shown window.
        let events = [ev(450, "sale"), ev(505, "launch"), ev(10, "old")];
        let svg = forecast_chart("t", &history, &f, &events, None).to_svg();
        super::super::check_well_formed(&svg).unwrap();
        assert!(svg.contains("p5–p95") && svg.contains("p25–p75"), "bands");
        assert!(svg.contains(">p99<"), "unpaired quantile as a line");
        assert!(svg.contains(">sale<") && svg.contains(">launch<"));
        assert!(!svg.contains(">old<"), "events outside the window are not drawn");
    }
}
