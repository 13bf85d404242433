//! Turning point predictions into calibrated upper bounds, judged on their own recent errors.
//!
//! A [`SkillCalibrator`] follows several predictors of the demand one lead time ahead: typically the
//! forecast, *persistence* (the demand now, which is what a reactive autoscaler bets on) and a smoothed level.
//! For each it keeps the scaled errors of the last `window` outcomes, `r = (actual − predicted) / scale`, and
//! bounds the next outcome by `predicted + scale × h`. The scale is given by the caller (typically the
//! series' recent volatility, so that errors of a noisy count and of a smooth utilisation compare) or,
//! without one, the prediction itself (relative errors); never below a floor. How `h` is
//! chosen is the [`Objective`]:
//!
//! - [`Objective::Quantile`]: `h` is the empirical (conformal) quantile of the errors at a fixed level;
//! - [`Objective::Cost`]: `h` minimises the expected cost of the step, `ratio × (predicted + scale × h) +
//!   need × P(r > h)`, with `need` the mean demand of the window: headroom is paid for at its price all the
//!   time, a shortfall (priced like the capacity the service needs, the same at every hour) only when the
//!   error exceeds it. `ratio` is the price of headroom over the shortfall penalty. Where errors are
//!   heavy-tailed (sudden, non-recurring jumps), covering the tail costs more than it saves and the bound
//!   stops short of it; where errors are tight, the bound covers nearly all of them.
//!
//! By default all the window's errors size every bound. With [`SkillCalibrator::with_local_share`], only
//! those of the outcomes whose predictions were nearest the current one do: the errors are then conditional
//! on the level, so that where noise does not grow in proportion to the level (counts), quiet hours and
//! busy hours each get the headroom of their own noise.
//!
//! Errors after a miss are not like the others: a burst that has just begun tends to go on growing (a
//! disk flush, a news story), while a quiet step tells little about the next one. So the calibrator keeps,
//! beside the record of every step, a record of the steps that follow a miss ([`Regime::AfterMiss`]: the
//! demand just observed exceeded the bound planned for it). Once it holds enough outcomes
//! ([`SkillCalibrator::with_after_miss_min`], 20 by default), a bound asked for in that regime is sized
//! from it alone, predictor choice included; shortfall is still priced by the demand of every step. Misses
//! are rare, so the headroom bought there is cheap in total, and it is bought exactly where a burst's
//! second step would otherwise be missed too.
//!
//! Which predictor to trust is decided by skill: the one with the lower loss wins (the pinball loss of its
//! bound over the window for a quantile; the expected cost of this step, from its own error record, for the
//! cost objective). The expected cost uses each predictor's unconditional error record, so a forecast
//! that foresees a rare ramp is not preferred at that moment for it: the cost objective trades those ramps
//! for lower cost on the rest of the series. Where the forecast has no skill,
//! persistence or the smoothed level wins, and the bound is reactive scaling with headroom sized by the
//! series' own recent errors.
//!
//! Everything is indexed by step number, so the calibrator holds no clock and is deterministic.
//!
//! ```
//! use shadow_core::planner::calibrate::{Objective, SkillCalibrator};
//!
//! let mut cal = SkillCalibrator::new(Objective::Quantile(0.9), 2, 50, 1.0).unwrap();
//! // Demand alternates 10, 12, 10, 12...; the forecast (predictor 0) knows the pattern, persistence lags it.
//! for t in 0..200usize {
//!     let actual = if t % 2 == 0 { 10.0 } else { 12.0 };
//!     cal.observe(t, actual);
//!     let next = if (t + 1) % 2 == 0 { 10.0 } else { 12.0 };
//!     cal.predict(t + 1, &[Some(next), Some(actual)], None);
//! }
//! let bound = cal.bound(&[Some(12.0), Some(10.0)], None).unwrap();
//! assert_eq!(bound.predictor, 0);
//! assert!((bound.value - 12.0).abs() < 1e-9);
//! ```

use std::collections::VecDeque;

use crate::error::{Error, Result};

/// How the headroom above a prediction is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Objective {
    /// The conformal quantile of the recent errors at this level, in `(0, 1)`.
    Quantile(f64),
    /// Minimise `ratio × capacity + P(shortfall)`: `ratio` is the price of one unit of headroom over the cost
    /// of a step with a shortfall, per unit of needed capacity. Positive.
    Cost {
        /// Price of headroom over the shortfall penalty.
        ratio: f64,
    },
}

/// Which outcomes a prediction is judged with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Regime {
    /// Any step: the record of every outcome.
    #[default]
    Steady,
    /// A step right after a miss (the demand just observed exceeded the bound planned for it). Its
    /// outcomes also count in the record of every step.
    AfterMiss,
}

/// A window of values kept both in arrival order and sorted, for quantiles in `O(window)` per update.
#[derive(Debug, Clone, Default)]
struct SortedWindow {
    order: VecDeque<f64>,
    sorted: Vec<f64>,
}

impl SortedWindow {
    fn push(&mut self, v: f64, cap: usize) {
        if self.order.len() == cap {
            let old = self.order.pop_front().unwrap_or(f64::NAN);
            let i = self.sorted.partition_point(|x| *x < old);
            if i < self.sorted.len() {
                self.sorted.remove(i);
            }
        }
        self.order.push_back(v);
        let i = self.sorted.partition_point(|x| *x < v);
        self.sorted.insert(i, v);
    }

    #[cfg(test)]
    fn quantile(&self, q: f64) -> Option<f64> {
        quantile(&self.sorted, q)
    }

    #[cfg(test)]
    fn cheapest(&self, ratio: f64) -> Option<(f64, f64)> {
        cheapest(&self.sorted, ratio)
    }
}

/// The conformal quantile of sorted values: the `ceil((n + 1) q)`-th smallest (the largest when that is
/// beyond `n`).
fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let k = (((n + 1) as f64) * q).ceil() as usize;
    Some(sorted[k.clamp(1, n) - 1])
}

/// The headroom minimising `ratio × h + P(r > h)` over sorted errors (with the conformal `n + 1`), and that
/// minimum's `(h, ratio × h + P(r > h))`.
fn cheapest(sorted: &[f64], ratio: f64) -> Option<(f64, f64)> {
    let n = sorted.len();
    let mut best: Option<(f64, f64)> = None;
    for (k, &h) in sorted.iter().enumerate() {
        // Errors above the k-th smallest, plus one for the outcome not yet seen.
        let exceed = (n - k) as f64 / (n + 1) as f64;
        let j = ratio * h + exceed;
        if best.is_none_or(|b| j < b.1) {
            best = Some((h, j));
        }
    }
    best
}

/// [`cheapest`] over unsorted values, reordering them: only the upper tail that can hold the minimum is
/// sorted. Any error below the top `m` costs more than covering them all: its exceedance alone,
/// `(n − k)/(n + 1)`, is above `ratio × (max − min) + 1/(n + 1)` once `n − k > (n + 1) × ratio × (max − min) + 1`.
fn cheapest_unsorted(values: &mut [f64], ratio: f64) -> Option<(f64, f64)> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    let reach = ((n + 1) as f64 * ratio * (hi - lo) + 2.0).ceil();
    let m = if reach.is_finite() && reach < n as f64 {
        reach as usize
    } else {
        n
    };
    let from = n - m;
    if from > 0 {
        values.select_nth_unstable_by(from, f64::total_cmp);
    }
    let tail = &mut values[from..];
    tail.sort_by(f64::total_cmp);
    let mut best: Option<(f64, f64)> = None;
    for (i, &h) in tail.iter().enumerate() {
        let exceed = (n - from - i) as f64 / (n + 1) as f64;
        let j = ratio * h + exceed;
        if best.is_none_or(|b| j < b.1) {
            best = Some((h, j));
        }
    }
    best
}

/// [`quantile`] over unsorted values, reordering them (a selection, not a sort).
fn quantile_unsorted(values: &mut [f64], q: f64) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let k = (((n + 1) as f64) * q).ceil() as usize;
    let i = k.clamp(1, n) - 1;
    Some(*values.select_nth_unstable_by(i, f64::total_cmp).1)
}

/// One scored prediction: (predicted, scale, actual).
type Outcome = (f64, f64, f64);

/// The record of one predictor.
#[derive(Debug, Clone, Default)]
struct Record {
    errors: SortedWindow,
    outcomes: VecDeque<Outcome>,
    /// The same outcomes sorted by prediction, for errors conditional on the level.
    by_level: Vec<Outcome>,
    /// The sum of the outcomes' actual values (for their mean in O(1)).
    actual_sum: f64,
}

impl Record {
    fn push(&mut self, o: Outcome, window: usize) {
        let (p, s, a) = o;
        self.errors.push((a - p) / s, window);
        if self.outcomes.len() == window
            && let Some(old) = self.outcomes.pop_front()
        {
            self.actual_sum -= old.2;
            let from = self.by_level.partition_point(|x| x.0 < old.0);
            if let Some(i) = self.by_level[from..].iter().position(|x| *x == old) {
                self.by_level.remove(from + i);
            }
        }
        self.outcomes.push_back(o);
        self.actual_sum += a;
        let i = self.by_level.partition_point(|x| x.0 < p);
        self.by_level.insert(i, o);
    }

    /// The `k` outcomes whose predictions are nearest `p` (all of them when `k` covers the window).
    fn nearest(&self, p: f64, k: usize) -> &[Outcome] {
        let n = self.by_level.len();
        if k >= n {
            return &self.by_level;
        }
        // Grow a contiguous run of the sorted predictions around `p`, taking the nearer side each time.
        let at = self.by_level.partition_point(|x| x.0 < p);
        let (mut lo, mut hi) = (at, at);
        while hi - lo < k {
            let left = (lo > 0).then(|| p - self.by_level[lo - 1].0);
            let right = (hi < n).then(|| self.by_level[hi].0 - p);
            match (left, right) {
                (Some(l), Some(r)) if l <= r => lo -= 1,
                (Some(_), None) => lo -= 1,
                _ => hi += 1,
            }
        }
        &self.by_level[lo..hi]
    }
}

/// Outcomes the after-miss record needs, by default, before it sizes bounds.
pub const DEFAULT_AFTER_MISS_MIN: usize = 20;

/// A calibrated upper bound on the demand one lead time ahead.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bound {
    /// The bound, in demand units.
    pub value: f64,
    /// The index of the predictor it came from.
    pub predictor: usize,
    /// That predictor's value.
    pub predicted: f64,
    /// The relative headroom above the prediction (`h`), possibly negative.
    pub headroom: f64,
}

/// Calibrates several predictors on their own recent errors and picks the most skilful one.
#[derive(Debug, Clone)]
pub struct SkillCalibrator {
    objective: Objective,
    window: usize,
    floor: f64,
    /// The share of the window whose errors size a bound: those of the predictions nearest the current one.
    local: f64,
    /// Predictions awaiting their outcome: (step they are for, scale, regime, one per predictor).
    pending: VecDeque<(usize, f64, Regime, Vec<Option<f64>>)>,
    /// Every outcome, per predictor.
    records: Vec<Record>,
    /// The outcomes of predictions made right after a miss, per predictor.
    after_miss: Vec<Record>,
    /// Outcomes the after-miss record needs before it sizes bounds.
    after_miss_min: usize,
}

impl SkillCalibrator {
    /// A calibrator for `predictors` predictors over the last `window` outcomes; `floor` is the smallest scale
    /// of a relative error (in demand units), so that errors near zero demand do not explode.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the quantile is not in `(0, 1)`, the cost ratio is not positive, there is
    /// no predictor, `window` is 0 or `floor` is not positive.
    pub fn new(objective: Objective, predictors: usize, window: usize, floor: f64) -> Result<Self> {
        check(objective)?;
        if predictors == 0 {
            return Err(Error::invalid("predictors", "need at least one"));
        }
        if window == 0 {
            return Err(Error::invalid("calibration window", "must be at least 1"));
        }
        if !(floor.is_finite() && floor > 0.0) {
            return Err(Error::invalid("calibration floor", "must be a positive number"));
        }
        Ok(Self {
            objective,
            window,
            floor,
            local: 1.0,
            pending: VecDeque::new(),
            records: vec![Record::default(); predictors],
            after_miss: vec![Record::default(); predictors],
            after_miss_min: DEFAULT_AFTER_MISS_MIN,
        })
    }

    /// Sizes each bound from the errors of the `share` of the window whose predictions were nearest the
    /// current one, instead of from the whole window (`share` = 1, the default): the errors are then
    /// conditional on the level. Where the noise does not grow in proportion to the level (counts, whose
    /// spread grows like its square root), the large relative errors of the quiet hours then no longer size
    /// the headroom of the busy ones, nor the reverse. The neighbourhood never holds fewer outcomes than the
    /// objective's tail needs to be seen at all: `1 / (1 − q)` for a quantile, `1 / ratio` for the cost
    /// objective (the exceedance probability that is worth one unit of headroom).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `share` is not in `(0, 1]`.
    pub fn with_local_share(mut self, share: f64) -> Result<Self> {
        if !(share > 0.0 && share <= 1.0) {
            return Err(Error::invalid("local share", "must be in (0, 1]"));
        }
        self.local = share;
        Ok(self)
    }

    /// Sets how many outcomes the after-miss record needs before a bound asked for in
    /// [`Regime::AfterMiss`] is sized from it (20 by default); until then such a bound comes from the record
    /// of every step. `usize::MAX` turns the regime off. At least 1.
    #[must_use]
    pub fn with_after_miss_min(mut self, outcomes: usize) -> Self {
        self.after_miss_min = outcomes.max(1);
        self
    }

    /// How many of `n` scored outcomes size a bound.
    fn neighbours(&self, n: usize) -> usize {
        if self.local >= 1.0 {
            return n;
        }
        let tail = match self.objective {
            Objective::Quantile(q) => 1.0 / (1.0 - q),
            Objective::Cost { ratio } => 1.0 / ratio,
        };
        let k = (self.local * n as f64).ceil().max(tail.ceil()).min(n as f64);
        (k as usize).max(1)
    }

    /// The objective.
    #[must_use]
    pub fn objective(&self) -> Objective {
        self.objective
    }

    /// Re-prices the objective (for example a headroom price raised by a budget), keeping the error records.
    ///
    /// # Errors
    /// As [`Self::new`] for an invalid quantile or cost ratio; the objective is then unchanged.
    pub fn set_objective(&mut self, objective: Objective) -> Result<()> {
        check(objective)?;
        self.objective = objective;
        Ok(())
    }

    /// Outcomes scored so far for predictor `k` (at most the window).
    #[must_use]
    pub fn scored(&self, k: usize) -> usize {
        self.scored_in(Regime::Steady, k)
    }

    /// Outcomes scored so far for predictor `k` in `regime`'s record (at most the window).
    #[must_use]
    pub fn scored_in(&self, regime: Regime, k: usize) -> usize {
        self.set(regime).get(k).map_or(0, |r| r.outcomes.len())
    }

    fn set(&self, regime: Regime) -> &[Record] {
        match regime {
            Regime::Steady => &self.records,
            Regime::AfterMiss => &self.after_miss,
        }
    }

    /// Records the predictions made now for step `for_step`, one per predictor (`None` or non-finite: that
    /// predictor has nothing to say), and the scale their errors are measured in (see [`Self::bound`]).
    pub fn predict(&mut self, for_step: usize, predictions: &[Option<f64>], scale: Option<f64>) {
        self.predict_in(Regime::Steady, for_step, predictions, scale);
    }

    /// As [`Self::predict`], for a step in `regime`: with [`Regime::AfterMiss`], the outcome is scored in
    /// the after-miss record as well as in the record of every step.
    pub fn predict_in(
        &mut self,
        regime: Regime,
        for_step: usize,
        predictions: &[Option<f64>],
        scale: Option<f64>,
    ) {
        let p = (0..self.records.len())
            .map(|k| predictions.get(k).copied().flatten().filter(|v| v.is_finite()))
            .collect();
        let scale = scale.filter(|s| s.is_finite()).unwrap_or(0.0);
        self.pending.push_back((for_step, scale, regime, p));
    }

    /// Records the demand observed at `step` and scores the predictions made for it. A missing (non-finite)
    /// observation scores nothing.
    pub fn observe(&mut self, step: usize, actual: f64) {
        while self.pending.front().is_some_and(|p| p.0 < step) {
            self.pending.pop_front();
        }
        while self.pending.front().is_some_and(|p| p.0 == step) {
            let Some((_, given, regime, preds)) = self.pending.pop_front() else {
                break;
            };
            if !actual.is_finite() {
                continue;
            }
            let floor = self.floor;
            for (k, p) in preds.into_iter().enumerate() {
                let Some(p) = p else { continue };
                let o = (p, scale_of(p, given, floor), actual);
                self.records[k].push(o, self.window);
                if regime == Regime::AfterMiss {
                    self.after_miss[k].push(o, self.window);
                }
            }
        }
    }

    fn scale(&self, predicted: f64, given: f64) -> f64 {
        scale_of(predicted, given, self.floor)
    }

    /// The calibrated bound for the next outcome from the predictors' current values. Errors are measured
    /// in units of `scale` (for example the recent volatility of the series), or relative to each prediction
    /// when `scale` is `None`; either way at least the floor. A predictor is judged
    /// only once it has at least half as many scored outcomes as the best-scored one. Before any outcome was
    /// scored, the bound is the largest prediction. `None` when no predictor has a value.
    #[must_use]
    pub fn bound(&self, predictions: &[Option<f64>], scale: Option<f64>) -> Option<Bound> {
        self.bound_in(Regime::Steady, predictions, scale)
    }

    /// As [`Self::bound`], for a step in `regime`. With [`Regime::AfterMiss`], once the after-miss record
    /// holds [`Self::with_after_miss_min`] outcomes, the headroom and the predictor are chosen from it alone
    /// (the shortfall is still priced by the demand of every step); before that, from every step's record.
    #[must_use]
    pub fn bound_in(&self, regime: Regime, predictions: &[Option<f64>], scale: Option<f64>) -> Option<Bound> {
        let regime = match regime {
            Regime::AfterMiss
                if self
                    .after_miss
                    .iter()
                    .map(|r| r.outcomes.len())
                    .max()
                    .unwrap_or(0)
                    >= self.after_miss_min =>
            {
                Regime::AfterMiss
            }
            _ => Regime::Steady,
        };
        let records = self.set(regime);
        let given = scale.filter(|s| s.is_finite()).unwrap_or(0.0);
        let most = records.iter().map(|r| r.outcomes.len()).max().unwrap_or(0);
        let mut best: Option<(f64, Bound)> = None;
        for (k, rec) in records.iter().enumerate() {
            let Some(p) = predictions.get(k).copied().flatten().filter(|v| v.is_finite()) else {
                continue;
            };
            if rec.outcomes.is_empty() || rec.outcomes.len() * 2 < most {
                continue;
            }
            let scale = self.scale(p, given);
            let nk = self.neighbours(rec.outcomes.len());
            // The errors of the outcomes predicted at a level like this one (all of them by default).
            let near = rec.nearest(p, nk);
            let is_local = nk < rec.outcomes.len();
            let mut local: Vec<f64> = if is_local {
                near.iter().map(|&(p, s, a)| (a - p) / s).collect()
            } else {
                Vec::new()
            };
            let (h, loss) = match self.objective {
                Objective::Quantile(q) => {
                    let h = if is_local {
                        quantile_unsorted(&mut local, q)
                    } else {
                        quantile(&rec.errors.sorted, q)
                    };
                    let Some(h) = h else { continue };
                    (h, pinball(near.iter(), h, q))
                }
                Objective::Cost { ratio } => {
                    // A shortfall costs in proportion to the capacity needed, headroom in units of scale.
                    // A minute short costs the same whatever the hour: price it by the capacity the
                    // service needs on average over the window, not by the prediction of the moment.
                    let every = &self.records[k];
                    let n = every.outcomes.len().max(1) as f64;
                    let need = (every.actual_sum / n).max(self.floor);
                    let price = ratio * scale / need;
                    let cheapest = if is_local {
                        cheapest_unsorted(&mut local, price)
                    } else {
                        cheapest(&rec.errors.sorted, price)
                    };
                    let Some((h, j)) = cheapest else {
                        continue;
                    };
                    // The expected cost of this step (j is in units of the capacity needed).
                    (h, ratio * p + need * j)
                }
            };
            let bound = Bound {
                value: (p + scale * h).max(0.0),
                predictor: k,
                predicted: p,
                headroom: h,
            };
            if best.is_none_or(|b| loss < b.0) {
                best = Some((loss, bound));
            }
        }
        best.map(|b| b.1).or_else(|| {
            predictions
                .iter()
                .enumerate()
                .filter_map(|(k, p)| p.filter(|v| v.is_finite()).map(|v| (k, v)))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(k, v)| Bound {
                    value: v.max(0.0),
                    predictor: k,
                    predicted: v,
                    headroom: 0.0,
                })
        })
    }
}

/// Checks an objective's parameter.
pub(crate) fn check(objective: Objective) -> Result<()> {
    match objective {
        Objective::Quantile(q) if !(q > 0.0 && q < 1.0) => {
            Err(Error::invalid("calibration level", "must be in (0, 1)"))
        }
        Objective::Cost { ratio } if !(ratio.is_finite() && ratio > 0.0) => {
            Err(Error::invalid("cost ratio", "must be a positive number"))
        }
        _ => Ok(()),
    }
}

/// The scale of an error: the given one, or the prediction itself; at least the floor.
fn scale_of(predicted: f64, given: f64, floor: f64) -> f64 {
    if given > 0.0 {
        given.max(floor)
    } else {
        predicted.max(floor)
    }
}

/// The mean pinball loss at level `tau` of the bounds `predicted + scale × h` over the outcomes.
fn pinball<'a>(outcomes: impl ExactSizeIterator<Item = &'a Outcome>, h: f64, tau: f64) -> f64 {
    let len = outcomes.len();
    let sum: f64 = outcomes
        .map(|&(p, s, a)| {
            let diff = a - (p + s * h);
            if diff >= 0.0 {
                tau * diff
            } else {
                (tau - 1.0) * diff
            }
        })
        .sum();
    sum / len.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsorted_tail_search_matches_the_full_scan() {
        // Deterministic pseudo-random errors with a heavy upper tail, at several prices and sizes.
        let mut x = 12345u64;
        let mut next = || {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        for n in [1usize, 2, 7, 50, 400] {
            let values: Vec<f64> = (0..n)
                .map(|_| {
                    let u = next();
                    if u > 0.97 { 20.0 * u } else { u - 0.5 }
                })
                .collect();
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            for ratio in [0.001, 0.01, 0.05, 0.5, 5.0] {
                let mut scratch = values.clone();
                assert_eq!(
                    cheapest_unsorted(&mut scratch, ratio),
                    cheapest(&sorted, ratio),
                    "n {n} ratio {ratio}"
                );
            }
            for q in [0.5, 0.9, 0.99] {
                let mut scratch = values.clone();
                assert_eq!(quantile_unsorted(&mut scratch, q), quantile(&sorted, q));
            }
        }
        assert_eq!(cheapest_unsorted(&mut [], 0.1), None);
    }

    #[test]
    fn conformal_quantile_and_cheapest_headroom_by_hand() {
        let mut w = SortedWindow::default();
        for v in [5.0, 1.0, 3.0, 2.0, 4.0] {
            w.push(v, 4);
        }
        // The window holds 1, 3, 2, 4 (5 fell out).
        assert_eq!(w.sorted, vec![1.0, 2.0, 3.0, 4.0]);
        // n = 4, q = 0.5: ceil(5 × 0.5) = 3rd smallest.
        assert_eq!(w.quantile(0.5), Some(3.0));
        // q = 0.9: ceil(4.5) = 5 > n: the largest.
        assert_eq!(w.quantile(0.9), Some(4.0));
        assert_eq!(SortedWindow::default().quantile(0.5), None);
        // Cheapest with ratio 0.1: h = 1 → 0.1 + 4/5 = 0.9; h = 4 → 0.4 + 1/5 = 0.6 (the minimum).
        let (h, j) = w.cheapest(0.1).unwrap();
        assert_eq!(h, 4.0);
        assert!((j - 0.6).abs() < 1e-12);
        // Expensive headroom (ratio 1): h = 1 → 1 + 0.8 = 1.8 is the cheapest.
        assert_eq!(w.cheapest(1.0).unwrap().0, 1.0);
    }

    #[test]
    fn persistence_wins_on_random_jumps_and_sizes_its_headroom() {
        let mut cal = SkillCalibrator::new(Objective::Quantile(0.9), 2, 100, 1.0).unwrap();
        // Demand 10 with a jump to 15 every fifth step; a useless forecast swings between 30 and 5.
        let noise = |t: usize| if t % 2 == 0 { 30.0 } else { 5.0 };
        for t in 0..300usize {
            let actual = if t % 5 == 0 { 15.0 } else { 10.0 };
            cal.observe(t, actual);
            cal.predict(t + 1, &[Some(noise(t + 1)), Some(actual)], None);
        }
        let b = cal.bound(&[Some(noise(300)), Some(10.0)], None).unwrap();
        assert_eq!(b.predictor, 1);
        // 20 % of outcomes after a 10 are +50 %: the 90 % bound covers them.
        assert!((b.value - 15.0).abs() < 1e-9, "{b:?}");
        assert!(SkillCalibrator::new(Objective::Quantile(1.0), 1, 10, 1.0).is_err());
        assert!(SkillCalibrator::new(Objective::Cost { ratio: 0.0 }, 1, 10, 1.0).is_err());
        assert!(SkillCalibrator::new(Objective::Quantile(0.5), 0, 10, 1.0).is_err());
        assert!(SkillCalibrator::new(Objective::Quantile(0.5), 1, 0, 1.0).is_err());
        assert!(SkillCalibrator::new(Objective::Quantile(0.5), 1, 10, 0.0).is_err());
        // Re-pricing keeps the records and refuses a bad objective.
        assert!(cal.set_objective(Objective::Cost { ratio: -1.0 }).is_err());
        assert_eq!(cal.objective(), Objective::Quantile(0.9));
        cal.set_objective(Objective::Quantile(0.5)).unwrap();
        assert_eq!(cal.scored(1), 100);
    }

    #[test]
    fn the_cost_objective_stops_short_of_rare_huge_jumps() {
        // Demand 10, with a tenfold spike on 2 % of the steps; persistence only.
        let mut cal = SkillCalibrator::new(Objective::Cost { ratio: 0.05 }, 1, 500, 1.0).unwrap();
        for t in 0..1000usize {
            let actual = if t % 50 == 7 { 100.0 } else { 10.0 };
            cal.observe(t, actual);
            cal.predict(t + 1, &[Some(10.0)], None);
        }
        let b = cal.bound(&[Some(10.0)], None).unwrap();
        // Covering the spike costs 0.05 × 9 = 0.45 per step to save P = 0.02: not worth it.
        assert!((b.value - 10.0).abs() < 1e-9, "{b:?}");
        // With cheap headroom (ratio 0.001), covering it costs 0.009 < 0.02: worth it.
        let mut cheap = SkillCalibrator::new(Objective::Cost { ratio: 0.001 }, 1, 500, 1.0).unwrap();
        for t in 0..1000usize {
            let actual = if t % 50 == 7 { 100.0 } else { 10.0 };
            cheap.observe(t, actual);
            cheap.predict(t + 1, &[Some(10.0)], Some(10.0));
        }
        assert!((cheap.bound(&[Some(10.0)], Some(10.0)).unwrap().value - 100.0).abs() < 1e-9);
    }

    #[test]
    fn nearest_outcomes_by_level_by_hand() {
        let mut r = Record::default();
        for (t, p) in [5.0, 1.0, 9.0, 3.0, 7.0].into_iter().enumerate() {
            r.push((p, 1.0, t as f64), 4);
        }
        // 5 fell out; the window holds predictions 1, 3, 7, 9.
        let preds = |o: &[Outcome]| o.iter().map(|o| o.0).collect::<Vec<_>>();
        assert_eq!(preds(&r.by_level), vec![1.0, 3.0, 7.0, 9.0]);
        assert_eq!(preds(r.nearest(6.5, 2)), vec![7.0, 9.0]);
        // Ties (3 and 9 both 3 away from 6; 1 and 7 from 4, once 3 is taken) go to the lower side.
        assert_eq!(preds(r.nearest(6.0, 2)), vec![3.0, 7.0]);
        assert_eq!(preds(r.nearest(4.0, 2)), vec![1.0, 3.0]);
        assert_eq!(preds(r.nearest(0.0, 3)), vec![1.0, 3.0, 7.0]);
        assert_eq!(preds(r.nearest(100.0, 1)), vec![9.0]);
        assert_eq!(r.nearest(5.0, 10).len(), 4);
    }

    #[test]
    fn local_errors_size_each_level_from_its_own_noise() {
        // A count-like series: at level 2 the noise is ±2 (100 % relative), at level 100 it is ±10 (10 %).
        // Pooled relative errors give the busy level a 100 % headroom; errors local to the level do not.
        let run = |share: f64| {
            let mut cal = SkillCalibrator::new(Objective::Quantile(0.95), 1, 400, 0.1)
                .unwrap()
                .with_local_share(share)
                .unwrap();
            for t in 0..800usize {
                let level: f64 = if (t / 50) % 2 == 0 { 2.0 } else { 100.0 };
                let noise = if t % 2 == 0 { 1.0 } else { -1.0 };
                let actual = level + noise * level.sqrt().clamp(2.0, 10.0);
                cal.observe(t, actual);
                let next = if ((t + 1) / 50) % 2 == 0 { 2.0 } else { 100.0 };
                cal.predict(t + 1, &[Some(next)], None);
            }
            (
                cal.bound(&[Some(100.0)], None).unwrap().value,
                cal.bound(&[Some(2.0)], None).unwrap().value,
            )
        };
        let (pooled_busy, pooled_quiet) = run(1.0);
        let (local_busy, local_quiet) = run(0.25);
        assert!((pooled_busy - 200.0).abs() < 1e-9, "{pooled_busy}");
        assert!((local_busy - 110.0).abs() < 1e-9, "{local_busy}");
        assert!((pooled_quiet - 4.0).abs() < 1e-9 && (local_quiet - 4.0).abs() < 1e-9);
        assert!(
            SkillCalibrator::new(Objective::Quantile(0.9), 1, 10, 1.0)
                .unwrap()
                .with_local_share(0.0)
                .is_err()
        );
    }

    #[test]
    fn after_a_miss_the_bound_follows_what_came_after_earlier_misses() {
        // Demand 10, with a two-step burst every 50 steps: 30, then 90. Persistence only; headroom is
        // priced so that covering a rise that comes on 4 % of all steps is not worth it, but covering one
        // that comes after most misses is.
        let run = |min: usize| {
            let mut cal = SkillCalibrator::new(Objective::Cost { ratio: 0.05 }, 1, 1000, 1.0)
                .unwrap()
                .with_after_miss_min(min);
            let demand = |t: usize| match t % 50 {
                10 => 30.0,
                11 => 90.0,
                _ => 10.0,
            };
            let mut planned = vec![None; 2001];
            let mut missed_second = 0;
            for t in 0..2000usize {
                let actual = demand(t);
                cal.observe(t, actual);
                let missed = planned[t].is_some_and(|b| actual > b);
                if missed && t % 50 == 11 && t > 1000 {
                    missed_second += 1;
                }
                let regime = if missed { Regime::AfterMiss } else { Regime::Steady };
                planned[t + 1] = cal.bound_in(regime, &[Some(actual)], None).map(|b| b.value);
                cal.predict_in(regime, t + 1, &[Some(actual)], None);
            }
            let steady = cal.bound_in(Regime::Steady, &[Some(30.0)], None).unwrap().value;
            let after = cal
                .bound_in(Regime::AfterMiss, &[Some(30.0)], None)
                .unwrap()
                .value;
            (steady, after, missed_second, cal.scored_in(Regime::AfterMiss, 0))
        };
        let (steady, after, missed, scored) = run(DEFAULT_AFTER_MISS_MIN);
        // The rise to 90 follows 40 of 2000 steps: every step's record does not cover it.
        assert!((steady - 30.0).abs() < 1e-9, "{steady}");
        // It follows every miss once the bursts' first steps are the only misses: that record covers it.
        assert!((after - 90.0).abs() < 1e-9, "{after}");
        assert_eq!(missed, 0);
        assert!(scored >= DEFAULT_AFTER_MISS_MIN, "{scored}");
        // Turned off, the bound after a miss is every step's, and the burst's second step is missed each time.
        let (steady, after, missed, _) = run(usize::MAX);
        assert!(
            (steady - 30.0).abs() < 1e-9 && (after - 30.0).abs() < 1e-9,
            "{steady} {after}"
        );
        assert_eq!(missed, 20);
    }

    #[test]
    fn missing_observations_score_nothing() {
        let mut cal = SkillCalibrator::new(Objective::Quantile(0.9), 1, 10, 1.0).unwrap();
        cal.predict(1, &[Some(5.0)], None);
        cal.observe(1, f64::NAN);
        assert_eq!(cal.scored(0), 0);
        assert_eq!(cal.bound(&[Some(5.0)], None).unwrap().value, 5.0);
        assert!(cal.bound(&[None], None).is_none());
    }
}
