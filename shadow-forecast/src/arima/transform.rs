//! The partial-autocorrelation reparametrisation that keeps AR parts stationary and MA parts invertible
//! (Jones 1980, Monahan 1984).
//!
//! An unconstrained `x ∈ ℝ^p` maps to partial autocorrelations `r_k = x_k / √(1 + x_k²) ∈ (−1, 1)`, and the
//! Durbin–Levinson recursion turns them into the coefficients of a stationary AR(p) polynomial
//! `1 − Σ φ_i B^i`. Every stationary polynomial is reached, so the optimiser searches `ℝ^p` freely. The MA
//! polynomial `1 + Σ θ_i B^i` is invertible exactly when `−θ` is a stationary AR polynomial, so MA parts use the
//! same map with a sign flip.

/// Largest partial autocorrelation accepted when inverting, so that starting values stay finite.
const MAX_PACF: f64 = 0.9999;

/// Maps unconstrained values to stationary AR coefficients, writing into `out` (same length as `x`).
pub fn constrain_stationary(x: &[f64], out: &mut [f64]) {
    let p = x.len();
    let mut prev = [0.0f64; 64];
    let mut heap;
    let prev: &mut [f64] = if p <= 64 {
        &mut prev[..p]
    } else {
        heap = vec![0.0; p];
        &mut heap
    };
    for k in 0..p {
        let r = x[k] / (1.0 + x[k] * x[k]).sqrt();
        prev[..k].copy_from_slice(&out[..k]);
        for j in 0..k {
            out[j] = prev[j] - r * prev[k - 1 - j];
        }
        out[k] = r;
    }
}

/// Inverse of [`constrain_stationary`]. Coefficients of a non-stationary polynomial are first pulled inside the
/// stationary region by clamping each partial autocorrelation to ±0.9999.
#[must_use]
pub fn unconstrain_stationary(phi: &[f64]) -> Vec<f64> {
    let p = phi.len();
    let mut cur = phi.to_vec();
    let mut r = vec![0.0; p];
    for k in (0..p).rev() {
        let rk = cur[k].clamp(-MAX_PACF, MAX_PACF);
        r[k] = rk;
        let denom = 1.0 - rk * rk;
        let prev: Vec<f64> = (0..k).map(|j| (cur[j] + rk * cur[k - 1 - j]) / denom).collect();
        cur[..k].copy_from_slice(&prev);
    }
    r.iter().map(|&rk| rk / (1.0 - rk * rk).sqrt()).collect()
}

/// Maps unconstrained values to invertible MA coefficients.
pub fn constrain_invertible(x: &[f64], out: &mut [f64]) {
    constrain_stationary(x, out);
    out.iter_mut().for_each(|v| *v = -*v);
}

/// Inverse of [`constrain_invertible`].
#[must_use]
pub fn unconstrain_invertible(theta: &[f64]) -> Vec<f64> {
    let neg: Vec<f64> = theta.iter().map(|v| -v).collect();
    unconstrain_stationary(&neg)
}

/// Whether `1 − Σ φ_i B^i` is stationary (all partial autocorrelations strictly inside (−1, 1)).
#[must_use]
pub fn is_stationary(phi: &[f64]) -> bool {
    let p = phi.len();
    let mut cur = phi.to_vec();
    for k in (0..p).rev() {
        let rk = cur[k];
        if !rk.is_finite() || rk.abs() >= 1.0 {
            return false;
        }
        let denom = 1.0 - rk * rk;
        let prev: Vec<f64> = (0..k).map(|j| (cur[j] + rk * cur[k - 1 - j]) / denom).collect();
        cur[..k].copy_from_slice(&prev);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let x = [0.3, -1.2, 0.7, 2.0];
        let mut phi = [0.0; 4];
        constrain_stationary(&x, &mut phi);
        assert!(is_stationary(&phi));
        let back = unconstrain_stationary(&phi);
        for (a, b) in x.iter().zip(&back) {
            assert!((a - b).abs() < 1e-10, "{a} vs {b}");
        }
        let mut theta = [0.0; 4];
        constrain_invertible(&x, &mut theta);
        let back = unconstrain_invertible(&theta);
        for (a, b) in x.iter().zip(&back) {
            assert!((a - b).abs() < 1e-10);
        }
    }

    #[test]
    fn ar1_is_the_pacf() {
        let mut phi = [0.0];
        constrain_stationary(&[1.0], &mut phi);
        assert!((phi[0] - 1.0 / 2f64.sqrt()).abs() < 1e-15);
        assert!(!is_stationary(&[1.2]));
        assert!(!is_stationary(&[0.5, 0.6]));
        assert!(is_stationary(&[0.5, 0.3]));
    }
}
