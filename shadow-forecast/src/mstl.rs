//! MSTL: several seasonalities (a day and a week on minute data) by iterated STL, with a strong trend and a
//! non-seasonal model of the seasonally adjusted series.
//!
//! **Decomposition** (Bandara, Hyndman and Bergmeir 2021). With the periods ascending, each iteration takes
//! every seasonal component in turn out of the adjusted series, re-estimates it with [`crate::stl`] (seasonal
//! window `7 + 4i` for the `i`-th period) and puts it back. Two iterations.
//!
//! **Forecast.** Each seasonal component repeats its last cycle. The seasonally adjusted series (trend plus
//! remainder) is forecast by AutoETS over the non-seasonal models ([`crate::ets::Ets::auto_nonseasonal`]),
//! which also gives the quantiles.
//!
//! **Transform.** With [`Transform::Log`], a strictly positive series is decomposed in logs, so seasonal
//! swings scale with the level; point and quantiles are transformed back (the point is then the median).
//! Before the back-transform they are clamped to the log range of the history widened by its own width (at
//! least one unit) on each side, so a wide log-scale spread cannot explode.
//!
//! **Periods.** By default they come from the sampling step and a periodogram ([`crate::periods::detect`]).
//! Periods the history does not cover twice are dropped, and the fitted model says so
//! ([`FittedMstl::fallback`]); with none left, the model is AutoETS on the series itself.
//!
//! **Missing values** are filled by linear interpolation before the decomposition (STL needs a full grid).
//!
//! ```
//! use std::time::Duration;
//! use chrono::{TimeZone, Utc};
//! use shadow_core::{Fit, FitInput, Predict, PredictRequest, TimeSeries};
//! use shadow_forecast::mstl::Mstl;
//!
//! let values: Vec<f64> = (0..24 * 7 * 3)
//!     .map(|t| 50.0 + 5.0 * ((t % 24) as f64 / 3.8).sin() + if (t / 24) % 7 >= 5 { -8.0 } else { 0.0 })
//!     .collect();
//! let series = TimeSeries::new(Utc.timestamp_opt(0, 0).unwrap(), Duration::from_secs(3600), values).unwrap();
//! let fitted = Mstl::new().with_periods(vec![24, 168]).fit(&FitInput::new(&series)).unwrap();
//! assert_eq!(fitted.periods(), &[24, 168]);
//! let f = fitted.predict(&PredictRequest::new(48, &[])).unwrap();
//! assert_eq!(f.horizon(), 48);
//! ```

use std::time::Duration;

use chrono::{DateTime, Utc};
use shadow_core::{Fit, FitInput, Forecast, Named, Predict, PredictRequest, TimeSeries};

use crate::{
    arima::{AutoArima, FittedArima},
    effects::{Effects, apply_uplift, gaussian_quantiles, map_values},
    error::{Error, Result, check_series},
    ets::{Ets, FittedEts},
    periods,
    stl::{StlParams, decompose},
    theta::ThetaFit,
};

/// A transform applied before the decomposition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transform {
    /// The series as it is.
    #[default]
    None,
    /// Natural log for a strictly positive series; the series as it is otherwise (the fit says so).
    Log,
}

/// MSTL with an AutoETS model of the seasonally adjusted series. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mstl {
    periods: Option<Vec<usize>>,
    season: Option<Duration>,
    transform: Transform,
    iterations: usize,
    adjusted: AdjustedKind,
}

/// Which model forecasts the seasonally adjusted series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AdjustedKind {
    /// AutoETS over the non-seasonal models.
    #[default]
    Ets,
    /// The Theta method.
    Theta,
    /// Non-seasonal AutoARIMA.
    Arima,
}

impl Mstl {
    /// MSTL with periods from the sampling step, no transform, two iterations.
    #[must_use]
    pub fn new() -> Self {
        Self {
            periods: None,
            season: None,
            transform: Transform::None,
            iterations: 2,
            adjusted: AdjustedKind::Ets,
        }
    }

    /// Uses exactly these periods (in steps) instead of detecting them.
    #[must_use]
    pub fn with_periods(mut self, periods: Vec<usize>) -> Self {
        self.periods = Some(periods);
        self
    }

    /// Uses one season of this length (divided by the step at fit time) instead of detecting the periods;
    /// `None` keeps the detection.
    #[must_use]
    pub fn with_season(mut self, season: Option<Duration>) -> Self {
        self.season = season;
        self
    }

    /// Forecasts the adjusted series with the Theta method ([`crate::theta::ThetaFit`]) instead of AutoETS;
    /// the model is then named `theta`.
    #[must_use]
    pub fn with_theta(mut self) -> Self {
        self.adjusted = AdjustedKind::Theta;
        self
    }

    /// Sets the model of the seasonally adjusted series.
    #[must_use]
    pub fn with_adjusted(mut self, kind: AdjustedKind) -> Self {
        self.adjusted = kind;
        self
    }

    /// Sets the transform.
    #[must_use]
    pub fn with_transform(mut self, transform: Transform) -> Self {
        self.transform = transform;
        self
    }

    /// Decomposes `y` (finite) into one seasonal component per period; returns the components and the
    /// seasonally adjusted series.
    #[must_use]
    pub fn decompose(&self, y: &[f64], periods: &[usize]) -> (Vec<Vec<f64>>, Vec<f64>) {
        let mut adjusted = y.to_vec();
        let mut seasonals = vec![vec![0.0; y.len()]; periods.len()];
        let iterations = if periods.len() == 1 {
            1
        } else {
            self.iterations.max(1)
        };
        for _ in 0..iterations {
            for (i, &m) in periods.iter().enumerate() {
                for (a, s) in adjusted.iter_mut().zip(&seasonals[i]) {
                    *a += s;
                }
                let d = decompose(&adjusted, &StlParams::new(m, 7 + 4 * (i + 1)));
                for (a, s) in adjusted.iter_mut().zip(&d.seasonal) {
                    *a -= s;
                }
                seasonals[i] = d.seasonal;
            }
        }
        (seasonals, adjusted)
    }
}

impl Named for Mstl {
    fn model_name(&self) -> &str {
        match self.adjusted {
            AdjustedKind::Theta => "theta",
            AdjustedKind::Ets | AdjustedKind::Arima => "mstl",
        }
    }
}

/// The model of the seasonally adjusted series.
#[derive(Debug, Clone)]
enum Adjusted {
    Ets(FittedEts),
    Theta(ThetaFit),
    Arima(Box<FittedArima>),
}

impl Adjusted {
    fn moments(&self, horizon: usize) -> (Vec<f64>, Vec<f64>) {
        match self {
            Self::Ets(m) => m.moments(horizon),
            Self::Theta(m) => m.moments(horizon),
            Self::Arima(m) => {
                let (mean, var) = m
                    .forecast_moments(horizon, &[])
                    .unwrap_or_else(|_| (vec![0.0; horizon], vec![0.0; horizon]));
                (mean, var.into_iter().map(f64::sqrt).collect())
            }
        }
    }
}

/// A fitted [`Mstl`].
#[derive(Debug, Clone)]
pub struct FittedMstl {
    periods: Vec<usize>,
    /// The last cycle of each seasonal component, aligned so that index `(n + h) % m` is step `h`.
    cycles: Vec<Vec<f64>>,
    n: usize,
    adjusted_model: Adjusted,
    log: bool,
    /// In logs: the bounds the forecast is clamped to before exponentiating.
    log_bounds: (f64, f64),
    effects: Effects,
    fallback: Option<String>,
    start: DateTime<Utc>,
    step: Duration,
}

impl FittedMstl {
    /// The seasonal periods the decomposition used.
    #[must_use]
    pub fn periods(&self) -> &[usize] {
        &self.periods
    }

    /// The model of the seasonally adjusted series, e.g. `ETS(A,Ad,N)` or `Theta(alpha=0.500)`.
    #[must_use]
    pub fn adjusted_model(&self) -> String {
        match &self.adjusted_model {
            Adjusted::Ets(m) => m.spec().to_string(),
            Adjusted::Theta(m) => format!("Theta(alpha={:.3})", m.alpha()),
            Adjusted::Arima(m) => {
                let o = m.spec().order;
                format!("ARIMA({},{},{})", o.p, o.d, o.q)
            }
        }
    }

    /// Whether the series was decomposed in logs.
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
}

/// Fills gaps by linear interpolation (constant beyond the first/last present value).
pub(crate) fn interpolate(y: &[f64]) -> Vec<f64> {
    let mut out = y.to_vec();
    let present: Vec<usize> = (0..y.len()).filter(|&t| !y[t].is_nan()).collect();
    let (Some(&first), Some(&last)) = (present.first(), present.last()) else {
        return out;
    };
    out[..first].fill(y[first]);
    out[last + 1..].fill(y[last]);
    for w in present.windows(2) {
        let (a, b) = (w[0], w[1]);
        for (t, slot) in out.iter_mut().enumerate().take(b).skip(a + 1) {
            let f = (t - a) as f64 / (b - a) as f64;
            *slot = y[a] + f * (y[b] - y[a]);
        }
    }
    out
}

impl Fit for Mstl {
    type Fitted = FittedMstl;
    type Error = Error;

    fn fit(&self, input: &FitInput<'_>) -> Result<FittedMstl> {
        let series = input.series;
        let raw = series.values();
        check_series(raw, 4)?;
        let mut notes = Vec::new();
        let wanted = match &self.periods {
            Some(p) => {
                let mut p = p.clone();
                p.sort_unstable();
                p.dedup();
                p.retain(|&m| m > 1);
                p
            }
            None => match self.season {
                Some(d) => {
                    let (ms, step) = (d.as_millis(), series.step().as_millis().max(1));
                    if ms < step || ms % step != 0 {
                        return Err(Error::InvalidParameter {
                            name: "season",
                            message: format!("{d:?} is not a whole number of {:?} steps", series.step()),
                        });
                    }
                    vec![usize::try_from(ms / step).unwrap_or(usize::MAX)]
                        .into_iter()
                        .filter(|&m| m > 1)
                        .collect()
                }
                None => periods::detect(raw, series.step()),
            },
        };
        let mut periods = wanted.clone();
        periods.retain(|&m| raw.len() >= 2 * m);
        if periods.len() < wanted.len() {
            let dropped: Vec<String> = wanted
                .iter()
                .filter(|m| !periods.contains(m))
                .map(ToString::to_string)
                .collect();
            notes.push(format!(
                "history of {} points covers fewer than two cycles of period {}; dropped",
                raw.len(),
                dropped.join(", ")
            ));
        }
        if periods.is_empty() && !wanted.is_empty() {
            notes.push("no season left: AutoETS on the series itself".into());
        }
        let effects = Effects::estimate(raw, input.regressors, &periods)?;
        let cleaned = interpolate(&effects.clean(raw, input.regressors));
        let positive = cleaned.iter().all(|&v| v > 0.0);
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
        let log_bounds = (lo - (hi - lo).max(1.0), hi + (hi - lo).max(1.0));
        let (seasonals, adjusted) = self.decompose(&y, &periods);
        let n = y.len();
        let cycles = periods
            .iter()
            .zip(&seasonals)
            .map(|(&m, s)| {
                // cycle[(t) % m] = s[t] for the last m points t.
                let mut c = vec![0.0; m];
                for t in n - m..n {
                    c[t % m] = s[t];
                }
                c
            })
            .collect();
        let adjusted_model = match self.adjusted {
            AdjustedKind::Theta => Adjusted::Theta(ThetaFit::fit(&adjusted)?),
            AdjustedKind::Arima => Adjusted::Arima(Box::new(
                AutoArima::builder()
                    .period(1)
                    .max_order(2, 2)
                    .approximation(true)
                    .build()?
                    .fit_values(&adjusted)?,
            )),
            AdjustedKind::Ets => {
                let adj_series = TimeSeries::new(series.start(), series.step(), adjusted)?;
                Adjusted::Ets(Ets::auto_nonseasonal().fit(&FitInput::new(&adj_series))?)
            }
        };
        Ok(FittedMstl {
            periods,
            cycles,
            n,
            adjusted_model,
            log,
            log_bounds,
            effects,
            fallback: (!notes.is_empty()).then(|| notes.join("; ")),
            start: series.end(),
            step: series.step(),
        })
    }
}

impl Predict for FittedMstl {
    type Error = Error;

    fn predict_inplace(&self, request: &PredictRequest<'_>, out: &mut Forecast) -> Result<()> {
        let uplift = self.effects.uplift(request)?;
        out.reset(self.start, self.step, request.horizon, request.levels)?;
        let (mut point, sd) = self.adjusted_model.moments(request.horizon);
        for (h, p) in point.iter_mut().enumerate() {
            for c in &self.cycles {
                *p += c[(self.n + h) % c.len()];
            }
        }
        out.point_mut().copy_from_slice(&point);
        gaussian_quantiles(out, &sd);
        if self.log {
            // A wide log-scale spread would explode when exponentiated: clamp to the history's log range
            // widened by its own width (at least one unit, a factor e) on each side.
            let (lo, hi) = self.log_bounds;
            map_values(out, |v| v.clamp(lo, hi).exp());
        }
        apply_uplift(out, &uplift);
        out.finish()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use shadow_core::Quantile;

    use super::*;
    use crate::test_support::hourly;

    fn truth(t: usize) -> f64 {
        let day = (2.0 * std::f64::consts::PI * (t % 24) as f64 / 24.0).sin();
        let weekend = if (t / 24) % 7 >= 5 { -20.0 } else { 0.0 };
        200.0 + 0.05 * t as f64 + 15.0 * day + weekend
    }

    #[test]
    fn forecasts_a_daily_and_weekly_cycle() {
        let e = crate::test_support::noise(7, 24 * 7 * 6);
        let y: Vec<f64> = (0..24 * 7 * 6).map(|t| truth(t) + e[t]).collect();
        let n = y.len();
        let fitted = Mstl::new().fit(&FitInput::new(&hourly(y))).unwrap();
        assert_eq!(fitted.periods(), &[24, 168]);
        assert!(fitted.fallback().is_none());
        let lv = [Quantile::try_new(0.05).unwrap(), Quantile::try_new(0.95).unwrap()];
        let f = fitted.predict(&PredictRequest::new(168, &lv)).unwrap();
        let mae: f64 = (0..168).map(|h| (f.point()[h] - truth(n + h)).abs()).sum::<f64>() / 168.0;
        assert!(mae < 2.5, "mae {mae}");
        let covered = (0..168)
            .filter(|&h| f.quantile_paths()[0][h] <= truth(n + h) && truth(n + h) <= f.quantile_paths()[1][h])
            .count();
        // STL absorbs part of the noise into the seasonal components, so the nominal 90% band covers less;
        // `auto` calibrates it from backtest residuals.
        assert!(covered > 110, "{covered}");
    }

    #[test]
    fn short_history_drops_the_weekly_cycle_and_says_so() {
        let y: Vec<f64> = (0..24 * 10).map(truth).collect();
        let fitted = Mstl::new()
            .with_periods(vec![24, 168])
            .fit(&FitInput::new(&hourly(y)))
            .unwrap();
        assert_eq!(fitted.periods(), &[24]);
        assert!(
            fitted.fallback().unwrap().contains("period 168"),
            "{:?}",
            fitted.fallback()
        );
    }

    #[test]
    fn log_transform_keeps_quantiles_ordered_and_positive() {
        let e = crate::test_support::noise(8, 24 * 14);
        let y: Vec<f64> = (0..24 * 14)
            .map(|t| (truth(t) / 50.0 + 0.1 * e[t]).exp())
            .collect();
        let mut with_gap = y.clone();
        with_gap[100] = f64::NAN;
        let fitted = Mstl::new()
            .with_transform(Transform::Log)
            .fit(&FitInput::new(&hourly(with_gap)))
            .unwrap();
        assert!(fitted.log());
        let lv = [Quantile::try_new(0.01).unwrap(), Quantile::try_new(0.99).unwrap()];
        let f = fitted.predict(&PredictRequest::new(48, &lv)).unwrap();
        assert!(f.quantile_paths()[0].iter().all(|&v| v > 0.0));
        // Even far ahead, the upper quantile stays within the documented bound.
        let far = fitted.predict(&PredictRequest::new(5000, &lv)).unwrap();
        let max_log = y.iter().fold(f64::NEG_INFINITY, |a, v| a.max(v.ln()));
        let min_log = y.iter().fold(f64::INFINITY, |a, v| a.min(v.ln()));
        let bound = (max_log + (max_log - min_log).max(1.0)).exp();
        assert!(
            far.quantile_paths()[1]
                .iter()
                .all(|&v| v.is_finite() && v <= bound * (1.0 + 1e-9))
        );
    }
}
