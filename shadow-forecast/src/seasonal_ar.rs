//! Seasonal-lag autoregression: a linear model of the next value on the last few values and on the values
//! one season back and their two neighbours, fitted by least squares and forecast recursively.
//!
//! **Lags.** `1..=3` and, for every season `m` (a day and a week in steps, from the sampling step), `m − 1`,
//! `m` and `m + 1`, plus an intercept. The neighbours of the seasonal lag let the model follow a daily shape
//! whose phase drifts (a peak that comes a step earlier every few days, which a repeated seasonal profile
//! cannot follow) and smooth a noisy seasonal profile; the short lags carry the current level. Unlike
//! MSTL the seasons are not confirmed by the periodogram: a lag that does not help gets a small coefficient.
//!
//! **Estimation.** Ordinary least squares over every point with a full set of lags (an SVD solve, so collinear
//! lags on a very regular series are fine). The one-step variance is the residual variance.
//!
//! **Forecast.** Recursive: each step's forecast feeds the later steps. Every forecast is clamped to the range
//! of the history widened by its own width on each side (at least one unit in logs), and to zero from below
//! for a non-negative series, so an explosive fit cannot run away. Quantiles are Gaussian with the variance
//! `σ² Σ ψ_j²` of the linear model (ψ the impulse response of the fitted recursion).
//!
//! **Transform.** With [`Transform::Log`], a strictly positive series is modelled in logs and the forecast
//! transformed back (the point is then the median).
//!
//! **Short history.** A season needs `2(m + 1)` points; shorter histories drop it and the fitted model says
//! so ([`FittedSeasonalAr::fallback`]). Without any season the model is an AR(3) with an intercept.
//!
//! **Missing values** are filled by linear interpolation; **events** are handled by
//! [`crate::effects::Effects`] as in the other models.
//!
//! ```
//! use std::time::Duration;
//! use chrono::{TimeZone, Utc};
//! use shadow_core::{Fit, FitInput, Predict, PredictRequest, TimeSeries};
//! use shadow_forecast::seasonal_ar::SeasonalAr;
//!
//! let values: Vec<f64> = (0..24 * 7 * 3).map(|t| 50.0 + 5.0 * ((t % 24) as f64 / 3.8).sin()).collect();
//! let series = TimeSeries::new(Utc.timestamp_opt(0, 0).unwrap(), Duration::from_secs(3600), values).unwrap();
//! let fitted = SeasonalAr::new().fit(&FitInput::new(&series)).unwrap();
//! assert_eq!(fitted.lags(), &[1, 2, 3, 23, 24, 25, 167, 168, 169]);
//! let f = fitted.predict(&PredictRequest::new(48, &[])).unwrap();
//! // The series repeats every day exactly, and so does the forecast.
//! assert!((f.point()[24] - 50.0).abs() < 1e-6);
//! ```

use std::time::Duration;

use chrono::{DateTime, Utc};
use nalgebra::{DMatrix, DVector};
use shadow_core::{Fit, FitInput, Forecast, Named, Predict, PredictRequest};

use crate::{
    effects::{Effects, apply_uplift, gaussian_quantiles, map_values},
    error::{Error, Result, check_series},
    mstl::{Transform, interpolate},
    periods,
};

/// The number of short lags `1..=SHORT_LAGS`.
pub const SHORT_LAGS: usize = 3;

/// A seasonal-lag autoregression. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SeasonalAr {
    periods: Option<Vec<usize>>,
    season: Option<Duration>,
    transform: Transform,
}

impl SeasonalAr {
    /// Seasons of a day and a week from the sampling step, no transform.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses exactly these seasons (in steps) instead of a day and a week.
    #[must_use]
    pub fn with_periods(mut self, periods: Vec<usize>) -> Self {
        self.periods = Some(periods);
        self
    }

    /// Uses one season of this length (divided by the step at fit time); `None` keeps a day and a week.
    #[must_use]
    pub fn with_season(mut self, season: Option<Duration>) -> Self {
        self.season = season;
        self
    }

    /// Sets the transform.
    #[must_use]
    pub fn with_transform(mut self, transform: Transform) -> Self {
        self.transform = transform;
        self
    }

    fn wanted_periods(&self, step: Duration) -> Result<Vec<usize>> {
        let mut p = match (&self.periods, self.season) {
            (Some(p), _) => p.clone(),
            (None, Some(d)) => {
                let (ms, s) = (d.as_millis(), step.as_millis().max(1));
                if ms < s || ms % s != 0 {
                    return Err(Error::InvalidParameter {
                        name: "season",
                        message: format!("{d:?} is not a whole number of {step:?} steps"),
                    });
                }
                vec![usize::try_from(ms / s).unwrap_or(usize::MAX)]
            }
            (None, None) => periods::candidates(step),
        };
        p.retain(|&m| m > 1);
        p.sort_unstable();
        p.dedup();
        Ok(p)
    }
}

impl Named for SeasonalAr {
    fn model_name(&self) -> &str {
        "seasonal-ar"
    }
}

/// A fitted [`SeasonalAr`].
#[derive(Debug, Clone)]
pub struct FittedSeasonalAr {
    periods: Vec<usize>,
    lags: Vec<usize>,
    /// The intercept, then one coefficient per lag.
    coefs: Vec<f64>,
    /// The last `max(lags)` values of the (transformed, cleaned) history.
    tail: Vec<f64>,
    sigma2: f64,
    bounds: (f64, f64),
    log: bool,
    effects: Effects,
    fallback: Option<String>,
    start: DateTime<Utc>,
    step: Duration,
}

impl FittedSeasonalAr {
    /// The seasons whose lags the model uses.
    #[must_use]
    pub fn periods(&self) -> &[usize] {
        &self.periods
    }

    /// The lags, ascending.
    #[must_use]
    pub fn lags(&self) -> &[usize] {
        &self.lags
    }

    /// The intercept and the coefficient of each lag (in the order of [`Self::lags`]).
    #[must_use]
    pub fn coefficients(&self) -> (f64, &[f64]) {
        (self.coefs[0], &self.coefs[1..])
    }

    /// Whether the series was modelled in logs.
    #[must_use]
    pub fn log(&self) -> bool {
        self.log
    }

    /// The learned effect of each regressor column.
    #[must_use]
    pub fn effects(&self) -> Vec<(String, f64)> {
        self.effects.effects()
    }

    /// Why the model fell back to a simpler form, if it did.
    #[must_use]
    pub fn fallback(&self) -> Option<&str> {
        self.fallback.as_deref()
    }

    /// Point forecasts (clamped, transformed scale) and standard deviations for `horizon` steps.
    fn moments(&self, horizon: usize) -> (Vec<f64>, Vec<f64>) {
        let (lo, hi) = self.bounds;
        let mut z = self.tail.clone();
        let base = z.len();
        let mut point = Vec::with_capacity(horizon);
        for _ in 0..horizon {
            let t = z.len();
            let v = self.coefs[0]
                + self
                    .lags
                    .iter()
                    .zip(&self.coefs[1..])
                    .map(|(&l, c)| c * z[t - l])
                    .sum::<f64>();
            let v = v.clamp(lo, hi);
            z.push(v);
            point.push(v);
        }
        debug_assert_eq!(z.len(), base + horizon);
        // Impulse response ψ of the recursion, for the variance of the h-step error.
        let mut psi = vec![0.0; horizon];
        let mut acc = 0.0;
        let cap = 4.0 * (hi - lo).max(f64::MIN_POSITIVE);
        let sd = (0..horizon)
            .map(|j| {
                psi[j] = if j == 0 {
                    1.0
                } else {
                    self.lags
                        .iter()
                        .zip(&self.coefs[1..])
                        .filter(|(l, _)| **l <= j)
                        .map(|(&l, c)| c * psi[j - l])
                        .sum()
                };
                acc += psi[j] * psi[j];
                let s = (self.sigma2 * acc).sqrt();
                if s.is_finite() { s.min(cap) } else { cap }
            })
            .collect();
        (point, sd)
    }
}

/// The lags of the seasons `periods` and the short lags, ascending and distinct.
fn lags_for(periods: &[usize]) -> Vec<usize> {
    let mut lags: Vec<usize> = (1..=SHORT_LAGS).collect();
    for &m in periods {
        lags.extend([m - 1, m, m + 1]);
    }
    lags.retain(|&l| l > 0);
    lags.sort_unstable();
    lags.dedup();
    lags
}

/// Least squares of `y[t]` on an intercept and `y[t - l]` for every lag, over every `t` with a full set of
/// lags; returns the coefficients and the residual variance.
fn least_squares(y: &[f64], lags: &[usize]) -> Result<(Vec<f64>, f64)> {
    let max_lag = lags.last().copied().unwrap_or(0);
    let rows = y.len() - max_lag;
    let k = lags.len() + 1;
    // Centre on the mean so that the intercept column is not nearly collinear with the lags.
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let mut a = DMatrix::<f64>::zeros(rows, k);
    let mut b = DVector::<f64>::zeros(rows);
    for r in 0..rows {
        let t = r + max_lag;
        a[(r, 0)] = 1.0;
        for (j, &l) in lags.iter().enumerate() {
            a[(r, j + 1)] = y[t - l] - mean;
        }
        b[r] = y[t] - mean;
    }
    let svd = a.clone().svd(true, true);
    let tol = svd.singular_values.max() * 1e-10;
    let beta = svd
        .solve(&b, tol.max(f64::MIN_POSITIVE))
        .map_err(|_| Error::NoBestParameter)?;
    let resid = &b - &a * &beta;
    let sigma2 = resid.norm_squared() / (rows.saturating_sub(k)).max(1) as f64;
    // Back to uncentred values: y = c + Σ φ_l y_{t-l} with c = mean (1 − Σφ) + β₀.
    let phi_sum: f64 = beta.iter().skip(1).sum();
    let mut coefs: Vec<f64> = beta.iter().copied().collect();
    coefs[0] += mean * (1.0 - phi_sum);
    if coefs.iter().any(|c| !c.is_finite()) || !sigma2.is_finite() {
        return Err(Error::NoBestParameter);
    }
    Ok((coefs, sigma2))
}

impl Fit for SeasonalAr {
    type Fitted = FittedSeasonalAr;
    type Error = Error;

    fn fit(&self, input: &FitInput<'_>) -> Result<FittedSeasonalAr> {
        let series = input.series;
        let raw = series.values();
        let n = raw.len();
        // The AR(3) fallback needs its 3 lags plus at least twice its 4 coefficients in rows.
        check_series(raw, SHORT_LAGS + 2 * (SHORT_LAGS + 1))?;
        let wanted = self.wanted_periods(series.step())?;
        let mut notes = Vec::new();
        let mut periods = wanted.clone();
        periods.retain(|&m| n >= 2 * (m + 1));
        if periods.len() < wanted.len() {
            let dropped: Vec<String> = wanted
                .iter()
                .filter(|m| !periods.contains(m))
                .map(ToString::to_string)
                .collect();
            notes.push(format!(
                "history of {n} points covers fewer than two cycles of period {}; dropped",
                dropped.join(", ")
            ));
            if periods.is_empty() {
                notes.push(format!("no season left: AR({SHORT_LAGS}) on the last values"));
            }
        }
        let effects = Effects::estimate(raw, input.regressors, &periods)?;
        let cleaned = interpolate(&effects.clean(raw, input.regressors));
        let positive = cleaned.iter().all(|&v| v > 0.0);
        let non_negative = cleaned.iter().all(|&v| v >= 0.0);
        let log = match self.transform {
            Transform::Log if positive => true,
            Transform::Log => {
                notes.push("the series is not strictly positive: no log transform".into());
                false
            }
            Transform::None => false,
        };
        let y: Vec<f64> = if log {
            cleaned.iter().map(|v| v.ln()).collect()
        } else {
            cleaned
        };
        let (lo, hi) = y.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
        let width = if log { (hi - lo).max(1.0) } else { hi - lo };
        let mut bounds = (lo - width, hi + width);
        if non_negative && !log {
            bounds.0 = bounds.0.max(0.0);
        }
        let lags = lags_for(&periods);
        let (coefs, sigma2) = least_squares(&y, &lags)?;
        let max_lag = lags.last().copied().unwrap_or(0);
        Ok(FittedSeasonalAr {
            periods,
            lags,
            coefs,
            tail: y[y.len() - max_lag..].to_vec(),
            sigma2,
            bounds,
            log,
            effects,
            fallback: (!notes.is_empty()).then(|| notes.join("; ")),
            start: series.end(),
            step: series.step(),
        })
    }
}

impl Predict for FittedSeasonalAr {
    type Error = Error;

    fn predict_inplace(&self, request: &PredictRequest<'_>, out: &mut Forecast) -> Result<()> {
        let uplift = self.effects.uplift(request)?;
        out.reset(self.start, self.step, request.horizon, request.levels)?;
        let (point, sd) = self.moments(request.horizon);
        out.point_mut().copy_from_slice(&point);
        gaussian_quantiles(out, &sd);
        let (lo, hi) = self.bounds;
        let back = |v: f64| {
            let v = v.clamp(lo, hi);
            if self.log { v.exp() } else { v }
        };
        map_values(out, back);
        apply_uplift(out, &uplift);
        out.finish()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use shadow_core::{Event, Quantile, Regressors, TimeRange};

    use super::*;
    use crate::test_support::{hourly, levels, noise};

    /// A daily shape (three harmonics) whose phase moves smoothly, one step earlier every `drift` days.
    fn drifting(t: usize, drift: usize) -> f64 {
        let x = 2.0 * std::f64::consts::PI * t as f64 * (1.0 + 1.0 / (24 * drift) as f64) / 24.0;
        20.0 + 8.0 * x.sin() + 4.0 * (2.0 * x).sin() + 2.0 * (3.0 * x).cos()
    }

    #[test]
    fn recovers_an_exact_seasonal_recursion() {
        // y_t = 0.5 y_{t-1} + 0.5 y_{t-24}: the fit finds the coefficients and the forecast continues it.
        let mut y: Vec<f64> = (0..24).map(|t| 10.0 + (t as f64 * 0.7).sin()).collect();
        let e = noise(3, 24 * 30);
        for t in 24..24 * 30 {
            y.push(0.5 * y[t - 1] + 0.5 * y[t - 24] + 0.01 * e[t]);
        }
        let fitted = SeasonalAr::new()
            .with_periods(vec![24])
            .fit(&FitInput::new(&hourly(y.clone())))
            .unwrap();
        assert_eq!(fitted.lags(), &[1, 2, 3, 23, 24, 25]);
        let (_, phi) = fitted.coefficients();
        assert!((phi[0] - 0.5).abs() < 0.05, "{phi:?}");
        assert!((phi[4] - 0.5).abs() < 0.05, "{phi:?}");
        let f = fitted.predict(&PredictRequest::new(1, &[])).unwrap();
        let next = 0.5 * y[y.len() - 1] + 0.5 * y[y.len() - 24];
        assert!((f.point()[0] - next).abs() < 0.1, "{} vs {next}", f.point()[0]);
    }

    #[test]
    fn follows_a_daily_shape_whose_phase_drifts() {
        // The peak moves a step earlier every 2 days: repeating the last day lags behind, the neighbours of
        // the seasonal lag interpolate between the last day and the day shifted by a step.
        let n = 24 * 7 * 5;
        let e = noise(6, n);
        let y: Vec<f64> = (0..n).map(|t| drifting(t, 2) + 0.3 * e[t]).collect();
        let fitted = SeasonalAr::new().fit(&FitInput::new(&hourly(y.clone()))).unwrap();
        let f = fitted.predict(&PredictRequest::new(48, &levels())).unwrap();
        let mae = (0..48)
            .map(|h| (f.point()[h] - drifting(n + h, 2)).abs())
            .sum::<f64>()
            / 48.0;
        let naive = (0..48)
            .map(|h| (y[n - 24 + h % 24] - drifting(n + h, 2)).abs())
            .sum::<f64>()
            / 48.0;
        assert!(mae < 0.5 * naive, "mae {mae} vs seasonal naive {naive}");
        let q = f.quantile_paths();
        assert!((0..48).all(|h| q[0][h] <= f.point()[h] && f.point()[h] <= q[2][h]));
    }

    #[test]
    fn log_forecasts_stay_positive_and_bounded() {
        let e = noise(4, 24 * 21);
        let y: Vec<f64> = (0..24 * 21)
            .map(|t| (drifting(t, 3) / 10.0 + 0.2 * e[t]).exp())
            .collect();
        let fitted = SeasonalAr::new()
            .with_transform(Transform::Log)
            .fit(&FitInput::new(&hourly(y.clone())))
            .unwrap();
        assert!(fitted.log());
        let lv = [Quantile::try_new(0.01).unwrap(), Quantile::try_new(0.99).unwrap()];
        let far = fitted.predict(&PredictRequest::new(2000, &lv)).unwrap();
        let (min, max) = y
            .iter()
            .fold((f64::INFINITY, 0.0f64), |(a, b), &v| (a.min(v), b.max(v)));
        let (lmin, lmax) = (min.ln(), max.ln());
        let bound = (lmax + (lmax - lmin).max(1.0)).exp();
        for path in far.quantile_paths() {
            assert!(path.iter().all(|&v| v > 0.0 && v <= bound * (1.0 + 1e-9)));
        }
    }

    #[test]
    fn short_history_drops_the_week_and_says_so() {
        let y: Vec<f64> = (0..24 * 5).map(|t| drifting(t, 2)).collect();
        let fitted = SeasonalAr::new().fit(&FitInput::new(&hourly(y))).unwrap();
        assert_eq!(fitted.periods(), &[24]);
        assert!(
            fitted.fallback().unwrap().contains("period 168"),
            "{:?}",
            fitted.fallback()
        );
        let tiny = SeasonalAr::new()
            .fit(&FitInput::new(&hourly(vec![
                1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0,
            ])))
            .unwrap();
        assert_eq!(tiny.lags(), &[1, 2, 3]);
        assert!(tiny.fallback().unwrap().contains("AR(3)"));
        let err = SeasonalAr::new()
            .fit(&FitInput::new(&hourly(vec![1.0; 5])))
            .unwrap_err();
        assert!(matches!(err, Error::NotEnoughData { need: 11, got: 5 }), "{err}");
    }

    #[test]
    fn constant_series_and_gaps_are_fine() {
        let mut y = vec![7.0; 24 * 15];
        y[50] = f64::NAN;
        let fitted = SeasonalAr::new().fit(&FitInput::new(&hourly(y))).unwrap();
        let f = fitted.predict(&PredictRequest::new(30, &levels())).unwrap();
        assert!(
            f.point().iter().all(|&v| (v - 7.0).abs() < 1e-9),
            "{:?}",
            f.point()
        );
    }

    #[test]
    fn an_announced_event_lifts_the_forecast() {
        use chrono::TimeZone;
        let t = |h: usize| Utc.timestamp_opt(h as i64 * 3600, 0).unwrap();
        let n = 24 * 7 * 4;
        let e = noise(5, n);
        let mut y: Vec<f64> = (0..n).map(|t| drifting(t, 4) + 0.3 * e[t]).collect();
        for v in &mut y[200..206] {
            *v += 50.0;
        }
        let series = hourly(y);
        let events = [
            Event::new("launch", TimeRange::new(t(200), t(206)).unwrap()).unwrap(),
            Event::new("launch", TimeRange::new(t(n + 5), t(n + 8)).unwrap()).unwrap(),
        ];
        let x = Regressors::from_events(&events, series.start(), series.step(), n).unwrap();
        let x_new = Regressors::from_events(&events, series.end(), series.step(), 12).unwrap();
        let fitted = SeasonalAr::new()
            .fit(&FitInput::new(&series).with_regressors(&x).unwrap())
            .unwrap();
        let lv = levels();
        let with = fitted
            .predict(&PredictRequest::new(12, &lv).with_regressors(&x_new))
            .unwrap();
        let without = fitted.predict(&PredictRequest::new(12, &lv)).unwrap();
        for h in 0..12 {
            let lift = with.point()[h] - without.point()[h];
            if (5..8).contains(&h) {
                assert!((lift - 50.0).abs() < 3.0, "h={h}: lift {lift}");
            } else {
                assert!(lift.abs() < 1e-9);
            }
        }
    }
}
