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

/// Relative change of the innovation variance below which a step counts as quiet; the filter is treated as
/// converged after as many quiet steps in a row as there are states.
pub(crate) const STEADY_TOL: f64 = 1e-11;
/// Most gaps the low-rank correction of the steady state tracks before the full filter takes over.
const LOW_RANK_MAX: usize = 8;
/// `tr(P − P̄) / tr(P̄)` below which the filter returns to the plain steady state after a gap.
const LOW_RANK_TOL: f64 = 1e-14;
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
    fn steady_run(&self, a: &mut [f64], gain: &[f64], y: &[f64]) -> (usize, f64) {
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
    fn t_times(&self, x: &[f64], out: &mut [f64]) {
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
    fn predict_live(
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

/// `P ← P + U S U'` for the first `ns` columns of `u` (length `k` each) and the leading `ns × ns` block of `s`.
fn add_low_rank(p: &mut [f64], u: &[f64], s: &[f64], ns: usize) {
    let k = u.len() / LOW_RANK_MAX;
    for j in 0..ns {
        for l in 0..ns {
            let c = s[j * LOW_RANK_MAX + l];
            let (uj, ul) = (&u[j * k..(j + 1) * k], &u[l * k..(l + 1) * k]);
            for (i, ui) in uj.iter().enumerate() {
                p[i * k..(i + 1) * k]
                    .iter_mut()
                    .zip(ul)
                    .for_each(|(x, y)| *x += c * ui * y);
            }
        }
    }
}

/// The low-rank phase of [`filter_full`] with one column (`P_t = P̄ + s u u'`) on a state of at most 6.
struct Rank1<'a> {
    a: &'a mut [f64],
    u: &'a mut [f64],
    s: &'a mut f64,
    gain: &'a [f64],
    f_bar: f64,
    /// `tr(s u u')` at or below which the correction is dropped.
    tol_tr: f64,
}

/// What [`Rank1::go`] did.
struct Rank1Out {
    used: usize,
    ssq: f64,
    sum_log_f: f64,
    /// The correction decayed below the tolerance (back to the plain steady state).
    converged: bool,
    /// A non-positive or non-finite innovation variance.
    bad: bool,
}

impl Rank1<'_> {
    /// Runs until the next missing value, the end of `y`, or the decay of the correction.
    fn go<const K: usize>(&mut self, ss: &StateSpace, y: &[f64]) -> Rank1Out {
        let mut t = [[0.0; K]; K];
        for (i, row) in t.iter_mut().enumerate() {
            for (c, v) in ss.t_row(i) {
                row[c] = v;
            }
        }
        let mut z = [0.0; K];
        ss.z.iter().for_each(|&(c, v)| z[c] = v);
        let g: [f64; K] = std::array::from_fn(|i| self.gain[i]);
        let kbar: [f64; K] = std::array::from_fn(|i| self.gain[i] * self.f_bar);
        let mut a: [f64; K] = std::array::from_fn(|i| self.a[i]);
        let mut u: [f64; K] = std::array::from_fn(|i| self.u[i]);
        let mut s = *self.s;
        let mut out = Rank1Out {
            used: 0,
            ssq: 0.0,
            sum_log_f: 0.0,
            converged: false,
            bad: false,
        };
        let mut f_prod = 1.0f64;
        let tmv =
            |x: &[f64; K]| -> [f64; K] { std::array::from_fn(|i| (0..K).map(|j| t[i][j] * x[j]).sum()) };
        for &yt in y {
            if yt.is_nan() {
                break;
            }
            let tu = tmv(&u);
            let zu: f64 = (0..K).map(|j| z[j] * u[j]).sum();
            let su = s * zu;
            let f = self.f_bar + zu * su;
            if f <= 0.0 || !f.is_finite() {
                out.bad = true;
                break;
            }
            out.used += 1;
            let v = yt - (0..K).map(|j| z[j] * a[j]).sum::<f64>();
            out.ssq += v * v / f;
            f_prod *= f;
            if !(1e-150..=1e150).contains(&f_prod) {
                out.sum_log_f += f_prod.ln();
                f_prod = 1.0;
            }
            let ta = tmv(&a);
            let vf = v / f;
            a = std::array::from_fn(|i| ta[i] + (kbar[i] + tu[i] * su) * vf);
            u = std::array::from_fn(|i| tu[i] - g[i] * zu);
            s -= su * su / f;
            let uu: f64 = u.iter().map(|x| x * x).sum();
            if (s * uu).abs() <= self.tol_tr {
                out.converged = true;
                break;
            }
        }
        out.sum_log_f += f_prod.ln();
        self.a[..K].copy_from_slice(&a);
        self.u[..K].copy_from_slice(&u);
        *self.s = s;
        out
    }
}

/// The live flags after the observations `y` (at least `kd` of them): lag slot `j` holds `y[n − 1 − j]`, live when
/// missing; the ARMA states are always live.
fn live_from_data(live: &mut [bool], kd: usize, y: &[f64]) {
    let n = y.len();
    for (j, l) in live.iter_mut().enumerate() {
        *l = j >= kd || j >= n || y[n - 1 - j].is_nan();
    }
}

/// Zeroes the rows and columns of the dead (known) states: rounding noise around exact zeros.
fn zero_dead(p: &mut [f64], live: &[bool]) {
    let k = live.len();
    for j in (0..k).filter(|&j| !live[j]) {
        p[j * k..(j + 1) * k].fill(0.0);
        for i in 0..k {
            p[i * k + j] = 0.0;
        }
    }
}

/// The exact diffuse Kalman filter over `y` (the observations minus the regression effect; `NaN` = missing).
///
/// Returns the statistics and, when `keep_end` is set, the predicted state after the last observation.
///
/// A lagged observation that was observed is known exactly, so its row and column of `P` are zero; only the
/// ARMA block and the lags that hold missing values ("live" states) carry variance. After the diffuse phase the
/// filter keeps those rows and columns at exactly zero and updates only the live ones, which costs
/// `O(|live|·k)` per step instead of `O(k²)` (seasonal models: `|live| ≈ r + gaps in the last K steps`, against
/// `k = K + r`). The likelihood is unchanged: the zeroed entries are rounding noise around an exact zero.
///
/// **Gaps after convergence.** Once `F` has settled (the steady state, `P_t = P̄`, gain `K̄ / F̄`), a missing
/// value makes `P_{t+1} = P̄ + K̄ K̄' / F̄`, and the Riccati recursion maps `P̄ + U S U'` to `P̄ + U' S' U''` exactly
/// (with `L̄ = T − K̄ Z / F̄`, `u = Z U`, `F_t = F̄ + u S u'`):
/// observed: `K_t = K̄ + T U S u'`, `U ← L̄ U`, `S ← S − S u u' S / F_t`; missing: `U ← [T U, K̄]`,
/// `S ← diag(S, 1 / F̄)`. This costs `O(k)` per step and column instead of the full `O(|live|·k)` update and
/// keeps the likelihood exact; when `tr(U S U') ≤ 1e-14 · tr(P̄)` the filter returns to the plain steady
/// state, and after more than `LOW_RANK_MAX` gaps in that phase it materialises `P` and resumes the full
/// recursion.
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
    // Live states: the pre-sample lags start diffuse (live); a lag slot holding an observed value is dead.
    let mut live = vec![true; k];
    let mut live_new = vec![true; k];
    let mut idx: Vec<usize> = (0..k).collect();
    let mut stats = FilterStats::default();
    let mut steady = false;
    let mut f_prev = f64::NAN;
    let mut f_steady = 0.0;
    let mut n_steady = 0usize;
    let mut quiet = 0usize;
    // The low-rank correction after gaps in the steady state: U (columns of length k), S, and scratch.
    let mut ns = 0usize;
    let mut u_mat = vec![0.0; LOW_RANK_MAX * k];
    let mut tu = vec![0.0; LOW_RANK_MAX * k];
    let mut s_mat = vec![0.0; LOW_RANK_MAX * LOW_RANK_MAX];
    let (mut zu, mut su) = ([0.0; LOW_RANK_MAX], [0.0; LOW_RANK_MAX]);
    let mut tr_pbar = 0.0;
    let mut f_prod = 1.0f64;
    // The live flags after a prediction step: the lags shift by one and slot 0 receives the current value.
    let shift_live = |live: &[bool], out: &mut [bool], missing: bool| {
        out.copy_from_slice(live);
        if kd > 0 {
            out.copy_within(0..kd - 1, 1);
            out[0] = missing;
        }
    };
    let mut t = 0;
    while t < y.len() {
        let yt = y[t];
        t += 1;
        let missing = yt.is_nan();
        if steady {
            if !missing && ns == 0 {
                let (used, ssq) = ss.steady_run(&mut a, &gain, &y[t - 1..]);
                stats.ssq += ssq / f_steady;
                n_steady += used;
                t += used - 1;
                continue;
            }
            if ns == 0 {
                // Leaving the steady state at a gap: the lags are all observed, P̄ = `p`, K̄ = gain · F̄.
                live[..kd].fill(false);
                tr_pbar = (0..k).map(|i| p[i * k + i]).sum();
            }
            if ns == 1 && !missing && k <= 6 {
                // One gap to recover from on a small state: the same recursion with everything in registers.
                let mut run = Rank1 {
                    a: &mut a,
                    u: &mut u_mat[..k],
                    s: &mut s_mat[0],
                    gain: &gain,
                    f_bar: f_steady,
                    tol_tr: LOW_RANK_TOL * tr_pbar,
                };
                let out = match k {
                    1 => run.go::<1>(ss, &y[t - 1..]),
                    2 => run.go::<2>(ss, &y[t - 1..]),
                    3 => run.go::<3>(ss, &y[t - 1..]),
                    4 => run.go::<4>(ss, &y[t - 1..]),
                    5 => run.go::<5>(ss, &y[t - 1..]),
                    _ => run.go::<6>(ss, &y[t - 1..]),
                };
                if out.bad {
                    stats.ssq = f64::NAN;
                    break;
                }
                stats.ssq += out.ssq;
                stats.sum_log_f += out.sum_log_f;
                stats.n_eff += out.used;
                if out.converged {
                    ns = 0;
                }
                t += out.used.max(1) - 1;
                continue;
            }
            // Low-rank phase: P_t = P̄ + U S U' exactly (see the function docs).
            for j in 0..ns {
                ss.t_times(&u_mat[j * k..(j + 1) * k], &mut tu[j * k..(j + 1) * k]);
                zu[j] = ss.z_dot(&u_mat[j * k..(j + 1) * k]);
            }
            if missing {
                // P_{t+1} = T P_t T' + R R' = P̄ + K̄ K̄' / F̄ + T U S U' T'.
                ss.apply_t(&mut a, &mut tmp);
                u_mat[..ns * k].copy_from_slice(&tu[..ns * k]);
                if ns < LOW_RANK_MAX {
                    for (uj, g) in u_mat[ns * k..(ns + 1) * k].iter_mut().zip(&gain) {
                        *uj = g * f_steady;
                    }
                    for j in 0..ns {
                        s_mat[ns * LOW_RANK_MAX + j] = 0.0;
                        s_mat[j * LOW_RANK_MAX + ns] = 0.0;
                    }
                    s_mat[ns * LOW_RANK_MAX + ns] = 1.0 / f_steady;
                    ns += 1;
                    continue;
                }
                // Too many gaps in a row: materialise P and resume the full recursion.
                add_low_rank(&mut p, &u_mat, &s_mat, ns);
                for i in 0..k {
                    for j in 0..k {
                        p[i * k + j] += gain[i] * gain[j] * f_steady;
                    }
                }
                live_from_data(&mut live, kd, &y[..t]);
                zero_dead(&mut p, &live);
                ns = 0;
                stats.sum_log_f += f_prod.ln();
                f_prod = 1.0;
                stats.sum_log_f += n_steady as f64 * f_steady.ln();
                stats.n_eff += n_steady;
                n_steady = 0;
                steady = false;
                f_prev = f64::NAN;
                quiet = 0;
                continue;
            }
            // F_t = F̄ + u S u', K_t = K̄ + T U S u'; then U ← L̄ U with L̄ = T − K̄ Z / F̄, S ← S − S u u' S / F_t.
            for j in 0..ns {
                su[j] = (0..ns).map(|l| s_mat[j * LOW_RANK_MAX + l] * zu[l]).sum();
            }
            let f = f_steady + (0..ns).map(|j| zu[j] * su[j]).sum::<f64>();
            if f <= 0.0 || !f.is_finite() {
                stats.ssq = f64::NAN;
                break;
            }
            let v = yt - ss.z_dot(&a);
            stats.ssq += v * v / f;
            // One log per batch of F's, as in the Chandrasekhar filter.
            f_prod *= f;
            if !(1e-150..=1e150).contains(&f_prod) {
                stats.sum_log_f += f_prod.ln();
                f_prod = 1.0;
            }
            stats.n_eff += 1;
            ss.apply_t(&mut a, &mut tmp);
            let vf = v / f;
            for i in 0..k {
                let kt = gain[i] * f_steady + (0..ns).map(|j| tu[j * k + i] * su[j]).sum::<f64>();
                a[i] += kt * vf;
            }
            for j in 0..ns {
                let c = zu[j];
                for ((uj, t), g) in u_mat[j * k..(j + 1) * k]
                    .iter_mut()
                    .zip(&tu[j * k..(j + 1) * k])
                    .zip(&gain)
                {
                    *uj = t - g * c;
                }
            }
            for j in 0..ns {
                for l in 0..ns {
                    s_mat[j * LOW_RANK_MAX + l] -= su[j] * su[l] / f;
                }
            }
            // Back to the plain steady state once the correction is negligible next to P̄ (D is PSD).
            let mut tr_d = 0.0;
            for j in 0..ns {
                for l in 0..ns {
                    let (uj, ul) = (&u_mat[j * k..(j + 1) * k], &u_mat[l * k..(l + 1) * k]);
                    let dot: f64 = uj.iter().zip(ul).map(|(x, y)| x * y).sum();
                    tr_d += s_mat[j * LOW_RANK_MAX + l] * dot;
                }
            }
            if tr_d.abs() <= LOW_RANK_TOL * tr_pbar {
                ns = 0;
            }
            continue;
        }
        let lo = live.iter().position(|&l| l).unwrap_or(kd);
        if diffuse {
            if !missing {
                // Both covariances are zero outside the live rows and columns.
                m.fill(0.0);
                minf.fill(0.0);
                for i in (lo..k).filter(|&i| live[i]) {
                    m[i] = ss.z.iter().map(|&(c, v)| v * p[i * k + c]).sum();
                    minf[i] = ss.z.iter().map(|&(c, v)| v * pinf[i * k + c]).sum();
                }
                let finf = ss.z_dot(&minf);
                let fstar = ss.z_dot(&m);
                let v = yt - ss.z_dot(&a);
                if finf > DIFFUSE_TOL {
                    a.iter_mut().zip(&minf).for_each(|(x, mi)| *x += mi * v / finf);
                    let c = fstar / (finf * finf);
                    for i in (lo..k).filter(|&i| live[i]) {
                        let (mi, mfi) = (m[i], minf[i]);
                        let row = i * k + lo..(i + 1) * k;
                        p[row.clone()]
                            .iter_mut()
                            .zip(&m[lo..])
                            .zip(&minf[lo..])
                            .for_each(|((x, mj), mfj)| *x += c * mfi * mfj - (mi * mfj + mfi * mj) / finf);
                        pinf[row]
                            .iter_mut()
                            .zip(&minf[lo..])
                            .for_each(|(x, mfj)| *x -= mfi * mfj / finf);
                    }
                } else if fstar > 0.0 {
                    stats.ssq += v * v / fstar;
                    stats.sum_log_f += fstar.ln();
                    stats.n_eff += 1;
                    a.iter_mut().zip(&m).for_each(|(x, mi)| *x += mi * v / fstar);
                    for i in (lo..k).filter(|&i| live[i]) {
                        let mi = m[i] / fstar;
                        p[i * k + lo..(i + 1) * k]
                            .iter_mut()
                            .zip(&m[lo..])
                            .for_each(|(x, mj)| *x -= mi * mj);
                    }
                }
            }
            ss.apply_t(&mut a, &mut tmp);
            shift_live(&live, &mut live_new, missing);
            idx.clear();
            idx.extend((0..k).filter(|&j| live_new[j]));
            ss.predict_live(&mut pinf, &mut tmp_mat, &live, &live_new, &idx, false);
            ss.predict_live(&mut p, &mut tmp_mat, &live, &live_new, &idx, true);
            std::mem::swap(&mut live, &mut live_new);
            diffuse = idx
                .iter()
                .any(|&i| pinf[i * k..(i + 1) * k].iter().any(|v| v.abs() > DIFFUSE_TOL));
            continue;
        }
        if !missing {
            // P is zero outside the live rows and columns, so only those entries of M = P Z' are non-zero.
            m.fill(0.0);
            for i in lo..k {
                if live[i] {
                    m[i] = ss.z.iter().map(|&(c, v)| v * p[i * k + c]).sum();
                }
            }
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
            // m is zero at the dead indices, so the contiguous update leaves their (zero) entries unchanged.
            let inv_f = 1.0 / f;
            for i in lo..k {
                if live[i] {
                    let mi = m[i] * inv_f;
                    p[i * k + lo..(i + 1) * k]
                        .iter_mut()
                        .zip(&m[lo..])
                        .for_each(|(x, mj)| *x -= mi * mj);
                }
            }
        } else {
            f_prev = f64::NAN;
            quiet = 0;
        }
        ss.apply_t(&mut a, &mut tmp);
        shift_live(&live, &mut live_new, missing);
        idx.clear();
        idx.extend((0..k).filter(|&j| live_new[j]));
        ss.predict_live(&mut p, &mut tmp_mat, &live, &live_new, &idx, true);
        std::mem::swap(&mut live, &mut live_new);
    }
    if n_steady > 0 {
        stats.sum_log_f += n_steady as f64 * f_steady.ln();
        stats.n_eff += n_steady;
    }
    stats.sum_log_f += f_prod.ln();
    if keep_end && ns > 0 {
        add_low_rank(&mut p, &u_mat, &s_mat, ns);
        live_from_data(&mut live, kd, &y[..t]);
        zero_dead(&mut p, &live);
    }
    let end = keep_end.then_some(EndState {
        a,
        p,
        diffuse_left: diffuse,
    });
    (stats, end)
}
