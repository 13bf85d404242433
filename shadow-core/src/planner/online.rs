//! The proactive policy that the simulator judges, as one embeddable state machine: every control step, a
//! calibrated bound on each resource's demand one lead time ahead, turned into a request by the
//! [`StepPlanner`].
//!
//! Per resource kind, an [`OnlinePolicy`] follows four predictors of the demand one lead time ahead: the
//! forecast (when the caller has one), persistence (the demand now: what a reactive autoscaler bets on), a
//! smoothed level and the recent peak (bursts cluster). A [`SkillCalibrator`] judges each on its own recent
//! errors, taken from the outcomes predicted at the level nearest the current one, and bounds the next
//! outcome from the most skilful one; the step after a miss (the demand observed now exceeded the bound
//! planned for it) is bounded from what followed earlier misses ([`Regime::AfterMiss`]).
//!
//! Headroom is priced by the objective ([`priced`] gives the price table's). With [`Objective::Cost`], two budgets can raise that price by dual
//! ascent on a time scale of eight hours, never lowering it below the objective's:
//!
//! - **against perfect foresight** ([`OnlineOptions::max_cost_over_oracle`]): one lead time after each
//!   step, the replicas a perfect-foresight policy would have held over it are known (the need of the
//!   largest demand from that step until one lead time after it). While what the service held exceeds that
//!   multiple of them (a running excess, in units of their mean, never below zero), the price rises
//!   exponentially with the excess. On noise-dominated demand, where covering the noise would cost several
//!   times what foresight needs, the policy buys only the headroom the budget allows;
//! - **on headroom itself** ([`OnlineOptions::max_headroom`]): while the headroom above the winning
//!   prediction exceeds that share of the smoothed level.
//!
//! Everything is driven by the caller's calls: the policy holds no clock, and the same inputs give the same
//! requests. A step without any finite observation changes nothing and asks for nothing (no decision, and
//! above all no scale-in, on missing data).
//!
//! ```
//! use std::{collections::BTreeMap, time::Duration};
//!
//! use chrono::{TimeDelta, TimeZone, Utc};
//! use shadow_core::{
//!     Allocation, Environment, Replicas, ResourceCapacity, ResourceKind, ScalingPolicy, ServiceId,
//!     PriceTable,
//!     planner::online::{OnlineOptions, OnlinePolicy, StepObservation, priced},
//! };
//!
//! let cap = ResourceCapacity { per_instance: 1.0, target_utilisation: 1.0, threshold: 0.05 };
//! let policy = ScalingPolicy::new(1, 100, ResourceKind::Cpu, cap).unwrap();
//! let prices = PriceTable::default();
//! let objective = priced(&prices, prices.on_demand);
//! let mut online =
//!     OnlinePolicy::new(policy, Duration::from_secs(300), objective, OnlineOptions::default()).unwrap();
//! let service = ServiceId::new("checkout").unwrap();
//! let t0 = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
//! let mut replicas = 10;
//! for i in 0..600i64 {
//!     // Demand in CPU cores: 8, with a 20-core burst every 50 steps.
//!     let cores = if i % 50 == 0 { 20.0 } else { 8.0 };
//!     let current = Allocation {
//!         service: service.clone(),
//!         environment: Environment::Live,
//!         desired: Replicas(replicas),
//!         ready: Replicas(replicas),
//!     };
//!     let observed = BTreeMap::from([(ResourceKind::Cpu, cores)]);
//!     let step = online
//!         .step(&StepObservation {
//!             at: t0 + TimeDelta::minutes(5 * i),
//!             current: &current,
//!             observed: &observed,
//!             forecast: &BTreeMap::new(),
//!             stale: false,
//!         })
//!         .unwrap();
//!     if let Some(r) = step.request {
//!         replicas = r.target.0;
//!     }
//!     // Never below what the demand now needs.
//!     assert!(replicas >= cores as u32);
//! }
//! ```

use std::{collections::BTreeMap, collections::VecDeque, time::Duration};

use chrono::{DateTime, Utc};

use super::{
    calibrate::{self, Bound, DEFAULT_AFTER_MISS_MIN, Objective, Regime, SkillCalibrator},
    proactive::{StepInput, StepPlanner},
};
use crate::{
    error::{Error, Result},
    ids::ResourceKind,
    scaling::{Allocation, PriceTable, ProvisioningRequest, ScalingPolicy},
};

/// The predictors each resource kind's bound chooses from, in the calibrator's order.
pub const PREDICTORS: [&str; 4] = ["forecast", "persistence", "smoothed", "recent-peak"];

/// The time scale of the budgets' dual ascent.
const BUDGET_SCALE: Duration = Duration::from_secs(8 * 3600);

/// Knobs of an [`OnlinePolicy`].
#[derive(Debug, Clone, PartialEq)]
pub struct OnlineOptions {
    /// How quickly the smoothed level follows the demand; also the recent peak's window (30 minutes).
    pub smoothing: Duration,
    /// Extra headroom on top of the calibrated bound, as a share (0.1 = 10 %; 0 by default).
    pub headroom: f64,
    /// A budget on headroom (cost objective only), as a share of the smoothed level; `f64::INFINITY` (the
    /// default): none.
    pub max_headroom: f64,
    /// A budget on the replicas held against perfect foresight (cost objective only): 1.9 by default,
    /// twice the oracle less 5 % for the controller's transients; `f64::INFINITY`: none.
    pub max_cost_over_oracle: f64,
    /// How many recent outcomes the calibration and the skill test look at (14 days).
    pub calibration_window: Duration,
    /// The share of the calibration window whose errors size each bound: those predicted nearest the
    /// current level (0.25; see [`SkillCalibrator::with_local_share`]).
    pub local_share: f64,
    /// Bound the step after a miss from what followed earlier misses (on by default).
    pub after_miss: bool,
    /// The smallest scale of a relative error, as a share of one instance's usable capacity (0.1).
    pub floor: f64,
}

/// The objective of the [`PriceTable`]'s trade-off: headroom bought at `price` per instance-hour against
/// its shortfall penalty (`price / (shortfall_penalty × on_demand)`).
#[must_use]
pub fn priced(prices: &PriceTable, price: f64) -> Objective {
    Objective::Cost {
        ratio: price / (prices.shortfall_penalty * prices.on_demand),
    }
}

impl Default for OnlineOptions {
    fn default() -> Self {
        Self {
            smoothing: Duration::from_secs(1800),
            headroom: 0.0,
            max_headroom: f64::INFINITY,
            max_cost_over_oracle: 1.9,
            calibration_window: Duration::from_secs(14 * 86_400),
            local_share: 0.25,
            after_miss: true,
            floor: 0.1,
        }
    }
}

impl OnlineOptions {
    /// Checks the options.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the knob that is wrong.
    pub fn validate(&self) -> Result<()> {
        if self.smoothing.is_zero() {
            return Err(Error::invalid("smoothing", "must be positive"));
        }
        if !(self.headroom.is_finite() && self.headroom >= 0.0) {
            return Err(Error::invalid("headroom", "must be a finite share >= 0"));
        }
        if self.max_headroom.is_nan() || self.max_headroom < 0.0 {
            return Err(Error::invalid(
                "max headroom",
                "must be a share >= 0 (or inf: no budget)",
            ));
        }
        if self.max_cost_over_oracle.is_nan() || self.max_cost_over_oracle <= 0.0 {
            return Err(Error::invalid(
                "max cost over oracle",
                "must be a positive number (or inf: no budget)",
            ));
        }
        if self.calibration_window.is_zero() {
            return Err(Error::invalid("calibration window", "must be positive"));
        }
        if !(self.local_share > 0.0 && self.local_share <= 1.0) {
            return Err(Error::invalid("local share", "must be in (0, 1]"));
        }
        if !(self.floor.is_finite() && self.floor > 0.0) {
            return Err(Error::invalid("floor", "must be a positive number"));
        }
        Ok(())
    }
}

/// What one step sees.
#[derive(Debug, Clone, PartialEq)]
pub struct StepObservation<'a> {
    /// Now: the start of the control step. Steps are one `step` apart; a skipped step is a missing one.
    pub at: DateTime<Utc>,
    /// What the service has now.
    pub current: &'a Allocation,
    /// The demand observed now, per resource kind (missing or non-finite values count as missing).
    pub observed: &'a BTreeMap<ResourceKind, f64>,
    /// The point forecast for one lead time ahead, per resource kind, when there is one.
    pub forecast: &'a BTreeMap<ResourceKind, f64>,
    /// The observations are stale (the source lags): no scale-in.
    pub stale: bool,
}

/// The outcome of one step.
#[derive(Debug, Clone, PartialEq)]
pub struct OnlineStep {
    /// The request to issue now, if anything should change.
    pub request: Option<ProvisioningRequest>,
    /// Per resource kind observed now: the calibrated bound one lead time ahead, before the extra headroom.
    pub bounds: BTreeMap<ResourceKind, Bound>,
    /// Per resource kind: what the planner was given for one lead time ahead (the bound with the extra
    /// headroom).
    pub ahead: BTreeMap<ResourceKind, f64>,
}

/// One resource kind's predictors and calibration.
#[derive(Debug, Clone)]
struct KindTrack {
    cal: SkillCalibrator,
    smoothed: Option<f64>,
    recent: VecDeque<f64>,
    /// What was planned for each upcoming step: (step index, bound given to the planner).
    planned: VecDeque<(i64, f64)>,
}

/// The proactive policy of the simulator, one decision per control step. See the module docs.
#[derive(Debug, Clone)]
pub struct OnlinePolicy {
    planner: StepPlanner,
    objective: Objective,
    options: OnlineOptions,
    step: Duration,
    lead: usize,
    alpha: f64,
    eta: f64,
    peak_steps: usize,
    window: usize,
    origin: Option<DateTime<Utc>>,
    kinds: BTreeMap<ResourceKind, KindTrack>,
    /// Price multiplier of the headroom budget.
    price_factor: f64,
    /// Running excess over the budget against perfect foresight (log of its price multiplier).
    excess: f64,
    /// Replicas held over each recent step, and the need of its observed demand: (index, held, need).
    history: VecDeque<(i64, f64, Option<u32>)>,
    hindsight_sum: f64,
    hindsight_n: usize,
}

impl OnlinePolicy {
    /// A policy deciding once every `step` under `policy` (its lead time, stabilisation, thresholds and
    /// bounds), choosing headroom by `objective` (a fixed quantile, or the lowest expected cost: see
    /// [`priced`] for the price table's), with `options`.
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid policy, [`Error::InvalidInput`] for an invalid objective or options,
    /// or a zero step.
    pub fn new(
        policy: ScalingPolicy,
        step: Duration,
        objective: Objective,
        options: OnlineOptions,
    ) -> Result<Self> {
        options.validate()?;
        calibrate::check(objective)?;
        if step.is_zero() {
            return Err(Error::invalid("control step", "must be positive"));
        }
        let steps_in = |d: Duration| (d.as_millis() / step.as_millis().max(1)) as usize;
        let lead = (policy.lead_time.as_millis().div_ceil(step.as_millis().max(1)) as usize).max(1);
        let secs = step.as_secs_f64();
        Ok(Self {
            alpha: 1.0 - (-secs / options.smoothing.as_secs_f64()).exp(),
            eta: secs / BUDGET_SCALE.as_secs_f64(),
            peak_steps: steps_in(options.smoothing).max(1),
            window: steps_in(options.calibration_window).max(10),
            planner: StepPlanner::new(policy)?,
            objective,
            options,
            step,
            lead,
            origin: None,
            kinds: BTreeMap::new(),
            price_factor: 1.0,
            excess: 0.0,
            history: VecDeque::new(),
            hindsight_sum: 0.0,
            hindsight_n: 0,
        })
    }

    /// The lead time in whole control steps (at least 1): a request made now serves this many steps later.
    #[must_use]
    pub fn lead_steps(&self) -> usize {
        self.lead
    }

    /// The policy.
    #[must_use]
    pub fn policy(&self) -> &ScalingPolicy {
        self.planner.policy()
    }

    fn track(&mut self, kind: &ResourceKind) -> Result<&mut KindTrack> {
        if !self.kinds.contains_key(kind) {
            let usable = self
                .planner
                .policy()
                .capacity
                .get(kind)
                .map_or(1.0, |c| c.usable_per_instance());
            let o = &self.options;
            let cal = SkillCalibrator::new(self.objective, PREDICTORS.len(), self.window, o.floor * usable)?
                .with_local_share(o.local_share)?
                .with_after_miss_min(if o.after_miss {
                    DEFAULT_AFTER_MISS_MIN
                } else {
                    usize::MAX
                });
            self.kinds.insert(
                kind.clone(),
                KindTrack {
                    cal,
                    smoothed: None,
                    recent: VecDeque::new(),
                    planned: VecDeque::new(),
                },
            );
        }
        Ok(self.kinds.get_mut(kind).expect("inserted above"))
    }

    /// The step index of `at`, counted from the first step seen.
    fn index(&mut self, at: DateTime<Utc>) -> i64 {
        let origin = *self.origin.get_or_insert(at);
        let ms = (at - origin).num_milliseconds();
        ms.div_euclid(self.step.as_millis().max(1) as i64)
    }

    /// One control step: observe, bound each kind's demand one lead time ahead, decide.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the lead time does not fit a time delta.
    pub fn step(&mut self, input: &StepObservation<'_>) -> Result<OnlineStep> {
        let observed: BTreeMap<ResourceKind, f64> = input
            .observed
            .iter()
            .filter(|(k, v)| v.is_finite() && self.planner.policy().capacity.contains_key(*k))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        if observed.is_empty() {
            // Nothing observed: hold, and learn nothing.
            return Ok(OnlineStep {
                request: None,
                bounds: BTreeMap::new(),
                ahead: BTreeMap::new(),
            });
        }
        let i = self.index(input.at);
        self.update_budget(i, input.current.desired.0, &observed);
        let ratio = match self.objective {
            Objective::Cost { ratio } => Some(ratio * self.price_factor * self.excess.exp()),
            Objective::Quantile(_) => None,
        };
        let (lead, alpha, peak_steps) = (self.lead, self.alpha, self.peak_steps);
        let extra = 1.0 + self.options.headroom;
        let mut bounds = BTreeMap::new();
        let mut ahead = BTreeMap::new();
        let mut share = f64::NEG_INFINITY;
        for (kind, &d) in &observed {
            let forecast = input.forecast.get(kind).copied().filter(|v| v.is_finite());
            let t = self.track(kind)?;
            let step = i as usize;
            t.cal.observe(step, d);
            while t.planned.front().is_some_and(|p| p.0 < i) {
                t.planned.pop_front();
            }
            // A miss: the demand now exceeds the bound planned for it one lead time ago.
            let missed = t.planned.front().is_some_and(|p| p.0 == i && d > p.1);
            let regime = if missed { Regime::AfterMiss } else { Regime::Steady };
            let level = t.smoothed.map_or(d, |s| s + alpha * (d - s));
            t.smoothed = Some(level);
            if let Some(ratio) = ratio {
                t.cal.set_objective(Objective::Cost { ratio })?;
            }
            if t.recent.len() == peak_steps {
                t.recent.pop_front();
            }
            t.recent.push_back(d);
            let peak = t.recent.iter().copied().fold(0.0, f64::max);
            let predictions = [forecast, Some(d), Some(level), Some(peak)];
            let b = t.cal.bound_in(regime, &predictions, None).unwrap_or(Bound {
                value: d,
                predictor: 1,
                predicted: d,
                headroom: 0.0,
            });
            t.cal.predict_in(regime, step + lead, &predictions, None);
            share = share.max((b.value - b.predicted).max(0.0) / level.max(0.1));
            let a = b.value * extra;
            t.planned.push_back((i + lead as i64, a));
            bounds.insert(kind.clone(), b);
            ahead.insert(kind.clone(), a);
        }
        if self.options.max_headroom.is_finite() && share.is_finite() {
            self.price_factor =
                (self.price_factor * (self.eta * (share - self.options.max_headroom)).exp()).clamp(1.0, 1e6);
        }
        let request = self.planner.decide(&StepInput {
            at: input.at,
            current: input.current,
            observed: &observed,
            ahead: &ahead,
            stale: input.stale,
        })?;
        Ok(OnlineStep {
            request,
            bounds,
            ahead,
        })
    }

    /// Records what was held over the last step and, one lead time on, scores the step that is now known in
    /// hindsight against the budget.
    fn update_budget(&mut self, i: i64, desired: u32, observed: &BTreeMap<ResourceKind, f64>) {
        let need = self.planner.need(observed);
        // Decisions happen at the start of a step: what is wanted now was held over the last one.
        match self.history.back_mut() {
            Some(last) if last.0 == i - 1 => last.1 = f64::from(desired),
            _ if i > 0 => self.history.push_back((i - 1, f64::from(desired), None)),
            _ => {}
        }
        self.history.push_back((i, 0.0, need));
        let lead = self.lead as i64;
        while self.history.front().is_some_and(|h| h.0 < i - lead) {
            self.history.pop_front();
        }
        let budget = self.options.max_cost_over_oracle;
        if !budget.is_finite() || i < lead {
            return;
        }
        let m = i - lead;
        // Perfect foresight held, over step m, the need of the largest demand until one lead time after it.
        let peak = self
            .history
            .iter()
            .filter(|h| h.0 >= m)
            .filter_map(|h| h.2)
            .max()
            .unwrap_or(0);
        let perfect = f64::from(self.planner.policy().clamp(peak).0);
        let held = self.history.iter().find(|h| h.0 == m).map_or(0.0, |h| h.1);
        self.hindsight_sum += perfect;
        self.hindsight_n += 1;
        let mean = (self.hindsight_sum / self.hindsight_n as f64).max(1.0);
        self.excess = (self.excess + self.eta * (held - budget * perfect) / mean).clamp(0.0, 1e6f64.ln());
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};

    use super::*;
    use crate::{
        ids::{Environment, ServiceId},
        quantity::Replicas,
        scaling::ResourceCapacity,
    };

    fn policy(kinds: &[(ResourceKind, f64)]) -> ScalingPolicy {
        let mut p = ScalingPolicy::new(
            1,
            1000,
            kinds[0].0.clone(),
            ResourceCapacity {
                per_instance: kinds[0].1,
                target_utilisation: 1.0,
                threshold: 0.0,
            },
        )
        .unwrap();
        for (k, per) in &kinds[1..] {
            p.capacity.insert(
                k.clone(),
                ResourceCapacity {
                    per_instance: *per,
                    target_utilisation: 1.0,
                    threshold: 0.0,
                },
            );
        }
        p
    }

    fn alloc(n: u32) -> Allocation {
        Allocation {
            service: ServiceId::new("svc").unwrap(),
            environment: Environment::Live,
            desired: Replicas(n),
            ready: Replicas(n),
        }
    }

    fn t(i: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000, 0).unwrap() + TimeDelta::minutes(5 * i)
    }

    /// Runs `demand` (per step, one map per step) and returns the replicas after each step.
    fn run(online: &mut OnlinePolicy, demand: &[BTreeMap<ResourceKind, f64>]) -> Vec<u32> {
        let mut n = 10;
        let none = BTreeMap::new();
        demand
            .iter()
            .enumerate()
            .map(|(i, obs)| {
                let s = online
                    .step(&StepObservation {
                        at: t(i as i64),
                        current: &alloc(n),
                        observed: obs,
                        forecast: &none,
                        stale: false,
                    })
                    .unwrap();
                if let Some(r) = s.request {
                    n = r.target.0;
                }
                n
            })
            .collect()
    }

    fn cost() -> Objective {
        let prices = PriceTable::default();
        priced(&prices, prices.on_demand)
    }

    fn cpu(v: f64) -> BTreeMap<ResourceKind, f64> {
        BTreeMap::from([(ResourceKind::Cpu, v)])
    }

    #[test]
    fn missing_observations_change_nothing_and_the_same_inputs_give_the_same_requests() {
        let step = Duration::from_secs(300);
        let mut demand: Vec<_> = (0..400)
            .map(|i| cpu(if i % 37 == 0 { 30.0 } else { 12.0 }))
            .collect();
        // A stretch with nothing observed after a burst: no scale-in there.
        demand[200] = cpu(60.0);
        for d in &mut demand[201..220] {
            *d = BTreeMap::from([(ResourceKind::Cpu, f64::NAN)]);
        }
        let mut a = OnlinePolicy::new(
            policy(&[(ResourceKind::Cpu, 1.0)]),
            step,
            cost(),
            OnlineOptions::default(),
        )
        .unwrap();
        let mut b = a.clone();
        let ra = run(&mut a, &demand);
        assert_eq!(ra, run(&mut b, &demand));
        assert!(ra[201..220].iter().all(|&n| n == ra[200]), "{:?}", &ra[199..221]);
        assert!(ra[200] >= 60);
        // Never below what the demand now needs.
        for (n, d) in ra.iter().zip(&demand) {
            if let Some(v) = d[&ResourceKind::Cpu].is_finite().then(|| d[&ResourceKind::Cpu]) {
                assert!(f64::from(*n) >= v, "{n} < {v}");
            }
        }
        // A step without anything finite gives no request and no bound.
        let s = a
            .step(&StepObservation {
                at: t(400),
                current: &alloc(1),
                observed: &BTreeMap::new(),
                forecast: &cpu(99.0),
                stale: false,
            })
            .unwrap();
        assert!(s.request.is_none() && s.bounds.is_empty() && s.ahead.is_empty());
    }

    #[test]
    fn each_kind_is_bounded_in_its_own_units_and_the_largest_need_wins() {
        // CPU needs 12 / 2 = 6 instances; memory 40 / 4 = 10: memory binds.
        let mut online = OnlinePolicy::new(
            policy(&[(ResourceKind::Cpu, 2.0), (ResourceKind::Memory, 4.0)]),
            Duration::from_secs(300),
            cost(),
            OnlineOptions::default(),
        )
        .unwrap();
        let demand: Vec<_> = (0..300)
            .map(|_| BTreeMap::from([(ResourceKind::Cpu, 12.0), (ResourceKind::Memory, 40.0)]))
            .collect();
        let n = run(&mut online, &demand);
        assert_eq!(*n.last().unwrap(), 10);
        let s = online
            .step(&StepObservation {
                at: t(300),
                current: &alloc(10),
                observed: &demand[0],
                forecast: &BTreeMap::new(),
                stale: false,
            })
            .unwrap();
        assert!((s.ahead[&ResourceKind::Cpu] - 12.0).abs() < 1e-9);
        assert!((s.ahead[&ResourceKind::Memory] - 40.0).abs() < 1e-9);
    }

    #[test]
    fn a_forecast_that_knows_the_ramps_boots_ahead_of_them() {
        // Demand 10, stepping to 40 for 6 steps every 48; the forecast knows each ramp one step ahead.
        let d = |i: usize| if i % 48 >= 40 && i % 48 < 46 { 40.0 } else { 10.0 };
        let mut online = OnlinePolicy::new(
            policy(&[(ResourceKind::Cpu, 1.0)]),
            Duration::from_secs(300),
            Objective::Quantile(0.95),
            OnlineOptions::default(),
        )
        .unwrap();
        let mut n = 10;
        let mut short_on_ramps = 0;
        for i in 0..48 * 30 {
            if i > 48 * 20 && f64::from(n) < d(i) {
                short_on_ramps += 1;
            }
            let s = online
                .step(&StepObservation {
                    at: t(i as i64),
                    current: &alloc(n),
                    observed: &cpu(d(i)),
                    forecast: &cpu(d(i + 1)),
                    stale: false,
                })
                .unwrap();
            assert!(s.bounds[&ResourceKind::Cpu].predictor < PREDICTORS.len());
            if let Some(r) = s.request {
                n = r.target.0;
            }
        }
        assert_eq!(short_on_ramps, 0);
    }

    #[test]
    fn bad_options_are_refused_by_name() {
        let p = || policy(&[(ResourceKind::Cpu, 1.0)]);
        let step = Duration::from_secs(60);
        let err = |o: OnlineOptions| OnlinePolicy::new(p(), step, cost(), o).unwrap_err().to_string();
        let d = OnlineOptions::default;
        let bad = |objective| {
            OnlinePolicy::new(p(), step, objective, d())
                .unwrap_err()
                .to_string()
        };
        assert!(bad(Objective::Quantile(1.0)).contains("calibration level"));
        assert!(bad(Objective::Cost { ratio: 0.0 }).contains("cost ratio"));
        assert!(
            err(OnlineOptions {
                local_share: 0.0,
                ..d()
            })
            .contains("local share")
        );
        assert!(
            err(OnlineOptions {
                max_cost_over_oracle: 0.0,
                ..d()
            })
            .contains("oracle")
        );
        assert!(
            err(OnlineOptions {
                max_headroom: f64::NAN,
                ..d()
            })
            .contains("headroom")
        );
        assert!(
            err(OnlineOptions {
                headroom: -0.1,
                ..d()
            })
            .contains("headroom")
        );
        assert!(
            err(OnlineOptions {
                smoothing: Duration::ZERO,
                ..d()
            })
            .contains("smoothing")
        );
        assert!(err(OnlineOptions { floor: 0.0, ..d() }).contains("floor"));
        assert!(
            err(OnlineOptions {
                calibration_window: Duration::ZERO,
                ..d()
            })
            .contains("calibration window")
        );
        assert!(OnlinePolicy::new(p(), Duration::ZERO, cost(), d()).is_err());
        let mut bad = p();
        bad.min_replicas = Replicas(5);
        bad.max_replicas = Replicas(2);
        assert!(OnlinePolicy::new(bad, step, cost(), d()).is_err());
        assert_eq!(OnlinePolicy::new(p(), step, cost(), d()).unwrap().lead_steps(), 5);
    }
}
