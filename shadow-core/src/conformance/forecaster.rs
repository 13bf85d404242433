//! The [`forecaster`] check.

use std::time::Duration;

use chrono::{TimeZone, Utc};

use crate::{
    forecast::Forecast,
    quantity::Quantile,
    series::TimeSeries,
    traits::forecaster::{FitInput, Forecaster, PredictRequest},
};

/// Checks the [`Forecaster`] contract on synthetic hourly data.
///
/// Forecasting is synchronous, so unlike the other checks this one is a plain function.
///
/// # Assumptions
/// The model can fit 14 days of hourly data with a daily cycle and a slight trend, with and without gaps.
/// Models that need a season should find it at 24 steps.
///
/// # Asserts
/// 1. `name()` is not empty.
/// 2. On the full series and on a copy with scattered gaps and a five-hour hole, for horizons 1 and 48 and
///    levels `[0.05, 0.5, 0.95]` and `[]`: the forecast has exactly `horizon` steps, exactly the requested
///    levels with one path of `horizon` values each, only finite values, quantiles non-decreasing in the level
///    at every step, and timestamps that start at `series.end()` with the series' step.
/// 3. Fitting an all-missing series returns an error instead of panicking.
/// 4. A three-point series does not panic; if it fits and predicts, the forecast obeys 2.
///
/// # Panics
/// On the first violation, with a message naming the model and the rule.
pub fn forecaster(model: &dyn Forecaster) {
    let name = model.name().to_string();
    assert!(!name.is_empty(), "conformance: forecaster: name() is empty");
    let ctx = |rule: &str| format!("conformance: forecaster `{name}`: {rule}");
    let levels: Vec<Quantile> = [0.05, 0.5, 0.95]
        .into_iter()
        .map(|p| Quantile::try_new(p).expect("a valid level"))
        .collect();

    let full = synthetic(336, &[]);
    let holes: Vec<usize> = (0..336).filter(|i| i % 11 == 3).chain(200..205).collect();
    let gappy = synthetic(336, &holes);
    for (label, series) in [("full series", &full), ("series with gaps", &gappy)] {
        let fitted = model
            .fit_boxed(&FitInput::new(series))
            .unwrap_or_else(|e| panic!("{}", ctx(&format!("fit on the {label} failed: {e}"))));
        for horizon in [1, 48] {
            for lv in [&levels[..], &[]] {
                let request = PredictRequest::new(horizon, lv);
                let forecast = fitted.predict_boxed(&request).unwrap_or_else(|e| {
                    panic!(
                        "{}",
                        ctx(&format!("predict on the {label}, horizon {horizon}, failed: {e}"))
                    )
                });
                check(&forecast, series, &request, &ctx(label));
            }
        }
    }

    let missing = TimeSeries::new(start(), Duration::from_secs(3600), vec![f64::NAN; 48]).expect("a series");
    assert!(
        model.fit_boxed(&FitInput::new(&missing)).is_err(),
        "{}",
        ctx("fitting an all-missing series must fail")
    );

    let short = synthetic(3, &[]);
    if let Ok(fitted) = model.fit_boxed(&FitInput::new(&short)) {
        let request = PredictRequest::new(4, &levels);
        if let Ok(forecast) = fitted.predict_boxed(&request) {
            check(&forecast, &short, &request, &ctx("three-point series"));
        }
    }
}

fn start() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0)
        .single()
        .expect("a valid date")
}

/// `len` hourly values with a daily cycle and a slight trend, `NaN` at `holes`.
fn synthetic(len: usize, holes: &[usize]) -> TimeSeries {
    let values = (0..len)
        .map(|i| {
            if holes.contains(&i) {
                return f64::NAN;
            }
            let hour = (i % 24) as f64;
            100.0 + 30.0 * (hour / 24.0 * std::f64::consts::TAU).sin() + 0.05 * i as f64 + (i % 5) as f64
        })
        .collect();
    TimeSeries::new(start(), Duration::from_secs(3600), values).expect("a finite series")
}

#[track_caller]
fn check(forecast: &Forecast, series: &TimeSeries, request: &PredictRequest<'_>, ctx: &str) {
    let h = request.horizon;
    assert_eq!(forecast.horizon(), h, "{ctx}: horizon");
    assert_eq!(forecast.point().len(), h, "{ctx}: point forecast length");
    assert_eq!(
        forecast.levels(),
        request.levels,
        "{ctx}: levels must be the requested ones"
    );
    assert_eq!(
        forecast.quantile_paths().len(),
        request.levels.len(),
        "{ctx}: one path per level"
    );
    for (level, path) in forecast.levels().iter().zip(forecast.quantile_paths()) {
        assert_eq!(path.len(), h, "{ctx}: path of level {level} has the wrong length");
    }
    let mut all = forecast
        .point()
        .iter()
        .chain(forecast.quantile_paths().iter().flatten());
    assert!(
        all.all(|v| v.is_finite()),
        "{ctx}: non-finite value on finite input"
    );
    for (k, w) in forecast.quantile_paths().windows(2).enumerate() {
        if let Some(i) = (0..h).find(|&i| w[1][i] < w[0][i]) {
            panic!(
                "{ctx}: quantile {} ({}) is below quantile {} ({}) at step {i}",
                forecast.levels()[k + 1],
                w[1][i],
                forecast.levels()[k],
                w[0][i]
            );
        }
    }
    assert_eq!(
        forecast.start(),
        series.end(),
        "{ctx}: the forecast must start at series.end()"
    );
    assert_eq!(
        forecast.step(),
        series.step(),
        "{ctx}: the forecast step must be the series step"
    );
    if h > 0 {
        assert_eq!(
            forecast.time_at(h - 1),
            series.time_at(series.len() + h - 1),
            "{ctx}: last timestamp"
        );
    }
}
