//! The Kubernetes Horizontal Pod Autoscaler, reproduced step for step: the reactive policy, the baseline of the
//! simulator and the controller's fallback when it has no forecast.
//!
//! One [`Hpa::step`] is one HPA sync (every 15 s by default in Kubernetes):
//!
//! 1. **Formula.** `desired = ceil(current × metric / target)`, where `current` is the replicas the scale target
//!    asks for (`spec.replicas`), skipped (`desired = current`) while `|metric / target − 1| ≤ tolerance`
//!    (0.1). With several metrics, the largest `desired` wins ([`desired_replicas`]).
//! 2. **Stabilisation.** The recommendation is remembered with its time. Scaling up goes only to the *smallest*
//!    recommendation of the scale-up window (0 s by default, so at once); scaling down only to the *largest*
//!    recommendation of the scale-down window (300 s by default), so a brief dip never removes pods.
//! 3. **Rate limits.** Each rule bounds the change over its period, counted from the replicas at the period's
//!    start (the current replicas minus the scale-ups plus the scale-downs recorded inside the period). By
//!    default scaling up may add the larger of 100 % or 4 pods per 15 s, and scaling down may remove 100 % per
//!    15 s. `SelectPolicy::Max` picks the rule that allows the most change.
//! 4. **Bounds.** The result is clamped to `[min, max]` replicas.
//!
//! The state is the recommendation history and the scale events; it holds no clock, so the same calls give
//! the same answers.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use shadow_core::planner::hpa::{Hpa, HpaBehavior};
//!
//! let mut hpa = Hpa::new(1, 100, HpaBehavior::default()).unwrap();
//! let t0 = Utc.timestamp_opt(0, 0).unwrap();
//! // 10 pods at twice the target utilisation: 20 pods.
//! assert_eq!(hpa.step(t0, 10, &[2.0]), 20);
//! ```

use std::{collections::VecDeque, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The default tolerance of the Kubernetes HPA.
pub const DEFAULT_TOLERANCE: f64 = 0.1;

/// The replicas one metric asks for: `ceil(current × ratio)`, or `current` while `|ratio − 1| ≤ tolerance`.
///
/// `ratio` is the metric's current value over its target (`currentMetricValue / desiredMetricValue`). A
/// non-finite or negative ratio asks for no change. From zero replicas the HPA is disabled and this returns 0.
///
/// ```
/// use shadow_core::planner::hpa::desired_replicas;
/// // Kubernetes docs: 200m observed against a 100m target doubles the replicas...
/// assert_eq!(desired_replicas(3, 200.0 / 100.0, 0.1), 6);
/// // ...and 50m against 100m halves them.
/// assert_eq!(desired_replicas(4, 50.0 / 100.0, 0.1), 2);
/// // A ratio of 1.062 is within the 10 % tolerance: no change.
/// assert_eq!(desired_replicas(5, 1.062, 0.1), 5);
/// ```
#[must_use]
pub fn desired_replicas(current: u32, ratio: f64, tolerance: f64) -> u32 {
    if !ratio.is_finite() || ratio < 0.0 || (1.0 - ratio).abs() <= tolerance {
        return current;
    }
    // Multiply in f64 and subtract a hair so that 3 × (2/3 + ε) does not become 3.0000001 → 4 by rounding noise.
    let raw = f64::from(current) * ratio;
    let nudged = if (raw - raw.round()).abs() < 1e-9 {
        raw.round()
    } else {
        raw.ceil()
    };
    nudged.clamp(0.0, f64::from(u32::MAX)) as u32
}

/// The HPA formula across the resource kinds of a scaling policy: the replicas the reactive policy wants for
/// the `observed` demand per kind, or `None` when no kind of the policy has a finite observation.
///
/// Each kind's ratio is `observed / (current × per_instance) / target_utilisation`; the largest
/// [`desired_replicas`] over kinds wins, clamped to the policy's bounds. From zero replicas, a kind wants
/// `ceil(observed / usable_per_instance)` (the HPA itself is disabled at zero; this is how a controller
/// restarts a service).
///
/// ```
/// use std::collections::BTreeMap;
/// use shadow_core::{planner::hpa::reactive_replicas, ResourceKind, ScalingPolicy};
///
/// let policy: ScalingPolicy = toml::from_str(
///     "min_replicas = 1\nmax_replicas = 100\ncapacity.cpu = { per_instance = 1.0, target_utilisation = 0.5 }",
/// ).unwrap();
/// // 10 replicas of 1 core at 80 % use: ratio 1.6, so 16 replicas.
/// let observed = BTreeMap::from([(ResourceKind::Cpu, 8.0)]);
/// assert_eq!(reactive_replicas(&policy, 10, &observed), Some(16));
/// ```
#[must_use]
pub fn reactive_replicas(
    policy: &crate::scaling::ScalingPolicy,
    current: u32,
    observed: &std::collections::BTreeMap<crate::ids::ResourceKind, f64>,
) -> Option<u32> {
    let mut best: Option<u32> = None;
    for (kind, cap) in &policy.capacity {
        let Some(&value) = observed.get(kind).filter(|v| v.is_finite()) else {
            continue;
        };
        let value = value.max(0.0);
        let want = if current == 0 {
            (value / cap.usable_per_instance())
                .ceil()
                .clamp(0.0, f64::from(u32::MAX)) as u32
        } else {
            let ratio = value / (f64::from(current) * cap.per_instance) / cap.target_utilisation;
            desired_replicas(current, ratio, DEFAULT_TOLERANCE)
        };
        best = Some(best.map_or(want, |b| b.max(want)));
    }
    best.map(|b| policy.clamp(b).get())
}

/// One rate limit: how much may change over a period.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "PascalCase", deny_unknown_fields)]
pub enum HpaRule {
    /// At most `value` pods per `period`.
    Pods {
        /// Pods.
        value: u32,
        /// The period the limit applies over.
        #[serde(with = "humantime_serde")]
        period: Duration,
    },
    /// At most `value` percent of the replicas at the period's start per `period`.
    Percent {
        /// Percent.
        value: u32,
        /// The period the limit applies over.
        #[serde(with = "humantime_serde")]
        period: Duration,
    },
}

impl HpaRule {
    fn period(&self) -> Duration {
        match self {
            HpaRule::Pods { period, .. } | HpaRule::Percent { period, .. } => *period,
        }
    }
}

/// Which rule wins when several apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SelectPolicy {
    /// The rule that allows the most change (the Kubernetes default).
    #[default]
    Max,
    /// The rule that allows the least change.
    Min,
    /// No change in this direction at all.
    Disabled,
}

/// The rules of one direction (`scaleUp` or `scaleDown`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HpaRules {
    /// Recommendations of this long are considered before moving.
    #[serde(with = "humantime_serde")]
    pub stabilization_window: Duration,
    /// The rate limits.
    pub policies: Vec<HpaRule>,
    /// Which rule wins.
    #[serde(default)]
    pub select_policy: SelectPolicy,
}

/// The HPA's `behavior` field plus the tolerance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HpaBehavior {
    /// Scaling up.
    pub scale_up: HpaRules,
    /// Scaling down.
    pub scale_down: HpaRules,
    /// No change while `|ratio − 1|` is at most this.
    pub tolerance: f64,
}

impl Default for HpaBehavior {
    /// The Kubernetes defaults: scale up at once by the larger of 100 % or 4 pods per 15 s; scale down after a
    /// 300 s stabilisation window by up to 100 % per 15 s; tolerance 0.1.
    fn default() -> Self {
        let s15 = Duration::from_secs(15);
        Self {
            scale_up: HpaRules {
                stabilization_window: Duration::ZERO,
                policies: vec![
                    HpaRule::Percent {
                        value: 100,
                        period: s15,
                    },
                    HpaRule::Pods {
                        value: 4,
                        period: s15,
                    },
                ],
                select_policy: SelectPolicy::Max,
            },
            scale_down: HpaRules {
                stabilization_window: Duration::from_secs(300),
                policies: vec![HpaRule::Percent {
                    value: 100,
                    period: s15,
                }],
                select_policy: SelectPolicy::Max,
            },
            tolerance: DEFAULT_TOLERANCE,
        }
    }
}

/// The state of one HPA: its bounds, behaviour, recommendation history and scale events.
#[derive(Debug, Clone)]
pub struct Hpa {
    min: u32,
    max: u32,
    behavior: HpaBehavior,
    recommendations: VecDeque<(DateTime<Utc>, u32)>,
    /// (time, pods added) and (time, pods removed), oldest first.
    up_events: VecDeque<(DateTime<Utc>, u32)>,
    down_events: VecDeque<(DateTime<Utc>, u32)>,
}

impl Hpa {
    /// An HPA bounded by `[min, max]` replicas.
    ///
    /// # Errors
    /// [`Error::Config`] when `min > max`, `max == 0`, the tolerance is negative or not finite, or a rule has a
    /// zero period.
    pub fn new(min: u32, max: u32, behavior: HpaBehavior) -> Result<Self> {
        if min > max || max == 0 {
            return Err(Error::config(
                "hpa.max_replicas",
                format!("{max} must be at least 1 and at least min_replicas ({min})"),
            ));
        }
        if !(behavior.tolerance.is_finite() && behavior.tolerance >= 0.0) {
            return Err(Error::config("hpa.tolerance", "must be a finite number >= 0"));
        }
        for (dir, rules) in [
            ("scale_up", &behavior.scale_up),
            ("scale_down", &behavior.scale_down),
        ] {
            if rules.policies.iter().any(|r| r.period().is_zero()) {
                return Err(Error::config(
                    format!("hpa.{dir}.policies"),
                    "a period must be > 0",
                ));
            }
        }
        Ok(Self {
            min,
            max,
            behavior,
            recommendations: VecDeque::new(),
            up_events: VecDeque::new(),
            down_events: VecDeque::new(),
        })
    }

    /// The behaviour.
    #[must_use]
    pub fn behavior(&self) -> &HpaBehavior {
        &self.behavior
    }

    /// One sync at `now`: `current` is the replicas asked for now and `ratios` each metric's value over its
    /// target. Returns the replicas to ask for. Without a finite ratio (no metric), it keeps `current` and
    /// records nothing, as the HPA does when its metrics are unavailable.
    pub fn step(&mut self, now: DateTime<Utc>, current: u32, ratios: &[f64]) -> u32 {
        let wanted = ratios
            .iter()
            .filter(|r| r.is_finite())
            .map(|&r| desired_replicas(current, r, self.behavior.tolerance))
            .max();
        let Some(raw) = wanted else {
            return current;
        };
        self.step_with_recommendation(now, current, raw)
    }

    /// As [`Hpa::step`], with the formula's result `raw` already computed (for callers that apply the formula
    /// across resource kinds themselves).
    pub fn step_with_recommendation(&mut self, now: DateTime<Utc>, current: u32, raw: u32) -> u32 {
        if current == 0 {
            // Kubernetes disables autoscaling of a target scaled to zero.
            return 0;
        }
        let stabilised = self.stabilise(now, current, raw);
        let limited = self.rate_limit(now, current, stabilised);
        let desired = limited.clamp(self.min, self.max);
        if desired > current {
            self.up_events.push_back((now, desired - current));
        } else if desired < current {
            self.down_events.push_back((now, current - desired));
        }
        desired
    }

    fn stabilise(&mut self, now: DateTime<Utc>, current: u32, raw: u32) -> u32 {
        let up_cut = now - delta(self.behavior.scale_up.stabilization_window);
        let down_cut = now - delta(self.behavior.scale_down.stabilization_window);
        let keep = up_cut.min(down_cut);
        while self.recommendations.front().is_some_and(|(t, _)| *t <= keep) {
            self.recommendations.pop_front();
        }
        let (mut up, mut down) = (raw, raw);
        for &(t, r) in &self.recommendations {
            if t > up_cut {
                up = up.min(r);
            }
            if t > down_cut {
                down = down.max(r);
            }
        }
        self.recommendations.push_back((now, raw));
        current.max(up).min(down)
    }

    fn rate_limit(&mut self, now: DateTime<Utc>, current: u32, desired: u32) -> u32 {
        let longest = self
            .behavior
            .scale_up
            .policies
            .iter()
            .chain(&self.behavior.scale_down.policies)
            .map(HpaRule::period)
            .max()
            .unwrap_or_default();
        let cut = now - delta(longest);
        for events in [&mut self.up_events, &mut self.down_events] {
            while events.front().is_some_and(|(t, _)| *t <= cut) {
                events.pop_front();
            }
        }
        let start_of = |period: Duration| {
            let cut = now - delta(period);
            let sum = |ev: &VecDeque<(DateTime<Utc>, u32)>| -> i64 {
                ev.iter()
                    .filter(|(t, _)| *t > cut)
                    .map(|(_, n)| i64::from(*n))
                    .sum()
            };
            i64::from(current) - sum(&self.up_events) + sum(&self.down_events)
        };
        if desired > current {
            let rules = &self.behavior.scale_up;
            let limit = match rules.select_policy {
                SelectPolicy::Disabled => i64::from(current),
                select => {
                    let proposals = rules.policies.iter().map(|r| {
                        let base = start_of(r.period());
                        match *r {
                            HpaRule::Pods { value, .. } => base + i64::from(value),
                            HpaRule::Percent { value, .. } => {
                                (base as f64 * (1.0 + f64::from(value) / 100.0)).ceil() as i64
                            }
                        }
                    });
                    pick(select == SelectPolicy::Max, proposals, true).unwrap_or(i64::from(current))
                }
            };
            let limit = limit.max(i64::from(current));
            i64::from(desired).min(limit).clamp(0, i64::from(u32::MAX)) as u32
        } else if desired < current {
            let rules = &self.behavior.scale_down;
            let limit = match rules.select_policy {
                SelectPolicy::Disabled => i64::from(current),
                select => {
                    let proposals = rules.policies.iter().map(|r| {
                        let base = start_of(r.period());
                        match *r {
                            HpaRule::Pods { value, .. } => base - i64::from(value),
                            HpaRule::Percent { value, .. } => {
                                (base as f64 * (1.0 - f64::from(value) / 100.0)) as i64
                            }
                        }
                    });
                    // For scaling down, "the most change" is the lowest floor.
                    pick(select == SelectPolicy::Max, proposals, false).unwrap_or(i64::from(current))
                }
            };
            let limit = limit.min(i64::from(current));
            i64::from(desired).max(limit).clamp(0, i64::from(u32::MAX)) as u32
        } else {
            desired
        }
    }
}

/// The proposal allowing the most change (`most = true`) or the least, for scaling up (`up`) or down.
fn pick(most: bool, proposals: impl Iterator<Item = i64>, up: bool) -> Option<i64> {
    if most == up {
        proposals.max()
    } else {
        proposals.min()
    }
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap()
    }

    #[test]
    fn formula_matches_the_kubernetes_docs() {
        // "if the current metric value is 200m, and the desired value is 100m, the number of replicas will be
        // doubled, since 200.0 / 100.0 == 2.0. If the current value is instead 50m, you'll halve the number of
        // replicas, since 50.0 / 100.0 == 0.5."
        assert_eq!(desired_replicas(7, 2.0, 0.1), 14);
        assert_eq!(desired_replicas(8, 0.5, 0.1), 4);
        // Within tolerance: skip.
        assert_eq!(desired_replicas(8, 1.09, 0.1), 8);
        assert_eq!(desired_replicas(8, 0.91, 0.1), 8);
        // Just outside, rounded up.
        assert_eq!(desired_replicas(8, 1.11, 0.1), 9);
        assert_eq!(desired_replicas(8, 0.85, 0.1), 7);
        // On target: no change; fractional results round up.
        assert_eq!(desired_replicas(1, 1.0, 0.1), 1);
        assert_eq!(desired_replicas(1, 2.5, 0.1), 3);
        assert_eq!(desired_replicas(2, 2.5, 0.1), 5);
        assert_eq!(desired_replicas(3, f64::NAN, 0.1), 3);
    }

    #[test]
    fn scale_up_is_limited_to_max_of_100_percent_or_4_pods_per_15s() {
        let mut hpa = Hpa::new(1, 1000, HpaBehavior::default()).unwrap();
        // 1 pod wanting 20: +100 % is 2, +4 pods is 5: the larger, 5.
        assert_eq!(hpa.step(t(0), 1, &[20.0]), 5);
        // 15 s later the period restarted: from 5, +100 % is 10.
        assert_eq!(hpa.step(t(15), 5, &[4.0]), 10);
        // Inside the same period no more growth is allowed.
        let mut hpa = Hpa::new(1, 1000, HpaBehavior::default()).unwrap();
        assert_eq!(hpa.step(t(0), 10, &[5.0]), 20);
        assert_eq!(hpa.step(t(5), 20, &[2.5]), 20);
        assert_eq!(hpa.step(t(16), 20, &[2.5]), 40);
    }

    #[test]
    fn scale_down_waits_for_the_300s_window() {
        let mut hpa = Hpa::new(1, 100, HpaBehavior::default()).unwrap();
        assert_eq!(hpa.step(t(0), 10, &[1.0]), 10);
        // Load halves: the recommendation of 10 from t=0 is still in the window.
        assert_eq!(hpa.step(t(15), 10, &[0.5]), 10);
        assert_eq!(hpa.step(t(299), 10, &[0.5]), 10);
        // Once it left the window, the largest remaining recommendation (5) wins.
        assert_eq!(hpa.step(t(301), 10, &[0.5]), 5);
    }

    #[test]
    fn docs_scale_down_example_80_pods_to_10() {
        // Kubernetes docs: policies Pods 4 / 60 s and Percent 10 / 60 s, selectPolicy Max: from 80 replicas
        // "during the first step 8 replicas will be reduced. In the next iteration when the number of replicas
        // is 72, 10% of the pods is 7.2 but the number is rounded up to 8."
        let minute = Duration::from_secs(60);
        let behavior = HpaBehavior {
            scale_down: HpaRules {
                stabilization_window: Duration::ZERO,
                policies: vec![
                    HpaRule::Pods {
                        value: 4,
                        period: minute,
                    },
                    HpaRule::Percent {
                        value: 10,
                        period: minute,
                    },
                ],
                select_policy: SelectPolicy::Max,
            },
            ..HpaBehavior::default()
        };
        let mut hpa = Hpa::new(1, 100, behavior).unwrap();
        assert_eq!(hpa.step_with_recommendation(t(0), 80, 10), 72);
        // Still inside the minute: nothing more.
        assert_eq!(hpa.step_with_recommendation(t(30), 72, 10), 72);
        assert_eq!(hpa.step_with_recommendation(t(61), 72, 10), 64);
        // With 40 replicas or fewer, the Pods rule (4) allows more than 10 %.
        let mut small = hpa.clone();
        assert_eq!(small.step_with_recommendation(t(200), 30, 10), 26);
        // Disabled scale-down never removes pods.
        let mut off = Hpa::new(
            1,
            100,
            HpaBehavior {
                scale_down: HpaRules {
                    stabilization_window: Duration::ZERO,
                    policies: vec![],
                    select_policy: SelectPolicy::Disabled,
                },
                ..HpaBehavior::default()
            },
        )
        .unwrap();
        assert_eq!(off.step_with_recommendation(t(0), 50, 10), 50);
    }

    #[test]
    fn bounds_missing_metrics_and_bad_config() {
        let mut hpa = Hpa::new(2, 8, HpaBehavior::default()).unwrap();
        assert_eq!(hpa.step(t(0), 4, &[10.0]), 8);
        assert_eq!(hpa.step(t(0), 4, &[]), 4);
        assert_eq!(hpa.step(t(0), 4, &[f64::NAN]), 4);
        assert_eq!(hpa.step(t(0), 0, &[3.0]), 0);
        assert!(Hpa::new(5, 2, HpaBehavior::default()).is_err());
        let bad = HpaBehavior {
            tolerance: f64::NAN,
            ..HpaBehavior::default()
        };
        assert!(Hpa::new(1, 2, bad).is_err());
    }
}
