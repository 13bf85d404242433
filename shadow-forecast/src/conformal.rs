//! Conformal calibration of any model's quantiles from rolling-origin backtest residuals.
//!
//! A model's own intervals are only as good as its error assumptions: on real series they are often too
//! narrow (or too wide). [`Conformal`] wraps any [`Forecaster`] and replaces its quantiles by ones learned
//! from how the model actually erred on the recent past.
//!
//! It fits the wrapped model once per calibration fold (ten by default), so it costs about ten times the
//! model. A model that already backtests itself, such as `auto`, calibrates from those folds instead with
//! [`crate::calibration::FoldCalibration`], built for a few folds.
//!
//! # Method
//!
//! 1. **Calibration folds.** At fit time, the wrapped model is fitted at `folds` origins inside the training
//!    series (`stride` steps apart, the last `horizon` steps before its end; see [`crate::backtest`]) and
//!    forecasts `horizon` steps with the quantiles 0.1 and 0.9.
//! 2. **Scores.** Each residual `y − ŷ` of step `h` is divided by the model's own spread at that step,
//!    `σ = (q0.9 − q0.1) / 2.563` (the normal spread the interval implies), which keeps the model's view of
//!    how uncertainty grows with the horizon and with the level of the series. The spread is floored at half
//!    the series' own scale `d` (the mean absolute one-step change of the history): a model that is almost
//!    certain on a flat stretch would otherwise turn one spike into a huge score and blow up every later
//!    interval. Where the model gives no spread (or one over a thousand times `d√(h+1)`), `σ = d√(h+1)`.
//! 3. **Quantiles.** At predict time, the quantile `τ` at step `h` is `ŷ_h + σ_h · Q_τ(S_h)`, where `S_h`
//!    pools the signed scores of the steps within `window` of `h` over every fold, so the lower and upper
//!    tails are calibrated separately (an asymmetric interval when the model errs more on one side).
//!    `Q_τ` is the empirical quantile with the finite-sample conformal widening
//!    `τ' = ½ + (τ − ½)(1 + 1/K)` of each tail away from the median, `K` the number of calibration folds:
//!    the errors of one fold are strongly correlated (and the future drifts from the past), so the folds,
//!    not the pooled scores, are the effective sample. On independent noise this is conservative; on M4
//!    hourly the effective sample `√(n·K)` gave coverage 3 to 5 points under nominal, `K` within 3. `K`
//!    folds support central intervals up to `K/(K+1)` (80 % needs 4 folds, 95 % 19); beyond, the quantile
//!    is the extreme pooled score. Steps beyond the calibrated horizon use the scores of its last window.
//!    The point forecast is the wrapped model's.
//!
//! Quantiles are monotone in the level at every step for any set of levels: one set of scores and one `σ`
//! per step, and a final non-decreasing rearrangement against rounding.
//!
//! # Fallback
//! A history too short for even one calibration fold (see [`ConformalOptions`]) keeps the wrapped model's
//! own quantiles; [`FittedConformal::calibrated`] then says `false` and [`FittedConformal::note`] why.
//!
//! ```
//! use std::{sync::Arc, time::Duration};
//! use chrono::{TimeZone, Utc};
//! use shadow_core::{FitInput, Forecaster, PredictRequest, Quantile, TimeSeries};
//! use shadow_forecast::{SeasonalNaive, Season, conformal::{Conformal, ConformalOptions}};
//!
//! let values: Vec<f64> = (0..24 * 30).map(|i| 50.0 + 10.0 * ((i % 24) as f64 / 4.0).sin() + (i * 7 % 11) as f64).collect();
//! let series = TimeSeries::new(Utc.timestamp_opt(0, 0).unwrap(), Duration::from_secs(3600), values).unwrap();
//! let model = Conformal::with_options(
//!     Arc::new(SeasonalNaive::new(Season::Steps(24))) as Arc<dyn Forecaster>,
//!     ConformalOptions::default().with_horizon(24),
//! );
//! let fitted = model.fit_boxed(&FitInput::new(&series)).unwrap();
//! let levels = [0.1, 0.5, 0.9].map(|v| Quantile::try_new(v).unwrap());
//! let f = fitted.predict_boxed(&PredictRequest::new(24, &levels)).unwrap();
//! assert!((0..24).all(|h| f.quantile_paths()[0][h] <= f.quantile_paths()[2][h]));
//! ```

use std::sync::Arc;

use shadow_core::{FitInput, FittedModel, Forecast, Forecaster, PredictRequest, Quantile, TimeSeries};

use crate::{
    backtest::{self, Fold},
    calibration::step_scale,
};

/// The quantile levels whose spread normalises the scores.
const SPREAD_LEVELS: [f64; 2] = [0.1, 0.9];
/// `Φ⁻¹(0.9) − Φ⁻¹(0.1)`: the width of the central 80 % normal interval in standard deviations.
const SPREAD_Z: f64 = 2.563_103_131_089_201;

/// Options of [`Conformal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConformalOptions {
    /// Steps forecast from each calibration origin; `None`: a day in steps when the step divides a day,
    /// else 48, in both cases at most a quarter of the history.
    pub horizon: Option<usize>,
    /// Number of calibration origins (default 10; fewer when the history is short).
    pub folds: usize,
    /// Steps between calibration origins; `None`: half the horizon, or a quarter of the history divided by
    /// `folds` when that is longer (the origins then span the last quarter of the history).
    pub stride: Option<usize>,
    /// Half-width, in steps, of the window of steps whose scores are pooled; `None`: an eighth of the
    /// horizon, at least 2.
    pub window: Option<usize>,
}

impl Default for ConformalOptions {
    fn default() -> Self {
        Self {
            horizon: None,
            folds: 10,
            stride: None,
            window: None,
        }
    }
}

impl ConformalOptions {
    /// Sets the calibration horizon.
    #[must_use]
    pub fn with_horizon(mut self, horizon: usize) -> Self {
        self.horizon = Some(horizon.max(1));
        self
    }

    /// Sets the number of calibration origins (at least 1).
    #[must_use]
    pub fn with_folds(mut self, folds: usize) -> Self {
        self.folds = folds.max(1);
        self
    }

    /// Sets the steps between calibration origins.
    #[must_use]
    pub fn with_stride(mut self, stride: usize) -> Self {
        self.stride = Some(stride.max(1));
        self
    }
}

/// Wraps a model and calibrates its quantiles by conformal adjustment (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct Conformal {
    inner: Arc<dyn Forecaster>,
    options: ConformalOptions,
    name: String,
}

impl Conformal {
    /// Wraps `inner` with the default options.
    #[must_use]
    pub fn new(inner: impl Into<Arc<dyn Forecaster>>) -> Self {
        Self::with_options(inner, ConformalOptions::default())
    }

    /// Wraps `inner` with `options`.
    #[must_use]
    pub fn with_options(inner: impl Into<Arc<dyn Forecaster>>, options: ConformalOptions) -> Self {
        let inner = inner.into();
        let name = format!("{}+conformal", inner.name());
        Self { inner, options, name }
    }

    /// Fits the wrapped model on the whole history, and calibrates it on backtest folds inside it.
    ///
    /// # Errors
    /// The wrapped model's error when its fit on the whole history fails. A failing calibration fold only
    /// leaves the fit uncalibrated.
    pub fn fit(&self, input: &FitInput<'_>) -> shadow_core::Result<FittedConformal> {
        let fitted = self.inner.fit_boxed(input)?;
        let series = input.series;
        let n = series.len();
        let horizon = self.options.horizon.unwrap_or_else(|| {
            let step = series.step().as_millis().max(1);
            if 86_400_000 % step == 0 {
                usize::try_from(86_400_000 / step).unwrap_or(48)
            } else {
                48
            }
            .min(n / 4)
        });
        // Spread the origins over at least the last quarter of the history, so that a short horizon is not
        // calibrated on a few hours only.
        let folds_wanted = self.options.folds.max(1);
        let stride = self
            .options
            .stride
            .unwrap_or_else(|| horizon.div_ceil(2).max(n / 4 / folds_wanted))
            .max(1);
        let mut note = None;
        let mut calibration = None;
        if horizon == 0 {
            note = Some(format!("{n} points are too few to calibrate"));
        } else {
            // Each calibration fit sees at least half the history.
            let min_train = (n / 2).max(2);
            let mut folds = self.options.folds.max(1);
            let origins = loop {
                match backtest::origins(n, horizon, folds, stride, min_train) {
                    Ok(o) => break Some(o),
                    Err(_) if folds > 1 => folds -= 1,
                    Err(_) => break None,
                }
            };
            match origins {
                None => {
                    note = Some(format!(
                        "{n} points are too few for a calibration fold of {horizon}"
                    ))
                }
                Some(origins) => {
                    let levels = Calibration::spread_levels();
                    match backtest::rolling_origin(
                        self.inner.as_ref(),
                        series,
                        input.regressors,
                        &origins,
                        horizon,
                        &levels,
                    ) {
                        Ok(folds) => {
                            let window = self.options.window.unwrap_or((horizon / 8).max(2));
                            calibration = Calibration::from_folds(series, &folds, window);
                            if calibration.is_none() {
                                note = Some("the calibration folds had no scored actuals".into());
                            }
                        }
                        Err(e) => note = Some(format!("a calibration fold failed: {e}")),
                    }
                }
            }
        }
        Ok(FittedConformal {
            inner: fitted,
            calibration,
            note,
            name: self.name.clone(),
        })
    }
}

impl Forecaster for Conformal {
    fn name(&self) -> &str {
        &self.name
    }

    fn fit_boxed(&self, input: &FitInput<'_>) -> shadow_core::Result<Box<dyn FittedModel>> {
        Ok(Box::new(self.fit(input)?))
    }
}

/// Normalised residual scores per horizon step, learned from backtest folds.
///
/// Build it with [`Calibration::from_folds`] (for example from the folds a model-selection backtest already
/// ran) and apply it with [`Calibration::apply`].
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// `scores[h]`: the pooled, sorted scores for step `h`.
    scores: Vec<Vec<f64>>,
    /// The series' scale `d`: mean absolute one-step change of the history (the spread floor and fallback).
    scale: f64,
    /// The number of folds with a scored actual: the effective sample size of the widening.
    folds: usize,
}

impl Calibration {
    /// Learns the scores from folds whose forecasts carry the quantiles 0.1 and 0.9 (otherwise the fallback
    /// spread is used); `window` is the half-width of the pooled steps. `None` when no actual was scored.
    ///
    /// `series` is the history the folds were cut from (its scale floors the spreads); the folds may come
    /// from any backtest, such as the one a model-selection step already ran.
    #[must_use]
    pub fn from_folds(series: &TimeSeries, folds: &[Fold], window: usize) -> Option<Self> {
        let values = series.values();
        let scale = step_scale(values);
        let horizon = folds.iter().map(|f| f.actual.len()).max()?;
        let mut per_step: Vec<Vec<f64>> = vec![Vec::new(); horizon];
        for fold in folds {
            let point = fold.forecast.point();
            for (h, &y) in fold.actual.iter().enumerate() {
                if y.is_nan() {
                    continue;
                }
                let sigma = spread(&fold.forecast, h, scale);
                let s = (y - point[h]) / sigma;
                if s.is_finite() {
                    per_step[h].push(s);
                }
            }
        }
        if per_step.iter().all(Vec::is_empty) {
            return None;
        }
        let scores = (0..horizon)
            .map(|h| {
                let lo = h.saturating_sub(window);
                let hi = (h + window + 1).min(horizon);
                let mut pooled: Vec<f64> = per_step[lo..hi].iter().flatten().copied().collect();
                pooled.sort_by(f64::total_cmp);
                pooled
            })
            .collect();
        let folds = folds
            .iter()
            .filter(|f| f.actual.iter().any(|v| !v.is_nan()))
            .count();
        Some(Self { scores, scale, folds })
    }

    /// The levels (0.1 and 0.9) whose spread normalises the scores: request them in the folds passed to
    /// [`Calibration::from_folds`] and in the raw forecast passed to [`Calibration::apply`].
    #[must_use]
    pub fn spread_levels() -> [Quantile; 2] {
        SPREAD_LEVELS.map(|v| Quantile::try_new(v).expect("valid level"))
    }

    /// The calibrated horizon in steps.
    #[must_use]
    pub fn horizon(&self) -> usize {
        self.scores.len()
    }

    /// Replaces the quantiles of `raw` (which should carry the levels 0.1 and 0.9 for the spread) by
    /// calibrated ones at `levels`, keeping its point forecast.
    ///
    /// # Errors
    /// [`shadow_core::Error::InvalidInput`] when the levels are not strictly increasing.
    pub fn apply(&self, raw: &Forecast, levels: &[Quantile]) -> shadow_core::Result<Forecast> {
        let horizon = raw.horizon();
        let point = raw.point().to_vec();
        let mut paths = vec![vec![0.0; horizon]; levels.len()];
        for h in 0..horizon {
            let sigma = spread(raw, h, self.scale);
            let scores = self.scores_at(h);
            for (k, level) in levels.iter().enumerate() {
                let q = empirical_quantile(scores, level.get(), self.folds).unwrap_or(0.0);
                let q = if q.is_finite() { q } else { 0.0 };
                paths[k][h] = point[h] + sigma * q;
            }
        }
        // Guard against rounding: a non-decreasing rearrangement per step.
        for h in 0..horizon {
            for k in 1..paths.len() {
                if paths[k][h] < paths[k - 1][h] {
                    paths[k][h] = paths[k - 1][h];
                }
            }
        }
        Forecast::new(raw.start(), raw.step(), point, levels.to_vec(), paths)
    }

    fn scores_at(&self, h: usize) -> &[f64] {
        // Beyond the calibrated horizon, the farthest step; an empty step borrows the nearest non-empty one.
        let h = h.min(self.scores.len() - 1);
        (0..self.scores.len())
            .map(|d| [h.saturating_sub(d), (h + d).min(self.scores.len() - 1)])
            .flat_map(|c| c.into_iter())
            .map(|i| self.scores[i].as_slice())
            .find(|s| !s.is_empty())
            .unwrap_or(&[])
    }
}

/// The share of the series' scale below which a model's spread is floored.
const SPREAD_FLOOR: f64 = 0.5;

/// The model's spread at step `h`: `(q0.9 − q0.1)/2.563`, at least `½·scale`, or `scale·√(h+1)` when the
/// forecast has no such quantiles or they spread more than a thousand times that.
fn spread(f: &Forecast, h: usize, scale: f64) -> f64 {
    let lo = f
        .levels()
        .iter()
        .position(|l| (l.get() - SPREAD_LEVELS[0]).abs() < 1e-12);
    let hi = f
        .levels()
        .iter()
        .position(|l| (l.get() - SPREAD_LEVELS[1]).abs() < 1e-12);
    let fallback = scale * ((h + 1) as f64).sqrt();
    match (lo, hi) {
        (Some(lo), Some(hi)) => {
            let s = (f.quantile_paths()[hi][h] - f.quantile_paths()[lo][h]) / SPREAD_Z;
            // A spread far outside the scale of the series (a degenerate or exploding model interval) would
            // carry over into the calibrated quantiles; the fallback keeps them on the series' scale.
            if s.is_finite() && s >= 0.0 && s < 1e3 * fallback {
                s.max(SPREAD_FLOOR * scale)
            } else {
                fallback
            }
        }
        _ => fallback,
    }
}

/// The empirical `tau`-quantile of sorted `scores` from `folds` folds, with the finite-sample widening of the
/// module docs (effective sample `folds`) and linear interpolation between order statistics.
fn empirical_quantile(scores: &[f64], tau: f64, folds: usize) -> Option<f64> {
    let n = scores.len();
    if n == 0 {
        return None;
    }
    let n_eff = folds.clamp(1, n) as f64;
    let t = (0.5 + (tau - 0.5) * (1.0 + 1.0 / n_eff)).clamp(0.0, 1.0);
    let pos = t * (n - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos.fract());
    let j = (i + 1).min(n - 1);
    Some(scores[i] + frac * (scores[j] - scores[i]))
}

/// A model fitted by [`Conformal`].
#[derive(Debug)]
pub struct FittedConformal {
    inner: Box<dyn FittedModel>,
    calibration: Option<Calibration>,
    note: Option<String>,
    name: String,
}

impl FittedConformal {
    /// Whether the quantiles are calibrated (`false`: the wrapped model's own, see [`FittedConformal::note`]).
    #[must_use]
    pub fn calibrated(&self) -> bool {
        self.calibration.is_some()
    }

    /// Why the fit is not calibrated, if it is not.
    #[must_use]
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// The calibration, if any.
    #[must_use]
    pub fn calibration(&self) -> Option<&Calibration> {
        self.calibration.as_ref()
    }

    /// The wrapper's name, `<inner>+conformal`.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl FittedModel for FittedConformal {
    fn predict_boxed(&self, request: &PredictRequest<'_>) -> shadow_core::Result<Forecast> {
        let Some(cal) = &self.calibration else {
            return self.inner.predict_boxed(request);
        };
        let spread_levels = Calibration::spread_levels();
        let inner_request =
            PredictRequest::new(request.horizon, &spread_levels).with_regressors(request.regressors);
        let raw = self.inner.predict_boxed(&inner_request)?;
        cal.apply(&raw, request.levels)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::{TimeZone, Utc};

    use shadow_core::Regressors;

    use super::*;
    use crate::{Season, SeasonalNaive, metrics};

    /// Deterministic heavy-ish noise in [−1, 1).
    fn noise(i: usize) -> f64 {
        let x = (i as u64)
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((x >> 33) % 10_000) as f64 / 5_000.0 - 1.0
    }

    fn series(n: usize, amp: f64) -> TimeSeries {
        let v: Vec<f64> = (0..n)
            .map(|i| 100.0 + 20.0 * ((i % 24) as f64 * std::f64::consts::PI / 12.0).sin() + amp * noise(i))
            .collect();
        TimeSeries::new(Utc.timestamp_opt(0, 0).unwrap(), Duration::from_secs(3600), v).unwrap()
    }

    #[test]
    fn empirical_quantile_widens_for_small_samples() {
        let s = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(empirical_quantile(&s, 0.5, 5), Some(3.0));
        assert_eq!(empirical_quantile(&s, 0.99, 5), Some(5.0));
        // Five folds: τ' = 0.5 + 0.4·1.2 = 0.98 → position 3.92.
        assert!((empirical_quantile(&s, 0.9, 5).unwrap() - 4.92).abs() < 1e-12);
        // Two folds widen more: τ' = 0.5 + 0.4·1.5 = 1.1 → the maximum.
        assert_eq!(empirical_quantile(&s, 0.9, 2), Some(5.0));
        // Ten folds but five scores count as five: τ' = 0.5 + 0.3·1.2 = 0.86 → position 3.44.
        assert!((empirical_quantile(&s, 0.8, 10).unwrap() - 4.44).abs() < 1e-12);
        // The lower tail widens the same way, downwards.
        assert_eq!(empirical_quantile(&s, 0.1, 2), Some(1.0));
        assert_eq!(empirical_quantile(&[], 0.5, 1), None);
    }

    #[test]
    fn calibrated_intervals_cover_on_held_out_data() {
        // Seasonal naive's own quantiles on a noisy cycle; calibration must bring the 80 % interval close
        // to 80 % on data it never saw, over many held-out days.
        let s = series(24 * 60, 6.0);
        let levels = [0.1, 0.5, 0.9].map(|v| Quantile::try_new(v).unwrap());
        let model = Conformal::with_options(
            Arc::new(SeasonalNaive::new(Season::Steps(24))) as Arc<dyn Forecaster>,
            ConformalOptions::default().with_horizon(24),
        );
        let origins = backtest::origins(s.len(), 24, 20, 24, 24 * 30).unwrap();
        let folds =
            backtest::rolling_origin(&model, &s, &Regressors::empty(), &origins, 24, &levels).unwrap();
        let mut inside = Vec::new();
        for f in &folds {
            let p = f.forecast.quantile_paths();
            inside.push(metrics::coverage(&f.actual, &p[0], &p[2]).unwrap());
            assert!((0..24).all(|h| p[0][h] <= p[1][h] && p[1][h] <= p[2][h]));
        }
        let cov = inside.iter().sum::<f64>() / inside.len() as f64;
        // The widening counts folds, not scores, so on independent noise the coverage is somewhat above 80 %.
        assert!((0.75..=0.92).contains(&cov), "coverage {cov}");
    }

    /// A forecast of `point` with the quantiles 0.1 and 0.9 at `point ± half`.
    fn spread_forecast(point: Vec<f64>, half: f64) -> Forecast {
        let levels = SPREAD_LEVELS.map(|v| Quantile::try_new(v).unwrap()).to_vec();
        let lo = point.iter().map(|p| p - half).collect();
        let hi = point.iter().map(|p| p + half).collect();
        Forecast::new(
            Utc.timestamp_opt(0, 0).unwrap(),
            Duration::from_secs(60),
            point,
            levels,
            vec![lo, hi],
        )
        .unwrap()
    }

    #[test]
    fn a_near_certain_model_with_rare_spikes_does_not_blow_up_the_intervals() {
        // A flat series at 1.0 with small wiggles and one spike of +50 (at the first step of the first fold).
        // The model claimed a spread of 1e-6 in the calibration folds and claims a normal one (0.05) now:
        // without the floor each wiggle becomes a score of ~1e4 and the new intervals are thousands wide.
        let v: Vec<f64> = (0..2000)
            .map(|i| if i == 1000 { 51.0 } else { 1.0 + 0.05 * noise(i) })
            .collect();
        let s = TimeSeries::new(
            Utc.timestamp_opt(0, 0).unwrap(),
            Duration::from_secs(60),
            v.clone(),
        )
        .unwrap();
        let folds: Vec<Fold> = (0..8)
            .map(|k| {
                let origin = 1000 + k * 100;
                Fold {
                    origin,
                    actual: v[origin..origin + 24].to_vec(),
                    forecast: spread_forecast(vec![1.0; 24], 1e-6),
                }
            })
            .collect();
        let cal = Calibration::from_folds(&s, &folds, 3).unwrap();
        let levels = [0.025, 0.1, 0.5, 0.9, 0.975].map(|v| Quantile::try_new(v).unwrap());
        let f = cal.apply(&spread_forecast(vec![1.0; 24], 0.05), &levels).unwrap();
        let p = f.quantile_paths();
        for h in 0..f.horizon() {
            assert!(p.windows(2).all(|w| w[0][h] <= w[1][h]));
            if h > 3 {
                // Away from the spike's window the intervals stay on the wiggles' scale (±0.05).
                assert!(p[4][h] - p[0][h] < 0.5, "95% width {} at {h}", p[4][h] - p[0][h]);
                assert!(p[3][h] - p[1][h] < 0.3, "80% width {} at {h}", p[3][h] - p[1][h]);
            }
        }
    }

    #[test]
    fn one_sided_errors_give_an_asymmetric_interval() {
        // The model always under-forecasts by 1..=3: the calibrated lower quantiles sit above its point.
        let v: Vec<f64> = (0..400).map(|i| 10.0 + (i % 3) as f64).collect();
        let s = TimeSeries::new(Utc.timestamp_opt(0, 0).unwrap(), Duration::from_secs(60), v).unwrap();
        let folds: Vec<Fold> = (0..6)
            .map(|k| Fold {
                origin: 200 + 20 * k,
                actual: (0..12).map(|h| 11.0 + ((h + k) % 3) as f64).collect(),
                forecast: spread_forecast(vec![10.0; 12], 1.0),
            })
            .collect();
        let cal = Calibration::from_folds(&s, &folds, 2).unwrap();
        let levels = [0.1, 0.9].map(|v| Quantile::try_new(v).unwrap());
        let f = cal.apply(&spread_forecast(vec![10.0; 12], 1.0), &levels).unwrap();
        for h in 0..12 {
            let (lo, hi) = (f.quantile_paths()[0][h], f.quantile_paths()[1][h]);
            assert!(
                lo >= 10.9 && (12.9..=13.1).contains(&hi),
                "step {h}: {lo} .. {hi}"
            );
        }
    }

    #[test]
    fn short_history_falls_back_to_the_model_quantiles() {
        let s = series(30, 1.0);
        let model = Conformal::with_options(
            Arc::new(SeasonalNaive::new(Season::Steps(24))) as Arc<dyn Forecaster>,
            ConformalOptions::default().with_horizon(24),
        );
        let fitted = model.fit(&FitInput::new(&s)).unwrap();
        assert!(!fitted.calibrated());
        assert!(fitted.note().unwrap().contains("too few"), "{:?}", fitted.note());
        assert_eq!(model.name(), "seasonal-naive+conformal");
        let levels = [Quantile::try_new(0.9).unwrap()];
        let f = fitted.predict_boxed(&PredictRequest::new(5, &levels)).unwrap();
        assert_eq!(f.horizon(), 5);
    }
}
