//! Turning point predictions into calibrated upper bounds, judged on their own recent errors.
//!
//! A [`SkillCalibrator`] follows two predictors of the demand one lead time ahead: the forecast, and
//! *persistence* (the demand now, which is what a reactive autoscaler bets on). For each it keeps the relative
//! errors of the last `window` outcomes, `r = (actual − predicted) / max(predicted, floor)`, and bounds the
//! next outcome by `predicted + max(predicted, floor) × q̂`, where `q̂` is the empirical (conformal) quantile of
//! those errors at the planning level. Which predictor to trust is decided by skill: the one whose bound had
//! the lower pinball loss over the window wins. Where the forecast has no skill (sudden, non-recurring jumps),
//! persistence wins, and the bound is reactive scaling with headroom sized by the trace's own recent jumps.
//!
//! Everything is indexed by step number, so the calibrator holds no clock and is deterministic.
//!
//! ```
//! use shadow_core::planner::calibrate::SkillCalibrator;
//!
//! let mut cal = SkillCalibrator::new(0.9, 50, 1.0).unwrap();
//! // Demand alternates 10, 12, 10, 12...; the forecast knows the pattern, persistence lags it.
//! for t in 0..200usize {
//!     let actual = if t % 2 == 0 { 10.0 } else { 12.0 };
//!     cal.observe(t, actual);
//!     let next = if (t + 1) % 2 == 0 { 10.0 } else { 12.0 };
//!     cal.predict(t + 1, Some(next), actual);
//! }
//! let bound = cal.bound(Some(12.0), 10.0);
//! assert!(bound.uses_forecast);
//! assert!((bound.value - 12.0).abs() < 1e-9);
//! ```

use std::collections::VecDeque;

use crate::error::{Error, Result};

/// A window of values kept both in arrival order and sorted, for quantiles in `O(window)` per update.
#[derive(Debug, Clone, Default)]
struct SortedWindow {
    order: VecDeque<f64>,
    sorted: Vec<f64>,
}

impl SortedWindow {
    fn push(&mut self, v: f64, cap: usize) {
        if self.order.len() == cap {
            if let Some(old) = self.order.pop_front() {
                let i = self.sorted.partition_point(|x| *x < old);
                self.sorted.remove(i.min(self.sorted.len() - 1));
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
}

/// One scored prediction: (predicted, scale, actual).
type Outcome = (f64, f64, f64);

/// A calibrated upper bound on the demand one lead time ahead.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bound {
    /// The bound, in demand units.
    pub value: f64,
    /// Whether it came from the forecast (`true`) or from persistence (`false`).
    pub uses_forecast: bool,
    /// The relative headroom above the chosen prediction (`q̂`), possibly negative.
    pub headroom: f64,
}

/// Calibrates the forecast and persistence on their own recent errors and picks the more skilful one.
#[derive(Debug, Clone)]
pub struct SkillCalibrator {
    level: f64,
    window: usize,
    floor: f64,
    /// Predictions awaiting their outcome: (step they are for, forecast, persistence).
    pending: VecDeque<(usize, Option<f64>, f64)>,
    forecast_errors: SortedWindow,
    persistence_errors: SortedWindow,
    forecast_outcomes: VecDeque<Outcome>,
    persistence_outcomes: VecDeque<Outcome>,
}

impl SkillCalibrator {
    /// A calibrator at quantile `level` over the last `window` outcomes; `floor` is the smallest scale of a
    /// relative error (in demand units), so that errors near zero demand do not explode.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `level` is not in `(0, 1)`, `window` is 0 or `floor` is not positive.
    pub fn new(level: f64, window: usize, floor: f64) -> Result<Self> {
        if !(level > 0.0 && level < 1.0) {
            return Err(Error::invalid("calibration level", "must be in (0, 1)"));
        }
        if window == 0 {
            return Err(Error::invalid("calibration window", "must be at least 1"));
        }
        if !(floor.is_finite() && floor > 0.0) {
            return Err(Error::invalid("calibration floor", "must be a positive number"));
        }
        Ok(Self {
            level,
            window,
            floor,
            pending: VecDeque::new(),
            forecast_errors: SortedWindow::default(),
            persistence_errors: SortedWindow::default(),
            forecast_outcomes: VecDeque::new(),
            persistence_outcomes: VecDeque::new(),
        })
    }

    /// The planning level.
    #[must_use]
    pub fn level(&self) -> f64 {
        self.level
    }

    /// Outcomes scored so far for persistence (at most the window).
    #[must_use]
    pub fn scored(&self) -> usize {
        self.persistence_outcomes.len()
    }

    /// Records the predictions made now for step `for_step`: the forecast (if any) and persistence.
    /// Non-finite predictions are ignored.
    pub fn predict(&mut self, for_step: usize, forecast: Option<f64>, persistence: f64) {
        if !persistence.is_finite() {
            return;
        }
        let forecast = forecast.filter(|f| f.is_finite());
        self.pending.push_back((for_step, forecast, persistence));
    }

    /// Records the demand observed at `step` and scores the predictions made for it. A missing (non-finite)
    /// observation scores nothing.
    pub fn observe(&mut self, step: usize, actual: f64) {
        while self.pending.front().is_some_and(|p| p.0 < step) {
            self.pending.pop_front();
        }
        while let Some(&(s, forecast, persistence)) = self.pending.front() {
            if s != step {
                break;
            }
            self.pending.pop_front();
            if !actual.is_finite() {
                continue;
            }
            if let Some(f) = forecast {
                let scale = f.max(self.floor);
                self.forecast_errors.push((actual - f) / scale, self.window);
                push_capped(&mut self.forecast_outcomes, (f, scale, actual), self.window);
            }
            let scale = persistence.max(self.floor);
            self.persistence_errors
                .push((actual - persistence) / scale, self.window);
            push_capped(
                &mut self.persistence_outcomes,
                (persistence, scale, actual),
                self.window,
            );
        }
    }

    /// The calibrated bound for the next outcome, from the forecast `forecast` (if any) and the demand now.
    /// Before any outcome was scored, the bound is the larger of the two predictions.
    #[must_use]
    pub fn bound(&self, forecast: Option<f64>, persistence: f64) -> Bound {
        let pers = self.persistence_errors.quantile(self.level).map(|q| {
            let loss = self.loss(&self.persistence_outcomes, q);
            (persistence + persistence.max(self.floor) * q, q, loss)
        });
        let fc = forecast.filter(|f| f.is_finite()).and_then(|f| {
            // Judge the forecast only once it has a full enough record to compare.
            (self.forecast_outcomes.len() * 2 >= self.persistence_outcomes.len())
                .then(|| self.forecast_errors.quantile(self.level))
                .flatten()
                .map(|q| {
                    (
                        f + f.max(self.floor) * q,
                        q,
                        self.loss(&self.forecast_outcomes, q),
                    )
                })
        });
        match (fc, pers) {
            (Some(f), Some(p)) if f.2 <= p.2 => Bound {
                value: f.0.max(0.0),
                uses_forecast: true,
                headroom: f.1,
            },
            (_, Some(p)) => Bound {
                value: p.0.max(0.0),
                uses_forecast: false,
                headroom: p.1,
            },
            (Some(f), None) => Bound {
                value: f.0.max(0.0),
                uses_forecast: true,
                headroom: f.1,
            },
            (None, None) => Bound {
                value: forecast.unwrap_or(persistence).max(persistence).max(0.0),
                uses_forecast: forecast.is_some(),
                headroom: 0.0,
            },
        }
    }

    /// The mean pinball loss at the level of the bounds `predicted + scale × q` over the outcomes.
    fn loss(&self, outcomes: &VecDeque<Outcome>, q: f64) -> f64 {
        if outcomes.is_empty() {
            return f64::INFINITY;
        }
        let tau = self.level;
        let sum: f64 = outcomes
            .iter()
            .map(|&(p, s, a)| {
                let diff = a - (p + s * q);
                if diff >= 0.0 {
                    tau * diff
                } else {
                    (tau - 1.0) * diff
                }
            })
            .sum();
        sum / outcomes.len() as f64
    }
}

fn push_capped(q: &mut VecDeque<Outcome>, v: Outcome, cap: usize) {
    if q.len() == cap {
        q.pop_front();
    }
    q.push_back(v);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conformal_quantile_by_hand() {
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
    }

    #[test]
    fn persistence_wins_on_random_jumps_and_sizes_its_headroom() {
        let mut cal = SkillCalibrator::new(0.9, 100, 1.0).unwrap();
        // Demand 10 with a jump to 15 every fifth step; a useless forecast swings between 30 and 5.
        let noise = |t: usize| if t % 2 == 0 { 30.0 } else { 5.0 };
        for t in 0..300usize {
            let actual = if t % 5 == 0 { 15.0 } else { 10.0 };
            cal.observe(t, actual);
            cal.predict(t + 1, Some(noise(t + 1)), actual);
        }
        let b = cal.bound(Some(noise(300)), 10.0);
        assert!(!b.uses_forecast);
        // 20 % of outcomes after a 10 are +50 %: the 90 % bound covers them.
        assert!((b.value - 15.0).abs() < 1e-9, "{b:?}");
        assert!(SkillCalibrator::new(1.0, 10, 1.0).is_err());
        assert!(SkillCalibrator::new(0.5, 0, 1.0).is_err());
        assert!(SkillCalibrator::new(0.5, 10, 0.0).is_err());
    }

    #[test]
    fn missing_observations_score_nothing() {
        let mut cal = SkillCalibrator::new(0.9, 10, 1.0).unwrap();
        cal.predict(1, None, 5.0);
        cal.observe(1, f64::NAN);
        assert_eq!(cal.scored(), 0);
        assert_eq!(cal.bound(None, 5.0).value, 5.0);
    }
}
