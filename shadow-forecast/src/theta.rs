//! The Theta method (Assimakopoulos and Nikolopoulos 2000) in the form of Hyndman and Billah (2003): simple
//! exponential smoothing plus half the slope of a least-squares line, on a seasonally adjusted series.
//!
//! The point forecast is `ℓ_n + b/2 · (h − 1 + (1 − (1 − α)^n)/α)` where `ℓ_n` is the SES level, `α` its
//! smoothing parameter (fitted with the initial level by least squares) and `b` the slope of the line through
//! the series. The variance is that of SES, `σ²(1 + α²(h − 1))`.
//!
//! The forecaster registered as `theta` is [`crate::mstl::Mstl::with_theta`]: it removes the seasons with MSTL
//! (periods detected from the step, optionally in logs) and applies the method to the adjusted series.

use crate::{error::Result, nelder_mead};

/// Theta fitted to a (seasonally adjusted) series.
#[derive(Debug, Clone, PartialEq)]
pub struct ThetaFit {
    level: f64,
    alpha: f64,
    slope: f64,
    n: usize,
    sigma2: f64,
}

impl ThetaFit {
    /// Fits to `x` (finite values, at least 3).
    ///
    /// # Errors
    /// [`crate::Error::NotEnoughData`] with fewer than 3 values, [`crate::Error::NonFinite`] for non-finite
    /// input.
    pub fn fit(x: &[f64]) -> Result<Self> {
        let n = x.len();
        if n < 3 {
            return Err(crate::Error::NotEnoughData { need: 3, got: n });
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(crate::Error::NonFinite("series"));
        }
        let tm = (n - 1) as f64 / 2.0;
        let xm = x.iter().sum::<f64>() / n as f64;
        let stt: f64 = (0..n).map(|t| (t as f64 - tm).powi(2)).sum();
        let slope = (0..n).map(|t| (t as f64 - tm) * (x[t] - xm)).sum::<f64>() / stt;
        let scale = (x.iter().map(|v| (v - xm).abs()).sum::<f64>() / n as f64).max(1e-12);
        let sse = |p: &[f64]| -> f64 {
            let (alpha, l0) = (p[0], p[1]);
            if !(1e-4..=0.9999).contains(&alpha) {
                return f64::INFINITY;
            }
            let mut l = l0;
            let mut s = 0.0;
            for &v in x {
                let e = v - l;
                s += e * e;
                l += alpha * e;
            }
            s
        };
        let (p, v) = nelder_mead::minimize(sse, &[0.5, x[0]], &[0.2, 0.2 * scale], 1e-10, 400);
        if !v.is_finite() {
            return Err(crate::Error::NoBestParameter);
        }
        let (alpha, l0) = (p[0], p[1]);
        let mut level = l0;
        for &v in x {
            level += alpha * (v - level);
        }
        Ok(Self {
            level,
            alpha,
            slope,
            n,
            sigma2: v / (n as f64 - 2.0).max(1.0),
        })
    }

    /// The SES smoothing parameter.
    #[must_use]
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// Point forecasts and standard deviations for `horizon` steps.
    #[must_use]
    pub fn moments(&self, horizon: usize) -> (Vec<f64>, Vec<f64>) {
        let a = self.alpha;
        let start = (1.0 - (1.0 - a).powi(i32::try_from(self.n).unwrap_or(i32::MAX))) / a;
        (0..horizon)
            .map(|h| {
                let point = self.level + 0.5 * self.slope * (h as f64 + start);
                let sd = (self.sigma2 * (1.0 + a * a * h as f64)).sqrt();
                (point, sd)
            })
            .unzip()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continues_half_the_slope_from_the_smoothed_level() {
        let x: Vec<f64> = (0..100).map(|t| 5.0 + 0.2 * t as f64).collect();
        let f = ThetaFit::fit(&x).unwrap();
        let (p, sd) = f.moments(3);
        // On an exact line SES tracks the level closely and the drift is half the slope.
        assert!((p[1] - p[0] - 0.1).abs() < 1e-9);
        assert!(p[0] > 24.0 && p[0] < 25.3, "{p:?}");
        assert!(sd[2] >= sd[0]);
        assert!(ThetaFit::fit(&[1.0, 2.0]).is_err());
    }
}
