//! ARIMA and SARIMA by exact Gaussian maximum likelihood, as a regression with ARMA errors.
//!
//! The model is `y_t = x_t'β + η_t` where `(1 − Σφ_i B^i)(1 − ΣΦ_i B^{im}) (1−B)^d (1−B^m)^D η_t =
//! (1 + Σθ_j B^j)(1 + ΣΘ_j B^{jm}) e_t`, `e_t ~ N(0, σ²)`. The regressors are the trend terms ([`Trend`]) and the
//! exogenous columns of [`shadow_core::Regressors`].
//!
//! **Fitting.** Starting values come from ordinary least squares on the differenced data and a conditional sum
//! of squares fit of the ARMA part. The exact likelihood ([`kalman`]) is then maximised by `argmin`'s L-BFGS
//! over the regression coefficients and unconstrained partial autocorrelations ([`transform`]), so every
//! candidate is stationary and invertible. The variance is concentrated out.
//!
//! **Missing values** (`NaN`) are skipped by the Kalman filter; nothing is imputed.
//!
//! **Fallbacks**, reported by [`FittedArima::fallback`]: a constant with differencing, or a drift with two or more
//! differences, is dropped; a series whose differenced values are constant gets a zero-variance model whose
//! forecast continues the series exactly (zero-width quantiles).
//!
//! ```
//! use std::time::Duration;
//! use chrono::{TimeZone, Utc};
//! use shadow_core::{Fit, FitInput, Predict, PredictRequest, Quantile, TimeSeries};
//! use shadow_forecast::arima::{Arima, Order, Trend};
//!
//! let values: Vec<f64> = (0..200).map(|i| ((i * 37 % 11) as f64) + 0.1 * i as f64).collect();
//! let series = TimeSeries::new(Utc.timestamp_opt(0, 0).unwrap(), Duration::from_secs(60), values).unwrap();
//! let model = Arima::builder().order(Order::new(1, 1, 1)).trend(Trend::Drift).build().unwrap();
//! let fitted = model.fit(&FitInput::new(&series)).unwrap();
//! let levels = [Quantile::try_new(0.1).unwrap(), Quantile::try_new(0.9).unwrap()];
//! let forecast = fitted.predict(&PredictRequest::new(10, &levels)).unwrap();
//! assert_eq!(forecast.horizon(), 10);
//! assert!(forecast.quantile_paths()[0][0] < forecast.point()[0]);
//! ```

pub mod auto;
pub mod batch;
pub mod chandrasekhar;
pub mod css;
mod filter;
pub mod fit;
pub mod forecast;
pub mod kalman;
pub mod model;
mod optim;
pub mod transform;

#[cfg(test)]
mod invariants;
#[cfg(test)]
mod tests;

use std::time::Duration;

use chrono::{DateTime, Utc};
use shadow_core::{Fit, FitInput, Named};

pub use self::{
    auto::{AutoArima, AutoArimaBuilder},
    fit::Method,
    forecast::FittedArima,
    model::{ArimaParams, ArmaCoefs, Order, SeasonalOrder, Spec, Trend},
};
use self::{
    fit::{Likelihood, Prepared, fit_raw},
    kalman::FilterStats,
};
use crate::error::{Error, Result};

/// Relative decrease of the sum of squares at which the CSS fits of an AutoARIMA search stop: it moves the
/// criterion by far less than the differences that decide the search.
const SEARCH_CSS_TOL: f64 = 1e-6;

/// An ARIMA/SARIMA model with a fixed order, ready to fit. Build it with [`Arima::builder`].
#[derive(Debug, Clone)]
pub struct Arima {
    spec: Spec,
    method: Method,
    trend_note: Option<String>,
    warm: Option<ArimaParams>,
}

/// Builder of [`Arima`]. All validation happens in [`ArimaBuilder::build`].
#[derive(Debug, Clone, Default)]
pub struct ArimaBuilder {
    order: Order,
    seasonal: SeasonalOrder,
    trend: Trend,
    method: Method,
    warm: Option<ArimaParams>,
}

impl ArimaBuilder {
    /// Sets the non-seasonal order `(p, d, q)`.
    #[must_use]
    pub fn order(mut self, order: Order) -> Self {
        self.order = order;
        self
    }

    /// Sets the seasonal order `(P, D, Q)m`.
    #[must_use]
    pub fn seasonal(mut self, seasonal: SeasonalOrder) -> Self {
        self.seasonal = seasonal;
        self
    }

    /// Sets the trend (default: none).
    #[must_use]
    pub fn trend(mut self, trend: Trend) -> Self {
        self.trend = trend;
        self
    }

    /// Sets the estimation method (default: CSS then exact ML).
    #[must_use]
    pub fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// Starts the optimiser from these parameters instead of the CSS fit (a warm-start refit). The regression
    /// coefficients must be in the layout of [`FittedArima::beta_names`].
    #[must_use]
    pub fn warm_start(mut self, params: ArimaParams) -> Self {
        self.warm = Some(params);
        self
    }

    /// Validates the specification.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for absurd orders, or warm-start parameters of the wrong length or outside the
    /// stationary/invertible region.
    pub fn build(self) -> Result<Arima> {
        let (spec, trend_note) = Spec::new(self.order, self.seasonal, self.trend)?;
        if self.method == Method::Fixed && self.warm.is_none() {
            return Err(Error::InvalidParameter {
                name: "method",
                message: "`Fixed` needs parameters from `warm_start`".into(),
            });
        }
        if let Some(w) = &self.warm {
            let c = &w.arma;
            let (o, s) = (spec.order, spec.seasonal);
            if c.ar.len() != o.p || c.ma.len() != o.q || c.sar.len() != s.p || c.sma.len() != s.q {
                return Err(Error::InvalidParameter {
                    name: "warm_start",
                    message: "coefficient counts do not match the order".into(),
                });
            }
            if c.to_vec().iter().chain(&w.beta).any(|v| !v.is_finite()) {
                return Err(Error::NonFinite("warm-start parameters"));
            }
            if self.method == Method::Fixed && !(w.sigma2.is_finite() && w.sigma2 >= 0.0) {
                return Err(Error::InvalidParameter {
                    name: "sigma2",
                    message: "fixed parameters need a finite, non-negative variance".into(),
                });
            }
        }
        Ok(Arima {
            spec,
            method: self.method,
            trend_note,
            warm: self.warm,
        })
    }
}

impl Arima {
    /// A builder with order `(0,0,0)`, no season, no trend.
    #[must_use]
    pub fn builder() -> ArimaBuilder {
        ArimaBuilder::default()
    }

    /// The validated specification.
    #[must_use]
    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// Fits the model to raw values (`NaN` = missing) and exogenous columns with one row per value.
    ///
    /// # Errors
    /// [`Error::NotEnoughData`], [`Error::NonFinite`], [`Error::Regressors`], [`Error::NoBestParameter`].
    pub fn fit_values(&self, y: &[f64], exog: &[Vec<f64>], exog_names: &[String]) -> Result<FittedArima> {
        self.fit_on_grid(
            y,
            exog,
            exog_names,
            DateTime::<Utc>::UNIX_EPOCH,
            Duration::from_secs(1),
        )
    }

    fn fit_on_grid(
        &self,
        y: &[f64],
        exog: &[Vec<f64>],
        exog_names: &[String],
        start: DateTime<Utc>,
        step: Duration,
    ) -> Result<FittedArima> {
        let spec = self.spec;
        let n_beta = spec.trend_names().len() + exog.len();
        let kd = spec.diff_coefficients().len();
        let present = y.iter().filter(|v| !v.is_nan()).count();
        let need = kd + spec.n_arma() + n_beta + 3;
        if present < need {
            return Err(Error::NotEnoughData { need, got: present });
        }
        let data = Prepared::new(&spec, y, exog)?;
        let lik = Likelihood::new(spec, &data);
        let mut fallback = self.trend_note.clone();
        let w = fit::difference(&spec.diff_coefficients(), y);
        let wp: Vec<f64> = w.iter().copied().filter(|v| !v.is_nan()).collect();
        // Needs at least two present differences: gaps can leave none, and then the filter still works.
        let constant = exog.is_empty()
            && wp.len() >= 2
            && wp
                .windows(2)
                .all(|p| (p[0] - p[1]).abs() <= 1e-12 * (1.0 + p[0].abs()));
        let raw = if constant {
            let note =
                "the differenced series is constant: zero-variance model, exact extrapolation".to_string();
            fallback = Some(fallback.map_or(note.clone(), |f| format!("{f}; {note}")));
            let arma = ArmaCoefs::from_slice(&spec, &vec![0.0; spec.n_arma()]);
            let beta = fit::ols_public(&spec, &data);
            fit::RawFit {
                beta_int: beta,
                arma,
                stats: FilterStats::default(),
                llf_int: f64::INFINITY,
                css_only: false,
            }
        } else {
            fit_raw(&lik, self.method, self.warm.as_ref(), 1e-9)?
        };
        let (stats, end, ss) = lik
            .end_state(&raw.beta_int, &raw.arma)
            .ok_or(Error::NoBestParameter)?;
        if end.diffuse_left {
            return Err(Error::NotEnoughData {
                need: need + 1,
                got: present,
            });
        }
        let sigma2_int = match (&self.warm, self.method) {
            _ if constant => 0.0,
            (Some(w), Method::Fixed) => w.sigma2 / (data.scale * data.scale),
            _ if raw.css_only => raw.stats.sigma2(),
            _ => stats.sigma2(),
        };
        let n_eff = if raw.css_only {
            raw.stats.n_eff
        } else {
            stats.n_eff
        };
        let llf = match () {
            () if constant => f64::INFINITY,
            () if self.method == Method::Fixed => stats.llf_at(sigma2_int) - n_eff as f64 * data.scale.ln(),
            () => raw.llf_int - n_eff as f64 * data.scale.ln(),
        };
        let names = spec.trend_names();
        let beta: Vec<f64> = raw
            .beta_int
            .iter()
            .enumerate()
            .map(|(j, b)| {
                let v = b * data.scale / data.x_scale[j];
                if j == 0 && names.first() == Some(&"intercept") {
                    v + data.center
                } else {
                    v
                }
            })
            .collect();
        let params = ArimaParams {
            beta,
            arma: raw.arma.clone(),
            sigma2: sigma2_int * data.scale * data.scale,
        };
        if !params.sigma2.is_finite() || params.beta.iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFinite("fitted parameters"));
        }
        let step_ms = i64::try_from(step.as_millis()).unwrap_or(i64::MAX);
        let end_time = start + chrono::TimeDelta::milliseconds(step_ms.saturating_mul(y.len() as i64));
        Ok(FittedArima {
            spec,
            method: self.method,
            params,
            llf,
            n_eff,
            fallback,
            exog_names: exog_names.to_vec(),
            beta_int: raw.beta_int,
            x_scale: data.x_scale.clone(),
            center: data.center,
            scale: data.scale,
            sigma2_int,
            n: y.len(),
            end,
            ss,
            start: end_time,
            step,
        })
    }

    /// The AICc of a CSS fit, without building a forecasting model: the cheap score of AutoARIMA's search.
    pub(crate) fn css_aicc(
        &self,
        y: &[f64],
        exog: &[Vec<f64>],
        start: Option<&ArmaCoefs>,
    ) -> Option<(f64, ArmaCoefs)> {
        let n_beta = self.spec.trend_names().len() + exog.len();
        let need = self.spec.diff_coefficients().len() + self.spec.n_arma() + n_beta + 3;
        if y.iter().filter(|v| !v.is_nan()).count() < need {
            return None;
        }
        let data = Prepared::new(&self.spec, y, exog).ok()?;
        let lik = Likelihood::new(self.spec, &data);
        let warm = start.map(|c| ArimaParams {
            beta: Vec::new(),
            arma: c.clone(),
            sigma2: 1.0,
        });
        let raw = fit_raw(&lik, Method::Css, warm.as_ref(), SEARCH_CSS_TOL).ok()?;
        // As R's `arima(method = "CSS")`: σ̂² from the residuals used, but the likelihood (and AICc) over the same
        // number of differenced observations for every model, so that models conditioning on more lags are
        // not favoured for having fewer residuals.
        let n = fit::difference(&self.spec.diff_coefficients(), y)
            .iter()
            .filter(|v| !v.is_nan())
            .count() as f64;
        let s2 = raw.stats.sigma2();
        let llf = -0.5 * n * ((2.0 * std::f64::consts::PI).ln() + s2.ln() + 1.0) - n * data.scale.ln();
        let k = (n_beta + self.spec.n_arma() + 1) as f64;
        let aicc = -2.0 * llf + 2.0 * k + 2.0 * k * (k + 1.0) / (n - k - 1.0);
        (n - k - 1.0 > 0.0 && aicc.is_finite()).then_some((aicc, raw.arma))
    }

    /// The exact log-likelihood of `y` at given parameters (data units, `σ²` included), as statsmodels'
    /// `SARIMAX.loglike` reports it.
    ///
    /// # Errors
    /// As [`Arima::fit_values`]; [`Error::InvalidParameter`] when the parameters are not stationary.
    pub fn log_likelihood(&self, y: &[f64], exog: &[Vec<f64>], params: &ArimaParams) -> Result<f64> {
        let data = Prepared::new(&self.spec, y, exog)?;
        let (o, s, c) = (self.spec.order, self.spec.seasonal, &params.arma);
        if params.beta.len() != data.x.len()
            || (c.ar.len(), c.ma.len(), c.sar.len(), c.sma.len()) != (o.p, o.q, s.p, s.q)
        {
            return Err(Error::InvalidParameter {
                name: "params",
                message: "parameter counts do not match the model".into(),
            });
        }
        if !(params.sigma2 > 0.0 && params.sigma2.is_finite()) {
            return Err(Error::InvalidParameter {
                name: "sigma2",
                message: "must be positive and finite".into(),
            });
        }
        let lik = Likelihood::new(self.spec, &data);
        let beta_int = fit::beta_to_internal(&self.spec, &data, &params.beta);
        let stats = lik
            .stats(&beta_int, &params.arma)
            .ok_or_else(|| Error::InvalidParameter {
                name: "params",
                message: "the AR part is not stationary".into(),
            })?;
        Ok(stats.llf_at(params.sigma2 / (data.scale * data.scale)) - stats.n_eff as f64 * data.scale.ln())
    }
}

impl FittedArima {
    /// Places the fitted model on a time grid, so forecasts start at `start + n · step`.
    #[must_use]
    pub fn on_grid(mut self, start: DateTime<Utc>, step: Duration) -> Self {
        let step_ms = i64::try_from(step.as_millis()).unwrap_or(i64::MAX);
        self.start = start + chrono::TimeDelta::milliseconds(step_ms.saturating_mul(self.n as i64));
        self.step = step;
        self
    }

    /// Refits on new data, starting the optimiser from this model's parameters (a warm start).
    ///
    /// # Errors
    /// As [`Fit::fit`].
    pub fn refit(&self, input: &FitInput<'_>) -> Result<FittedArima> {
        let model = Arima {
            spec: self.spec,
            method: Method::Ml,
            trend_note: self.fallback.clone().filter(|f| f.contains("dropped")),
            warm: Some(self.params.clone()),
        };
        model.fit(input)
    }
}

impl Named for Arima {
    fn model_name(&self) -> &str {
        "arima"
    }
}

impl Fit for Arima {
    type Fitted = FittedArima;
    type Error = Error;

    fn fit(&self, input: &FitInput<'_>) -> Result<FittedArima> {
        let s = input.series;
        let reg = input.regressors;
        self.fit_on_grid(s.values(), reg.columns(), reg.names(), s.start(), s.step())
    }
}
