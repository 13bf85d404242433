//! Event effects as regressors, shared by ETS, MSTL, Theta and `auto`.
//!
//! Each regressor column (an event indicator from [`shadow_core::Regressors::from_events`], or any numeric
//! column) gets an additive effect, estimated jointly with a baseline by least squares: an intercept, a
//! linear trend and Fourier terms of every season of the series. The history is cleaned of the effects
//! before the model is fitted, and the effects of the regressors supplied for the horizon are added back to
//! the point forecast and to every quantile, so an announced event lifts the whole forecast distribution.

use nalgebra::{DMatrix, DVector};
use shadow_core::{Forecast, PredictRequest, Regressors};

use crate::error::{Error, Result};

/// Number of Fourier pairs per season in the baseline.
const BASELINE_HARMONICS: usize = 6;

/// Learned additive effects of the regressor columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effects {
    names: Vec<String>,
    coefs: Vec<f64>,
}

impl Effects {
    /// No regressors.
    #[must_use]
    pub fn none() -> Self {
        Self::default()
    }

    /// Estimates the effect of each column of `x` on `y` (`NaN` = missing), jointly with an intercept, a trend
    /// and Fourier terms of each period in `periods`.
    ///
    /// # Errors
    /// [`Error::Regressors`] when a column has a different length from `y`, or no present observation falls
    /// inside one of the columns' events.
    pub fn estimate(y: &[f64], x: &Regressors, periods: &[usize]) -> Result<Self> {
        if x.is_empty() {
            return Ok(Self::none());
        }
        if x.rows() != y.len() {
            return Err(Error::Regressors(format!(
                "{} regressor rows for {} observations",
                x.rows(),
                y.len()
            )));
        }
        let rows: Vec<usize> = (0..y.len()).filter(|&t| !y[t].is_nan()).collect();
        for (name, col) in x.names().iter().zip(x.columns()) {
            if !rows.iter().any(|&t| col[t] != 0.0) {
                return Err(Error::Regressors(format!(
                    "column `{name}` is zero at every observed point, so its effect cannot be learned"
                )));
            }
        }
        let n = y.len() as f64;
        let mut base: Vec<Box<dyn Fn(usize) -> f64>> =
            vec![Box::new(|_| 1.0), Box::new(move |t| t as f64 / n)];
        for &m in periods.iter().filter(|&&m| m > 1) {
            let k = BASELINE_HARMONICS.min(m / 2);
            for j in 1..=k {
                let w = 2.0 * std::f64::consts::PI * j as f64 / m as f64;
                base.push(Box::new(move |t| (w * t as f64).sin()));
                if 2 * j < m {
                    base.push(Box::new(move |t| (w * t as f64).cos()));
                }
            }
        }
        let p = base.len() + x.columns().len();
        if rows.len() <= p {
            return Err(Error::NotEnoughData {
                need: p + 1,
                got: rows.len(),
            });
        }
        let mut a = DMatrix::<f64>::zeros(rows.len(), p);
        let mut b = DVector::<f64>::zeros(rows.len());
        for (r, &t) in rows.iter().enumerate() {
            for (j, f) in base.iter().enumerate() {
                a[(r, j)] = f(t);
            }
            for (j, col) in x.columns().iter().enumerate() {
                a[(r, base.len() + j)] = col[t];
            }
            b[r] = y[t];
        }
        let ata = a.transpose() * &a;
        let atb = a.transpose() * b;
        // A tiny ridge keeps collinear Fourier terms (short seasons) solvable without moving the estimate.
        let ridge = 1e-9 * (0..p).map(|i| ata[(i, i)]).fold(0.0, f64::max);
        let ata = ata + DMatrix::identity(p, p) * ridge;
        let beta = ata
            .cholesky()
            .map(|c| c.solve(&atb))
            .ok_or_else(|| Error::Regressors("the regressors are collinear with each other".into()))?;
        let coefs: Vec<f64> = beta.iter().skip(base.len()).copied().collect();
        if coefs.iter().any(|c| !c.is_finite()) {
            return Err(Error::NonFinite("event effects"));
        }
        Ok(Self {
            names: x.names().to_vec(),
            coefs,
        })
    }

    /// Whether there are no effects.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The learned effect of each column, by name.
    #[must_use]
    pub fn effects(&self) -> Vec<(String, f64)> {
        self.names
            .iter()
            .cloned()
            .zip(self.coefs.iter().copied())
            .collect()
    }

    /// `y` minus the effects of the regressors `x` (which have `y.len()` rows, or none).
    #[must_use]
    pub fn clean(&self, y: &[f64], x: &Regressors) -> Vec<f64> {
        let mut out = y.to_vec();
        if !self.is_empty() {
            for (c, col) in self.coefs.iter().zip(x.columns()) {
                for (o, v) in out.iter_mut().zip(col) {
                    *o -= c * v;
                }
            }
        }
        out
    }

    /// Checks the future regressors of `request` against the fit and returns the uplift at each step.
    ///
    /// An empty frame means no events ahead.
    ///
    /// # Errors
    /// [`Error::Regressors`] when the columns or the number of rows do not match.
    pub fn uplift(&self, request: &PredictRequest<'_>) -> Result<Vec<f64>> {
        let future = request.regressors;
        if future.is_empty() {
            return Ok(vec![0.0; request.horizon]);
        }
        if !future.names().iter().eq(self.names.iter()) {
            return Err(Error::Regressors(format!(
                "fit had columns {:?}, predict has {:?}",
                self.names,
                future.names()
            )));
        }
        if future.rows() != request.horizon {
            return Err(Error::Regressors(format!(
                "{} rows of future regressors for a horizon of {}",
                future.rows(),
                request.horizon
            )));
        }
        Ok((0..request.horizon)
            .map(|h| {
                self.coefs
                    .iter()
                    .zip(future.columns())
                    .map(|(c, col)| c * col[h])
                    .sum()
            })
            .collect())
    }
}

/// Adds `uplift[h]` to the point and every quantile of `out`.
pub(crate) fn apply_uplift(out: &mut Forecast, uplift: &[f64]) {
    for (p, u) in out.point_mut().iter_mut().zip(uplift) {
        *p += u;
    }
    for path in out.quantile_paths_mut() {
        for (p, u) in path.iter_mut().zip(uplift) {
            *p += u;
        }
    }
}

/// Fills the quantiles of `out` from Gaussian means and standard deviations, then sorts each step so the
/// paths are monotone in the level.
pub(crate) fn gaussian_quantiles(out: &mut Forecast, sd: &[f64]) {
    let levels: Vec<f64> = out.levels().iter().map(|q| q.get()).collect();
    let point = out.point().to_vec();
    for (k, path) in out.quantile_paths_mut().iter_mut().enumerate() {
        let z = crate::arima::forecast::norm_ppf(levels[k]);
        for (h, v) in path.iter_mut().enumerate() {
            *v = point[h] + z * sd[h];
        }
    }
    sort_quantiles(out);
}

/// Applies `f` to the point and every quantile of `out` (a back-transform), then restores the quantiles'
/// order.
pub(crate) fn map_values(out: &mut Forecast, f: impl Fn(f64) -> f64) {
    for v in out.point_mut() {
        *v = f(*v);
    }
    for path in out.quantile_paths_mut() {
        for v in path.iter_mut() {
            *v = f(*v);
        }
    }
    sort_quantiles(out);
}

/// Makes quantile paths non-decreasing in the level at every step.
pub(crate) fn sort_quantiles(out: &mut Forecast) {
    let horizon = out.point().len();
    let paths = out.quantile_paths_mut();
    let mut col = vec![0.0; paths.len()];
    for h in 0..horizon {
        for (c, p) in col.iter_mut().zip(paths.iter()) {
            *c = p[h];
        }
        col.sort_by(f64::total_cmp);
        for (c, p) in col.iter().zip(paths.iter_mut()) {
            p[h] = *c;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_planted_effect_under_a_daily_cycle() {
        let mut y: Vec<f64> = (0..24 * 14)
            .map(|t| 50.0 + 0.01 * t as f64 + 10.0 * (2.0 * std::f64::consts::PI * t as f64 / 24.0).sin())
            .collect();
        let mut col = vec![0.0; y.len()];
        for t in 100..106 {
            y[t] += 30.0;
            col[t] = 1.0;
        }
        let mut x = Regressors::empty();
        x.push("launch", col).unwrap();
        let e = Effects::estimate(&y, &x, &[24]).unwrap();
        let (name, v) = &e.effects()[0];
        assert_eq!(name, "launch");
        assert!((v - 30.0).abs() < 0.5, "{v}");
        let clean = e.clean(&y, &x);
        assert!((clean[103] - (y[103] - v)).abs() < 1e-12);
    }

    #[test]
    fn rejects_a_column_without_observed_events() {
        let y = vec![1.0; 100];
        let mut x = Regressors::empty();
        x.push("never", vec![0.0; 100]).unwrap();
        let e = Effects::estimate(&y, &x, &[]).unwrap_err().to_string();
        assert!(e.contains("`never`"), "{e}");
    }
}
