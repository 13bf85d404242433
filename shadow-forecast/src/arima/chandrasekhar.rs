//! The fast path for complete data: the exact likelihood of the differenced series by the Chandrasekhar
//! recursions (Morf, Sidhu & Kailath 1974; Herbst 2015), `O(r)` per observation, and the end state for
//! forecasting.
//!
//! It needs no missing values, because the recursions track the rank-one change of the state covariance that a
//! stationary start gives; a missing value would break that structure. [`super::kalman::filter_full`] handles
//! those series (with a low-rank correction of its steady state after gaps, in the same spirit).

use super::kalman::{FilterStats, STEADY_TOL, arma_state_cov};

/// Scratch buffers of [`filter_arma`], reused across likelihood evaluations.
#[derive(Debug, Clone, Default)]
pub struct ArmaWorkspace {
    a: Vec<f64>,
    k: Vec<f64>,
    w: Vec<f64>,
    phi: Vec<f64>,
}

/// The exact filter of a zero-mean ARMA process on complete data `w` (no `NaN`), in companion form, by the
/// Chandrasekhar recursions.
///
/// Started at the stationary covariance, the change `P_{t+1} − P_t` has rank one, `W_t M_t W_t'`, and stays rank
/// one. Tracking the gain `K_t = T P_t Z'`, `F_t`, `W_t` and `M_t` instead of `P_t` costs `O(r)` per observation
/// instead of `O(r²)`; with `Z = e₁` and a companion `T`:
/// `g = W[0]`, `F ← F + M g²`, `K ← K + M g T W`, `W ← T W − (g / F_old) K_old`, `M ← M F_old / F_new`.
/// Once `F` stops changing the gain is frozen (steady state). `None` when the AR part is not stationary.
#[must_use]
pub fn filter_arma(phi: &[f64], theta: &[f64], w: &[f64], ws: &mut ArmaWorkspace) -> Option<FilterStats> {
    let r = phi.len().max(theta.len() + 1);
    let p0 = arma_state_cov(phi, theta, r)?;
    ws.phi.clear();
    ws.phi.extend_from_slice(phi);
    ws.phi.resize(r + 1, 0.0);
    let ph = &ws.phi;
    // K_1 = T P_1 e₁, F_1 = P_1[0][0], W_1 = K_1, M_1 = −1/F_1.
    ws.a.clear();
    ws.a.resize(r + 1, 0.0);
    ws.k.clear();
    ws.k.extend((0..r).map(|i| ph[i] * p0[0] + if i + 1 < r { p0[(i + 1) * r] } else { 0.0 }));
    ws.k.push(0.0);
    ws.w.clear();
    ws.w.extend_from_slice(&ws.k);
    // Exact-length slices let the compiler drop the bounds checks of the `i` / `i + 1` accesses.
    let (a, k, wv, ph) = (&mut ws.a[..=r], &mut ws.k[..=r], &mut ws.w[..=r], &ph[..=r]);
    let mut f = p0[0];
    let mut m = -1.0 / f;
    let mut stats = FilterStats::default();
    let mut quiet = 0;
    let mut t = 0;
    let mut f_prod = 1.0f64;
    while t < w.len() {
        if f <= 0.0 || !f.is_finite() {
            return None;
        }
        let v = w[t] - a[0];
        stats.ssq += v * v / f;
        // ln is the most expensive operation of the step: multiply the F's and take one log per batch.
        f_prod *= f;
        if !(1e-150..=1e150).contains(&f_prod) {
            stats.sum_log_f += f_prod.ln();
            f_prod = 1.0;
        }
        stats.n_eff += 1;
        let a0 = a[0];
        let vf = v / f;
        t += 1;
        let g = wv[0];
        let df = m * g * g;
        quiet = if df.abs() <= STEADY_TOL * f { quiet + 1 } else { 0 };
        if quiet >= r {
            // a ← T a + K v / F for this step (a[r] and k[r] stay 0).
            for i in 0..r {
                a[i] = ph[i] * a0 + a[i + 1] + k[i] * vf;
            }
            // Steady state: F and K stay fixed. With `kf = K / F` and `c = φ − kf`,
            // `a ← c a₀ + shift(a) + kf w`, so the only serial dependency is one multiply-add on `a₀`.
            let inv_f = 1.0 / f;
            let kf: Vec<f64> = k[..r].iter().map(|v| v * inv_f).collect();
            let c: Vec<f64> = ph[..r].iter().zip(&kf).map(|(p, q)| p - q).collect();
            let ssq = match r {
                1 => steady_small::<1>(&c, &kf, &mut a[..2], &w[t..]),
                2 => steady_small::<2>(&c, &kf, &mut a[..3], &w[t..]),
                3 => steady_small::<3>(&c, &kf, &mut a[..4], &w[t..]),
                4 => steady_small::<4>(&c, &kf, &mut a[..5], &w[t..]),
                _ => {
                    let a = &mut a[..=r];
                    let mut ssq = 0.0;
                    for &wt in &w[t..] {
                        let a0 = a[0];
                        let v = wt - a0;
                        ssq += v * v;
                        for i in 0..r {
                            a[i] = c[i] * a0 + a[i + 1] + kf[i] * wt;
                        }
                    }
                    ssq
                }
            };
            let rest = w.len() - t;
            stats.ssq += ssq * inv_f;
            stats.sum_log_f += rest as f64 * f.ln();
            stats.n_eff += rest;
            break;
        }
        let f_new = f + df;
        let (gf, mg) = (g / f, m * g);
        // One fused pass: a ← T a + K v/F, then K ← K + M g T W and W ← T W − (g/F) K with the old K.
        for i in 0..r {
            let (phi, ki) = (ph[i], k[i]);
            a[i] = phi * a0 + a[i + 1] + ki * vf;
            let ui = phi * g + wv[i + 1];
            k[i] = ki + mg * ui;
            wv[i] = ui - gf * ki;
        }
        m = m * f / f_new;
        f = f_new;
    }
    stats.sum_log_f += f_prod.ln();
    Some(stats)
}

/// The predicted ARMA state after the last observation of complete data `w`: its statistics, mean `a_{n+1|n}`
/// and covariance `P_{n+1|n}` (row-major, unit variance), by the Chandrasekhar recursions with
/// `P_{t+1} = P_t + M_t W_t W_t'` accumulated until the increments vanish.
#[must_use]
pub fn arma_end_state(phi: &[f64], theta: &[f64], w: &[f64]) -> Option<(FilterStats, Vec<f64>, Vec<f64>)> {
    let r = phi.len().max(theta.len() + 1);
    let mut p = arma_state_cov(phi, theta, r)?;
    let mut ph = phi.to_vec();
    ph.resize(r + 1, 0.0);
    let mut a = vec![0.0; r + 1];
    let mut k: Vec<f64> = (0..r)
        .map(|i| ph[i] * p[0] + if i + 1 < r { p[(i + 1) * r] } else { 0.0 })
        .collect();
    k.push(0.0);
    let mut wv = k.clone();
    let (mut f, mut m) = (p[0], -1.0 / p[0]);
    let mut stats = FilterStats::default();
    let mut moving = true;
    for &wt in w {
        if f <= 0.0 || !f.is_finite() {
            return None;
        }
        let v = wt - a[0];
        stats.ssq += v * v / f;
        stats.sum_log_f += f.ln();
        stats.n_eff += 1;
        let (a0, vf, g) = (a[0], v / f, wv[0]);
        if moving {
            // P_{t+1} = P_t + M W W'.
            for i in 0..r {
                let c = m * wv[i];
                p[i * r..(i + 1) * r]
                    .iter_mut()
                    .zip(&wv[..r])
                    .for_each(|(x, wj)| *x += c * wj);
            }
        }
        let df = m * g * g;
        moving = moving && (df.abs() > 1e-15 * f || wv.iter().any(|x| x.abs() > 1e-12));
        let f_new = f + df;
        let (gf, mg) = (g / f, m * g);
        for i in 0..r {
            let (phi_i, ki) = (ph[i], k[i]);
            a[i] = phi_i * a0 + a[i + 1] + ki * vf;
            let ui = phi_i * g + wv[i + 1];
            k[i] = ki + mg * ui;
            wv[i] = ui - gf * ki;
        }
        m = m * f / f_new;
        f = f_new;
    }
    a.truncate(r);
    Some((stats, a, p))
}

/// The steady-state loop for a small fixed state size `R`, with the state in registers.
fn steady_small<const R: usize>(c: &[f64], kf: &[f64], a: &mut [f64], w: &[f64]) -> f64 {
    let c: [f64; R] = std::array::from_fn(|i| c[i]);
    let kf: [f64; R] = std::array::from_fn(|i| kf[i]);
    let mut s: [f64; R] = std::array::from_fn(|i| a[i]);
    let mut ssq = 0.0;
    for &wt in w {
        let a0 = s[0];
        let v = wt - a0;
        ssq += v * v;
        let mut next = [0.0; R];
        for i in 0..R {
            let shifted = if i + 1 < R { s[i + 1] } else { 0.0 };
            next[i] = c[i] * a0 + (shifted + kf[i] * wt);
        }
        s = next;
    }
    a[..R].copy_from_slice(&s);
    ssq
}
