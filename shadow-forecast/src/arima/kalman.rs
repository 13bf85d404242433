//! The state-space form of a (S)ARIMA model and its exact Kalman filters.
//!
//! # State
//! The state at time `t` is `[y_{t-1}, …, y_{t-K}, u_t, …]`: the `K = d + D·m` lagged observations that the
//! differencing needs, followed by the `r = max(p + P·m, q + Q·m + 1)` states of the ARMA process
//! `u = (1-B)^d (1-B^m)^D y` in Harvey's companion form. The lagged observations start *diffuse* (unknown, infinite
//! variance) and the ARMA block starts at its stationary covariance.
//!
//! # Likelihood
//! [`filter_full`] runs the exact diffuse filter of Koopman (1997) with the univariate-observation formulas:
//! while the diffuse covariance `P∞` is non-zero, an observation with `F∞ = Z P∞ Z' > 0` resolves one diffuse
//! direction and is not part of the likelihood. What remains is the exact likelihood of the differenced data,
//! which is what statsmodels' SARIMAX reports (it burns the first `K` points of an approximate diffuse start).
//! Missing observations skip the update step, so the likelihood stays exact over gaps.
//!
//! [`super::chandrasekhar::filter_arma`] is the fast path for complete data: it differences the series and filters the ARMA block
//! alone with the Chandrasekhar recursions, `O(r)` per observation. It returns the same likelihood.
//!
//! Both switch to the steady-state filter once the innovation variance stops changing, and fall back to the full
//! recursion after a missing value. The variance `σ²` is concentrated out: filters run with `σ² = 1`.

use nalgebra::{DMatrix, DVector};

/// Relative change of the innovation variance below which a step counts as quiet; the filter is treated as
/// converged after as many quiet steps in a row as there are states.
pub(crate) const STEADY_TOL: f64 = 1e-11;
/// `F∞` below this is zero (the diffuse part is resolved for that observation).
const DIFFUSE_TOL: f64 = 1e-8;

/// Sufficient statistics of one filter pass, with `σ² = 1`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FilterStats {
    /// `Σ v_t² / F_t` over the observations in the likelihood.
    pub ssq: f64,
    /// `Σ ln F_t` over the same observations.
    pub sum_log_f: f64,
    /// Number of observations in the likelihood.
    pub n_eff: usize,
}

impl FilterStats {
    /// The maximum-likelihood variance `ssq / n_eff`.
    #[must_use]
    pub fn sigma2(&self) -> f64 {
        self.ssq / self.n_eff.max(1) as f64
    }

    /// The log-likelihood with `σ²` concentrated out.
    #[must_use]
    pub fn concentrated_llf(&self) -> f64 {
        let n = self.n_eff as f64;
        -0.5 * n * ((2.0 * std::f64::consts::PI).ln() + self.sigma2().ln() + 1.0) - 0.5 * self.sum_log_f
    }

    /// The log-likelihood at a given `σ²`.
    #[must_use]
    pub fn llf_at(&self, sigma2: f64) -> f64 {
        let n = self.n_eff as f64;
        -0.5 * n * ((2.0 * std::f64::consts::PI).ln() + sigma2.ln())
            - 0.5 * self.sum_log_f
            - 0.5 * self.ssq / sigma2
    }
}

/// Autocovariances `γ(0..=nlag)` of the ARMA process `w_t = Σ phi_i w_{t-i} + e_t + Σ theta_j e_{t-j}` with unit
/// innovation variance, and its MA(∞) weights `ψ(0..=nlag)`. `None` when the AR part is (numerically)
/// non-stationary.
#[must_use]
pub fn arma_autocov(phi: &[f64], theta: &[f64], nlag: usize) -> Option<(Vec<f64>, Vec<f64>)> {
    let p = phi.len();
    let q = theta.len();
    let len = nlag.max(p).max(q) + 1;
    let mut psi = vec![0.0; len];
    psi[0] = 1.0;
    for j in 1..len {
        let mut s = if j <= q { theta[j - 1] } else { 0.0 };
        for i in 1..=p.min(j) {
            s += phi[i - 1] * psi[j - i];
        }
        psi[j] = s;
    }
    // rhs_k = Σ_{j=k}^{q} θ_j ψ_{j-k}, θ_0 = 1.
    let rhs = |k: usize| -> f64 {
        (k..=q)
            .map(|j| if j == 0 { 1.0 } else { theta[j - 1] } * psi[j - k])
            .sum()
    };
    let mut gamma = vec![0.0; len];
    if p == 0 {
        for (k, g) in gamma.iter_mut().enumerate() {
            *g = if k <= q { rhs(k) } else { 0.0 };
        }
    } else {
        let mut a = DMatrix::<f64>::zeros(p + 1, p + 1);
        let mut b = DVector::<f64>::zeros(p + 1);
        for k in 0..=p {
            a[(k, k)] += 1.0;
            for i in 1..=p {
                a[(k, k.abs_diff(i))] -= phi[i - 1];
            }
            b[k] = if k <= q { rhs(k) } else { 0.0 };
        }
        let sol = a.lu().solve(&b)?;
        gamma[..=p].copy_from_slice(sol.as_slice());
        for k in p + 1..len {
            let mut s = if k <= q { rhs(k) } else { 0.0 };
            for i in 1..=p {
                s += phi[i - 1] * gamma[k - i];
            }
            gamma[k] = s;
        }
    }
    if gamma[0].is_finite() && gamma[0] > 0.0 {
        Some((gamma, psi))
    } else {
        None
    }
}

/// The stationary covariance (row-major `r × r`, unit innovation variance) of the companion-form ARMA state.
///
/// Solves `P = T P T' + R R'` in `O(r²)` after the autocovariances: the first row follows from `γ` and `ψ`, and
/// the Lyapunov equation, read entry by entry, gives every other row from the row below it. This scales to
/// seasonal state sizes where a Kronecker solve of `r²` unknowns does not.
#[must_use]
pub fn arma_state_cov(phi: &[f64], theta: &[f64], r: usize) -> Option<Vec<f64>> {
    let (gamma, psi) = arma_autocov(phi, theta, r)?;
    let ph = |i: usize| phi.get(i).copied().unwrap_or(0.0);
    let rr = |i: usize| {
        if i == 0 {
            1.0
        } else {
            theta.get(i - 1).copied().unwrap_or(0.0)
        }
    };
    let mut p = vec![0.0; r * r];
    for j in 0..r {
        let mut s = 0.0;
        for k in j..r {
            s += ph(k) * gamma[k - j + 1] + rr(k) * psi[k - j];
        }
        p[j] = if j == 0 { gamma[0] } else { s };
        p[j * r] = p[j];
    }
    for i in (1..r).rev() {
        for j in i..r {
            let below = if i + 1 < r && j + 1 < r {
                p[(i + 1) * r + j + 1]
            } else {
                0.0
            };
            let row0_j = if j + 1 < r { p[j + 1] } else { 0.0 };
            let row0_i = if i + 1 < r { p[i + 1] } else { 0.0 };
            let v = ph(i) * ph(j) * p[0] + ph(i) * row0_j + ph(j) * row0_i + below + rr(i) * rr(j);
            p[i * r + j] = v;
            p[j * r + i] = v;
        }
    }
    Some(p)
}

/// A univariate state-space model with a single shock: `y_t = Z α_t`, `α_{t+1} = T α_t + R e_t`.
#[derive(Debug, Clone)]
pub struct StateSpace {
    /// State dimension `K + r`.
    pub k: usize,
    /// Number of diffuse (lagged-observation) states `K`.
    pub k_diffuse: usize,
    /// `T` in compressed sparse rows: row `i` is `t_col[t_ptr[i]..t_ptr[i + 1]]` with values `t_val[..]`.
    t_ptr: Vec<usize>,
    t_col: Vec<usize>,
    t_val: Vec<f64>,
    /// Sparse `Z`.
    pub z: Vec<(usize, f64)>,
    /// Sparse `R`.
    pub r: Vec<(usize, f64)>,
    /// Stationary covariance of the ARMA block (row-major `r × r`).
    pub p_arma: Vec<f64>,
}

impl StateSpace {
    /// Builds the model from the differencing coefficients `δ` and the expanded ARMA polynomials. `None` when the
    /// AR part is not stationary.
    #[must_use]
    pub fn new(delta: &[f64], phi: &[f64], theta: &[f64]) -> Option<Self> {
        let kd = delta.len();
        let r = phi.len().max(theta.len() + 1);
        let k = kd + r;
        let mut t_rows = vec![Vec::new(); k];
        let mut first: Vec<(usize, f64)> = delta
            .iter()
            .enumerate()
            .filter(|(_, v)| **v != 0.0)
            .map(|(i, v)| (i, *v))
            .collect();
        first.push((kd, 1.0));
        if kd > 0 {
            t_rows[0].clone_from(&first);
            for (i, row) in t_rows.iter_mut().enumerate().take(kd).skip(1) {
                row.push((i - 1, 1.0));
            }
        }
        for i in 0..r {
            let row = &mut t_rows[kd + i];
            if let Some(&f) = phi.get(i) {
                if f != 0.0 {
                    row.push((kd, f));
                }
            }
            if i + 1 < r {
                row.push((kd + i + 1, 1.0));
            }
        }
        let mut rv = vec![(kd, 1.0)];
        rv.extend(
            theta
                .iter()
                .enumerate()
                .filter(|(_, v)| **v != 0.0)
                .map(|(j, v)| (kd + j + 1, *v)),
        );
        let p_arma = arma_state_cov(phi, theta, r)?;
        let mut t_ptr = vec![0];
        let (mut t_col, mut t_val) = (Vec::new(), Vec::new());
        for row in &t_rows {
            t_col.extend(row.iter().map(|e| e.0));
            t_val.extend(row.iter().map(|e| e.1));
            t_ptr.push(t_col.len());
        }
        Some(Self {
            k,
            k_diffuse: kd,
            t_ptr,
            t_col,
            t_val,
            z: first,
            r: rv,
            p_arma,
        })
    }

    fn z_dot(&self, x: &[f64]) -> f64 {
        self.z.iter().map(|&(c, v)| v * x[c]).sum()
    }

    /// One prediction step without an observation: `a ← T a`, `P ← T P T' + R R'`.
    pub fn predict(&self, a: &mut [f64], p: &mut [f64], tmp: &mut [f64], tmp_mat: &mut [f64]) {
        self.apply_t(a, tmp);
        self.apply_tpt(p, tmp_mat, true);
    }

    /// The non-zeros of row `i` of `T`.
    fn t_row(&self, i: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let span = self.t_ptr[i]..self.t_ptr[i + 1];
        self.t_col[span.clone()]
            .iter()
            .copied()
            .zip(self.t_val[span].iter().copied())
    }

    /// `a ← T a`, using `tmp` as scratch.
    fn apply_t(&self, a: &mut [f64], tmp: &mut [f64]) {
        for (i, t) in tmp.iter_mut().enumerate().take(self.k) {
            *t = self.t_row(i).map(|(c, v)| v * a[c]).sum();
        }
        a.copy_from_slice(&tmp[..self.k]);
    }

    /// `P ← T P T' (+ R R' when `add_noise`)`, using `tmp` (k × k) as scratch. Only the upper triangle of the
    /// product is computed; the result is symmetric.
    fn apply_tpt(&self, p: &mut [f64], tmp: &mut [f64], add_noise: bool) {
        let k = self.k;
        for i in 0..k {
            let out = &mut tmp[i * k..(i + 1) * k];
            out.fill(0.0);
            for (c, v) in self.t_row(i) {
                let src = &p[c * k..(c + 1) * k];
                out.iter_mut().zip(src).for_each(|(o, s)| *o += v * s);
            }
        }
        for i in 0..k {
            let row_i = &tmp[i * k..(i + 1) * k];
            for l in i..k {
                let v: f64 = self.t_row(l).map(|(c, v)| v * row_i[c]).sum();
                p[i * k + l] = v;
                p[l * k + i] = v;
            }
        }
        if add_noise {
            for &(i, vi) in &self.r {
                for &(j, vj) in &self.r {
                    p[i * k + j] += vi * vj;
                }
            }
        }
    }
}

/// The end state of a filter pass, for forecasting: `a_{n+1|n}` and `P_{n+1|n}` (unit variance).
#[derive(Debug, Clone, Default)]
pub struct EndState {
    /// Predicted state mean.
    pub a: Vec<f64>,
    /// Predicted state covariance (row-major), with `σ² = 1`.
    pub p: Vec<f64>,
    /// Whether diffuse directions remain (too few observations to pin the lagged values).
    pub diffuse_left: bool,
}

/// The exact diffuse Kalman filter over `y` (the observations minus the regression effect; `NaN` = missing).
///
/// Returns the statistics and, when `keep_end` is set, the predicted state after the last observation.
#[must_use]
pub fn filter_full(ss: &StateSpace, y: &[f64], keep_end: bool) -> (FilterStats, Option<EndState>) {
    let k = ss.k;
    let kd = ss.k_diffuse;
    let r = k - kd;
    let mut a = vec![0.0; k];
    let mut p = vec![0.0; k * k];
    for i in 0..r {
        for j in 0..r {
            p[(kd + i) * k + kd + j] = ss.p_arma[i * r + j];
        }
    }
    let mut pinf = vec![0.0; k * k];
    (0..kd).for_each(|i| pinf[i * k + i] = 1.0);
    let mut diffuse = kd > 0;
    let mut tmp_mat = vec![0.0; k * k];
    let (mut m, mut minf, mut tmp) = (vec![0.0; k], vec![0.0; k], vec![0.0; k]);
    let mut gain = vec![0.0; k];
    let mut stats = FilterStats::default();
    let mut steady = false;
    let mut f_prev = f64::NAN;
    let mut f_steady = 0.0;
    let mut quiet = 0usize;
    let pz = |p: &[f64], out: &mut [f64]| {
        for (i, o) in out.iter_mut().enumerate() {
            *o = ss.z.iter().map(|&(c, v)| v * p[i * k + c]).sum();
        }
    };
    for &yt in y {
        let missing = yt.is_nan();
        if steady {
            if !missing {
                let v = yt - ss.z_dot(&a);
                stats.ssq += v * v / f_steady;
                stats.sum_log_f += f_steady.ln();
                stats.n_eff += 1;
                ss.apply_t(&mut a, &mut tmp);
                a.iter_mut().zip(&gain).for_each(|(x, g)| *x += g * v);
                continue;
            }
            // A missing value: P still holds the steady P_{t|t-1}; resume the full recursion.
            steady = false;
            f_prev = f64::NAN;
            quiet = 0;
        }
        if diffuse {
            if !missing {
                pz(&pinf, &mut minf);
                let finf = ss.z_dot(&minf);
                pz(&p, &mut m);
                let fstar = ss.z_dot(&m);
                let v = yt - ss.z_dot(&a);
                if finf > DIFFUSE_TOL {
                    a.iter_mut().zip(&minf).for_each(|(x, mi)| *x += mi * v / finf);
                    let c = fstar / (finf * finf);
                    for i in 0..k {
                        for j in 0..k {
                            p[i * k + j] += c * minf[i] * minf[j] - (m[i] * minf[j] + minf[i] * m[j]) / finf;
                            pinf[i * k + j] -= minf[i] * minf[j] / finf;
                        }
                    }
                } else if fstar > 0.0 {
                    stats.ssq += v * v / fstar;
                    stats.sum_log_f += fstar.ln();
                    stats.n_eff += 1;
                    a.iter_mut().zip(&m).for_each(|(x, mi)| *x += mi * v / fstar);
                    for i in 0..k {
                        for j in 0..k {
                            p[i * k + j] -= m[i] * m[j] / fstar;
                        }
                    }
                }
            }
            ss.apply_t(&mut a, &mut tmp);
            ss.apply_tpt(&mut pinf, &mut tmp_mat, false);
            ss.apply_tpt(&mut p, &mut tmp_mat, true);
            diffuse = pinf.iter().any(|v| v.abs() > DIFFUSE_TOL);
            continue;
        }
        if !missing {
            pz(&p, &mut m);
            let f = ss.z_dot(&m);
            let v = yt - ss.z_dot(&a);
            if f <= 0.0 || !f.is_finite() {
                stats.ssq = f64::NAN;
                break;
            }
            stats.ssq += v * v / f;
            stats.sum_log_f += f.ln();
            stats.n_eff += 1;
            quiet = if (f - f_prev).abs() <= STEADY_TOL * f {
                quiet + 1
            } else {
                0
            };
            if quiet >= k {
                // Converged: a_{t+1} = T a_t + (T M / F) v with the P_{t|t-1} kept in `p`.
                gain.copy_from_slice(&m);
                gain.iter_mut().for_each(|g| *g /= f);
                ss.apply_t(&mut gain, &mut tmp);
                ss.apply_t(&mut a, &mut tmp);
                a.iter_mut().zip(&gain).for_each(|(x, g)| *x += g * v);
                steady = true;
                f_steady = f;
                continue;
            }
            f_prev = f;
            a.iter_mut().zip(&m).for_each(|(x, mi)| *x += mi * v / f);
            for i in 0..k {
                let mi = m[i] / f;
                for j in 0..k {
                    p[i * k + j] -= mi * m[j];
                }
            }
        } else {
            f_prev = f64::NAN;
            quiet = 0;
        }
        ss.apply_t(&mut a, &mut tmp);
        ss.apply_tpt(&mut p, &mut tmp_mat, true);
    }
    let end = keep_end.then_some(EndState {
        a,
        p,
        diffuse_left: diffuse,
    });
    (stats, end)
}
