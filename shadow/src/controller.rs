//! The controller loop: fetch → forecast → plan → apply, for every configured service and resource.
//!
//! Each cycle, for each service in the config:
//! 1. fetch the latest `controller.history` of every resource kind at `controller.step`;
//! 2. fit the configured model with the service's events as regressors, and predict `forecast.horizon`;
//! 3. plan the live environment with the service's policy;
//! 4. size live for the largest need until the next cycle can act (`now + interval + lead_time`), and apply
//!    that target when it differs from the current one by more than the policy's threshold, unless `dry_run`;
//! 5. record a [`Decision`] saying what was decided and why.
//!
//! # Guarantees
//! - A cycle never scales in on stale data: when the newest observation of any resource is older than two
//!   steps, scale-in requests are dropped and the decision says so.
//! - A failure of one service does not stop the others; it is recorded in that service's decision.
//! - Requests are idempotent targets, so a cycle that is retried applies nothing twice.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, DurationRound, Utc};
use shadow_core::{
    Clock, DemandCurve, DynMetricSource, DynProvisioner, Environment, Error, FitInput, Forecaster,
    MetricQuery, PredictRequest, ProvisioningRequest, Quantile, Regressors, Result, TimeRange,
    config::{ServiceConfig, ShadowConfig},
    planner,
    series::to_delta,
};
use shadow_providers::ProviderRegistry;

/// What one cycle decided for one service.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The service.
    pub service: String,
    /// When the cycle ran.
    pub at: DateTime<Utc>,
    /// The replicas the live environment had.
    pub current: u32,
    /// The largest need over the horizon, and when.
    pub peak: Option<(u32, DateTime<Utc>)>,
    /// The request due in this cycle (at most one target), applied or (in dry-run) not.
    pub due: Vec<ProvisioningRequest>,
    /// Whether the due requests were applied.
    pub applied: bool,
    /// Notes: skipped scale-ins, model fallbacks.
    pub notes: Vec<String>,
    /// The error that stopped this service's cycle, if any.
    pub error: Option<String>,
}

/// The controller built from a config.
#[derive(Debug)]
pub struct Controller {
    config: ShadowConfig,
    source: Arc<DynMetricSource>,
    provisioner: Arc<DynProvisioner>,
    forecaster: Box<dyn Forecaster>,
    clock: Arc<dyn Clock>,
}

impl Controller {
    /// Builds the providers named in the config through `registry`.
    ///
    /// # Errors
    /// [`Error::Config`], [`Error::FeatureDisabled`] or [`Error::UnknownProvider`] when a provider or the model
    /// cannot be built.
    pub fn from_config(
        config: ShadowConfig,
        registry: &ProviderRegistry,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        config.validate()?;
        let source = registry.build_metric_source(&config.metrics)?;
        let provisioner = registry.build_provisioner(&config.provisioner)?;
        let forecaster = shadow_forecast::by_name(&config.forecast.model, config.forecast.season)?;
        Ok(Self {
            config,
            source,
            provisioner,
            forecaster,
            clock,
        })
    }

    /// The config in effect.
    #[must_use]
    pub fn config(&self) -> &ShadowConfig {
        &self.config
    }

    /// Runs one cycle over every service.
    pub async fn cycle(&self) -> Vec<Decision> {
        let now = self.clock.now();
        let mut out = Vec::with_capacity(self.config.services.len());
        for svc in &self.config.services {
            let mut decision = Decision {
                service: svc.name.to_string(),
                at: now,
                current: 0,
                peak: None,
                due: Vec::new(),
                applied: false,
                notes: Vec::new(),
                error: None,
            };
            if let Err(e) = self.cycle_service(svc, now, &mut decision).await {
                tracing::warn!(service = %svc.name, error = %e, error.kind = e.kind(), "cycle failed");
                decision.error = Some(e.to_string());
            }
            out.push(decision);
        }
        out
    }

    async fn cycle_service(
        &self,
        svc: &ServiceConfig,
        now: DateTime<Utc>,
        decision: &mut Decision,
    ) -> Result<()> {
        let cc = &self.config.controller;
        let step = cc.step;
        let step_delta = to_delta(step)?;
        // Align the window end to the step grid so successive cycles fetch the same grid points.
        let end = now
            .duration_trunc(step_delta)
            .map_err(|e| Error::invalid("controller.step", e.to_string()))?;
        let range = TimeRange::new(end - to_delta(cc.history)?, end)?;
        let horizon = (cc_horizon_steps(self.config.forecast.horizon, step)).max(1);

        let mut levels: Vec<Quantile> = self.config.forecast.quantiles.clone();
        if !levels.contains(&svc.policy.quantile) {
            levels.push(svc.policy.quantile);
            levels.sort();
        }
        let mut curve = DemandCurve::new(svc.name.clone());
        let mut stale = false;
        for kind in &svc.resources {
            let query = MetricQuery::new(svc.name.clone(), kind.clone(), range, step)?;
            let history = self.source.fetch(&query).await?;
            let fresh_after = end - step_delta * 2;
            if history.last_present().is_none_or(|s| s.at < fresh_after) {
                stale = true;
                decision
                    .notes
                    .push(format!("{kind}: newest observation is older than two steps"));
            }
            let x_fit = Regressors::from_events(&svc.events, history.start(), step, history.len())?;
            let x_new = Regressors::from_events(&svc.events, history.end(), step, horizon)?;
            let fitted = self
                .forecaster
                .fit_boxed(&FitInput::new(&history).with_regressors(&x_fit)?)?;
            let forecast =
                fitted.predict_boxed(&PredictRequest::new(horizon, &levels).with_regressors(&x_new))?;
            curve = curve.with(kind.clone(), forecast);
        }

        let current = self.provisioner.describe(&svc.name, Environment::Live).await?;
        decision.current = current.desired.get();
        let plan = planner::plan(&curve, &current, &svc.policy)?;
        decision.peak = plan.peak().map(|p| (p.required.get(), p.at));
        // Size for everything until the next decision point can take effect: the next cycle plus one lead
        // time. Applying a whole-window target makes a repeated cycle a no-op instead of a flap.
        let window_end = now + to_delta(cc.interval)? + to_delta(svc.policy.lead_time)?;
        let Some(step) = plan
            .steps
            .iter()
            .filter(|s| s.at < window_end)
            .max_by_key(|s| s.required)
        else {
            return Ok(());
        };
        let (need, have) = (step.required.get(), current.desired.get());
        let threshold = svc
            .policy
            .capacity
            .values()
            .map(|c| c.threshold)
            .fold(f64::INFINITY, f64::min);
        let beyond_threshold = f64::from(need.abs_diff(have)) > threshold * f64::from(have);
        let mut due = Vec::new();
        if need != have && beyond_threshold {
            if need < have && stale {
                decision.notes.push("scale-in skipped: data is stale".to_string());
            } else {
                let verb = if need > have { "scale out" } else { "scale in" };
                let demand = step.demand.get(&step.binding).copied().unwrap_or(0.0);
                due.push(ProvisioningRequest {
                    service: svc.name.clone(),
                    environment: Environment::Live,
                    target: step.required,
                    issue_at: now,
                    deadline: step.at.max(now),
                    reason: format!(
                        "{verb} {have} -> {need}: forecast {} demand {demand:.3} at {} needs {need} replicas",
                        step.binding,
                        step.at.format("%Y-%m-%dT%H:%M:%SZ")
                    ),
                });
            }
        }
        if !cc.dry_run {
            for request in &due {
                tracing::info!(service = %svc.name, target = %request.target, reason = %request.reason, "applying");
                self.provisioner.apply(request).await?;
            }
            decision.applied = !due.is_empty();
        }
        decision.due = due;
        Ok(())
    }

    /// Runs cycles every `controller.interval` until `shutdown` completes, calling `on_cycle` after each.
    pub async fn run<F>(&self, shutdown: F, mut on_cycle: impl FnMut(&[Decision]))
    where
        F: std::future::Future<Output = ()>,
    {
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let decisions = self.cycle().await;
            on_cycle(&decisions);
            tokio::select! {
                () = &mut shutdown => break,
                () = self.clock.sleep(self.config.controller.interval) => {}
            }
        }
    }
}

fn cc_horizon_steps(horizon: Duration, step: Duration) -> usize {
    (horizon.as_millis() / step.as_millis().max(1)) as usize
}

/// Formats a decision on one line for logs and the `run` command.
#[must_use]
pub fn describe(d: &Decision) -> String {
    let mut line = format!(
        "{} {}: live {} replicas",
        d.at.format("%Y-%m-%dT%H:%M:%SZ"),
        d.service,
        d.current
    );
    if let Some((need, at)) = d.peak {
        line.push_str(&format!(
            ", peak need {need} at {}",
            at.format("%Y-%m-%dT%H:%M:%SZ")
        ));
    }
    for r in &d.due {
        let verb = if d.applied { "applied" } else { "dry-run" };
        line.push_str(&format!("; {verb}: {}", r.reason));
    }
    if d.due.is_empty() && d.error.is_none() {
        line.push_str("; no change due");
    }
    for n in &d.notes {
        line.push_str(&format!("; note: {n}"));
    }
    if let Some(e) = &d.error {
        line.push_str(&format!("; error: {e}"));
    }
    line
}
