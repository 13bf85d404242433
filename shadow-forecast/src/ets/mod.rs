//! Exponential smoothing (ETS) state-space models and AutoETS.
//!
//! A model is named by its error, trend and season: error additive or multiplicative, trend none, additive or
//! additive damped, season none, additive or multiplicative (Hyndman et al. 2008). [`Ets::auto`] fits every
//! admissible combination and keeps the one with the smallest AICc; multiplicative components need a
//! strictly positive series, and additive errors are not combined with multiplicative seasons (they are
//! numerically unstable), as in R's `forecast::ets`.
//!
//! **Estimation.** The smoothing parameters `α, β, γ, φ` and the initial level and trend maximise the
//! Gaussian likelihood (Nelder–Mead, bounds `0 < β ≤ α < 1`, `0 < γ ≤ 1 − α`, `0.8 ≤ φ ≤ 0.98`). The initial
//! seasonal indices come from a centred moving average of the first seasons and are not optimised, which
//! keeps a fit over a 24-step season fast; they still count as parameters in the AICc.
//!
//! **Quantiles** are Gaussian with the variance of the linear model of the same components
//! (`σ²(1 + Σ c_j²)`), scaled by the point forecast for a multiplicative error.
//!
//! **Fallbacks**, reported by [`FittedEts::fallback`]: a series shorter than two seasons plus two points is
//! fitted without a season.
//!
//! **Events** are regressors whose effects [`crate::effects::Effects`] estimates jointly with a trend and the
//! season; they are removed before the fit and added back to the forecast and every quantile.
//!
//! ```
//! use std::time::Duration;
//! use chrono::{TimeZone, Utc};
//! use shadow_core::{Fit, FitInput, Predict, PredictRequest, Quantile, TimeSeries};
//! use shadow_forecast::ets::Ets;
//!
//! let values: Vec<f64> = (0..24 * 10)
//!     .map(|t| 100.0 + 0.1 * t as f64 + 10.0 * ((t % 24) as f64 / 24.0 * 6.283).sin())
//!     .collect();
//! let series = TimeSeries::new(Utc.timestamp_opt(0, 0).unwrap(), Duration::from_secs(3600), values).unwrap();
//! let fitted = Ets::auto().fit(&FitInput::new(&series)).unwrap();
//! let levels = [Quantile::try_new(0.1).unwrap(), Quantile::try_new(0.9).unwrap()];
//! let f = fitted.predict(&PredictRequest::new(24, &levels)).unwrap();
//! assert_eq!(f.horizon(), 24);
//! assert!(fitted.spec().period == 24);
//! ```

pub(crate) mod calc;

use std::{fmt, time::Duration};

use chrono::{DateTime, Utc};
use shadow_core::{Fit, FitInput, Forecast, Named, Predict, PredictRequest};

use crate::{
    effects::{Effects, apply_uplift, gaussian_quantiles},
    error::{Error, Result, check_series},
};

/// The longest season an automatic period gives ETS (a day of hourly data). Longer cycles are the job of
/// [`crate::mstl::Mstl`].
pub const MAX_ETS_PERIOD: usize = 24;

/// The error component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// `y = ŷ + e`.
    Additive,
    /// `y = ŷ(1 + e)`.
    Multiplicative,
}

/// The trend component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrendKind {
    /// No trend.
    None,
    /// A linear trend.
    Additive,
    /// A trend damped by `φ`.
    Damped,
}

/// The seasonal component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeasonKind {
    /// No season.
    None,
    /// Seasonal indices added to the level.
    Additive,
    /// Seasonal indices multiplying the level.
    Multiplicative,
}

/// One ETS model: its components and its season length in steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EtsSpec {
    /// The error.
    pub error: ErrorKind,
    /// The trend.
    pub trend: TrendKind,
    /// The season.
    pub season: SeasonKind,
    /// Season length in steps (1 without a season).
    pub period: usize,
}

impl EtsSpec {
    /// A model with the given components.
    #[must_use]
    pub const fn new(error: ErrorKind, trend: TrendKind, season: SeasonKind, period: usize) -> Self {
        Self {
            error,
            trend,
            season,
            period,
        }
    }

    fn needs_positive(&self) -> bool {
        self.error == ErrorKind::Multiplicative || self.season == SeasonKind::Multiplicative
    }
}

impl fmt::Display for EtsSpec {
    /// `ETS(A,Ad,M)` style.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = match self.error {
            ErrorKind::Additive => "A",
            ErrorKind::Multiplicative => "M",
        };
        let t = match self.trend {
            TrendKind::None => "N",
            TrendKind::Additive => "A",
            TrendKind::Damped => "Ad",
        };
        let s = match self.season {
            SeasonKind::None => "N",
            SeasonKind::Additive => "A",
            SeasonKind::Multiplicative => "M",
        };
        write!(f, "ETS({e},{t},{s})")?;
        if self.season != SeasonKind::None {
            write!(f, "[{}]", self.period)?;
        }
        Ok(())
    }
}

/// Which trends and seasons [`Ets::auto`] tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Search {
    Auto { seasonal: bool },
    Fixed(EtsSpec),
}

/// An ETS model or an AutoETS search, ready to fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ets {
    search: Search,
    period: Option<usize>,
}

impl Ets {
    /// AutoETS: every admissible model, chosen by AICc. The season is a day in steps when the series' step
    /// divides a day into at most [`MAX_ETS_PERIOD`] steps, otherwise none (see [`Ets::with_period`]).
    #[must_use]
    pub const fn auto() -> Self {
        Self {
            search: Search::Auto { seasonal: true },
            period: None,
        }
    }

    /// AutoETS over the non-seasonal additive-error models `ETS(A,N,N)`, `ETS(A,A,N)`, `ETS(A,Ad,N)`, for
    /// seasonally adjusted series (see [`crate::mstl`]).
    #[must_use]
    pub const fn auto_nonseasonal() -> Self {
        Self {
            search: Search::Auto { seasonal: false },
            period: Some(1),
        }
    }

    /// Exactly this model.
    #[must_use]
    pub const fn fixed(spec: EtsSpec) -> Self {
        Self {
            search: Search::Fixed(spec),
            period: Some(spec.period),
        }
    }

    /// Sets the season length in steps for the automatic search.
    #[must_use]
    pub const fn with_period(mut self, period: usize) -> Self {
        self.period = Some(period);
        self
    }

    fn period_for(&self, step: Duration) -> usize {
        self.period.unwrap_or_else(|| {
            let ms = step.as_millis().max(1);
            let day = 86_400_000u128;
            if day % ms == 0 && day / ms <= MAX_ETS_PERIOD as u128 {
                (day / ms) as usize
            } else {
                1
            }
        })
    }

    /// Fits to raw values (`NaN` = missing) with no regressors; the forecast starts at the Unix epoch plus
    /// `y.len()` seconds.
    ///
    /// # Errors
    /// As [`Fit::fit`].
    pub fn fit_values(&self, y: &[f64]) -> Result<FittedEts> {
        let series =
            shadow_core::TimeSeries::new(DateTime::<Utc>::UNIX_EPOCH, Duration::from_secs(1), y.to_vec())?;
        self.fit(&FitInput::new(&series))
    }
}

impl Named for Ets {
    fn model_name(&self) -> &str {
        "ets"
    }
}

/// A fitted [`Ets`].
#[derive(Debug, Clone)]
pub struct FittedEts {
    spec: EtsSpec,
    smoothing: calc::Smoothing,
    state: calc::State,
    n: usize,
    /// One-step variance (relative for a multiplicative error), in scaled units.
    sigma2: f64,
    scale: f64,
    aicc: f64,
    effects: Effects,
    fallback: Option<String>,
    start: DateTime<Utc>,
    step: Duration,
}

impl FittedEts {
    /// The model that was fitted (the winner of the search for [`Ets::auto`]).
    #[must_use]
    pub fn spec(&self) -> EtsSpec {
        self.spec
    }

    /// The smoothing parameters `(α, β, γ, φ)`; unused ones are 0 (φ is 1 without damping).
    #[must_use]
    pub fn smoothing(&self) -> (f64, f64, f64, f64) {
        let s = self.smoothing;
        (s.alpha, s.beta, s.gamma, s.phi)
    }

    /// The AICc of the fit.
    #[must_use]
    pub fn aicc(&self) -> f64 {
        self.aicc
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

    /// Point forecasts and standard deviations for `horizon` steps, without events.
    #[must_use]
    pub fn moments(&self, horizon: usize) -> (Vec<f64>, Vec<f64>) {
        let point = calc::point(&self.spec, &self.smoothing, &self.state, self.n, horizon);
        let mult = calc::variance_multipliers(&self.spec, &self.smoothing, horizon);
        let sd = point
            .iter()
            .zip(&mult)
            .map(|(p, k)| {
                let v = (self.sigma2 * k).sqrt();
                match self.spec.error {
                    ErrorKind::Additive => v * self.scale,
                    ErrorKind::Multiplicative => v * (p * self.scale).abs(),
                }
            })
            .collect();
        (point.into_iter().map(|p| p * self.scale).collect(), sd)
    }
}

/// The specifications AutoETS tries for a series.
fn candidates(period: usize, seasonal: bool, positive: bool) -> Vec<EtsSpec> {
    let mut out = Vec::new();
    let errors: &[ErrorKind] = if positive {
        &[ErrorKind::Additive, ErrorKind::Multiplicative]
    } else {
        &[ErrorKind::Additive]
    };
    let seasons: &[SeasonKind] = match (seasonal && period > 1, positive) {
        (false, _) => &[SeasonKind::None],
        (true, true) => &[SeasonKind::None, SeasonKind::Additive, SeasonKind::Multiplicative],
        (true, false) => &[SeasonKind::None, SeasonKind::Additive],
    };
    for &error in errors {
        for trend in [TrendKind::None, TrendKind::Additive, TrendKind::Damped] {
            for &season in seasons {
                if error == ErrorKind::Additive && season == SeasonKind::Multiplicative {
                    continue;
                }
                let p = if season == SeasonKind::None { 1 } else { period };
                out.push(EtsSpec::new(error, trend, season, p));
            }
        }
    }
    out
}

impl Fit for Ets {
    type Fitted = FittedEts;
    type Error = Error;

    fn fit(&self, input: &FitInput<'_>) -> Result<FittedEts> {
        let series = input.series;
        let raw = series.values();
        check_series(raw, 4)?;
        let present: Vec<f64> = raw.iter().copied().filter(|v| !v.is_nan()).collect();
        let period = self.period_for(series.step());
        if period == 0 {
            return Err(Error::InvalidParameter {
                name: "period",
                message: "must be at least 1".into(),
            });
        }
        let effects = Effects::estimate(raw, input.regressors, &[period])?;
        let y = effects.clean(raw, input.regressors);
        let mut fallback = None;
        let too_short = period > 1 && y.len() < 2 * period + 2;
        let (mut specs, seasonal_requested) = match self.search {
            Search::Fixed(spec) => (vec![spec], spec.season != SeasonKind::None),
            Search::Auto { seasonal } => {
                let positive = y.iter().filter(|v| !v.is_nan()).all(|&v| v > 0.0);
                (
                    // The non-seasonal search serves seasonally adjusted series: additive errors only.
                    candidates(period, seasonal && !too_short, positive && seasonal),
                    seasonal && period > 1,
                )
            }
        };
        if too_short && seasonal_requested {
            fallback = Some(format!(
                "history of {} points is shorter than two seasons of {period} plus two; fitted without a season",
                y.len()
            ));
            for s in &mut specs {
                s.season = SeasonKind::None;
                s.period = 1;
            }
            specs.dedup();
        }
        let positive = y.iter().filter(|v| !v.is_nan()).all(|&v| v > 0.0);
        if let Some(bad) = specs.iter().find(|s| s.needs_positive() && !positive) {
            return Err(Error::InvalidParameter {
                name: "spec",
                message: format!("{bad} needs a strictly positive series"),
            });
        }
        let scale = {
            let s = present.iter().map(|v| v.abs()).sum::<f64>() / present.len() as f64;
            if s > 0.0 { s } else { 1.0 }
        };
        let ys: Vec<f64> = y.iter().map(|v| v / scale).collect();
        let best = specs
            .iter()
            .filter_map(|spec| calc::fit(spec, &ys).map(|f| (*spec, f)))
            .min_by(|a, b| a.1.aicc().total_cmp(&b.1.aicc()))
            .ok_or(Error::NoBestParameter)?;
        let (spec, fitted) = best;
        let dof = (fitted.pass.n as f64 - fitted.n_params as f64).max(1.0);
        let sigma2 = fitted.pass.sse / dof;
        let aicc = fitted.aicc() + 2.0 * fitted.pass.n as f64 * scale.ln();
        Ok(FittedEts {
            spec,
            smoothing: fitted.smoothing,
            state: fitted.pass.state,
            n: y.len(),
            sigma2,
            scale,
            aicc,
            effects,
            fallback,
            start: series.end(),
            step: series.step(),
        })
    }
}

impl Predict for FittedEts {
    type Error = Error;

    fn predict_inplace(&self, request: &PredictRequest<'_>, out: &mut Forecast) -> Result<()> {
        let uplift = self.effects.uplift(request)?;
        out.reset(self.start, self.step, request.horizon, request.levels)?;
        let (point, sd) = self.moments(request.horizon);
        out.point_mut().copy_from_slice(&point);
        gaussian_quantiles(out, &sd);
        apply_uplift(out, &uplift);
        out.finish()?;
        Ok(())
    }
}

#[cfg(test)]
mod parity;
#[cfg(test)]
pub(crate) mod tests;
