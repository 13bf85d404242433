//! The exact diffuse Kalman filter over the full state, [`filter_full`]: missing values, the live-state
//! covariance update, and the low-rank correction of the steady state after gaps. The state-space model it runs
//! on, and the background, are in [`super::kalman`].

use super::kalman::{EndState, FilterStats, STEADY_TOL, StateSpace};

/// Most gaps the low-rank correction of the steady state tracks before the full filter takes over.
const LOW_RANK_MAX: usize = 8;
/// `tr(P − P̄) / tr(P̄)` below which the filter returns to the plain steady state after a gap.
const LOW_RANK_TOL: f64 = 1e-14;
/// `F∞` below this is zero (the diffuse part is resolved for that observation).
const DIFFUSE_TOL: f64 = 1e-8;

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
