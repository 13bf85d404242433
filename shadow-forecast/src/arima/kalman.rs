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
//! Both switch to the steady-state filter once the innovation variance stops changing. A missing value met in the
//! steady state does not restart the full recursion: [`filter_full`] tracks the exact difference `P_t − P̄` from
//! the steady covariance, which has rank at most the number of gaps, in `O(k)` per step per gap, and returns to
//! the plain steady state once it has decayed (see [`filter_full`]). The variance `σ²` is concentrated out:
//! filters run with `σ² = 1`.

use nalgebra::{DMatrix, DVector};

pub use super::filter::filter_full;

/// Relative change of the innovation variance below which a step counts as quiet; the filter is treated as
/// converged after as many quiet steps in a row as there are states.
pub(crate) const STEADY_TOL: f64 = 1e-11;

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
    /// The AR coefficients padded to `r` (column `K` of the ARMA rows of `T`).
    phi_r: Vec<f64>,
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
            phi_r: (0..r).map(|i| phi.get(i).copied().unwrap_or(0.0)).collect(),
        })
    }

    pub(super) fn z_dot(&self, x: &[f64]) -> f64 {
        self.z.iter().map(|&(c, v)| v * x[c]).sum()
    }

    /// One prediction step without an observation: `a ← T a`, `P ← T P T' + R R'`.
    pub fn predict(&self, a: &mut [f64], p: &mut [f64], tmp: &mut [f64], tmp_mat: &mut [f64]) {
        self.apply_t(a, tmp);
        self.apply_tpt(p, tmp_mat, true);
    }

    /// The non-zeros of row `i` of `T`.
    pub(super) fn t_row(&self, i: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let span = self.t_ptr[i]..self.t_ptr[i + 1];
        self.t_col[span.clone()]
            .iter()
            .copied()
            .zip(self.t_val[span].iter().copied())
    }

    /// `a ← T a`, using `tmp` as scratch.
    pub(super) fn apply_t(&self, a: &mut [f64], tmp: &mut [f64]) {
        self.t_times(a, &mut tmp[..self.k]);
        a.copy_from_slice(&tmp[..self.k]);
    }

    /// [`Self::steady_run`] for a small state, with `T`, `Z`, the gain and the state in registers.
    fn steady_dense<const K: usize>(&self, a: &mut [f64], gain: &[f64], y: &[f64]) -> (usize, f64) {
        let mut t = [[0.0; K]; K];
        for (i, row) in t.iter_mut().enumerate() {
            for (c, v) in self.t_row(i) {
                row[c] = v;
            }
        }
        let mut z = [0.0; K];
        self.z.iter().for_each(|&(c, v)| z[c] = v);
        let g: [f64; K] = std::array::from_fn(|i| gain[i]);
        let mut st: [f64; K] = std::array::from_fn(|i| a[i]);
        let (mut ssq, mut used) = (0.0, 0);
        for &yt in y {
            if yt.is_nan() {
                break;
            }
            used += 1;
            let pred: f64 = (0..K).map(|j| z[j] * st[j]).sum();
            let v = yt - pred;
            ssq += v * v;
            st = std::array::from_fn(|i| (0..K).fold(g[i] * v, |acc, j| acc + t[i][j] * st[j]));
        }
        a[..K].copy_from_slice(&st);
        (used, ssq)
    }

    /// The steady-state filter over `y` up to its first missing value: `v = y_t − Z a`, `a ← T a + g v` with the
    /// fixed gain `g`, in place (row 0 of `T` is `Z`, so the prediction is also the new first lag). Returns the
    /// number of observations used and `Σ v²`.
    pub(super) fn steady_run(&self, a: &mut [f64], gain: &[f64], y: &[f64]) -> (usize, f64) {
        match self.k {
            1 => return self.steady_dense::<1>(a, gain, y),
            2 => return self.steady_dense::<2>(a, gain, y),
            3 => return self.steady_dense::<3>(a, gain, y),
            4 => return self.steady_dense::<4>(a, gain, y),
            5 => return self.steady_dense::<5>(a, gain, y),
            6 => return self.steady_dense::<6>(a, gain, y),
            _ => {}
        }
        let (k, kd) = (self.k, self.k_diffuse);
        let (a, gain) = (&mut a[..k], &gain[..k]);
        let phi = &self.phi_r[..k - kd];
        let mut ssq = 0.0;
        let mut used = 0;
        for &yt in y {
            if yt.is_nan() {
                break;
            }
            used += 1;
            let pred = self.z_dot(a);
            let v = yt - pred;
            ssq += v * v;
            let x0 = a[kd];
            if kd > 0 {
                a.copy_within(0..kd - 1, 1);
                a[0] = pred;
            }
            let arma = &mut a[kd..];
            let r = arma.len();
            for i in 0..r - 1 {
                arma[i] = phi[i] * x0 + arma[i + 1];
            }
            arma[r - 1] = phi[r - 1] * x0;
            a.iter_mut().zip(gain).for_each(|(x, g)| *x += g * v);
        }
        (used, ssq)
    }

    /// `out = T x` from the structure of `T`: row 0 is `Z` (the differencing lags and the first ARMA state), the
    /// other lag rows shift, and ARMA row `i` is `φ_i e_K + e_{K+i+1}`. `O(k)`, no sparse indexing.
    pub(super) fn t_times(&self, x: &[f64], out: &mut [f64]) {
        let (k, kd) = (self.k, self.k_diffuse);
        let (x, out) = (&x[..k], &mut out[..k]);
        if kd > 0 {
            out[0] = self.z_dot(x);
            out[1..kd].copy_from_slice(&x[..kd - 1]);
        }
        let x0 = x[kd];
        let (xa, oa) = (&x[kd..], &mut out[kd..]);
        let r = oa.len();
        for i in 0..r - 1 {
            oa[i] = self.phi_r[i] * x0 + xa[i + 1];
        }
        oa[r - 1] = self.phi_r[r - 1] * x0;
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

impl StateSpace {
    /// `P ← T P T' + R R'` when `P` is zero outside the rows and columns flagged in `live_old` (lagged
    /// observations that are known exactly have no variance); only the entries between the indices `idx_new`
    /// (flagged in `live_new`) are computed, and the rows and columns that leave the live set are zeroed, so the
    /// result keeps the same invariant. `lo` is the first live index of `live_old`. Costs `O(|live|·k)` instead
    /// of `O(k²)` with every non-zero of `T` counted.
    pub(super) fn predict_live(
        &self,
        p: &mut [f64],
        tmp: &mut [f64],
        live_old: &[bool],
        live_new: &[bool],
        idx_new: &[usize],
        add_noise: bool,
    ) {
        let (k, kd) = (self.k, self.k_diffuse);
        let lo = live_old.iter().position(|&l| l).unwrap_or(kd);
        for &i in idx_new {
            let out = &mut tmp[i * k + lo..(i + 1) * k];
            out.fill(0.0);
            for (c, v) in self.t_row(i) {
                if live_old[c] {
                    let src = &p[c * k + lo..(c + 1) * k];
                    out.iter_mut().zip(src).for_each(|(o, s)| *o += v * s);
                }
            }
        }
        // P' = (T P) T': row i of P' is T applied to row i of T P, whose dead columns are exact zeros.
        for &i in idx_new {
            tmp[i * k..i * k + lo].fill(0.0);
            let (row_i, out) = (&tmp[i * k..(i + 1) * k], &mut p[i * k..(i + 1) * k]);
            self.t_times(row_i, out);
            // Only lag slots can be dead; the ARMA states are always live.
            for (o, _) in out[..kd].iter_mut().zip(live_new).filter(|(_, l)| !**l) {
                *o = 0.0;
            }
        }
        // Keep P exactly symmetric (the upper triangle wins).
        for (ii, &i) in idx_new.iter().enumerate() {
            for &l in &idx_new[ii + 1..] {
                p[l * k + i] = p[i * k + l];
            }
        }
        for j in 0..kd {
            if live_old[j] && !live_new[j] {
                p[j * k..(j + 1) * k].fill(0.0);
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
