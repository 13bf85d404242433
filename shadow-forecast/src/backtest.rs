//! Rolling-origin backtests: fit on the history before each origin, forecast the next steps, score them.
//!
//! [`origins`] places the forecast origins, [`rolling_origin`] fits and forecasts at each, and [`score`] turns
//! the folds of one series into a [`SeriesScore`] (sMAPE, MASE, pinball loss, interval coverage and the same
//! figures for the M4 Naive2 benchmark, so that OWA can be computed over many series with [`Summary`]).
//!
//! ```
//! use std::time::Duration;
//! use chrono::{TimeZone, Utc};
//! use shadow_core::{Quantile, Regressors, TimeSeries};
//! use shadow_forecast::{SeasonalNaive, Season, backtest};
//!
//! let values: Vec<f64> = (0..24 * 10).map(|i| 10.0 + (i % 24) as f64).collect();
//! let series = TimeSeries::new(Utc.timestamp_opt(0, 0).unwrap(), Duration::from_secs(3600), values).unwrap();
//! let model = SeasonalNaive::new(Season::Steps(24));
//! let origins = backtest::origins(series.len(), 24, 3, 24, 48).unwrap();
//! let levels = [Quantile::try_new(0.1).unwrap(), Quantile::try_new(0.9).unwrap()];
//! let folds = backtest::rolling_origin(&model, &series, &Regressors::empty(), &origins, 24, &levels).unwrap();
//! let score = backtest::score(&series, &folds, 24);
//! assert_eq!(score.smape, Some(0.0)); // the pattern repeats exactly...
//! assert_eq!(score.mase, None); // ...so the seasonal naive scale is 0 and MASE is undefined
//! ```

use shadow_core::{FitInput, Forecast, Forecaster, PredictRequest, Quantile, Regressors, TimeSeries};

use crate::{
    error::{Error, Result},
    metrics,
};

/// The forecast of one fold and what really happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Fold {
    /// The grid index of the first forecast step: the model saw `values[..origin]`.
    pub origin: usize,
    /// The actual values of the horizon (`NaN` = missing).
    pub actual: Vec<f64>,
    /// The model's forecast.
    pub forecast: Forecast,
}

/// Places `folds` forecast origins `stride` steps apart, the last one `horizon` steps before the end of a
/// series of `n` points, oldest first.
///
/// # Errors
/// [`Error::NotEnoughData`] when the first origin would leave fewer than `min_train` points of history;
/// [`Error::InvalidParameter`] when `horizon`, `folds` or `stride` is zero.
pub fn origins(
    n: usize,
    horizon: usize,
    folds: usize,
    stride: usize,
    min_train: usize,
) -> Result<Vec<usize>> {
    for (name, v) in [("horizon", horizon), ("folds", folds), ("stride", stride)] {
        if v == 0 {
            return Err(Error::InvalidParameter {
                name,
                message: "must be at least 1".into(),
            });
        }
    }
    let need = (folds - 1)
        .checked_mul(stride)
        .and_then(|s| s.checked_add(horizon))
        .and_then(|s| s.checked_add(min_train));
    match need {
        Some(need) if n >= need => {
            let last = n - horizon;
            Ok((0..folds).map(|f| last - (folds - 1 - f) * stride).collect())
        }
        _ => Err(Error::NotEnoughData {
            need: need.unwrap_or(usize::MAX),
            got: n,
        }),
    }
}

/// The rows `from..to` of every regressor column (empty regressors stay empty).
///
/// # Errors
/// [`Error::InvalidParameter`] when the range is outside the rows.
pub fn slice_regressors(regressors: &Regressors, from: usize, to: usize) -> Result<Regressors> {
    let mut out = Regressors::empty();
    if regressors.is_empty() {
        return Ok(out);
    }
    if from > to || to > regressors.rows() {
        return Err(Error::InvalidParameter {
            name: "regressors",
            message: format!("rows {from}..{to} of {} rows", regressors.rows()),
        });
    }
    for (name, col) in regressors.names().iter().zip(regressors.columns()) {
        out.push(name.clone(), col[from..to].to_vec())?;
    }
    Ok(out)
}

/// Fits `model` on the history before each origin and forecasts `horizon` steps at `levels`.
///
/// `regressors` is empty or has one row per grid point of `series` (the future rows of each fold come from it).
///
/// # Errors
/// [`Error::InvalidParameter`] when an origin leaves no history or its horizon runs past the series; the
/// model's error (as [`Error::Core`]) when a fit or predict fails.
pub fn rolling_origin(
    model: &dyn Forecaster,
    series: &TimeSeries,
    regressors: &Regressors,
    origins: &[usize],
    horizon: usize,
    levels: &[Quantile],
) -> Result<Vec<Fold>> {
    if !regressors.is_empty() && regressors.rows() != series.len() {
        return Err(Error::Regressors(format!(
            "{} rows for a series of {} points",
            regressors.rows(),
            series.len()
        )));
    }
    let values = series.values();
    origins
        .iter()
        .map(|&origin| {
            if origin == 0 || origin + horizon > values.len() {
                return Err(Error::InvalidParameter {
                    name: "origin",
                    message: format!(
                        "origin {origin} with horizon {horizon} does not fit a series of {} points",
                        values.len()
                    ),
                });
            }
            let train = TimeSeries::new(series.start(), series.step(), values[..origin].to_vec())?;
            let past = slice_regressors(regressors, 0, origin)?;
            let future = slice_regressors(regressors, origin, origin + horizon)?;
            let input = FitInput::new(&train).with_regressors(&past)?;
            let fitted = model.fit_boxed(&input)?;
            let request = PredictRequest::new(horizon, levels).with_regressors(&future);
            let forecast = fitted.predict_boxed(&request)?;
            Ok(Fold {
                origin,
                actual: values[origin..origin + horizon].to_vec(),
                forecast,
            })
        })
        .collect()
}

/// The scores of one model on one series, each the mean over its folds (`None` when undefined).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeriesScore {
    /// sMAPE in percent.
    pub smape: Option<f64>,
    /// MASE against the seasonal naive in-sample error at the lag given to [`score`].
    pub mase: Option<f64>,
    /// The mean pinball loss over every quantile level, divided by the MASE scale so that series of different
    /// sizes can be averaged.
    pub scaled_pinball: Option<f64>,
    /// The share of actuals inside each central interval the levels contain: `(nominal, empirical)`, for
    /// every pair of levels `τ`, `1 − τ` with `τ < 0.5`.
    pub coverage: Vec<(f64, f64)>,
    /// sMAPE of Naive2 on the same folds.
    pub naive2_smape: Option<f64>,
    /// MASE of Naive2 on the same folds.
    pub naive2_mase: Option<f64>,
    /// Scored actuals.
    pub actuals: usize,
}

/// Scores the folds of one series; `period` is the MASE lag and the Naive2 season (1 for none).
#[must_use]
pub fn score(series: &TimeSeries, folds: &[Fold], period: usize) -> SeriesScore {
    let values = series.values();
    let mut acc = Means::default();
    let mut cover: Vec<(f64, Means)> = Vec::new();
    for fold in folds {
        let train = &values[..fold.origin];
        let scale = metrics::seasonal_naive_scale(train, period);
        let point = fold.forecast.point();
        acc.add(0, metrics::smape(&fold.actual, point));
        acc.add(1, scale.and_then(|s| metrics::mase(&fold.actual, point, s)));
        let levels = fold.forecast.levels();
        let paths = fold.forecast.quantile_paths();
        if !levels.is_empty() {
            let pin: Option<f64> = levels
                .iter()
                .zip(paths)
                .map(|(l, p)| metrics::pinball_loss(&fold.actual, p, l.get()))
                .sum::<Option<f64>>()
                .map(|s| s / levels.len() as f64);
            acc.add(2, pin.zip(scale).map(|(p, s)| p / s));
        }
        for (k, lo) in levels.iter().enumerate() {
            let tau = lo.get();
            if tau >= 0.5 {
                break;
            }
            let Some(hi) = levels.iter().position(|l| (l.get() - (1.0 - tau)).abs() < 1e-9) else {
                continue;
            };
            let nominal = 1.0 - 2.0 * tau;
            let c = metrics::coverage(&fold.actual, &paths[k], &paths[hi]);
            match cover.iter_mut().find(|(n, _)| (n - nominal).abs() < 1e-9) {
                Some((_, m)) => m.add(0, c),
                None => {
                    let mut m = Means::default();
                    m.add(0, c);
                    cover.push((nominal, m));
                }
            }
        }
        if let Some(n2) = metrics::naive2(train, period, fold.actual.len()) {
            acc.add(3, metrics::smape(&fold.actual, &n2));
            acc.add(4, scale.and_then(|s| metrics::mase(&fold.actual, &n2, s)));
        }
        acc.actuals += fold.actual.iter().filter(|v| !v.is_nan()).count();
    }
    let mut coverage: Vec<(f64, f64)> = cover
        .into_iter()
        .filter_map(|(n, m)| m.mean(0).map(|c| (n, c)))
        .collect();
    coverage.sort_by(|a, b| a.0.total_cmp(&b.0));
    SeriesScore {
        smape: acc.mean(0),
        mase: acc.mean(1),
        scaled_pinball: acc.mean(2),
        coverage,
        naive2_smape: acc.mean(3),
        naive2_mase: acc.mean(4),
        actuals: acc.actuals,
    }
}

/// Running means of up to five figures.
#[derive(Debug, Default, Clone)]
struct Means {
    sum: [f64; 5],
    n: [usize; 5],
    actuals: usize,
}

impl Means {
    fn add(&mut self, k: usize, v: Option<f64>) {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            self.sum[k] += v;
            self.n[k] += 1;
        }
    }

    fn mean(&self, k: usize) -> Option<f64> {
        (self.n[k] > 0).then(|| self.sum[k] / self.n[k] as f64)
    }
}

/// The scores of one model over many series: each figure is the mean of the per-series figures (as M4 does),
/// and OWA is computed once on those means.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Series scored.
    pub series: usize,
    /// Series whose fit or forecast failed (not in the means).
    pub failed: usize,
    /// Mean sMAPE, percent.
    pub smape: Option<f64>,
    /// Mean MASE.
    pub mase: Option<f64>,
    /// Mean scaled pinball loss (see [`SeriesScore::scaled_pinball`]).
    pub scaled_pinball: Option<f64>,
    /// `(nominal, mean empirical coverage)` per central interval.
    pub coverage: Vec<(f64, f64)>,
    /// OWA against Naive2 on the same series and folds.
    pub owa: Option<f64>,
    /// Naive2's mean sMAPE.
    pub naive2_smape: Option<f64>,
    /// Naive2's mean MASE.
    pub naive2_mase: Option<f64>,
}

impl Summary {
    /// Averages per-series scores; `failed` counts the series that produced no score.
    #[must_use]
    pub fn from_scores(scores: &[SeriesScore], failed: usize) -> Self {
        let mean = |f: &dyn Fn(&SeriesScore) -> Option<f64>| {
            let v: Vec<f64> = scores.iter().filter_map(f).filter(|v| v.is_finite()).collect();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        };
        let smape = mean(&|s| s.smape);
        let mase = mean(&|s| s.mase);
        let naive2_smape = mean(&|s| s.naive2_smape);
        let naive2_mase = mean(&|s| s.naive2_mase);
        let mut nominals: Vec<f64> = scores
            .iter()
            .flat_map(|s| s.coverage.iter().map(|c| c.0))
            .collect();
        nominals.sort_by(f64::total_cmp);
        nominals.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
        let coverage = nominals
            .into_iter()
            .filter_map(|n| {
                mean(&|s| s.coverage.iter().find(|c| (c.0 - n).abs() < 1e-9).map(|c| c.1)).map(|c| (n, c))
            })
            .collect();
        Self {
            series: scores.len(),
            failed,
            smape,
            mase,
            scaled_pinball: mean(&|s| s.scaled_pinball),
            coverage,
            owa: match (smape, mase, naive2_smape, naive2_mase) {
                (Some(s), Some(m), Some(ns), Some(nm)) => metrics::owa(s, m, ns, nm),
                _ => None,
            },
            naive2_smape,
            naive2_mase,
        }
    }

    /// The mean empirical coverage of the central interval of `nominal` (such as 0.8), if scored.
    #[must_use]
    pub fn coverage_at(&self, nominal: f64) -> Option<f64> {
        self.coverage
            .iter()
            .find(|c| (c.0 - nominal).abs() < 1e-9)
            .map(|c| c.1)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::{Season, SeasonalNaive};

    #[test]
    fn origins_end_at_the_end() {
        assert_eq!(origins(100, 10, 3, 10, 1).unwrap(), [70, 80, 90]);
        assert_eq!(origins(100, 10, 3, 5, 1).unwrap(), [80, 85, 90]);
        assert_eq!(origins(100, 48, 1, 48, 24).unwrap(), [52]);
        assert!(matches!(
            origins(30, 10, 3, 10, 1),
            Err(Error::NotEnoughData { need: 31, got: 30 })
        ));
        assert!(origins(100, 0, 1, 1, 1).is_err());
        assert!(origins(100, usize::MAX, 2, 1, 1).is_err());
    }

    #[test]
    fn seasonal_naive_backtest_scores_and_summary() {
        // A daily pattern, +1 on odd days, +5 from day 7: the day-over-day change is 1 everywhere before.
        let values: Vec<f64> = (0..24 * 8)
            .map(|i| 10.0 + (i % 24) as f64 + ((i / 24) % 2) as f64 + if i >= 24 * 7 { 5.0 } else { 0.0 })
            .collect();
        let s = TimeSeries::new(
            Utc.timestamp_opt(0, 0).unwrap(),
            Duration::from_secs(3600),
            values,
        )
        .unwrap();
        let model = SeasonalNaive::new(Season::Steps(24));
        let levels = [0.1, 0.5, 0.9].map(|v| Quantile::try_new(v).unwrap());
        let o = origins(s.len(), 24, 2, 24, 48).unwrap();
        assert_eq!(o, [144, 168]);
        let folds = rolling_origin(&model, &s, &Regressors::empty(), &o, 24, &levels).unwrap();
        assert_eq!(folds.len(), 2);
        assert_eq!(folds[1].actual[0], 16.0);
        let sc = score(&s, &folds, 24);
        assert_eq!(sc.actuals, 48);
        // The scale is 1 in both folds; fold 1 misses by 1 everywhere, fold 2 by 6.
        assert_eq!(sc.mase, Some(3.5));
        assert!(sc.smape.unwrap() > 0.0);
        assert_eq!(sc.coverage.len(), 1);
        assert!((sc.coverage[0].0 - 0.8).abs() < 1e-12);
        let sum = Summary::from_scores(&[sc.clone(), sc], 1);
        assert_eq!(sum.series, 2);
        assert_eq!(sum.failed, 1);
        assert!(sum.coverage_at(0.8).is_some());
    }

    #[test]
    fn regressors_are_sliced_per_fold() {
        let mut r = Regressors::empty();
        r.push("x", (0..10).map(f64::from).collect()).unwrap();
        let s = slice_regressors(&r, 3, 6).unwrap();
        assert_eq!(s.columns()[0], [3.0, 4.0, 5.0]);
        assert!(slice_regressors(&r, 6, 11).is_err());
        assert!(slice_regressors(&Regressors::empty(), 0, 99).unwrap().is_empty());
    }
}
