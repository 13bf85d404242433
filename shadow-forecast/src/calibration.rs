//! Interval calibration from a few backtest folds that a model-selection step already ran.
//!
//! [`crate::conformal::Conformal`] needs about ten calibration folds, each a fit of the wrapped model. A
//! selection step such as [`crate::auto::Auto`] has already forecast a couple of folds with every candidate;
//! [`FoldCalibration`] learns from those forecasts at no extra fitting cost, with a treatment of the small
//! sample (a few folds of strongly correlated errors) that does not let the few folds decide alone.
//!
//! # Method
//!
//! 1. **Scores.** Each residual `r = y − ŷ` of the folds is divided by the model's own spread on that side of
//!    its point: `σ⁺ = (q0.9 − ŷ)/1.2816` for `r ≥ 0`, `σ⁻ = (ŷ − q0.1)/1.2816` below. This keeps the
//!    model's view of how uncertainty grows with the horizon and with the level, and its asymmetry (a model
//!    fitted in logs has a longer upper tail). A spread is floored at a tenth of the series' scale `d` (the
//!    mean absolute one-step change of the history: a model claiming less is degenerate) and replaced by `d√(h+1)` where the model gives none or one
//!    over a thousand times that.
//! 2. **Pool.** At predict time, with a horizon of `H` steps, the scores of the first `max(H, ⌈96/K⌉)` steps
//!    of each of the `K` folds are pooled: the errors near the requested horizon, and at least about 96
//!    scores, enough to see the tail of a 95 % interval.
//! 3. **Scale.** The model's spread claims the standard deviation of its errors, whatever their shape, so the
//!    root mean square `m` of the pooled scores says how far off that claim was on the folds (`m = 1`: right).
//!    A few folds are a tiny sample, and the folds that chose the model flatter it, so the ratio is only partly
//!    trusted: the model's own claim counts as one more fold, a shrinkage of the log ratio by `K/(K+1)`. The
//!    scale correction is `(1/m)^(1/(K+1))` on top of the empirical quantiles below (which carry all of `m`).
//! 4. **Tail shape.** The quantile `τ` is `ŷ ± σ± · Q(|s|, p′) · (1/m)^(1/(K+1))`, with `Q(|s|, ·)` the
//!    empirical quantile of the pooled absolute scores and `p = |2τ − 1|` widened to the conformal level
//!    `p′ = min(1, p·(1 + 1/n_eff))`. The empirical quantiles give the tail shape of the real errors: on
//!    spiky series a Gaussian spread fitted to the spikes is too wide at 80 % and about right at 95 %, and
//!    the empirical shape narrows the one and keeps the other. `n_eff = n(1 − ρ)/(1 + ρ)` is the effective
//!    sample of `n` pooled scores whose lag-one autocorrelation within a fold is `ρ` (the errors of one fold
//!    move together).
//! 5. **Bounds.** Quantiles are kept within the history's range widened by that range on both sides (and
//!    always around the point): a model whose own interval explodes (a log-scale spread exponentiated far
//!    ahead) would otherwise give bounds orders of magnitude beyond anything the series has done.
//!
//! The point forecast is the model's. Quantiles are monotone in the level at every step: one set of scores
//! and spreads per step, and a final non-decreasing rearrangement.
//!
//! ```
//! use std::time::Duration;
//! use chrono::{TimeZone, Utc};
//! use shadow_core::{Forecast, Quantile, TimeSeries};
//! use shadow_forecast::{backtest::Fold, calibration::FoldCalibration};
//!
//! let t0 = Utc.timestamp_opt(0, 0).unwrap();
//! let step = Duration::from_secs(60);
//! let values: Vec<f64> = (0..200).map(|i| 10.0 + (i % 7) as f64).collect();
//! let series = TimeSeries::new(t0, step, values.clone()).unwrap();
//! // A model that claims ±1 around 13 for the 80 % interval, on two folds.
//! let claim = |h: usize| {
//!     let levels = FoldCalibration::spread_levels().to_vec();
//!     Forecast::new(t0, step, vec![13.0; h], levels, vec![vec![12.0; h], vec![14.0; h]]).unwrap()
//! };
//! let folds: Vec<Fold> = [150, 175]
//!     .map(|o| Fold { origin: o, actual: values[o..o + 25].to_vec(), forecast: claim(25) })
//!     .to_vec();
//! let cal = FoldCalibration::from_folds(&series, &folds).unwrap();
//! let levels = [0.1, 0.5, 0.9].map(|v| Quantile::try_new(v).unwrap());
//! let f = cal.apply(&claim(10), &levels).unwrap();
//! // The real errors reach ±3: the calibrated 80 % interval is wider than the model's ±1.
//! assert!(f.quantile_paths()[2][0] - f.quantile_paths()[0][0] > 3.0);
//! ```

use shadow_core::{Forecast, Quantile, TimeSeries};

use crate::backtest::Fold;

/// The series' scale: the mean absolute one-step change of `values` (gaps skipped), or 1 where that is zero
/// or undefined.
pub(crate) fn step_scale(values: &[f64]) -> f64 {
    let (sum, n) = values
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .filter(|v| v.is_finite())
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    let m = sum / n.max(1) as f64;
    if m > 0.0 && m.is_finite() { m } else { 1.0 }
}

/// The quantile levels whose spread normalises the scores.
const SPREAD_LEVELS: [f64; 2] = [0.1, 0.9];
/// `Φ⁻¹(0.9)`: the half-width of the central 80 % normal interval in standard deviations.
const Z90: f64 = 1.281_551_565_544_600_5;
/// The share of the series' scale below which a model's spread is floored.
const SPREAD_FLOOR: f64 = 0.1;
/// The number of pooled scores aimed at (at least), whatever the requested horizon.
const MIN_POOLED: usize = 96;
/// Fewer usable scores than this and the folds are not used.
const MIN_SCORES: usize = 8;

/// Scores of a few backtest folds, turned into calibrated quantiles at predict time (see the
/// [module docs](self)).
#[derive(Debug, Clone, PartialEq)]
pub struct FoldCalibration {
    /// `scores[f][h]`: the signed score of fold `f` at step `h` (`NaN` where the actual is missing).
    scores: Vec<Vec<f64>>,
    /// The series' scale `d`: mean absolute one-step change of the history.
    scale: f64,
    /// The history's range widened by that range on both sides.
    bounds: (f64, f64),
}

impl FoldCalibration {
    /// The levels (0.1 and 0.9) whose spread normalises the scores: request them in the folds passed to
    /// [`FoldCalibration::from_folds`]; [`FoldCalibration::apply`] reads them from the raw forecast.
    #[must_use]
    pub fn spread_levels() -> [Quantile; 2] {
        SPREAD_LEVELS.map(|v| Quantile::try_new(v).expect("valid level"))
    }

    /// Learns the scores of `folds` (forecasts that should carry the quantiles 0.1 and 0.9) cut from
    /// `series`. `None` when fewer than 8 actuals could be scored.
    #[must_use]
    pub fn from_folds(series: &TimeSeries, folds: &[Fold]) -> Option<Self> {
        let values = series.values();
        let scale = step_scale(values);
        let (lo, hi) = values
            .iter()
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        if !lo.is_finite() {
            return None;
        }
        let range = (hi - lo).max(scale);
        let scores: Vec<Vec<f64>> = folds
            .iter()
            .map(|fold| {
                let point = fold.forecast.point();
                fold.actual
                    .iter()
                    .enumerate()
                    .take(point.len())
                    .map(|(h, &y)| {
                        let r = y - point[h];
                        let s = r / spread(&fold.forecast, h, scale, r >= 0.0);
                        if s.is_finite() { s } else { f64::NAN }
                    })
                    .collect()
            })
            .filter(|s: &Vec<f64>| s.iter().any(|v| !v.is_nan()))
            .collect();
        let usable = scores.iter().flatten().filter(|v| !v.is_nan()).count();
        (usable >= MIN_SCORES).then_some(Self {
            scores,
            scale,
            bounds: (lo - range, hi + range),
        })
    }

    /// The number of folds with a scored actual.
    #[must_use]
    pub fn folds(&self) -> usize {
        self.scores.len()
    }

    /// The number of scored actuals over all folds.
    #[must_use]
    pub fn scored(&self) -> usize {
        self.scores.iter().flatten().filter(|v| !v.is_nan()).count()
    }

    /// Replaces the quantiles of `raw` (which should carry the levels 0.1 and 0.9 for the spread) by
    /// calibrated ones at `levels`, keeping its point forecast.
    ///
    /// # Errors
    /// [`shadow_core::Error::InvalidInput`] when the levels are not strictly increasing.
    pub fn apply(&self, raw: &Forecast, levels: &[Quantile]) -> shadow_core::Result<Forecast> {
        let horizon = raw.horizon();
        let point = raw.point().to_vec();
        let k = self.scores.len();
        let pool = horizon.max(MIN_POOLED.div_ceil(k.max(1)));
        let per_fold: Vec<Vec<f64>> = self
            .scores
            .iter()
            .map(|s| s.iter().take(pool).copied().collect())
            .collect();
        let mut abs: Vec<f64> = per_fold
            .iter()
            .flatten()
            .filter(|v| !v.is_nan())
            .map(|v| v.abs())
            .collect();
        abs.sort_by(f64::total_cmp);
        let n = abs.len();
        let mut paths = vec![point.clone(); levels.len()];
        if n > 0 {
            let rms = (abs.iter().map(|v| v * v).sum::<f64>() / n as f64)
                .sqrt()
                .max(1e-9);
            let shrink = rms.powf(-1.0 / (k as f64 + 1.0));
            let n_eff = effective_sample(&per_fold);
            for (path, level) in paths.iter_mut().zip(levels) {
                let tau = level.get();
                if tau == 0.5 {
                    continue;
                }
                let p = ((2.0 * tau - 1.0).abs() * (1.0 + 1.0 / n_eff)).min(1.0);
                let g = empirical_quantile(&abs, p) * shrink;
                let upper = tau > 0.5;
                for (h, v) in path.iter_mut().enumerate() {
                    let sigma = spread(raw, h, self.scale, upper);
                    let q = if upper {
                        point[h] + sigma * g
                    } else {
                        point[h] - sigma * g
                    };
                    let (lo, hi) = (self.bounds.0.min(point[h]), self.bounds.1.max(point[h]));
                    *v = if q.is_finite() { q.clamp(lo, hi) } else { point[h] };
                }
            }
        }
        // Guard against rounding: a non-decreasing rearrangement per step.
        for h in 0..horizon {
            for j in 1..paths.len() {
                if paths[j][h] < paths[j - 1][h] {
                    paths[j][h] = paths[j - 1][h];
                }
            }
        }
        Forecast::new(raw.start(), raw.step(), point, levels.to_vec(), paths)
    }
}

/// The model's spread on one side of its point at step `h`: `(q0.9 − ŷ)/1.2816` above (`upper`),
/// `(ŷ − q0.1)/1.2816` below, at least `scale/10`, or `scale·√(h+1)` when the forecast has no such quantile
/// or the spread is not finite or over a thousand times that.
fn spread(f: &Forecast, h: usize, scale: f64, upper: bool) -> f64 {
    let target = SPREAD_LEVELS[usize::from(upper)];
    let fallback = scale * ((h + 1) as f64).sqrt();
    let Some(k) = f.levels().iter().position(|l| (l.get() - target).abs() < 1e-12) else {
        return fallback;
    };
    let q = f.quantile_paths()[k][h];
    let s = if upper { q - f.point()[h] } else { f.point()[h] - q } / Z90;
    if s.is_finite() && s < 1e3 * fallback {
        s.max(SPREAD_FLOOR * scale)
    } else {
        fallback
    }
}

/// The effective number of independent scores: `n(1 − ρ)/(1 + ρ)` with `ρ` the lag-one autocorrelation of
/// the scores within each fold (about their pooled mean), clamped to `[0, 0.99]`; at least 1.
fn effective_sample(folds: &[Vec<f64>]) -> f64 {
    let all: Vec<f64> = folds.iter().flatten().copied().filter(|v| !v.is_nan()).collect();
    let n = all.len() as f64;
    if all.len() < 3 {
        return n.max(1.0);
    }
    let mean = all.iter().sum::<f64>() / n;
    let var: f64 = all.iter().map(|v| (v - mean).powi(2)).sum();
    let cov: f64 = folds
        .iter()
        .flat_map(|f| f.windows(2))
        .filter(|w| !w[0].is_nan() && !w[1].is_nan())
        .map(|w| (w[0] - mean) * (w[1] - mean))
        .sum();
    let rho = if var > 0.0 {
        (cov / var).clamp(0.0, 0.99)
    } else {
        0.0
    };
    (n * (1.0 - rho) / (1.0 + rho)).max(1.0)
}

/// The empirical `p`-quantile of sorted, non-empty `values`, interpolating linearly between order statistics.
fn empirical_quantile(values: &[f64], p: f64) -> f64 {
    let pos = p.clamp(0.0, 1.0) * (values.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos.fract());
    let j = (i + 1).min(values.len() - 1);
    values[i] + frac * (values[j] - values[i])
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::test_support::noise;

    fn t0() -> chrono::DateTime<Utc> {
        Utc.timestamp_opt(0, 0).unwrap()
    }

    /// A forecast of `point` with the quantiles 0.1 and 0.9 at `point ± 1.2816·sigma` (a Gaussian claim).
    fn claim(point: Vec<f64>, sigma: f64) -> Forecast {
        let lo = point.iter().map(|p| p - Z90 * sigma).collect();
        let hi = point.iter().map(|p| p + Z90 * sigma).collect();
        Forecast::new(
            t0(),
            Duration::from_secs(60),
            point,
            FoldCalibration::spread_levels().to_vec(),
            vec![lo, hi],
        )
        .unwrap()
    }

    fn series(values: Vec<f64>) -> TimeSeries {
        TimeSeries::new(t0(), Duration::from_secs(60), values).unwrap()
    }

    /// Coverage of the central `level` interval of `f` on `actual`.
    fn coverage(f: &Forecast, actual: &[f64], level: f64) -> f64 {
        let lo = f.nearest_quantile(0.5 - level / 2.0);
        let hi = f.nearest_quantile(0.5 + level / 2.0);
        crate::metrics::coverage(actual, lo, hi).unwrap()
    }

    /// Two folds of `len` steps of noise `e` around a flat 100, each forecast with a Gaussian claim of
    /// `sigma`; plus the series they were cut from and the next `len` actuals (held out).
    fn setup(e: &[f64], len: usize, sigma: f64) -> (TimeSeries, Vec<Fold>, Vec<f64>) {
        let y: Vec<f64> = e.iter().map(|v| 100.0 + v).collect();
        let n = y.len() - len;
        let folds = [n - 2 * len, n - len]
            .map(|o| Fold {
                origin: o,
                actual: y[o..o + len].to_vec(),
                forecast: claim(vec![100.0; len], sigma),
            })
            .to_vec();
        (series(y[..n].to_vec()), folds, y[n..].to_vec())
    }

    fn levels() -> Vec<Quantile> {
        [0.025, 0.1, 0.5, 0.9, 0.975]
            .map(|v| Quantile::try_new(v).unwrap())
            .to_vec()
    }

    #[test]
    fn too_narrow_and_too_wide_claims_move_towards_the_truth() {
        // Independent N(0, 2²) errors, held out on a long stretch so that the coverage is not noise.
        let e: Vec<f64> = noise(3, 4000).iter().map(|v| 2.0 * v).collect();
        let held: Vec<f64> = e[1200..].iter().map(|v| 100.0 + v).collect();
        let true_width = 2.0 * Z90 * 2.0;
        for sigma in [0.5, 8.0] {
            let (s, folds, _) = setup(&e[..1200], 400, sigma);
            let cal = FoldCalibration::from_folds(&s, &folds).unwrap();
            let raw = claim(vec![100.0; held.len()], sigma);
            let f = cal.apply(&raw, &levels()).unwrap();
            assert_eq!(f.point(), raw.point());
            // Two folds: the log width error shrinks to about a third (1/(K+1)), in the right direction.
            let width = f.nearest_quantile(0.9)[0] - f.nearest_quantile(0.1)[0];
            let (raw_err, cal_err) = ((2.0 * Z90 * sigma / true_width).ln(), (width / true_width).ln());
            assert!(
                cal_err * raw_err > 0.0 && cal_err.abs() < 0.45 * raw_err.abs(),
                "sigma {sigma}: log width error {raw_err} -> {cal_err}"
            );
        }
        // A right claim stays right.
        let (s, folds, _) = setup(&e[..1200], 400, 2.0);
        let cal = FoldCalibration::from_folds(&s, &folds).unwrap();
        let f = cal
            .apply(&claim(vec![100.0; held.len()], 2.0), &levels())
            .unwrap();
        let (cal80, cal95) = (coverage(&f, &held, 0.8), coverage(&f, &held, 0.95));
        assert!((0.77..=0.85).contains(&cal80), "80% covers {cal80}");
        assert!((0.93..=0.975).contains(&cal95), "95% covers {cal95}");
    }

    #[test]
    fn heavy_tails_narrow_the_80_percent_interval_and_keep_the_95() {
        // Mostly small errors with rare large spikes: a Gaussian sigma matched to their standard deviation
        // makes the 80 % interval far too wide. The calibrated one narrows it and keeps 95 % covered.
        let base = noise(5, 6000);
        let e: Vec<f64> = base
            .iter()
            .enumerate()
            .map(|(i, v)| if i % 29 == 0 { 25.0 * v } else { 0.5 * v })
            .collect();
        let sd = (e.iter().map(|v| v * v).sum::<f64>() / e.len() as f64).sqrt();
        let (s, folds, _) = setup(&e[..1500], 500, sd);
        let cal = FoldCalibration::from_folds(&s, &folds).unwrap();
        let held: Vec<f64> = e[1500..].iter().map(|v| 100.0 + v).collect();
        let raw = claim(vec![100.0; held.len()], sd);
        let f = cal.apply(&raw, &levels()).unwrap();
        let raw80 = coverage(&raw, &held, 0.8);
        let (cal80, cal95) = (coverage(&f, &held, 0.8), coverage(&f, &held, 0.95));
        assert!(raw80 > 0.93, "the Gaussian claim covers {raw80} at 80%");
        assert!((0.75..=0.88).contains(&cal80), "80% covers {cal80}");
        assert!((0.93..=0.99).contains(&cal95), "95% covers {cal95}");
        let width = |f: &Forecast, a: f64, b: f64| f.nearest_quantile(b)[0] - f.nearest_quantile(a)[0];
        assert!(width(&f, 0.1, 0.9) < 0.5 * width(&raw, 0.1, 0.9));
    }

    #[test]
    fn quantiles_are_monotone_bounded_and_keep_the_point() {
        let e = noise(9, 300);
        let (s, folds, _) = setup(&e, 100, 1.0);
        let cal = FoldCalibration::from_folds(&s, &folds).unwrap();
        assert_eq!(cal.folds(), 2);
        assert_eq!(cal.scored(), 200);
        // An exploding raw interval (1e9 wide) stays within the history's range widened by that range.
        let mut raw = claim(vec![100.0; 30], 1.0);
        raw.quantile_paths_mut()[1][29] = 1e9;
        let many: Vec<Quantile> = (1..20)
            .map(|i| Quantile::try_new(i as f64 / 20.0).unwrap())
            .collect();
        let f = cal.apply(&raw, &many).unwrap();
        let (lo, hi) = e[..100]
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(*v), b.max(*v))
            });
        for h in 0..30 {
            let col: Vec<f64> = f.quantile_paths().iter().map(|p| p[h]).collect();
            assert!(col.windows(2).all(|w| w[0] <= w[1]), "step {h}: {col:?}");
            assert!(
                col.iter()
                    .all(|v| *v >= 100.0 + 2.0 * lo - hi - 1e-9 && *v <= 100.0 + 2.0 * hi - lo + 1e-9)
            );
            assert!(f.quantile_paths()[9][h] == 100.0, "the median is the point");
        }
    }

    #[test]
    fn too_few_scores_give_none() {
        let e = noise(1, 40);
        let (s, mut folds, _) = setup(&e, 3, 1.0);
        assert!(FoldCalibration::from_folds(&s, &folds).is_none());
        folds.iter_mut().for_each(|f| f.actual = vec![f64::NAN; 3]);
        assert!(FoldCalibration::from_folds(&s, &folds).is_none());
    }
}
