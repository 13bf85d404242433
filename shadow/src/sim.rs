//! A simple, honest replay of a demand trace: a proactive policy (hourly refit of seasonal naive + the planner)
//! against a reactive baseline (the Kubernetes HPA formula), both on a simulated fleet with a boot delay.
//!
//! This is the small first version; it does not model per-instance failures, request queues or cold caches.
//!
//! # Model
//! - **Scaling**: the trace is multiplied so that its mean needs [`SimOptions::mean_instances`] instances of one
//!   unit each at the target utilisation.
//! - **Fleet**: a target change is applied at once; new instances count as capacity only after the boot delay.
//!   Removed instances stop at once (booting ones are removed first).
//! - **Capacity** is what the booted instances can serve: booted instances × per-instance capacity. A step is
//!   under-provisioned when demand exceeds it, and *above target* when demand exceeds the capacity at the
//!   target utilisation (the headroom the policy meant to keep is gone).
//! - **Proactive**: every refit interval, seasonal naive (season chosen from the data) is refitted on the
//!   history so far and the planner plans the next hours at p90; its requests are applied at their issue time.
//! - **HPA**: every step, `desired = ceil(current × utilisation / target)` with `current` the booted instances,
//!   skipped when `|utilisation / target − 1| ≤ tolerance`, and a scale-down stabilisation window (the largest
//!   recommendation of the last five minutes wins), as the Kubernetes HPA does.
//! - **Scoring** starts after the warm-up (the first day); cost counts booting and booted instances.

use std::{collections::VecDeque, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use shadow_core::{
    Allocation, DemandCurve, Environment, Error, FitInput, Forecast, Forecaster, PredictRequest,
    ProvisioningRequest, Quantile, Replicas, ResourceCapacity, ResourceKind, Result, ScalingPolicy,
    ServiceId, TimeSeries, planner,
};
use shadow_forecast::{Season, SeasonalNaive};

/// How to replay a trace.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOptions {
    /// Instances the mean demand needs at the target utilisation.
    pub mean_instances: f64,
    /// The target utilisation of both policies.
    pub target_utilisation: f64,
    /// How long a new instance takes to count as capacity.
    pub boot_delay: Duration,
    /// How often the proactive policy refits and replans.
    pub refit_every: Duration,
    /// The history not scored, used to warm up the models.
    pub warm_up: Duration,
    /// The HPA's tolerance around the target ratio.
    pub hpa_tolerance: f64,
    /// Never fewer than this many instances.
    pub min_replicas: u32,
    /// Never more than this many instances.
    pub max_replicas: u32,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            mean_instances: 10.0,
            target_utilisation: 0.7,
            boot_delay: Duration::from_secs(300),
            refit_every: Duration::from_secs(3600),
            warm_up: Duration::from_secs(86_400),
            hpa_tolerance: 0.1,
            min_replicas: 1,
            max_replicas: 200,
        }
    }
}

/// The score of one policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyScore {
    /// `hpa` or `proactive`.
    pub name: String,
    /// Minutes where demand exceeded the capacity of the booted instances.
    pub under_provisioned_minutes: f64,
    /// Minutes where demand exceeded the capacity at the target utilisation.
    pub above_target_minutes: f64,
    /// Mean of `(capacity − demand) / capacity` over steps where it is positive, as a share in `[0, 1]`.
    pub slack: f64,
    /// Instance-hours, booting instances included.
    pub cost: f64,
    /// Changes of the target replicas.
    pub actions: u32,
    /// Capacity at each step of the trace, in scaled demand units (for charts).
    #[serde(skip)]
    pub capacity: Vec<f64>,
}

/// The outcome of a replay.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimReport {
    /// Grid points in the trace.
    pub points: usize,
    /// The trace's step in seconds.
    pub step_seconds: u64,
    /// The factor the trace was multiplied by.
    pub scale: f64,
    /// Minutes scored (after the warm-up, present values only).
    pub scored_minutes: f64,
    /// When scoring started.
    pub scored_from: DateTime<Utc>,
    /// One score per policy: `hpa`, then `proactive`.
    pub policies: Vec<PolicyScore>,
    /// The scaled demand (for charts).
    #[serde(skip)]
    pub demand: TimeSeries,
}

/// A fleet whose new instances boot for a while before they count.
#[derive(Debug, Default)]
struct Fleet {
    desired: u32,
    /// Boot completion times of instances not yet ready, oldest first.
    booting: VecDeque<DateTime<Utc>>,
    ready: u32,
    actions: u32,
}

impl Fleet {
    fn new(replicas: u32) -> Self {
        Self {
            desired: replicas,
            ready: replicas,
            ..Self::default()
        }
    }

    fn set_target(&mut self, target: u32, now: DateTime<Utc>, boot: TimeDelta) {
        if target == self.desired {
            return;
        }
        self.actions += 1;
        if target > self.desired {
            self.booting.extend((self.desired..target).map(|_| now + boot));
        } else {
            let mut remove = self.desired - target;
            while remove > 0 && self.booting.pop_back().is_some() {
                remove -= 1;
            }
            self.ready -= remove.min(self.ready);
        }
        self.desired = target;
    }

    fn tick(&mut self, now: DateTime<Utc>) {
        while self.booting.front().is_some_and(|t| *t <= now) {
            self.booting.pop_front();
            self.ready += 1;
        }
    }
}

/// Replays `trace` under both policies.
///
/// # Errors
/// [`Error::NotEnoughData`] when the trace has no present value after the warm-up or a mean of zero;
/// [`Error::InvalidInput`] for invalid options; model and planner errors.
pub fn simulate(trace: &TimeSeries, opts: &SimOptions) -> Result<SimReport> {
    let present: Vec<f64> = trace.values().iter().copied().filter(|v| !v.is_nan()).collect();
    let mean = present.iter().sum::<f64>() / present.len().max(1) as f64;
    if present.is_empty() || mean <= 0.0 {
        return Err(Error::NotEnoughData { need: 1, got: 0 });
    }
    if !(opts.target_utilisation > 0.0 && opts.target_utilisation <= 1.0) {
        return Err(Error::invalid("target utilisation", "must be in (0, 1]"));
    }
    let scale = opts.mean_instances * opts.target_utilisation / mean;
    let demand = TimeSeries::new(
        trace.start(),
        trace.step(),
        trace.values().iter().map(|v| v * scale).collect(),
    )?;
    let step = trace.step();
    let step_ms = step.as_millis().max(1);
    let warm_steps = (opts.warm_up.as_millis() / step_ms) as usize;
    if warm_steps >= demand.len() {
        return Err(Error::NotEnoughData {
            need: warm_steps + 1,
            got: demand.len(),
        });
    }
    let boot = shadow_core::series::to_delta(opts.boot_delay)?;
    let start = (mean * scale / opts.target_utilisation).round() as u32;
    let hpa = run_hpa(&demand, opts, start, boot);
    let proactive = run_proactive(&demand, opts, start, boot)?;
    let score = |name: &str, (capacity, actions, cost): (Vec<f64>, u32, Vec<f64>)| {
        score(
            name,
            &demand,
            warm_steps,
            opts.target_utilisation,
            capacity,
            actions,
            &cost,
        )
    };
    let policies = vec![score("hpa", hpa), score("proactive", proactive)];
    let scored = demand.values()[warm_steps..]
        .iter()
        .filter(|v| !v.is_nan())
        .count();
    Ok(SimReport {
        points: demand.len(),
        step_seconds: step.as_secs(),
        scale,
        scored_minutes: scored as f64 * step.as_secs_f64() / 60.0,
        scored_from: demand.time_at(warm_steps),
        policies,
        demand,
    })
}

/// (usable capacity per step, actions, paid instances per step)
type Run = (Vec<f64>, u32, Vec<f64>);

fn run_hpa(demand: &TimeSeries, opts: &SimOptions, start: u32, boot: TimeDelta) -> Run {
    let mut fleet = Fleet::new(start);
    let (mut capacity, mut paid) = (Vec::new(), Vec::new());
    // Recommendations of the last five minutes, both ends included.
    let window = (300_000 / demand.step().as_millis().max(1)) as usize + 1;
    let mut recent: VecDeque<u32> = VecDeque::new();
    for (i, d) in demand.values().iter().enumerate() {
        let now = demand.time_at(i);
        fleet.tick(now);
        capacity.push(f64::from(fleet.ready));
        paid.push(f64::from(fleet.desired.max(fleet.ready)));
        if d.is_nan() {
            continue;
        }
        let current = fleet.ready.max(1);
        let ratio = d / f64::from(current) / opts.target_utilisation;
        let recommendation = if (ratio - 1.0).abs() <= opts.hpa_tolerance {
            fleet.desired
        } else {
            (f64::from(current) * ratio)
                .ceil()
                .clamp(f64::from(opts.min_replicas), f64::from(opts.max_replicas)) as u32
        };
        recent.push_back(recommendation);
        if recent.len() > window {
            recent.pop_front();
        }
        let stabilised = if recommendation < fleet.desired {
            recent.iter().copied().max().unwrap_or(recommendation)
        } else {
            recommendation
        };
        fleet.set_target(stabilised, now, boot);
    }
    (capacity, fleet.actions, paid)
}

fn run_proactive(demand: &TimeSeries, opts: &SimOptions, start: u32, boot: TimeDelta) -> Result<Run> {
    let service = ServiceId::new("trace")?;
    let cap = ResourceCapacity {
        per_instance: 1.0,
        target_utilisation: opts.target_utilisation,
        threshold: 0.1,
    };
    let mut policy = ScalingPolicy::new(opts.min_replicas, opts.max_replicas, ResourceKind::Cpu, cap)?;
    policy.lead_time = opts.boot_delay + demand.step();
    policy.scale_in_stabilisation = Duration::from_secs(1800);
    let step_ms = demand.step().as_millis().max(1);
    let refit = ((opts.refit_every.as_millis() / step_ms) as usize).max(1);
    let warm = (opts.warm_up.as_millis() / step_ms) as usize;
    let horizon = ((opts.refit_every + policy.lead_time * 2)
        .as_millis()
        .div_ceil(step_ms) as usize)
        .max(2);
    let levels = [Quantile::try_new(0.9)?];
    let model = SeasonalNaive::new(Season::Auto);
    let mut fleet = Fleet::new(start);
    let mut queue: VecDeque<ProvisioningRequest> = VecDeque::new();
    let (mut capacity, mut paid) = (Vec::new(), Vec::new());
    for i in 0..demand.len() {
        let now = demand.time_at(i);
        fleet.tick(now);
        if i >= warm && (i - warm) % refit == 0 {
            let history = TimeSeries::new(demand.start(), demand.step(), demand.values()[..i].to_vec())?;
            let forecast: Forecast = model
                .fit_boxed(&FitInput::new(&history))?
                .predict_boxed(&PredictRequest::new(horizon, &levels))?;
            let curve = DemandCurve::new(service.clone()).with(ResourceKind::Cpu, forecast);
            let current = Allocation {
                service: service.clone(),
                environment: Environment::Live,
                desired: Replicas(fleet.desired),
                ready: Replicas(fleet.ready),
            };
            queue = planner::plan(&curve, &current, &policy)?.requests.into();
        }
        while let Some(r) = queue.front().filter(|r| r.issue_at <= now) {
            fleet.set_target(r.target.0, now, boot);
            queue.pop_front();
        }
        capacity.push(f64::from(fleet.ready));
        paid.push(f64::from(fleet.desired.max(fleet.ready)));
    }
    Ok((capacity, fleet.actions, paid))
}

fn score(
    name: &str,
    demand: &TimeSeries,
    from: usize,
    target: f64,
    capacity: Vec<f64>,
    actions: u32,
    paid: &[f64],
) -> PolicyScore {
    let step_min = demand.step().as_secs_f64() / 60.0;
    let (mut under, mut above, mut slack_sum, mut n) = (0.0, 0.0, 0.0, 0usize);
    for (i, d) in demand.values().iter().enumerate().skip(from) {
        if d.is_nan() {
            continue;
        }
        let c = capacity[i];
        n += 1;
        if *d > c {
            under += step_min;
        }
        if *d > c * target {
            above += step_min;
        }
        if c > 0.0 && c > *d {
            slack_sum += (c - d) / c;
        }
    }
    PolicyScore {
        name: name.to_string(),
        under_provisioned_minutes: under,
        above_target_minutes: above,
        slack: slack_sum / n.max(1) as f64,
        cost: paid[from..].iter().sum::<f64>() * step_min / 60.0,
        actions,
        capacity,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    /// A working-day square wave: demand triples at 09:00 and drops back at 17:00.
    fn trace(days: usize) -> TimeSeries {
        let values = (0..days * 288)
            .map(|i| if (108..204).contains(&(i % 288)) { 9.0 } else { 3.0 })
            .collect();
        TimeSeries::new(
            Utc.timestamp_opt(1_700_006_400, 0).unwrap(),
            Duration::from_secs(300),
            values,
        )
        .unwrap()
    }

    #[test]
    fn fleet_boots_before_counting() {
        let t0 = Utc.timestamp_opt(0, 0).unwrap();
        let mut f = Fleet::new(2);
        f.set_target(5, t0, TimeDelta::minutes(5));
        f.tick(t0 + TimeDelta::minutes(4));
        assert_eq!((f.ready, f.desired), (2, 5));
        f.tick(t0 + TimeDelta::minutes(5));
        assert_eq!(f.ready, 5);
        f.set_target(3, t0, TimeDelta::minutes(5));
        assert_eq!((f.ready, f.actions), (3, 2));
    }

    #[test]
    fn proactive_beats_reactive_on_a_periodic_trace() {
        // Two days of warm-up, so that seasonal naive has the two seasons it needs.
        let opts = SimOptions {
            warm_up: Duration::from_secs(2 * 86_400),
            ..SimOptions::default()
        };
        let r = simulate(&trace(5), &opts).unwrap();
        let mean: f64 = r.demand.values().iter().sum::<f64>() / r.demand.len() as f64;
        assert!((mean - 7.0).abs() < 1e-9, "scaled mean {mean}");
        assert_eq!(r.scored_minutes, 3.0 * 1440.0);
        let (hpa, pro) = (&r.policies[0], &r.policies[1]);
        let summary = |p: &PolicyScore| {
            (
                p.under_provisioned_minutes,
                p.above_target_minutes,
                p.cost,
                p.actions,
            )
        };
        assert_eq!((hpa.name.as_str(), pro.name.as_str()), ("hpa", "proactive"));
        // The HPA sees each jump only after it happened and then waits for the boot.
        assert_eq!(hpa.under_provisioned_minutes, 3.0 * 5.0, "{:?}", summary(hpa));
        // The proactive policy learned the daily jump and booted ahead of it.
        assert_eq!(pro.under_provisioned_minutes, 0.0, "{:?}", summary(pro));
        assert!(pro.cost > 0.0 && hpa.actions > 0 && pro.actions > 0);
    }

    #[test]
    fn too_short_traces_are_errors() {
        assert!(matches!(
            simulate(&trace(1), &SimOptions::default()),
            Err(Error::NotEnoughData { .. })
        ));
    }
}
