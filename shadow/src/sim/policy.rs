//! The policies' control loops over one trace.

use std::collections::BTreeMap;

use chrono::TimeDelta;
use shadow_core::{
    Allocation, Environment, Forecaster, Replicas, ResourceKind, Result, ServiceId, TimeSeries,
    planner::{
        calibrate::Objective,
        cost::{mix, reserved_base},
        hpa::{Hpa, HpaBehavior},
        online::StepObservation,
    },
    series::to_delta,
};

use super::{
    PolicyKind, SimOptions, SimReport, describe,
    fleet::Fleet,
    forecast::{ForecastTrack, track},
    objective, our_policy,
    score::{PolicyScore, Tally, ramps},
    steps_in,
};

/// The HPA's sync period, and the simulator's tick when the trace step is a multiple of it.
const SYNC_SECONDS: u64 = 15;

/// The shared clockwork of a run.
struct Clock {
    n: usize,
    ticks: usize,
    tick: TimeDelta,
    tick_minutes: f64,
    boot: TimeDelta,
    boot_ticks: usize,
    /// Steps between a decision and the step it provisions for (at least 1).
    lead: usize,
    warm: usize,
}

/// A trace made ready to run policies on: its clock and its forecasts, computed once.
pub(super) struct Prepared<'a> {
    demand: &'a TimeSeries,
    scale: f64,
    clock: Clock,
    fc: ForecastTrack,
}

impl<'a> Prepared<'a> {
    /// Sets the clock up and replays the forecaster's refits (when a policy of `opts` needs them).
    pub(super) fn new(
        demand: &'a TimeSeries,
        scale: f64,
        opts: &SimOptions,
        model: &dyn Forecaster,
        with_forecast: bool,
    ) -> Result<Self> {
        let step = demand.step();
        let step_s = step.as_secs();
        let ticks = if step_s >= SYNC_SECONDS && step_s % SYNC_SECONDS == 0 && step.subsec_nanos() == 0 {
            (step_s / SYNC_SECONDS) as usize
        } else {
            1
        };
        let tick = to_delta(step)? / ticks as i32;
        let boot = to_delta(opts.boot_delay)?;
        let tick_ms = tick.num_milliseconds().max(1);
        let clock = Clock {
            n: demand.len(),
            ticks,
            tick,
            tick_minutes: tick_ms as f64 / 60_000.0,
            boot,
            boot_ticks: (boot.num_milliseconds() as f64 / tick_ms as f64).ceil() as usize,
            lead: (opts.boot_delay.as_millis().div_ceil(step.as_millis().max(1)) as usize).max(1),
            warm: steps_in(opts.warm_up, step),
        };
        let fc = if with_forecast {
            let refit = steps_in(opts.refit_every, step).max(1);
            let window = steps_in(opts.fit_window, step).max(2);
            track(model, demand, refit, refit, window, clock.lead)?
        } else {
            ForecastTrack {
                ahead: vec![None; clock.n],
                failures: 0,
                refits: 0,
            }
        };
        Ok(Self {
            demand,
            scale,
            clock,
            fc,
        })
    }

    /// Runs one policy. `bound` receives our policy's calibrated bound per step, when given.
    pub(super) fn run(
        &self,
        kind: PolicyKind,
        opts: &SimOptions,
        bound: Option<&mut [Option<f64>]>,
    ) -> Result<PolicyScore> {
        let (demand, clock, fc) = (self.demand, &self.clock, &self.fc);
        let mut scratch = Vec::new();
        let bound = match bound {
            Some(b) => b,
            None => {
                scratch.resize(clock.n, None);
                &mut scratch[..]
            }
        };
        let score = match kind {
            PolicyKind::Hpa => run_hpa(demand, opts, clock, None)?,
            PolicyKind::AwsPredictive => run_hpa(demand, opts, clock, Some(fc))?,
            PolicyKind::Proactive => run_ours(
                demand,
                opts,
                clock,
                fc,
                objective(opts, opts.prices.on_demand),
                false,
                bound,
            )?,
            PolicyKind::CostOptimised => {
                // Headroom is bought on spot: its price is the spot price.
                run_ours(
                    demand,
                    opts,
                    clock,
                    fc,
                    objective(opts, opts.prices.spot),
                    true,
                    bound,
                )?
            }
            PolicyKind::Oracle => run_oracle(demand, opts, clock)?,
        };
        Ok(PolicyScore {
            name: kind.name().to_string(),
            ..score
        })
    }

    /// Runs the policies of `opts` into a report.
    pub(super) fn report(&self, opts: &SimOptions) -> Result<SimReport> {
        let (demand, clock) = (self.demand, &self.clock);
        let mut bound = vec![None; clock.n];
        let mut policies = Vec::with_capacity(opts.policies.len());
        for &kind in &opts.policies {
            let out = (kind == PolicyKind::Proactive).then_some(&mut bound[..]);
            policies.push(self.run(kind, opts, out)?);
        }
        let step = demand.step();
        let scored = demand.values()[clock.warm..]
            .iter()
            .filter(|v| !v.is_nan())
            .count();
        let scored_minutes = scored as f64 * step.as_secs_f64() / 60.0;
        Ok(SimReport {
            points: clock.n,
            step_seconds: step.as_secs(),
            capacity_per_instance: self.scale,
            scored_from: demand.time_at(clock.warm),
            scored_minutes,
            scored_days: scored_minutes / 1440.0,
            missing: demand.missing(),
            objective: describe(objective(opts, opts.prices.on_demand)),
            refits: self.fc.refits,
            refit_failures: self.fc.failures,
            policies,
            demand: demand.clone(),
            forecast: self.fc.ahead_at_target(clock.lead),
            bound,
        })
    }
}

/// Whether any policy of `opts` needs the forecaster.
pub(super) fn needs_forecast(policies: &[PolicyKind]) -> bool {
    policies.iter().any(|p| {
        matches!(
            p,
            PolicyKind::AwsPredictive | PolicyKind::Proactive | PolicyKind::CostOptimised
        )
    })
}

impl ForecastTrack {
    /// The forecasts re-indexed by the step they are for.
    fn ahead_at_target(&self, lead: usize) -> Vec<Option<f64>> {
        let mut out = vec![None; self.ahead.len()];
        for (i, v) in self.ahead.iter().enumerate() {
            if let Some(slot) = out.get_mut(i + lead) {
                *slot = *v;
            }
        }
        out
    }
}

/// Runs a policy tick by tick: `decide(step, tick_in_step, fleet)` may change the fleet before the tick is
/// scored.
fn drive(
    demand: &TimeSeries,
    opts: &SimOptions,
    clock: &Clock,
    mut decide: impl FnMut(usize, usize, &mut Fleet) -> Result<()>,
    start: u32,
) -> Result<PolicyScore> {
    let mut fleet = Fleet::new(start, clock.boot, clock.tick, &opts.prices, opts.seed);
    let mut tally = Tally::default();
    let mut ready = Vec::with_capacity(clock.n * clock.ticks);
    let mut capacity = Vec::with_capacity(clock.n);
    let values = demand.values();
    for (i, &d) in values.iter().enumerate() {
        for j in 0..clock.ticks {
            let now = demand.time_at(i) + clock.tick * j as i32;
            fleet.tick(now);
            decide(i, j, &mut fleet)?;
            if j == 0 {
                capacity.push(f64::from(fleet.ready()));
            }
            ready.push(fleet.ready());
            if i >= clock.warm {
                tally.tick(
                    clock.tick_minutes,
                    d,
                    fleet.ready(),
                    fleet.hourly_cost(&opts.prices),
                );
            }
        }
    }
    let (ramps, ramps_ready) = ramps(values, clock.warm, &ready, clock.ticks, clock.lead);
    Ok(PolicyScore {
        name: String::new(),
        under_provisioned_minutes: tally.under_minutes,
        under_provisioned_area: tally.under_area,
        slack: if tally.capacity_minutes > 0.0 {
            tally.slack_minutes / tally.capacity_minutes
        } else {
            0.0
        },
        cost: tally.cost,
        actions: fleet.actions,
        reversals: fleet.reversals,
        ramps,
        ramps_ready,
        spot_interruptions: fleet.interruptions,
        capacity,
    })
}

fn start_replicas(opts: &SimOptions) -> u32 {
    (opts.mean_instances.round() as u32).clamp(opts.min_replicas, opts.max_replicas)
}

/// The HPA, and with a forecast track, AWS-style predictive scaling on top of it.
fn run_hpa(
    demand: &TimeSeries,
    opts: &SimOptions,
    clock: &Clock,
    fc: Option<&ForecastTrack>,
) -> Result<PolicyScore> {
    let mut hpa = Hpa::new(opts.min_replicas, opts.max_replicas, HpaBehavior::default())?;
    let mut floor = 0u32;
    let values = demand.values();
    drive(
        demand,
        opts,
        clock,
        |i, j, fleet| {
            let now = demand.time_at(i) + clock.tick * j as i32;
            if j == 0 {
                // The hourly forecast's capacity for one boot time ahead, at the HPA's target utilisation.
                floor = fc
                    .and_then(|fc| fc.ahead[i])
                    .map_or(0, |p| need(p / opts.hpa_target, opts));
            }
            let d = values[i];
            let current = fleet.desired();
            let mut target = if d.is_nan() || current == 0 {
                current.max(opts.min_replicas)
            } else {
                // Booting pods count as using nothing (the HPA's rule for pods that are not ready).
                let ratio = d / f64::from(current) / opts.hpa_target;
                hpa.step(now, current, &[ratio])
            };
            target = target.max(floor);
            fleet.set_total(target, now);
            Ok(())
        },
        start_replicas(opts),
    )
}

fn need(d: f64, opts: &SimOptions) -> u32 {
    let n = (d.max(0.0) - 1e-9).ceil().clamp(0.0, f64::from(u32::MAX)) as u32;
    n.clamp(opts.min_replicas, opts.max_replicas)
}

/// Perfect foresight: at every tick, the largest need from now until one boot time ahead.
fn run_oracle(demand: &TimeSeries, opts: &SimOptions, clock: &Clock) -> Result<PolicyScore> {
    let values = demand.values();
    drive(
        demand,
        opts,
        clock,
        |i, j, fleet| {
            let t = i * clock.ticks + j;
            let last = ((t + clock.boot_ticks) / clock.ticks).min(clock.n - 1);
            let peak = values[i..=last]
                .iter()
                .filter(|v| !v.is_nan())
                .copied()
                .fold(0.0, f64::max);
            fleet.set_total(need(peak, opts), demand.time_at(i) + clock.tick * j as i32);
            Ok(())
        },
        start_replicas(opts),
    )
}

/// Our proactive policy (`shadow_core::planner::online::OnlinePolicy`, one decision per step); with `mixed`, the cost-optimised one.
#[allow(clippy::too_many_arguments)]
fn run_ours(
    demand: &TimeSeries,
    opts: &SimOptions,
    clock: &Clock,
    fc: &ForecastTrack,
    objective: Objective,
    mixed: bool,
    bound_out: &mut [Option<f64>],
) -> Result<PolicyScore> {
    let mut online = our_policy(opts, objective, demand.step())?;
    let values = demand.values();
    let service = ServiceId::new("trace")?;
    let day = steps_in(std::time::Duration::from_secs(86_400), demand.step()).max(1);
    let week = 7 * day;
    let mut reserved = 0u32;
    drive(
        demand,
        opts,
        clock,
        |i, j, fleet| {
            if j != 0 {
                return Ok(());
            }
            let now = demand.time_at(i);
            let d = values[i];
            if d.is_nan() {
                // No observation: hold (no scale-in on missing data, no decision from nothing).
                return Ok(());
            }
            let current = Allocation {
                service: service.clone(),
                environment: Environment::Live,
                desired: Replicas(fleet.desired()),
                ready: Replicas(fleet.ready()),
            };
            let observed = BTreeMap::from([(ResourceKind::Cpu, d)]);
            let forecast: BTreeMap<_, _> = fc.ahead[i].map(|f| (ResourceKind::Cpu, f)).into_iter().collect();
            let step = online.step(&StepObservation {
                at: now,
                current: &current,
                observed: &observed,
                forecast: &forecast,
                stale: false,
            })?;
            if let (Some(slot), Some(a)) = (
                bound_out.get_mut(i + clock.lead),
                step.ahead.get(&ResourceKind::Cpu),
            ) {
                *slot = Some(*a);
            }
            let total = step.request.map_or(fleet.desired(), |r| r.target.0);
            if !mixed {
                fleet.set_total(total, now);
                return Ok(());
            }
            if i >= clock.warm.min(day) && (i - clock.warm.min(day)) % day == 0 {
                // A daily commitment: the simulator's stand-in for a reservation.
                let from = i.saturating_sub(week);
                let needs: Vec<f64> = values[from..i].iter().filter(|v| !v.is_nan()).copied().collect();
                if !needs.is_empty() {
                    reserved = reserved_base(&needs, &opts.prices)?;
                    fleet.commit(reserved);
                }
            }
            let point = step.bounds.get(&ResourceKind::Cpu).map_or(d, |b| b.predicted);
            let m = mix(total, reserved, need(point.max(d), opts), &opts.prices);
            fleet.set_make_before_break([m.on_demand, m.reserved, m.spot], now);
            Ok(())
        },
        start_replicas(opts),
    )
}
