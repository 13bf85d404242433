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

    /// The conformal quantile: the `ceil((n + 1) q)`-th smallest value (the largest when that is beyond `n`).
    fn quantile(&self, q: f64) -> Option<f64> {
        let n = self.sorted.len();
        if n == 0 {
            return None;
        }
        let k = (((n + 1) as f64) * q).ceil() as usize;
        Some(self.sorted[k.clamp(1, n) - 1])
    }

    /// The headroom minimising `ratio × scale × h + scale × P(r > h)` over the observed errors (with the
    /// conformal `n + 1`), and that minimum's `(h, ratio × h + P(r > h))`.
    fn cheapest(&self, ratio: f64) -> Option<(f64, f64)> {
        let n = self.sorted.len();
        let mut best: Option<(f64, f64)> = None;
        for (k, &h) in self.sorted.iter().enumerate() {
            // Errors above the k-th smallest, plus one for the outcome not yet seen.
            let exceed = (n - k) as f64 / (n + 1) as f64;
            let j = ratio * h + exceed;
            if best.is_none_or(|b| j < b.1) {
                best = Some((h, j));
            }
        }
        best
    }
}

/// One scored prediction: (predicted, scale, actual).
type Outcome = (f64, f64, f64);

/// The record of one predictor.
#[derive(Debug, Clone, Default)]
struct Record {
    errors: SortedWindow,
    outcomes: VecDeque<Outcome>,
}

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
    /// Predictions awaiting their outcome: (step they are for, scale, one per predictor).
    pending: VecDeque<(usize, f64, Vec<Option<f64>>)>,
    records: Vec<Record>,
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
            pending: VecDeque::new(),
            records: vec![Record::default(); predictors],
        })
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
        self.records.get(k).map_or(0, |r| r.outcomes.len())
    }

    /// Records the predictions made now for step `for_step`, one per predictor (`None` or non-finite: that
    /// predictor has nothing to say), and the scale their errors are measured in (see [`Self::bound`]).
    pub fn predict(&mut self, for_step: usize, predictions: &[Option<f64>], scale: Option<f64>) {
        let p = (0..self.records.len())
            .map(|k| predictions.get(k).copied().flatten().filter(|v| v.is_finite()))
            .collect();
        let scale = scale.filter(|s| s.is_finite()).unwrap_or(0.0);
        self.pending.push_back((for_step, scale, p));
    }

    /// Records the demand observed at `step` and scores the predictions made for it. A missing (non-finite)
    /// observation scores nothing.
    pub fn observe(&mut self, step: usize, actual: f64) {
        while self.pending.front().is_some_and(|p| p.0 < step) {
            self.pending.pop_front();
        }
        while self.pending.front().is_some_and(|p| p.0 == step) {
            let Some((_, given, preds)) = self.pending.pop_front() else {
                break;
            };
            if !actual.is_finite() {
                continue;
            }
            let floor = self.floor;
            for (rec, p) in self.records.iter_mut().zip(preds) {
                let Some(p) = p else { continue };
                let scale = scale_of(p, given, floor);
                rec.errors.push((actual - p) / scale, self.window);
                if rec.outcomes.len() == self.window {
                    rec.outcomes.pop_front();
                }
                rec.outcomes.push_back((p, scale, actual));
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
        let given = scale.filter(|s| s.is_finite()).unwrap_or(0.0);
        let most = self.records.iter().map(|r| r.outcomes.len()).max().unwrap_or(0);
        let mut best: Option<(f64, Bound)> = None;
        for (k, rec) in self.records.iter().enumerate() {
            let Some(p) = predictions.get(k).copied().flatten().filter(|v| v.is_finite()) else {
                continue;
            };
            if rec.outcomes.is_empty() || rec.outcomes.len() * 2 < most {
                continue;
            }
            let scale = self.scale(p, given);
            let (h, loss) = match self.objective {
                Objective::Quantile(q) => {
                    let Some(h) = rec.errors.quantile(q) else { continue };
                    (h, pinball(&rec.outcomes, h, q))
                }
                Objective::Cost { ratio } => {
                    // A shortfall costs in proportion to the capacity needed, headroom in units of scale.
                    // A minute short costs the same whatever the hour: price it by the capacity the
                    // service needs on average over the window, not by the prediction of the moment.
                    let n = rec.outcomes.len().max(1) as f64;
                    let need = (rec.outcomes.iter().map(|o| o.2).sum::<f64>() / n).max(self.floor);
                    let Some((h, j)) = rec.errors.cheapest(ratio * scale / need) else {
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
fn check(objective: Objective) -> Result<()> {
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
fn pinball(outcomes: &VecDeque<Outcome>, h: f64, tau: f64) -> f64 {
    let sum: f64 = outcomes
        .iter()
        .map(|&(p, s, a)| {
            let diff = a - (p + s * h);
            if diff >= 0.0 {
                tau * diff
            } else {
                (tau - 1.0) * diff
            }
        })
        .sum();
    sum / outcomes.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn missing_observations_score_nothing() {
        let mut cal = SkillCalibrator::new(Objective::Quantile(0.9), 1, 10, 1.0).unwrap();
        cal.predict(1, &[Some(5.0)], None);
        cal.observe(1, f64::NAN);
        assert_eq!(cal.scored(0), 0);
        assert_eq!(cal.bound(&[Some(5.0)], None).unwrap().value, 5.0);
        assert!(cal.bound(&[None], None).is_none());
    }
}
