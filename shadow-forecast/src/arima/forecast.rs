//! The fitted model and its forecasts: means and variances from the Kalman end state, quantiles from the normal
//! distribution.

use std::time::Duration;

use chrono::{DateTime, Utc};
use shadow_core::{Forecast, Predict, PredictRequest};

use super::{
    fit::Method,
    kalman::{EndState, StateSpace},
    model::{ArimaParams, Spec},
};
use crate::error::{Error, Result};

/// A fitted (S)ARIMA model with regression errors.
#[derive(Debug, Clone)]
pub struct FittedArima {
    pub(crate) spec: Spec,
    pub(crate) method: Method,
    pub(crate) params: ArimaParams,
    pub(crate) llf: f64,
    pub(crate) n_eff: usize,
    pub(crate) fallback: Option<String>,
    pub(crate) exog_names: Vec<String>,
    // Internal units, for forecasting.
    pub(crate) beta_int: Vec<f64>,
    pub(crate) x_scale: Vec<f64>,
    pub(crate) center: f64,
    pub(crate) scale: f64,
    pub(crate) sigma2_int: f64,
    pub(crate) n: usize,
    pub(crate) end: EndState,
    pub(crate) ss: StateSpace,
    /// Timestamp of the first forecast step (the series' end).
    pub(crate) start: DateTime<Utc>,
    pub(crate) step: Duration,
}

impl FittedArima {
    /// The model specification that was fitted (after any trend fallback).
    #[must_use]
    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// The estimated parameters, in the units of the data.
    #[must_use]
    pub fn params(&self) -> &ArimaParams {
        &self.params
    }

    /// The names of the regression coefficients in [`ArimaParams::beta`]: trend terms, then exogenous columns.
    #[must_use]
    pub fn beta_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.spec.trend_names().into_iter().map(String::from).collect();
        v.extend(self.exog_names.iter().cloned());
        v
    }

    /// The maximised exact log-likelihood (the CSS one when fitted with [`Method::Css`]). `+∞` for the
    /// constant-series fallback.
    #[must_use]
    pub fn log_likelihood(&self) -> f64 {
        self.llf
    }

    /// The number of observations in the likelihood (present, after the differencing burn-in).
    #[must_use]
    pub fn n_obs(&self) -> usize {
        self.n_eff
    }

    /// The number of estimated parameters, including the variance.
    #[must_use]
    pub fn n_params(&self) -> usize {
        self.params.beta.len() + self.spec.n_arma() + 1
    }

    /// Akaike's information criterion.
    #[must_use]
    pub fn aic(&self) -> f64 {
        -2.0 * self.llf + 2.0 * self.n_params() as f64
    }

    /// AIC with the small-sample correction, as used by AutoARIMA. `+∞` when there are too few observations.
    #[must_use]
    pub fn aicc(&self) -> f64 {
        let k = self.n_params() as f64;
        let n = self.n_eff as f64;
        if n - k - 1.0 <= 0.0 {
            f64::INFINITY
        } else {
            self.aic() + 2.0 * k * (k + 1.0) / (n - k - 1.0)
        }
    }

    /// The Bayesian information criterion.
    #[must_use]
    pub fn bic(&self) -> f64 {
        -2.0 * self.llf + self.n_params() as f64 * (self.n_eff as f64).ln()
    }

    /// How the parameters were estimated.
    #[must_use]
    pub fn method(&self) -> Method {
        self.method
    }

    /// Why the fit departed from the request (a dropped trend, a constant series), if it did.
    #[must_use]
    pub fn fallback(&self) -> Option<&str> {
        self.fallback.as_deref()
    }

    /// Point forecasts and forecast variances for `horizon` steps, in data units. `future` holds the exogenous
    /// columns (not the trend ones) with `horizon` rows each.
    ///
    /// # Errors
    /// [`Error::Regressors`] when the future columns do not match the fit.
    pub fn forecast_moments(&self, horizon: usize, future: &[Vec<f64>]) -> Result<(Vec<f64>, Vec<f64>)> {
        if future.len() != self.exog_names.len() {
            return Err(Error::Regressors(format!(
                "the model has {} exogenous columns, the request {}",
                self.exog_names.len(),
                future.len()
            )));
        }
        if let Some(c) = future.iter().find(|c| c.len() != horizon) {
            return Err(Error::Regressors(format!(
                "{} rows of future regressors for a horizon of {horizon}",
                c.len()
            )));
        }
        if future.iter().flatten().any(|v| !v.is_finite()) {
            return Err(Error::NonFinite("future regressors"));
        }
        let mut cols = self.spec.trend_columns(self.n + 1, horizon);
        cols.extend(future.iter().cloned());
        let k = self.ss.k;
        let mut a = self.end.a.clone();
        let mut p = self.end.p.clone();
        let (mut tmp, mut tmp_mat) = (vec![0.0; k], vec![0.0; k * k]);
        let mut mean = Vec::with_capacity(horizon);
        let mut var = Vec::with_capacity(horizon);
        for h in 0..horizon {
            let reg: f64 = cols
                .iter()
                .zip(&self.beta_int)
                .zip(&self.x_scale)
                .map(|((c, b), s)| b * c[h] / s)
                .sum();
            let m = self.ss.z.iter().map(|&(c, v)| v * a[c]).sum::<f64>() + reg;
            let mut f = 0.0;
            for &(i, zi) in &self.ss.z {
                for &(j, zj) in &self.ss.z {
                    f += zi * zj * p[i * k + j];
                }
            }
            mean.push(self.center + self.scale * m);
            var.push((self.scale * self.scale * self.sigma2_int * f).max(0.0));
            self.ss.predict(&mut a, &mut p, &mut tmp, &mut tmp_mat);
        }
        Ok((mean, var))
    }
}

impl Predict for FittedArima {
    type Error = Error;

    fn predict_inplace(&self, request: &PredictRequest<'_>, out: &mut Forecast) -> Result<()> {
        let future = request.regressors;
        if !future.is_empty() && !future.names().iter().eq(self.exog_names.iter()) {
            return Err(Error::Regressors(format!(
                "fit had columns {:?}, predict has {:?}",
                self.exog_names,
                future.names()
            )));
        }
        let (mean, var) = self.forecast_moments(request.horizon, future.columns())?;
        out.reset(self.start, self.step, request.horizon, request.levels)?;
        out.point_mut().copy_from_slice(&mean);
        let z: Vec<f64> = request.levels.iter().map(|q| norm_ppf(q.get())).collect();
        for (path, zq) in out.quantile_paths_mut().iter_mut().zip(&z) {
            for h in 0..request.horizon {
                path[h] = mean[h] + zq * var[h].sqrt();
            }
        }
        out.finish()?;
        Ok(())
    }
}

/// The standard normal quantile function (Acklam's rational approximation, relative error below 1.2e-9,
/// refined by one Halley step on `erfc`).
#[must_use]
pub fn norm_ppf(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let plow = 0.02425;
    if p < plow {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - plow {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -norm_ppf(1.0 - p)
    }
}
