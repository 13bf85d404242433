//! AutoARIMA by the stepwise algorithm of Hyndman & Khandakar (2008).
//!
//! 1. **d** — difference while the KPSS level-stationarity statistic (Newey–West variance with
//!    `⌊3√n / 13⌋` lags) exceeds its 5 % critical value 0.463, up to `max_d`.
//! 2. **D** — one seasonal difference when the seasonal strength `1 − Var(R) / Var(S + R)` exceeds 0.64, as in
//!    `forecast::nsdiffs`. The decomposition is a simpler stand-in for STL: a centred moving-average trend, and a
//!    seasonal component averaged over the 7 nearest cycles at each position.
//! 3. **Stepwise search** over `p, q, P, Q` and the constant (a mean without differencing, a drift with one):
//!    start from `(2,d,2)(1,D,1)`, `(0,d,0)(0,D,0)`, `(1,d,0)(1,D,0)`, `(0,d,1)(0,D,1)`, then move to the best
//!    neighbour (±1 on one or two orders, constant toggled) while AICc improves, within the bounds and at most
//!    `max_models` fits.
//! 4. On long series (`n > 150` or `m > 12`), and on any series with missing values, the search ranks models by
//!    the CSS likelihood (residuals that depend on a missing value are skipped); the best model, and
//!    up to two runners-up within 4 AICc units of it, are then refitted by exact maximum likelihood and the best
//!    exact AICc wins (further down the ranking if all of them fail).
//!
//! Missing values are dropped for the tests in steps 1–2 and skipped by the filter everywhere else.

use std::collections::HashMap;

use shadow_core::{Fit, FitInput, Named};

use super::{Arima, FittedArima, Method, Order, SeasonalOrder, Trend};
use crate::error::{Error, Result};

/// Automatic order selection. Build it with [`AutoArima::builder`].
#[derive(Debug, Clone)]
pub struct AutoArima {
    max_p: usize,
    max_q: usize,
    max_sp: usize,
    max_sq: usize,
    max_d: usize,
    max_sd: usize,
    period: usize,
    max_models: usize,
    approximation: Option<bool>,
}

/// Builder of [`AutoArima`].
#[derive(Debug, Clone)]
pub struct AutoArimaBuilder {
    inner: AutoArima,
}

impl Default for AutoArimaBuilder {
    fn default() -> Self {
        Self {
            inner: AutoArima {
                max_p: 5,
                max_q: 5,
                max_sp: 2,
                max_sq: 2,
                max_d: 2,
                max_sd: 1,
                period: 1,
                max_models: 94,
                approximation: None,
            },
        }
    }
}

impl AutoArimaBuilder {
    /// Season length in steps (1 = non-seasonal, the default).
    #[must_use]
    pub fn period(mut self, m: usize) -> Self {
        self.inner.period = m;
        self
    }

    /// Largest non-seasonal orders `p`, `q` (default 5, 5).
    #[must_use]
    pub fn max_order(mut self, p: usize, q: usize) -> Self {
        (self.inner.max_p, self.inner.max_q) = (p, q);
        self
    }

    /// Largest seasonal orders `P`, `Q` (default 2, 2).
    #[must_use]
    pub fn max_seasonal_order(mut self, p: usize, q: usize) -> Self {
        (self.inner.max_sp, self.inner.max_sq) = (p, q);
        self
    }

    /// Largest number of differences `d` (default 2) and seasonal differences `D` (default 1).
    #[must_use]
    pub fn max_diffs(mut self, d: usize, sd: usize) -> Self {
        (self.inner.max_d, self.inner.max_sd) = (d, sd);
        self
    }

    /// Whether to rank by CSS during the search (default: when `n > 150`, `m > 12` or a value is missing).
    #[must_use]
    pub fn approximation(mut self, on: bool) -> Self {
        self.inner.approximation = Some(on);
        self
    }

    /// Validates the bounds.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `max_d > 2` or `max_D > 1`.
    pub fn build(self) -> Result<AutoArima> {
        if self.inner.max_d > 2 || self.inner.max_sd > 1 {
            return Err(Error::InvalidParameter {
                name: "max_diffs",
                message: "at most d = 2, D = 1".into(),
            });
        }
        Ok(self.inner)
    }
}

/// The KPSS level-stationarity statistic of the present values of `y`.
#[must_use]
pub fn kpss_stat(y: &[f64]) -> f64 {
    let x: Vec<f64> = y.iter().copied().filter(|v| !v.is_nan()).collect();
    let n = x.len();
    if n < 3 {
        return 0.0;
    }
    let mean = x.iter().sum::<f64>() / n as f64;
    let e: Vec<f64> = x.iter().map(|v| v - mean).collect();
    let mut s = 0.0;
    let eta = e.iter().map(|v| {
        s += v;
        s * s
    });
    let eta: f64 = eta.sum::<f64>() / (n * n) as f64;
    let lags = (3.0 * (n as f64).sqrt() / 13.0) as usize;
    let mut lr = e.iter().map(|v| v * v).sum::<f64>() / n as f64;
    for l in 1..=lags.min(n - 1) {
        let w = 1.0 - l as f64 / (lags as f64 + 1.0);
        let g: f64 = (l..n).map(|t| e[t] * e[t - l]).sum::<f64>() / n as f64;
        lr += 2.0 * w * g;
    }
    if lr <= 0.0 { 0.0 } else { eta / lr }
}

/// Seasonal strength `max(0, 1 − Var(R)/Var(S + R))` from a moving-average additive decomposition with period
/// `m` (see the module docs).
#[must_use]
pub fn seasonal_strength(y: &[f64], m: usize) -> f64 {
    let n = y.len();
    if m < 2 || n < 2 * m + 1 {
        return 0.0;
    }
    // Centred moving average (2×m when m is even).
    let half = m / 2;
    let mut trend = vec![f64::NAN; n];
    for (t, tr) in trend.iter_mut().enumerate().take(n - half).skip(half) {
        let (mut s, mut w) = (0.0, 0.0);
        for k in 0..=2 * half {
            let weight = if m % 2 == 0 && (k == 0 || k == 2 * half) {
                0.5
            } else {
                1.0
            };
            let v = y[t + k - half];
            if !v.is_nan() {
                s += weight * v;
                w += weight;
            }
        }
        *tr = if w > 0.0 { s / w } else { f64::NAN };
    }
    let detr: Vec<f64> = y.iter().zip(&trend).map(|(a, b)| a - b).collect();
    // The seasonal component at t is the mean of the detrended values at the same position in the 7 nearest
    // cycles (STL's `s.window = 7` in spirit), so a seasonality that evolves, as a seasonal unit root makes it,
    // is still seasonal and not remainder.
    let n_cycles_each_side = 3isize;
    let var = |v: &[f64]| {
        let k = v.len() as f64;
        let mu = v.iter().sum::<f64>() / k;
        v.iter().map(|x| (x - mu) * (x - mu)).sum::<f64>() / k
    };
    let (mut rem, mut sr) = (Vec::new(), Vec::new());
    for (t, d) in detr.iter().enumerate() {
        if d.is_nan() {
            continue;
        }
        let (mut s, mut c) = (0.0, 0.0);
        for j in -n_cycles_each_side..=n_cycles_each_side {
            let idx = t as isize + j * m as isize;
            if idx >= 0 && (idx as usize) < n && !detr[idx as usize].is_nan() {
                s += detr[idx as usize];
                c += 1.0;
            }
        }
        rem.push(d - s / c);
        sr.push(*d);
    }
    if sr.len() < 3 {
        return 0.0;
    }
    let vsr = var(&sr);
    if vsr <= 0.0 {
        0.0
    } else {
        (1.0 - var(&rem) / vsr).max(0.0)
    }
}

fn diff(y: &[f64], lag: usize) -> Vec<f64> {
    (lag..y.len()).map(|t| y[t] - y[t - lag]).collect()
}

type Key = (usize, usize, usize, usize, bool);

/// How many of the best CSS-ranked models are refitted by exact ML at the end of an approximate search.
const REFIT_TOP: usize = 3;
/// Largest CSS AICc gap to the best model at which a runner-up is still refitted by exact ML.
const REFIT_WITHIN: f64 = 4.0;

impl AutoArima {
    /// A builder with the default bounds of `forecast::auto.arima`.
    #[must_use]
    pub fn builder() -> AutoArimaBuilder {
        AutoArimaBuilder::default()
    }

    /// Chooses `(d, D)` by the tests of the module docs.
    #[must_use]
    pub fn choose_diffs(&self, y: &[f64]) -> (usize, usize) {
        let m = self.period;
        let mut x = y.to_vec();
        let mut sd = 0;
        if m > 1 && self.max_sd > 0 && seasonal_strength(&x, m) > 0.64 {
            sd = 1;
            x = diff(&x, m);
        }
        let mut d = 0;
        while d < self.max_d && x.iter().filter(|v| !v.is_nan()).count() > 10 && kpss_stat(&x) > 0.463 {
            d += 1;
            x = diff(&x, 1);
        }
        (d, sd)
    }

    /// Runs the search on raw values with optional exogenous columns.
    ///
    /// # Errors
    /// [`Error::NotEnoughData`] when not even `(0,d,0)` can be fitted; [`Error::NoBestParameter`] when every
    /// candidate failed.
    pub fn fit_with(&self, y: &[f64], exog: &[Vec<f64>], names: &[String]) -> Result<FittedArima> {
        let present = y.iter().filter(|v| !v.is_nan()).count();
        if present < 4 {
            return Err(Error::NotEnoughData {
                need: 4,
                got: present,
            });
        }
        let mut m = self.period;
        let (mut d, mut sd) = self.choose_diffs(y);
        if m > 1 && present < 2 * m + 4 {
            // Too short for a seasonal model: documented fallback to non-seasonal.
            m = 1;
            sd = 0;
        }
        if m <= 1 {
            sd = 0;
        }
        d = d.min(self.max_d);
        // The search scores candidates by CSS (residuals touched by a missing value are skipped) on long or
        // seasonal series, as `auto.arima`, and also on any series with missing values, whatever its length:
        // the exact likelihood then needs the full Kalman filter, `O(k²)` per step instead of the `O(r)`
        // Chandrasekhar recursion. Only the best few CSS candidates are refitted by exact ML (see below), so the
        // model returned always carries the exact likelihood.
        let has_gaps = present < y.len();
        let approx = self.approximation.unwrap_or(y.len() > 150 || m > 12 || has_gaps);
        let mut cache: HashMap<Key, Option<f64>> = HashMap::new();
        let mut fits: HashMap<Key, FittedArima> = HashMap::new();
        let seasonal = m > 1;
        let model_for = |key: Key, method: Method| -> Option<Arima> {
            let (p, q, sp, sq, c) = key;
            let trend = if c {
                if d + sd == 0 {
                    Trend::Constant
                } else {
                    Trend::Drift
                }
            } else {
                Trend::None
            };
            Arima::builder()
                .order(Order::new(p, d, q))
                .seasonal(if seasonal {
                    SeasonalOrder::new(sp, sd, sq, m)
                } else {
                    SeasonalOrder::none()
                })
                .trend(trend)
                .method(method)
                .build()
                .ok()
        };
        let fit_one = |key: Key| -> Option<FittedArima> {
            let f = model_for(key, Method::CssMl)?.fit_values(y, exog, names).ok()?;
            f.aicc().is_finite().then_some(f)
        };
        let allow_c = d + sd <= 1;
        let mut eval = |key: Key, cache: &mut HashMap<Key, Option<f64>>| -> f64 {
            let (p, q, sp, sq, c) = key;
            if p > self.max_p || q > self.max_q || sp > self.max_sp || sq > self.max_sq || (c && !allow_c) {
                return f64::INFINITY;
            }
            if let Some(v) = cache.get(&key) {
                return v.unwrap_or(f64::INFINITY);
            }
            if cache.len() >= self.max_models {
                return f64::INFINITY;
            }
            // Cold starts, as in Hyndman–Khandakar: starting a model at its neighbour's optimum finds better CSS
            // fits on flat AR/MA ridges and drifts the search to larger, slower models.
            let score = if approx {
                model_for(key, Method::Css)
                    .and_then(|mdl| mdl.css_aicc(y, exog, None))
                    .map(|r| r.0)
            } else {
                fit_one(key).map(|f| {
                    let ic = f.aicc();
                    fits.insert(key, f);
                    ic
                })
            };
            cache.insert(key, score);
            score.unwrap_or(f64::INFINITY)
        };
        let s = usize::from(seasonal);
        let starts: [Key; 4] = [
            (2, 2, s, s, allow_c),
            (0, 0, 0, 0, allow_c),
            (1, 0, s, 0, allow_c),
            (0, 1, 0, s, allow_c),
        ];
        let mut best: Option<(f64, Key)> = None;
        for k in starts {
            let ic = eval(k, &mut cache);
            if ic < best.map_or(f64::INFINITY, |b| b.0) {
                best = Some((ic, k));
            }
        }
        let Some((mut best_ic, mut best_key)) = best else {
            return self.last_resort(y, exog, names, d, sd, m);
        };
        loop {
            let (p, q, sp, sq, c) = best_key;
            let mut moves: Vec<Key> = Vec::new();
            let dec = |v: usize| v.checked_sub(1);
            for (dp, dq) in [
                (-1i32, 0i32),
                (1, 0),
                (0, -1),
                (0, 1),
                (-1, -1),
                (1, 1),
                (-1, 1),
                (1, -1),
            ] {
                let np = if dp < 0 { dec(p) } else { Some(p + dp as usize) };
                let nq = if dq < 0 { dec(q) } else { Some(q + dq as usize) };
                if let (Some(np), Some(nq)) = (np, nq) {
                    moves.push((np, nq, sp, sq, c));
                }
            }
            if seasonal {
                for (dp, dq) in [(-1i32, 0i32), (1, 0), (0, -1), (0, 1), (-1, -1), (1, 1)] {
                    let np = if dp < 0 { dec(sp) } else { Some(sp + dp as usize) };
                    let nq = if dq < 0 { dec(sq) } else { Some(sq + dq as usize) };
                    if let (Some(np), Some(nq)) = (np, nq) {
                        moves.push((p, q, np, nq, c));
                    }
                }
            }
            moves.push((p, q, sp, sq, !c));
            let mut improved = false;
            for k in moves {
                let ic = eval(k, &mut cache);
                if ic < best_ic - 1e-9 {
                    (best_ic, best_key) = (ic, k);
                    improved = true;
                    break;
                }
            }
            if !improved || cache.len() >= self.max_models {
                break;
            }
        }
        if let Some(f) = fits.remove(&best_key) {
            return Ok(f);
        }
        // Refit the best models of the CSS ranking by exact ML and keep the best exact AICc (CSS and exact
        // likelihoods can order close models differently); further down the ranking only if those all fail.
        let mut ranked: Vec<(f64, Key)> = cache.iter().filter_map(|(k, v)| v.map(|ic| (ic, *k))).collect();
        ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut best_fit: Option<FittedArima> = None;
        let best_css = ranked.first().map_or(f64::INFINITY, |r| r.0);
        for (i, (ic, k)) in ranked.into_iter().enumerate() {
            // Runners-up are refitted only when their CSS criterion is close to the best one's.
            if best_fit.is_some() && (i >= REFIT_TOP || ic > best_css + REFIT_WITHIN) {
                break;
            }
            if let Some(f) = fit_one(k) {
                if best_fit.as_ref().is_none_or(|b| f.aicc() < b.aicc()) {
                    best_fit = Some(f);
                }
            }
        }
        if let Some(f) = best_fit {
            return Ok(f);
        }
        self.last_resort(y, exog, names, d, sd, m)
    }

    fn last_resort(
        &self,
        y: &[f64],
        exog: &[Vec<f64>],
        names: &[String],
        d: usize,
        sd: usize,
        m: usize,
    ) -> Result<FittedArima> {
        let seasonal = if m > 1 && sd > 0 {
            SeasonalOrder::new(0, sd, 0, m)
        } else {
            SeasonalOrder::none()
        };
        // Keep the level (or slope): a bare (0,d,0) without it would forecast zeros for a stationary series.
        let trend = match d + sd {
            0 => Trend::Constant,
            1 => Trend::Drift,
            _ => Trend::None,
        };
        Arima::builder()
            .order(Order::new(0, d, 0))
            .seasonal(seasonal)
            .trend(trend)
            .build()?
            .fit_values(y, exog, names)
    }

    /// Runs the search on raw values without regressors.
    ///
    /// # Errors
    /// As [`AutoArima::fit_with`].
    pub fn fit_values(&self, y: &[f64]) -> Result<FittedArima> {
        self.fit_with(y, &[], &[])
    }
}

impl Named for AutoArima {
    fn model_name(&self) -> &str {
        "auto-arima"
    }
}

impl Fit for AutoArima {
    type Fitted = FittedArima;
    type Error = Error;

    fn fit(&self, input: &FitInput<'_>) -> Result<FittedArima> {
        let s = input.series;
        let reg = input.regressors;
        let f = self.fit_with(s.values(), reg.columns(), reg.names())?;
        Ok(f.on_grid(s.start(), s.step()))
    }
}
