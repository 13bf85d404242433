//! Trace replay: a real demand trace through the real pipeline (metric source → forecaster refit on a cadence
//! → planner → a simulated provisioner), under five policies side by side.
//!
//! # Model
//! - **Scaling.** One instance serves `capacity_per_instance` trace units, chosen so that the mean demand needs
//!   [`SimOptions::mean_instances`] instances at the HPA's target utilisation (by default 10 at 0.7). Demand is
//!   then counted in instances: a step is *under-provisioned* when its demand exceeds the booted instances.
//! - **Time.** Each trace value holds for its whole step. The simulator advances in ticks of 15 s (the HPA's
//!   sync period; the step itself when it is not a multiple of 15 s). Policies see a step's value at its start.
//! - **Provisioner.** A new instance counts after the boot delay; removed instances stop at once (booting ones
//!   first). Spot instances are interrupted at random (seeded) at the price table's rate and replaced, booting
//!   again. Cost is the instance-minutes billed, booting ones included, times the price; reserved instances are
//!   paid whether they run or not.
//! - **Scoring** starts after the warm-up (the first day by default); steps with a missing value are not scored.
//!
//! # Policies
//! - `hpa`: the Kubernetes HPA ([`shadow_core::planner::hpa::Hpa`], every 15 s, default behaviour) at the target
//!   utilisation. Booting pods count as using nothing, as the HPA assumes for pods that are not ready.
//! - `aws-predictive`: AWS-style predictive scaling: the HPA plus a floor from the hourly forecast, `ceil(point /
//!   target)` one boot time ahead. It only scales out; scale-in is the HPA's.
//! - `proactive`: ours, the [`OnlinePolicy`] of the planner library, so what is judged here is what a
//!   controller embeds. Every step, a [`shadow_core::planner::calibrate::SkillCalibrator`] bounds the demand one boot time ahead from four
//!   predictors (the forecast, persistence, a smoothed level and the recent peak), each calibrated on its own
//!   errors over the last 14 days. The errors that size a bound are those of the quarter of that window whose
//!   predictions were nearest the current one ([`OnlineOptions::local_share`]): on count-like traces the
//!   noise grows like the square root of the level, so the large relative errors of the quiet night no
//!   longer size the headroom of the busy day. The headroom above a prediction is the one with the lowest
//!   expected cost: headroom at the on-demand price against the price table's shortfall penalty, so
//!   heavy-tailed, non-recurring jumps are not chased at any price. The predictor with the lowest expected
//!   cost wins, so the policy falls back to reactive scaling (persistence) or a smoothed level where the
//!   forecast has no skill. The step after a miss (demand above the bound planned for it) is bounded from
//!   the errors that followed earlier misses ([`OnlineOptions::after_miss`]): a burst that has begun
//!   tends to go on growing, and its second step is then covered, at the price of headroom held only
//!   after misses. A cost budget against perfect foresight
//!   ([`OnlineOptions::max_cost_over_oracle`], 1.9 by default) raises the price of headroom while the
//!   capacity held exceeds that multiple of what the oracle would have held, as known in hindsight one boot
//!   time later: on noise-dominated traces, where covering the noise would cost several times the oracle,
//!   the policy buys only the headroom the budget allows. The [`shadow_core::planner::proactive::StepPlanner`] turns the bound into a target,
//!   never below what the demand now needs, with hysteresis and bounded scale-in. An optional headroom
//!   budget ([`OnlineOptions::max_headroom`]) raises the price of headroom while the headroom bought
//!   exceeds a share of the demand level.
//! - `cost-optimised`: the same decision, with headroom priced at spot rates, bought as a mix
//!   ([`shadow_core::planner::cost::mix`]): a reserved base recomputed daily from the last week, on-demand up
//!   to the point prediction, spot for the rest within the spot cap.
//! - `oracle`: perfect foresight: at every tick, the largest need until one boot time ahead. The lower bound.

mod fleet;
mod forecast;
mod policy;
mod score;
pub mod sweep;
pub mod trace;

use std::{fmt, str::FromStr, time::Duration};

use chrono::{DateTime, Utc};
use serde::Serialize;
use shadow_core::{Error, PriceTable, Result, TimeSeries};

pub use self::score::PolicyScore;
use shadow_core::planner::{
    calibrate::Objective,
    online::{OnlineOptions, OnlinePolicy, priced},
};

/// The policies the simulator compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyKind {
    /// The Kubernetes HPA.
    Hpa,
    /// AWS-style predictive scaling: scale-out only, max of forecast and reactive, hourly forecast.
    AwsPredictive,
    /// Our proactive policy.
    Proactive,
    /// Our proactive policy on a reserved / on-demand / spot mix.
    CostOptimised,
    /// Perfect foresight.
    Oracle,
}

impl PolicyKind {
    /// Every policy, in table order.
    pub const ALL: [PolicyKind; 5] = [
        PolicyKind::Hpa,
        PolicyKind::AwsPredictive,
        PolicyKind::Proactive,
        PolicyKind::CostOptimised,
        PolicyKind::Oracle,
    ];

    /// The stable name used in tables and JSON.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            PolicyKind::Hpa => "hpa",
            PolicyKind::AwsPredictive => "aws-predictive",
            PolicyKind::Proactive => "proactive",
            PolicyKind::CostOptimised => "cost-optimised",
            PolicyKind::Oracle => "oracle",
        }
    }
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PolicyKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        PolicyKind::ALL
            .into_iter()
            .find(|p| p.name() == s || (s == "cost-optimized" && *p == PolicyKind::CostOptimised))
            .ok_or_else(|| {
                Error::invalid(
                    "policy",
                    format!(
                        "unknown policy `{s}`; known: {}",
                        PolicyKind::ALL.map(PolicyKind::name).join(", ")
                    ),
                )
            })
    }
}

/// Knobs of our proactive policy (and of the cost-optimised one).
#[derive(Debug, Clone, PartialEq)]
pub struct ProactiveOptions {
    /// A fixed planning quantile; `None` (the default) sizes headroom by expected cost from the price table.
    pub level: Option<f64>,
    /// The calibrated policy's knobs (smoothing, extra headroom, budgets, calibration window, local share,
    /// after-miss regime): [`OnlineOptions`]. Their defaults are the simulator's: the cost budget of 1.9 times
    /// the oracle is the requirement that no trace cost more than twice the oracle, less 5 % for the
    /// controller's transients, and the 14-day window holds, with a quarter of it per level, enough outcomes
    /// to see the tails the cost objective prices.
    pub online: OnlineOptions,
    /// Scale-in waits until the target stayed lower for this long.
    pub stabilisation: Duration,
    /// Ignore changes of at most this share of the current replicas.
    pub threshold: f64,
    /// At most this share of the replicas goes in one scale-in.
    pub max_scale_in_step: f64,
}

impl Default for ProactiveOptions {
    fn default() -> Self {
        Self {
            level: None,
            online: OnlineOptions::default(),
            stabilisation: Duration::from_secs(600),
            threshold: 0.05,
            max_scale_in_step: 0.5,
        }
    }
}

/// How to replay a trace. The defaults are those of `shadow simulate --trace FILE.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOptions {
    /// Instances the mean demand needs at the HPA target utilisation (10).
    pub mean_instances: f64,
    /// The HPA's target utilisation (0.7); also the AWS-style policy's.
    pub hpa_target: f64,
    /// How long a new instance takes to count as capacity (5 minutes).
    pub boot_delay: Duration,
    /// The history not scored, where models warm up (1 day).
    pub warm_up: Duration,
    /// How often the forecaster is refitted (1 hour).
    pub refit_every: Duration,
    /// How much history each refit sees (15 days: enough for a weekly season).
    pub fit_window: Duration,
    /// The forecaster, by its name in `shadow_forecast`'s registry (`seasonal-naive`).
    pub model: String,
    /// The forecaster's season; `None` lets it choose.
    pub season: Option<Duration>,
    /// Never fewer instances (1).
    pub min_replicas: u32,
    /// Never more instances (10 000).
    pub max_replicas: u32,
    /// Prices, spot risk and the shortfall penalty.
    pub prices: PriceTable,
    /// The seed of the spot interruptions.
    pub seed: u64,
    /// The policies to run, in table order.
    pub policies: Vec<PolicyKind>,
    /// Our policies' knobs.
    pub proactive: ProactiveOptions,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            mean_instances: 10.0,
            hpa_target: 0.7,
            boot_delay: Duration::from_secs(300),
            warm_up: Duration::from_secs(86_400),
            refit_every: Duration::from_secs(3600),
            fit_window: Duration::from_secs(15 * 86_400),
            model: "seasonal-naive".into(),
            season: None,
            min_replicas: 1,
            max_replicas: 10_000,
            prices: PriceTable::default(),
            seed: 42,
            policies: PolicyKind::ALL.to_vec(),
            proactive: ProactiveOptions::default(),
        }
    }
}

impl SimOptions {
    /// Checks the options.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] or [`Error::Config`] naming the option that is wrong.
    pub fn validate(&self) -> Result<()> {
        if !(self.mean_instances.is_finite() && self.mean_instances > 0.0) {
            return Err(Error::invalid("mean instances", "must be a positive number"));
        }
        if !(self.hpa_target > 0.0 && self.hpa_target <= 1.0) {
            return Err(Error::invalid("hpa target utilisation", "must be in (0, 1]"));
        }
        if self.min_replicas > self.max_replicas || self.max_replicas == 0 {
            return Err(Error::invalid(
                "replica bounds",
                format!(
                    "min_replicas ({}) must not exceed max_replicas ({}), which must be at least 1",
                    self.min_replicas, self.max_replicas
                ),
            ));
        }
        if self.refit_every.is_zero() || self.fit_window.is_zero() {
            return Err(Error::invalid(
                "refit",
                "the refit cadence and window must be positive",
            ));
        }
        if self.policies.is_empty() {
            return Err(Error::invalid("policies", "name at least one policy"));
        }
        let p = &self.proactive;
        if p.level.is_some_and(|l| !(l > 0.0 && l < 1.0)) {
            return Err(Error::invalid("quantile", "must be in (0, 1)"));
        }
        p.online.validate()?;
        self.prices.validate("pricing")
    }
}

/// The outcome of a replay.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimReport {
    /// Grid points in the trace.
    pub points: usize,
    /// The trace's step in seconds.
    pub step_seconds: u64,
    /// Trace units one instance serves.
    pub capacity_per_instance: f64,
    /// When scoring started.
    pub scored_from: DateTime<Utc>,
    /// Minutes scored (after the warm-up, present values only).
    pub scored_minutes: f64,
    /// Days scored (for per-day allowances).
    pub scored_days: f64,
    /// Missing steps in the trace (not scored).
    pub missing: usize,
    /// How the proactive policy sizes its headroom.
    pub objective: String,
    /// Forecaster refits and how many failed.
    pub refits: usize,
    /// Refits that failed.
    pub refit_failures: usize,
    /// One score per policy, in the order asked for.
    pub policies: Vec<PolicyScore>,
    /// The demand in instances (for charts).
    #[serde(skip)]
    pub demand: TimeSeries,
    /// The point forecast for each step from the latest refit (for charts).
    #[serde(skip)]
    pub forecast: Vec<Option<f64>>,
    /// The proactive policy's calibrated bound for each step (for charts).
    #[serde(skip)]
    pub bound: Vec<Option<f64>>,
}

impl SimReport {
    /// The score of `kind`, if it ran.
    #[must_use]
    pub fn policy(&self, kind: PolicyKind) -> Option<&PolicyScore> {
        self.policies.iter().find(|p| p.name == kind.name())
    }
}

/// The most a trace may miss before it is refused.
pub const MAX_MISSING_SHARE: f64 = 0.2;

/// Replays `trace` (in its own units) under the policies of `opts`.
///
/// # Errors
/// - [`Error::InvalidInput`] for invalid options, a negative or infinite value (naming its time), more than
///   [`MAX_MISSING_SHARE`] of the steps missing, or a mean demand of zero;
/// - [`Error::NotEnoughData`] when less than an hour (or two steps) remains after the warm-up;
/// - [`Error::Config`] for an unknown forecaster name.
pub fn simulate(trace: &TimeSeries, opts: &SimOptions) -> Result<SimReport> {
    opts.validate()?;
    let (demand, scale) = prepare(trace, opts)?;
    let model = shadow_forecast::by_name(&opts.model, opts.season)?;
    let prepared = policy::Prepared::new(
        &demand,
        scale,
        opts,
        model.as_ref(),
        policy::needs_forecast(&opts.policies),
    )?;
    prepared.report(opts)
}

/// Checks the trace and scales it to instances. Returns the demand in instances and the trace units per
/// instance.
fn prepare(trace: &TimeSeries, opts: &SimOptions) -> Result<(TimeSeries, f64)> {
    if let Some((i, v)) = trace
        .values()
        .iter()
        .enumerate()
        .find(|(_, v)| v.is_infinite() || **v < 0.0)
    {
        return Err(Error::invalid(
            "trace",
            format!("value {v} at {} is not a finite number >= 0", trace.time_at(i)),
        ));
    }
    let step = trace.step();
    let warm = steps_in(opts.warm_up, step);
    let need = warm + steps_in(Duration::from_secs(3600), step).max(2);
    if trace.len() < need {
        return Err(Error::NotEnoughData {
            need,
            got: trace.len(),
        });
    }
    let missing = trace.missing();
    if missing as f64 > MAX_MISSING_SHARE * trace.len() as f64 {
        return Err(Error::invalid(
            "trace",
            format!(
                "{missing} of {} steps are missing (more than {:.0} %)",
                trace.len(),
                MAX_MISSING_SHARE * 100.0
            ),
        ));
    }
    let present: Vec<f64> = trace.values().iter().copied().filter(|v| !v.is_nan()).collect();
    let mean = present.iter().sum::<f64>() / present.len().max(1) as f64;
    if mean.is_nan() || mean <= 0.0 {
        return Err(Error::invalid(
            "trace",
            "the mean demand is zero: nothing to scale",
        ));
    }
    let scale = mean / (opts.mean_instances * opts.hpa_target);
    let demand = TimeSeries::new(
        trace.start(),
        step,
        trace.values().iter().map(|v| v / scale).collect(),
    )?;
    Ok((demand, scale))
}

/// Whole steps in `d` (rounded down).
fn steps_in(d: Duration, step: Duration) -> usize {
    (d.as_millis() / step.as_millis().max(1)) as usize
}

/// The objective of our policies when headroom costs `price` per instance-hour.
fn objective(opts: &SimOptions, price: f64) -> Objective {
    match opts.proactive.level {
        Some(q) => Objective::Quantile(q),
        None => priced(&opts.prices, price),
    }
}

/// Describes an objective in words.
fn describe(o: Objective) -> String {
    match o {
        Objective::Quantile(q) => format!("quantile {q}"),
        Objective::Cost { ratio } => format!("expected cost (headroom/penalty ratio {ratio:.4})"),
    }
}

/// One of our policies, in demand units of instances.
fn our_policy(opts: &SimOptions, objective: Objective, step: Duration) -> Result<OnlinePolicy> {
    let p = &opts.proactive;
    let cap = shadow_core::ResourceCapacity {
        per_instance: 1.0,
        target_utilisation: 1.0,
        threshold: p.threshold,
    };
    let mut policy = shadow_core::ScalingPolicy::new(
        opts.min_replicas,
        opts.max_replicas,
        shadow_core::ResourceKind::Cpu,
        cap,
    )?;
    policy.lead_time = opts.boot_delay;
    policy.scale_in_stabilisation = p.stabilisation;
    policy.max_scale_in_step = p.max_scale_in_step;
    OnlinePolicy::new(policy, step, objective, p.online.clone())
}

#[cfg(test)]
mod tests;
