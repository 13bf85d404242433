//! The ETS recursions, the likelihood, the heuristic initial states and the smoothing-parameter fit.
//!
//! The state after time `t` is a level `l`, a trend `b` and a ring of `m` seasonal indices where `s[t % m]`
//! is the index used at time `t`. With `q = l + φb` (or `l` without a trend) the one-step forecast is `q`,
//! `q + s` or `q·s`; the updates are the error-correction form of Hyndman et al. (2008), which do not
//! depend on the error type (the error type changes only the likelihood and the variance):
//!
//! - level: `l' = q + α(p − q)` with `p = y`, `y − s` or `y / s`;
//! - trend: `b' = φb + β(l' − l − φb)/α`;
//! - season: `s' = s + γ(u − s)` with `u = y − q` or `y / q`.
//!
//! A missing observation (`NaN`) propagates the state with its forecast.

use super::{ErrorKind, EtsSpec, SeasonKind, TrendKind};
use crate::nelder_mead;

/// Smoothing parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Smoothing {
    pub alpha: f64,
    pub beta: f64,
    pub gamma: f64,
    pub phi: f64,
}

/// The state after the last observation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct State {
    pub level: f64,
    pub trend: f64,
    /// `season[t % m]` is the index for time `t`.
    pub season: Vec<f64>,
}

/// What a pass of the recursions gives.
#[derive(Debug, Clone)]
pub(crate) struct Pass {
    /// Sum of squared errors (relative errors for a multiplicative error).
    pub sse: f64,
    /// Sum of `ln|ŷ|` (multiplicative error only).
    pub log_scale: f64,
    /// Present observations.
    pub n: usize,
    pub state: State,
}

/// Runs the recursions over `y` from `init` (whose seasonal ring is indexed from time 0).
pub(crate) fn pass(spec: &EtsSpec, p: &Smoothing, init: &State, y: &[f64]) -> Option<Pass> {
    pass_recording(spec, p, init, y, None)
}

/// As [`pass`], also writing each one-step forecast `ŷ_t` to `fitted` when given.
pub(crate) fn pass_recording(
    spec: &EtsSpec,
    p: &Smoothing,
    init: &State,
    y: &[f64],
    mut fitted: Option<&mut Vec<f64>>,
) -> Option<Pass> {
    let m = spec.period.max(1);
    let mut st = init.clone();
    let (mut sse, mut log_scale, mut n) = (0.0, 0.0, 0usize);
    let phi = match spec.trend {
        TrendKind::Damped => p.phi,
        _ => 1.0,
    };
    for (t, &yt) in y.iter().enumerate() {
        let q = match spec.trend {
            TrendKind::None => st.level,
            _ => st.level + phi * st.trend,
        };
        let si = t % m;
        let s = st.season.get(si).copied().unwrap_or(0.0);
        let yhat = match spec.season {
            SeasonKind::None => q,
            SeasonKind::Additive => q + s,
            SeasonKind::Multiplicative => q * s,
        };
        if !yhat.is_finite() {
            return None;
        }
        if let Some(f) = fitted.as_deref_mut() {
            f.push(yhat);
        }
        if yt.is_nan() {
            st.level = q;
            st.trend *= phi;
            continue;
        }
        let e = yt - yhat;
        match spec.error {
            ErrorKind::Additive => sse += e * e,
            ErrorKind::Multiplicative => {
                if yhat <= 0.0 {
                    return None;
                }
                let r = e / yhat;
                sse += r * r;
                log_scale += yhat.ln();
            }
        }
        n += 1;
        let pv = match spec.season {
            SeasonKind::None => yt,
            SeasonKind::Additive => yt - s,
            SeasonKind::Multiplicative => yt / s,
        };
        let old_level = st.level;
        st.level = q + p.alpha * (pv - q);
        if spec.trend != TrendKind::None {
            let r = st.level - old_level;
            st.trend = phi * st.trend + p.beta / p.alpha * (r - phi * st.trend);
        }
        match spec.season {
            SeasonKind::None => {}
            SeasonKind::Additive => st.season[si] = s + p.gamma * (yt - q - s),
            SeasonKind::Multiplicative => {
                if q.abs() < 1e-300 {
                    return None;
                }
                st.season[si] = s + p.gamma * (yt / q - s);
            }
        }
    }
    (sse.is_finite() && n > 0).then_some(Pass {
        sse,
        log_scale,
        n,
        state: st,
    })
}

/// `−2 log L` up to a constant, concentrated over σ².
pub(crate) fn neg2_loglik(spec: &EtsSpec, pass: &Pass) -> f64 {
    let n = pass.n as f64;
    let base = n * (pass.sse / n).max(1e-300).ln();
    match spec.error {
        ErrorKind::Additive => base,
        ErrorKind::Multiplicative => base + 2.0 * pass.log_scale,
    }
}

/// Heuristic initial states: a centred moving average over the first seasons gives the seasonal indices,
/// and a line through the first seasonally adjusted values gives the level and trend.
pub(crate) fn initial_state(spec: &EtsSpec, y: &[f64]) -> State {
    let m = spec.period.max(1);
    let mut season = vec![
        match spec.season {
            SeasonKind::Multiplicative => 1.0,
            _ => 0.0,
        };
        m
    ];
    if spec.season != SeasonKind::None && m > 1 {
        let span = y.len();
        let ma = centred_ma(&y[..span], m);
        let mut sum = vec![0.0; m];
        let mut cnt = vec![0usize; m];
        for (t, (&v, a)) in y[..span].iter().zip(&ma).enumerate() {
            let Some(a) = a else { continue };
            if v.is_nan() {
                continue;
            }
            let d = match spec.season {
                SeasonKind::Multiplicative if *a > 0.0 => v / a,
                SeasonKind::Multiplicative => continue,
                _ => v - a,
            };
            sum[t % m] += d;
            cnt[t % m] += 1;
        }
        for i in 0..m {
            if cnt[i] > 0 {
                season[i] = sum[i] / cnt[i] as f64;
            }
        }
        // Normalise: additive indices sum to 0, multiplicative average 1.
        let mean = season.iter().sum::<f64>() / m as f64;
        match spec.season {
            SeasonKind::Multiplicative if mean > 0.0 => season.iter_mut().for_each(|s| *s /= mean),
            SeasonKind::Multiplicative => season.iter_mut().for_each(|s| *s = 1.0),
            _ => season.iter_mut().for_each(|s| *s -= mean),
        }
    }
    let k = y.len().min(if m > 1 { m.max(10) } else { 10 });
    let adj: Vec<(f64, f64)> = y[..k]
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.is_nan())
        .map(|(t, &v)| {
            let v = match spec.season {
                SeasonKind::None => v,
                SeasonKind::Additive => v - season[t % m],
                SeasonKind::Multiplicative => v / season[t % m],
            };
            (t as f64, v)
        })
        .collect();
    let (level, trend) = line(&adj);
    let trend = if spec.trend == TrendKind::None { 0.0 } else { trend };
    // The state "before time 0": the level one step back along the line.
    State {
        level: level - trend,
        trend,
        season,
    }
}

/// Intercept and slope of a least-squares line through `(t, v)`; the mean and 0 with fewer than 2 points.
fn line(pts: &[(f64, f64)]) -> (f64, f64) {
    let n = pts.len() as f64;
    if pts.is_empty() {
        return (0.0, 0.0);
    }
    let mt = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let mv = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let stt: f64 = pts.iter().map(|p| (p.0 - mt).powi(2)).sum();
    if stt <= 0.0 {
        return (mv, 0.0);
    }
    let slope = pts.iter().map(|p| (p.0 - mt) * (p.1 - mv)).sum::<f64>() / stt;
    (mv - slope * mt, slope)
}

/// A centred moving average of order `m` (a 2×m average for even `m`); `None` near the ends and where the
/// window has a gap.
fn centred_ma(y: &[f64], m: usize) -> Vec<Option<f64>> {
    let n = y.len();
    let mut out = vec![None; n];
    let half = m / 2;
    for (t, slot) in out.iter_mut().enumerate().take(n.saturating_sub(half)).skip(half) {
        let (lo, hi) = (t - half, t + half);
        let w = &y[lo..=hi.min(n - 1)];
        if w.len() != 2 * half + 1 || w.iter().any(|v| v.is_nan()) {
            continue;
        }
        let v = if m % 2 == 1 {
            w.iter().sum::<f64>() / m as f64
        } else {
            (w[1..w.len() - 1].iter().sum::<f64>() + 0.5 * (w[0] + w[w.len() - 1])) / m as f64
        };
        *slot = Some(v);
    }
    out
}

/// The result of fitting one specification.
#[derive(Debug, Clone)]
pub(crate) struct Fitted {
    pub smoothing: Smoothing,
    pub pass: Pass,
    /// Number of estimated parameters (smoothing, initial states and σ²).
    pub n_params: usize,
    pub neg2ll: f64,
}

impl Fitted {
    pub(crate) fn aicc(&self) -> f64 {
        let (n, k) = (self.pass.n as f64, self.n_params as f64);
        let aic = self.neg2ll + 2.0 * k;
        if n - k - 1.0 > 0.0 {
            aic + 2.0 * k * (k + 1.0) / (n - k - 1.0)
        } else {
            f64::INFINITY
        }
    }
}

/// Fits the smoothing parameters (and the initial level and trend) by minimising `−2 log L` with
/// Nelder–Mead. The seasonal initial indices keep their heuristic values. `y` is in units where its scale
/// is about 1.
pub(crate) fn fit(spec: &EtsSpec, y: &[f64]) -> Option<Fitted> {
    let init = initial_state(spec, y);
    let has_trend = spec.trend != TrendKind::None;
    let has_season = spec.season != SeasonKind::None;
    let damped = spec.trend == TrendKind::Damped;
    let m = spec.period.max(1) as f64;
    let alpha0 = 0.0001 + 0.2 * 0.9998 / if has_season { m } else { 1.0 };
    let alpha0 = alpha0.max(0.05);
    let mut x0 = vec![alpha0];
    let mut steps = vec![0.1];
    if has_trend {
        x0.push(0.1 * alpha0);
        steps.push(0.02);
    }
    if has_season {
        x0.push(0.05 * (1.0 - alpha0));
        steps.push(0.05);
    }
    if damped {
        x0.push(0.97);
        steps.push(0.02);
    }
    let scale = y.iter().filter(|v| !v.is_nan()).map(|v| v.abs()).sum::<f64>()
        / y.iter().filter(|v| !v.is_nan()).count().max(1) as f64;
    let scale = if scale > 0.0 { scale } else { 1.0 };
    x0.push(init.level);
    steps.push(0.05 * scale);
    if has_trend {
        x0.push(init.trend);
        steps.push(0.01 * scale);
    }
    let unpack = |x: &[f64]| -> Option<(Smoothing, State)> {
        let mut i = 0;
        let mut take = || {
            let v = x[i];
            i += 1;
            v
        };
        let alpha = take();
        let beta = if has_trend { take() } else { 0.0 };
        let gamma = if has_season { take() } else { 0.0 };
        let phi = if damped { take() } else { 1.0 };
        let level = take();
        let trend = if has_trend { take() } else { 0.0 };
        let ok = (1e-4..=0.9999).contains(&alpha)
            && (!has_trend || (1e-4 <= beta && beta <= alpha))
            && (!has_season || (1e-4 <= gamma && gamma <= 1.0 - alpha))
            && (!damped || (0.8..=0.98).contains(&phi));
        ok.then(|| {
            (
                Smoothing {
                    alpha,
                    beta,
                    gamma,
                    phi,
                },
                State {
                    level,
                    trend,
                    season: init.season.clone(),
                },
            )
        })
    };
    let objective = |x: &[f64]| -> f64 {
        let Some((p, s)) = unpack(x) else {
            return f64::INFINITY;
        };
        pass(spec, &p, &s, y).map_or(f64::INFINITY, |r| neg2_loglik(spec, &r))
    };
    let iters = 120 * x0.len();
    let (x, v) = nelder_mead::minimize(objective, &x0, &steps, 1e-7, iters);
    if !v.is_finite() {
        return None;
    }
    let (smoothing, init) = unpack(&x)?;
    let pass = pass(spec, &smoothing, &init, y)?;
    let n_params = x.len() + if has_season { spec.period - 1 } else { 0 } + 1;
    Some(Fitted {
        smoothing,
        neg2ll: neg2_loglik(spec, &pass),
        pass,
        n_params,
    })
}

/// Point forecasts `h = 1..=horizon` from the final state.
pub(crate) fn point(spec: &EtsSpec, p: &Smoothing, st: &State, n: usize, horizon: usize) -> Vec<f64> {
    let m = spec.period.max(1);
    let mut damp_sum = 0.0;
    let mut phi_h = 1.0;
    (1..=horizon)
        .map(|h| {
            let trend = match spec.trend {
                TrendKind::None => 0.0,
                TrendKind::Additive => h as f64 * st.trend,
                TrendKind::Damped => {
                    phi_h *= p.phi;
                    damp_sum += phi_h;
                    damp_sum * st.trend
                }
            };
            let q = st.level + trend;
            let s = st.season.get((n + h - 1) % m).copied().unwrap_or(0.0);
            match spec.season {
                SeasonKind::None => q,
                SeasonKind::Additive => q + s,
                SeasonKind::Multiplicative => q * s,
            }
        })
        .collect()
}

/// The multipliers `1 + Σ_{j<h} c_j²` of the one-step variance for `h = 1..=horizon`, with `c_j` of the
/// linear (additive) model of the same components; exact for additive-error models without multiplicative
/// seasonality, a first-order approximation otherwise.
pub(crate) fn variance_multipliers(spec: &EtsSpec, p: &Smoothing, horizon: usize) -> Vec<f64> {
    let m = spec.period.max(1);
    let mut acc = 1.0;
    let mut phi_j = 0.0;
    let mut phi_pow = 1.0;
    let mut out = Vec::with_capacity(horizon);
    for h in 1..=horizon {
        out.push(acc);
        let j = h; // c_j for the next step
        let trend = match spec.trend {
            TrendKind::None => 0.0,
            TrendKind::Additive => p.beta * j as f64,
            TrendKind::Damped => {
                phi_pow *= p.phi;
                phi_j += phi_pow;
                p.beta * phi_j
            }
        };
        let season = if spec.season != SeasonKind::None && m > 1 && j % m == 0 {
            p.gamma
        } else {
            0.0
        };
        let c = p.alpha + trend + season;
        acc += c * c;
    }
    out
}
