//! The demo's pipeline: metrics → forecast → plan → warm-up → switchover → score.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};
use shadow_core::{
    Allocation, Clock, DemandCurve, DynMetricSource, Environment, Fit, FitInput, Forecast, Forecaster,
    ManualClock, MetricQuery, PredictRequest, Provisioner, ProvisioningRequest, Quantile, Regressors,
    Replicas, ResourceCapacity, ResourceKind, ScalingPolicy, ServiceId, TimeRange, TimeSeries,
    config::SwitchConfig,
    memory::{InMemoryHealthProbe, InMemoryMetricSource, InMemoryProvisioner, InMemoryTrafficShifter},
    planner::{self, Plan},
};
use shadow_forecast::{Season, SeasonalNaive};
use shadow_switch::{SwitchReport, SwitchRequest, Switchover};

use super::{
    DemoError,
    workload::{STEP, Workload},
};

/// Forecast horizon: 24 hours of 5-minute steps.
pub(crate) const HORIZON: usize = 288;
/// Instances boot this long after they are asked for.
pub(crate) const BOOT: Duration = Duration::from_secs(300);
/// The deployment happens this long after the end of the history.
pub(crate) const DEPLOY_AFTER: TimeDelta = TimeDelta::hours(11);
/// The switch window: the shadow must carry the peak of this period after the deployment.
pub(crate) const WINDOW: TimeDelta = TimeDelta::hours(6);

/// What the forecast stage learned.
#[derive(Debug, Clone)]
pub(crate) struct ForecastStage {
    pub(crate) model: String,
    pub(crate) season: Duration,
    pub(crate) effects: Vec<(String, f64)>,
    pub(crate) forecast: Forecast,
}

/// The pre-deployment warm-up of the shadow.
#[derive(Debug, Clone)]
pub(crate) struct WarmUp {
    pub(crate) deploy_at: DateTime<Utc>,
    pub(crate) window_end: DateTime<Utc>,
    pub(crate) peak_at: DateTime<Utc>,
    pub(crate) peak_demand: f64,
    pub(crate) target: Replicas,
    pub(crate) shadow_before: Replicas,
    pub(crate) live: Replicas,
    pub(crate) issued_at: DateTime<Utc>,
    pub(crate) ready_at: DateTime<Utc>,
    pub(crate) ready_before_switch: Replicas,
}

/// Capacity against demand over the horizon.
#[derive(Debug, Clone)]
pub(crate) struct Score {
    pub(crate) peak_p90: f64,
    pub(crate) peak_p90_at: DateTime<Utc>,
    pub(crate) capacity_at_peak: f64,
    pub(crate) truth_peak: f64,
    pub(crate) truth_peak_at: DateTime<Utc>,
    pub(crate) minutes_short: u32,
    pub(crate) minutes_saturated: u32,
    pub(crate) p90_coverage: f64,
    pub(crate) p50_mae: f64,
}

/// Everything the report and the chart show.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub(crate) service: ServiceId,
    pub(crate) workload: Workload,
    pub(crate) fetched: TimeSeries,
    pub(crate) metric_source: String,
    pub(crate) forecast: ForecastStage,
    pub(crate) policy: ScalingPolicy,
    pub(crate) shadow_start: Replicas,
    pub(crate) plan: Plan,
    /// Replicas in effect at each horizon step: the plan, raised to the warm-up target over the switch window.
    pub(crate) capacity: Vec<Replicas>,
    pub(crate) warm: WarmUp,
    pub(crate) switch: SwitchReport,
    pub(crate) score: Score,
}

impl Outcome {
    /// Usable cores per instance (capacity × target utilisation).
    pub(crate) fn usable_per_instance(&self) -> f64 {
        self.policy
            .capacity
            .get(&ResourceKind::Cpu)
            .map_or(1.0, ResourceCapacity::usable_per_instance)
    }

    /// The target utilisation of the CPU capacity.
    pub(crate) fn policy_utilisation(&self) -> f64 {
        self.policy
            .capacity
            .get(&ResourceKind::Cpu)
            .map_or(1.0, |c| c.target_utilisation)
    }
}

fn core(stage: &'static str) -> impl FnOnce(shadow_core::Error) -> DemoError {
    move |source| DemoError::Core { stage, source }
}

/// The scaling policy of `checkout`: 4 cores per instance at 70 %, 10 minutes lead, 2 to 60 instances.
pub(crate) fn policy() -> shadow_core::Result<ScalingPolicy> {
    let cap = ResourceCapacity {
        per_instance: 4.0,
        target_utilisation: 0.7,
        threshold: 0.15,
    };
    let mut p = ScalingPolicy::new(2, 60, ResourceKind::Cpu, cap)?;
    p.lead_time = Duration::from_secs(600);
    p.scale_in_stabilisation = Duration::from_secs(1800);
    Ok(p)
}

pub(crate) async fn run(seed: u64) -> Result<Outcome, DemoError> {
    let service = ServiceId::new("checkout").map_err(core("workload"))?;
    let workload = Workload::generate(seed).map_err(core("workload"))?;
    let now = Workload::now();
    let events = workload.events();

    // Metrics: store, then read back through the trait, as the controller would.
    let store = InMemoryMetricSource::new();
    store.insert(&service, Environment::Live, ResourceKind::Cpu, &workload.history);
    let source: &DynMetricSource = &store;
    let range = TimeRange::new(workload.history.start(), now).map_err(core("metrics"))?;
    let query = MetricQuery::new(service.clone(), ResourceKind::Cpu, range, STEP).map_err(core("metrics"))?;
    let fetched = source.fetch(&query).await.map_err(core("metrics"))?;

    // Forecast.
    let hist_regs =
        Regressors::from_events(&events, fetched.start(), STEP, fetched.len()).map_err(core("forecast"))?;
    let future_regs = Regressors::from_events(&events, now, STEP, HORIZON).map_err(core("forecast"))?;
    let model = SeasonalNaive::new(Season::Auto);
    let input = FitInput::new(&fetched)
        .with_regressors(&hist_regs)
        .map_err(core("forecast"))?;
    let fitted = model.fit_boxed(&input).map_err(core("forecast"))?;
    let levels: Vec<Quantile> = [0.5, 0.9, 0.99]
        .into_iter()
        .map(Quantile::try_new)
        .collect::<shadow_core::Result<_>>()
        .map_err(core("forecast"))?;
    let forecast = fitted
        .predict_boxed(&PredictRequest::new(HORIZON, &levels).with_regressors(&future_regs))
        .map_err(core("forecast"))?;
    // The same fit once more through the concrete type, only to read what it learned.
    let learned = Fit::fit(&model, &input).map_err(|e| DemoError::Core {
        stage: "forecast",
        source: shadow_core::Error::Model {
            model: model.name().to_string(),
            source: Box::new(e),
        },
    })?;
    let forecast_stage = ForecastStage {
        model: model.name().to_string(),
        season: STEP * learned.season() as u32,
        effects: learned.effects().to_vec(),
        forecast: forecast.clone(),
    };

    // Plan the shadow environment.
    let policy = policy().map_err(core("plan"))?;
    let shadow_start = policy.min_replicas;
    let curve = DemandCurve::new(service.clone()).with(ResourceKind::Cpu, forecast.clone());
    let current = Allocation {
        service: service.clone(),
        environment: Environment::Shadow,
        desired: shadow_start,
        ready: shadow_start,
    };
    let plan = planner::plan(&curve, &current, &policy).map_err(core("plan"))?;
    let path = plan.capacity_path(shadow_start);

    // Warm-up: size the shadow for the peak p90 need over the switch window, ready before the deployment.
    let deploy_at = now + DEPLOY_AFTER;
    let window_end = deploy_at + WINDOW;
    let step_of = |t: DateTime<Utc>| {
        ((t - now).num_seconds() / STEP.as_secs() as i64).clamp(0, HORIZON as i64 - 1) as usize
    };
    let window = step_of(deploy_at)..step_of(window_end);
    let peak = plan.steps[window.clone()]
        .iter()
        .max_by(|a, b| a.required.cmp(&b.required).then(b.at.cmp(&a.at)))
        .ok_or_else(|| core("warm-up")(shadow_core::Error::invalid("switch window", "is empty")))?;
    let lead = TimeDelta::from_std(policy.lead_time).unwrap_or(TimeDelta::minutes(10));
    let issued_at = deploy_at - lead;
    let shadow_before = path[step_of(issued_at)];
    let target = peak.required.max(path[window.start]);
    let live = plan.steps[window.start].required;
    let clock = ManualClock::new(issued_at);
    let provisioner = InMemoryProvisioner::new()
        .with_boot_delay(Arc::new(clock.clone()), BOOT)
        .with_service(&service, Environment::Live, live.0)
        .with_service(&service, Environment::Shadow, shadow_before.0);
    let warm_request = ProvisioningRequest {
        service: service.clone(),
        environment: Environment::Shadow,
        target,
        issue_at: issued_at,
        deadline: deploy_at,
        reason: format!(
            "pre-deployment warm-up: peak p90 need over {}-{} is {} replicas at {}",
            deploy_at.format("%H:%M"),
            window_end.format("%H:%M"),
            peak.required,
            peak.at.format("%H:%M")
        ),
    };
    provisioner.apply(&warm_request).await.map_err(core("warm-up"))?;
    let ready_at = loop {
        let a = provisioner
            .describe(&service, Environment::Shadow)
            .await
            .map_err(core("warm-up"))?;
        if a.ready >= target {
            break clock.now();
        }
        if clock.now() >= deploy_at + TimeDelta::hours(1) {
            return Err(core("warm-up")(shadow_core::Error::Timeout {
                provider: "memory",
                after: Duration::from_secs(4200),
            }));
        }
        clock.sleep(Duration::from_secs(30)).await;
    };
    if clock.now() < deploy_at {
        clock.advance((deploy_at - clock.now()).to_std().unwrap_or_default());
    }
    let ready_before_switch = provisioner
        .describe(&service, Environment::Shadow)
        .await
        .map_err(core("warm-up"))?
        .ready;

    // Switchover on the manual clock.
    let shifter = InMemoryTrafficShifter::new().with_service(&service);
    let probe = InMemoryHealthProbe::new()
        .with_healthy(&service, Environment::Live, true)
        .with_healthy(&service, Environment::Shadow, true);
    let switchover = Switchover::builder()
        .with_provisioner(Arc::new(provisioner.clone()))
        .with_shifter(Arc::new(shifter))
        .with_probe(Arc::new(probe))
        .with_clock(Arc::new(clock.clone()))
        .with_config(SwitchConfig::default())
        .build()?;
    let switch = switchover
        .run(&SwitchRequest {
            service: service.clone(),
            shadow: vec![warm_request],
            live_min_replicas: peak.required,
        })
        .await?;

    // Capacity in effect: the plan, raised to the warm-up target from ready until the window ends.
    let capacity: Vec<Replicas> = plan
        .steps
        .iter()
        .zip(&path)
        .map(|(s, &c)| {
            if s.at >= ready_at && s.at < window_end {
                c.max(target)
            } else {
                c
            }
        })
        .collect();
    let warm = WarmUp {
        deploy_at,
        window_end,
        peak_at: peak.at,
        peak_demand: peak.demand,
        target,
        shadow_before,
        live,
        issued_at,
        ready_at,
        ready_before_switch,
    };
    let score = score(&forecast, &workload.truth, &capacity, &policy);
    Ok(Outcome {
        service,
        metric_source: source.name().to_string(),
        workload,
        fetched,
        forecast: forecast_stage,
        policy,
        shadow_start,
        plan,
        capacity,
        warm,
        switch,
        score,
    })
}

fn score(forecast: &Forecast, truth: &TimeSeries, capacity: &[Replicas], policy: &ScalingPolicy) -> Score {
    let cap = policy.capacity.get(&ResourceKind::Cpu);
    let usable = cap.map_or(1.0, ResourceCapacity::usable_per_instance);
    let full = cap.map_or(1.0, |c| c.per_instance);
    let p90 = forecast.nearest_quantile(0.9);
    let p50 = forecast.nearest_quantile(0.5);
    let step_min = (STEP.as_secs() / 60) as u32;
    let (mut short, mut saturated, mut covered, mut abs, mut n) = (0, 0, 0usize, 0.0, 0usize);
    let (mut peak, mut peak_h) = (f64::NEG_INFINITY, 0);
    let (mut tpeak, mut tpeak_h) = (f64::NEG_INFINITY, 0);
    for h in 0..forecast.horizon().min(capacity.len()) {
        if p90[h] > peak {
            (peak, peak_h) = (p90[h], h);
        }
        let Some(y) = truth.get(h) else { continue };
        n += 1;
        if y > tpeak {
            (tpeak, tpeak_h) = (y, h);
        }
        let c = f64::from(capacity[h].0);
        short += u32::from(y > c * usable) * step_min;
        saturated += u32::from(y > c * full) * step_min;
        covered += usize::from(y <= p90[h]);
        abs += (y - p50[h]).abs();
    }
    Score {
        peak_p90: peak,
        peak_p90_at: forecast.time_at(peak_h),
        capacity_at_peak: f64::from(capacity.get(peak_h).map_or(0, |r| r.0)) * usable,
        truth_peak: tpeak,
        truth_peak_at: truth.time_at(tpeak_h),
        minutes_short: short,
        minutes_saturated: saturated,
        p90_coverage: covered as f64 / n.max(1) as f64,
        p50_mae: abs / n.max(1) as f64,
    }
}
