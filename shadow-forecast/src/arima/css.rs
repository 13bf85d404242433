//! Conditional sum of squares: the fast approximate criterion that gives the starting values of the exact fit
//! and ranks models during an AutoARIMA search on long series.

use super::kalman::FilterStats;

/// Residual sum of squares of the ARMA recursion on `w` (already differenced and without the regression effect),
/// conditioned on the first `max(p, ncond)` values. A residual whose inputs include a missing value is unknown: it
/// does not count and enters later MA terms as zero.
#[must_use]
pub fn css(phi: &[f64], theta: &[f64], w: &[f64], resid: &mut Vec<f64>) -> FilterStats {
    let p = phi.len();
    let q = theta.len();
    resid.clear();
    resid.resize(w.len(), 0.0);
    let mut stats = FilterStats::default();
    for t in p..w.len() {
        // Lag windows as slices, newest first, so the inner products need no bounds checks.
        let mut e = w[t] - w[t - p..t].iter().rev().zip(phi).map(|(x, f)| f * x).sum::<f64>();
        let ql = q.min(t);
        e -= resid[t - ql..t]
            .iter()
            .rev()
            .zip(&theta[..ql])
            .map(|(r, th)| th * r)
            .sum::<f64>();
        if e.is_nan() {
            continue;
        }
        resid[t] = e;
        stats.ssq += e * e;
        stats.n_eff += 1;
    }
    stats
}

/// The CSS log-likelihood with the variance concentrated out: `−n/2 (ln 2π + ln σ̂² + 1)`.
#[must_use]
pub fn css_llf(stats: &FilterStats) -> f64 {
    let n = stats.n_eff as f64;
    -0.5 * n * ((2.0 * std::f64::consts::PI).ln() + (stats.ssq / n.max(1.0)).ln() + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ar1_residuals_are_the_innovations() {
        let w = [1.0, 2.0, 0.5, f64::NAN, 1.0, 3.0];
        let mut r = Vec::new();
        let s = css(&[0.5], &[], &w, &mut r);
        assert_eq!(s.n_eff, 3);
        assert!((r[1] - 1.5).abs() < 1e-15 && (r[2] + 0.5).abs() < 1e-15 && r[3] == 0.0 && r[4] == 0.0);
        assert!((s.ssq - (2.25 + 0.25 + 6.25)).abs() < 1e-12);
    }
}
