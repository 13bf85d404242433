//! One service's cycle: describe, fetch, forecast, plan (or fall back), apply with retries, record.

use std::{future::Future, time::Duration};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use std::collections::BTreeMap;

use shadow_core::{
    Allocation, DemandCurve, Environment, Error, MetricQuery, PolicyMode, ProvisioningRequest, Quantile,
    Replicas, ResourceKind, Result, Sample, TimeRange,
    config::ServiceConfig,
    planner::{
        self,
        online::{self, OnlineOptions, OnlinePolicy, StepObservation},
    },
    series::to_delta,
};

use super::{
    Action, Controller, Decision, ForecastSummary, Stage, fallback, lock,
    models::{Job, JobContext, OnlineState, ServiceMemory, run_job},
};

/// How many of the newest observations per resource the calibrated policy can step through in one cycle.
const FRESH_STEPS: usize = 288;

/// The grid of this cycle: the window `[start, end)` aligned to the step, and the horizon in steps.
#[derive(Debug, Clone, Copy)]
struct Grid {
    now: DateTime<Utc>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    step: Duration,
    step_delta: TimeDelta,
    horizon: usize,
    history_steps: usize,
}

impl Grid {
    fn new(c: &Controller, now: DateTime<Utc>) -> Result<Self> {
        let cc = &c.config.controller;
        let step_delta = to_delta(cc.step)?;
        // Align the window end to the step grid so successive cycles fetch the same grid points.
        let end = now
            .duration_trunc(step_delta)
            .map_err(|e| Error::invalid("controller.step", e.to_string()))?;
        let step_ms = cc.step.as_millis().max(1);
        Ok(Self {
            now,
            start: end - to_delta(cc.history)?,
            end,
            step: cc.step,
            step_delta,
            horizon: ((c.config.forecast.horizon.as_millis() / step_ms) as usize).max(1),
            history_steps: ((cc.history.as_millis() / step_ms) as usize).max(1),
        })
    }

    /// Observations older than this are stale.
    fn fresh_after(&self) -> DateTime<Utc> {
        self.end - self.step_delta * 2
    }
}

impl Controller {
    pub(super) async fn cycle_service(&self, svc: &ServiceConfig, now: DateTime<Utc>) -> Decision {
        let mut d = Decision::new(svc.name.to_string(), now);
        let mut memory = lock(&self.memory).get(&svc.name).cloned().unwrap_or_default();
        self.cycle_service_inner(svc, now, &mut d, &mut memory).await;
        d.observed = svc
            .resources
            .iter()
            .filter_map(|k| memory.observed.get(k).map(|s| (k.clone(), *s)))
            .collect();
        lock(&self.memory).insert(svc.name.clone(), memory);
        self.metrics.record_decision(&d);
        d
    }

    async fn cycle_service_inner(
        &self,
        svc: &ServiceConfig,
        now: DateTime<Utc>,
        d: &mut Decision,
        memory: &mut ServiceMemory,
    ) {
        let grid = match Grid::new(self, now) {
            Ok(g) => g,
            Err(e) => return self.fail(d, Stage::Plan, &e, true),
        };
        let name = svc.name.clone();
        let current = match self
            .call_with_retry(&d.service, Stage::Plan, || {
                self.provisioner.describe(&name, Environment::Live)
            })
            .await
        {
            Ok(a) => a,
            Err(e) => return self.fail(d, Stage::Plan, &e, false),
        };
        d.current = current.desired.get();
        d.applied_replicas = Some(d.current);

        let request = match self.forecast(svc, &grid, d, memory).await {
            Ok((curve, stale)) => match match svc.policy.mode {
                PolicyMode::Proactive => self.plan(svc, &grid, &curve, &current, stale, d, memory),
                PolicyMode::Calibrated => self.plan_online(svc, &grid, &curve, &current, stale, d, memory),
                PolicyMode::Reactive => Ok(self.plan_reactive(svc, &grid, &current, stale, d, memory)),
            } {
                Ok(request) => request,
                Err(e) => {
                    self.fail(d, Stage::Plan, &e, true);
                    self.fallback(svc, &grid, &current, d, memory)
                }
            },
            Err((stage, e)) => {
                self.fail(d, stage, &e, true);
                self.fallback(svc, &grid, &current, d, memory)
            }
        };
        let Some(request) = request else { return };
        if !self.config.controller.dry_run {
            tracing::info!(
                service = %svc.name, request.target = %request.target, request.reason = %request.reason,
                "applying"
            );
            match self
                .call_with_retry(&d.service, Stage::Apply, || self.provisioner.apply(&request))
                .await
            {
                Ok(after) => {
                    d.applied = true;
                    d.applied_replicas = Some(after.desired.get());
                }
                Err(e) => self.fail(d, Stage::Apply, &e, false),
            }
        }
        d.due.push(request);
    }

    /// Records a failure: the decision's first error, a WARN log, and (when `count`) the error counter.
    fn fail(&self, d: &mut Decision, stage: Stage, e: &Error, count: bool) {
        tracing::warn!(
            service = %d.service, stage = stage.as_str(), error.kind = e.kind(), error = %e,
            "controller stage failed"
        );
        if count {
            self.metrics.record_error(&d.service, stage, e.kind());
        }
        d.error.get_or_insert_with(|| e.to_string());
    }

    /// Fetches every resource and forecasts it; returns the demand curve and whether any data is stale.
    async fn forecast(
        &self,
        svc: &ServiceConfig,
        grid: &Grid,
        d: &mut Decision,
        memory: &mut ServiceMemory,
    ) -> Result<(DemandCurve, bool), (Stage, Error)> {
        let fetch = |e| (Stage::Fetch, e);
        let refit_interval = self.config.controller.refit_interval;
        let mut jobs = Vec::with_capacity(svc.resources.len());
        for kind in &svc.resources {
            let reuse = memory.models.get(kind).and_then(|m| {
                let shift = m.reusable(grid.end, grid.now, grid.step, refit_interval, grid.horizon)?;
                Some((m.clone(), shift))
            });
            // A reused model needs only the newest points: for freshness and for the fallback.
            let from = match &reuse {
                Some((_, shift)) => grid.end - grid.step_delta * (shift + 3).min(grid.history_steps) as i32,
                None => grid.start,
            };
            let range = TimeRange::new(from, grid.end).map_err(fetch)?;
            let query = MetricQuery::new(svc.name.clone(), kind.clone(), range, grid.step).map_err(fetch)?;
            let timeout = self.config.controller.interval;
            let series = match tokio::time::timeout(timeout, self.source.fetch(&query)).await {
                Ok(r) => r,
                Err(_) => Err(Error::Timeout {
                    provider: "metrics",
                    after: timeout,
                }),
            }
            .map_err(fetch)?;
            if let Some(s) = series.last_present() {
                memory.observed.insert(kind.clone(), s);
            }
            if svc.policy.mode == PolicyMode::Calibrated {
                let present: Vec<Sample> = series.samples().collect();
                let tail = present.len().saturating_sub(FRESH_STEPS);
                memory.fresh.insert(kind.clone(), present[tail..].to_vec());
            }
            jobs.push((
                kind.clone(),
                match reuse {
                    Some((m, shift)) => Job::Reuse(m, shift),
                    None => Job::Refit(series),
                },
            ));
        }
        let mut stale = false;
        for kind in &svc.resources {
            if memory
                .observed
                .get(kind)
                .is_none_or(|s| s.at < grid.fresh_after())
            {
                stale = true;
                d.notes
                    .push(format!("{kind}: newest observation is older than two steps"));
            }
        }

        let mut levels: Vec<Quantile> = self.config.forecast.quantiles.clone();
        if !levels.contains(&svc.policy.quantile) {
            levels.push(svc.policy.quantile);
            levels.sort();
        }
        let ctx = JobContext {
            forecaster: self.forecaster.clone(),
            events: svc.events.clone(),
            horizon: grid.horizon,
            levels,
            step: grid.step,
            now: grid.now,
        };
        // Fitting is CPU-bound: run the service's series on the blocking pool.
        let results = tokio::task::spawn_blocking(move || {
            jobs.into_iter()
                .map(|(kind, job)| {
                    let refit = matches!(job, Job::Refit(_));
                    (kind, refit, run_job(&ctx, job))
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| {
            let e = Error::Generic {
                provider: "controller",
                source: Box::new(e),
            };
            (Stage::Forecast, e)
        })?;
        let mut curve = DemandCurve::new(svc.name.clone());
        for (kind, refit, result) in results {
            let (forecast, state) = result.map_err(|e| (Stage::Forecast, e))?;
            if refit {
                d.refitted += 1;
            } else {
                d.reused += 1;
            }
            if let Some(state) = state {
                memory.models.insert(kind.clone(), state);
            }
            for (level, path) in forecast.levels().iter().zip(forecast.quantile_paths()) {
                d.forecasts.push(ForecastSummary {
                    resource: kind.clone(),
                    quantile: *level,
                    next: path.first().copied().unwrap_or(f64::NAN),
                    peak: path.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                });
            }
            curve = curve.with(kind, forecast);
        }
        Ok((curve, stale))
    }

    /// Plans from a good forecast and remembers the plan; returns the due request, if any.
    #[allow(clippy::too_many_arguments)]
    fn plan(
        &self,
        svc: &ServiceConfig,
        grid: &Grid,
        curve: &DemandCurve,
        current: &Allocation,
        stale: bool,
        d: &mut Decision,
        memory: &mut ServiceMemory,
    ) -> Result<Option<ProvisioningRequest>> {
        let plan = planner::plan(curve, current, &svc.policy)?;
        d.peak = plan.peak().map(|p| (p.required.get(), p.at));
        memory.last_plan = Some(plan.steps.iter().map(|s| (s.at, s.required.get())).collect());
        let window_end = self.window_end(svc, grid)?;
        let have = current.desired.get();
        // Size for everything until the next decision point can take effect: the next cycle plus one lead
        // time. Applying a whole-window target makes a repeated cycle a no-op instead of a flap.
        let Some(step) = plan
            .steps
            .iter()
            .filter(|s| s.at < window_end)
            .max_by_key(|s| s.required)
        else {
            d.planned = Some(have);
            return Ok(None);
        };
        let need = step.required.get();
        d.planned = Some(need);
        if !beyond_threshold(svc, need, have) {
            return Ok(None);
        }
        if need < have && stale {
            d.notes.push("scale-in skipped: data is stale".to_string());
            return Ok(None);
        }
        let verb = direction(d, need, have);
        let demand = step.demand;
        Ok(Some(ProvisioningRequest {
            service: svc.name.clone(),
            environment: Environment::Live,
            target: step.required,
            issue_at: grid.now,
            deadline: step.at.max(grid.now),
            reason: format!(
                "{verb} {have} -> {need}: forecast {} demand {demand:.3} at {} needs {need} replicas",
                step.binding,
                step.at.format("%Y-%m-%dT%H:%M:%SZ")
            ),
        }))
    }

    /// `mode = "reactive"`: the HPA formula on the newest observations, both ways; no scale-in on stale data.
    fn plan_reactive(
        &self,
        svc: &ServiceConfig,
        grid: &Grid,
        current: &Allocation,
        stale: bool,
        d: &mut Decision,
        memory: &ServiceMemory,
    ) -> Option<ProvisioningRequest> {
        let have = current.desired.get();
        let observed = newest_observed(svc, memory);
        let Some(need) = fallback::reactive(&svc.policy, have, &observed) else {
            d.planned = Some(have);
            return None;
        };
        d.planned = Some(need);
        if need == have || !beyond_threshold(svc, need, have) {
            return None;
        }
        if need < have && stale {
            d.notes.push("scale-in skipped: data is stale".to_string());
            return None;
        }
        let verb = direction(d, need, have);
        Some(ProvisioningRequest {
            service: svc.name.clone(),
            environment: Environment::Live,
            target: Replicas(need),
            issue_at: grid.now,
            deadline: grid.now,
            reason: format!("{verb} {have} -> {need}: reactive (HPA formula) on the newest observations"),
        })
    }

    /// `mode = "calibrated"`: steps the service's [`OnlinePolicy`] through every grid point observed since
    /// the last cycle (at most a day of them), and returns the newest step's request. Each step's forecast
    /// is the one in force then: this cycle's for the newest point, the previous cycle's for the others. A
    /// cycle that sees no new grid point holds.
    #[allow(clippy::too_many_arguments)]
    fn plan_online(
        &self,
        svc: &ServiceConfig,
        grid: &Grid,
        curve: &DemandCurve,
        current: &Allocation,
        stale: bool,
        d: &mut Decision,
        memory: &mut ServiceMemory,
    ) -> Result<Option<ProvisioningRequest>> {
        let have = current.desired.get();
        d.planned = Some(have);
        if memory
            .online
            .as_ref()
            .is_none_or(|o| o.policy.policy() != &svc.policy)
        {
            let pricing = &self.config.pricing;
            let objective = online::priced(pricing, pricing.on_demand);
            memory.online = Some(OnlineState {
                policy: OnlinePolicy::new(
                    svc.policy.clone(),
                    grid.step,
                    objective,
                    OnlineOptions::default(),
                )?,
                last: None,
                curve: BTreeMap::new(),
            });
        }
        let Some(newest) = memory.fresh.values().filter_map(|v| v.last().map(|s| s.at)).max() else {
            return Ok(None);
        };
        let fresh = &memory.fresh;
        let Some(state) = memory.online.as_mut() else {
            return Ok(None);
        };
        let step = grid.step_delta;
        let lead = step * state.policy.lead_steps() as i32;
        let oldest = newest - step * (FRESH_STEPS as i32 - 1);
        let mut t = state.last.map_or(newest, |l| (l + step).max(oldest));
        let point_at =
            |c: &BTreeMap<ResourceKind, (DateTime<Utc>, Vec<f64>)>, k: &ResourceKind, at: DateTime<Utc>| {
                let (start, path) = c.get(k)?;
                let h = (at - *start)
                    .num_milliseconds()
                    .checked_div(step.num_milliseconds())?;
                usize::try_from(h).ok().and_then(|h| path.get(h).copied())
            };
        let this: BTreeMap<ResourceKind, (DateTime<Utc>, Vec<f64>)> = curve
            .resources
            .iter()
            .map(|(k, f)| (k.clone(), (f.start(), f.point().to_vec())))
            .collect();
        let mut last = None;
        while t <= newest {
            let observed: BTreeMap<ResourceKind, f64> = fresh
                .iter()
                .filter_map(|(k, v)| {
                    let i = v.binary_search_by_key(&t, |s| s.at).ok()?;
                    Some((k.clone(), v[i].value))
                })
                .collect();
            // The forecast in force at t: this cycle's was fitted on history up to the newest point only.
            let source = if t == newest { &this } else { &state.curve };
            let forecast = svc
                .resources
                .iter()
                .filter_map(|k| point_at(source, k, t + lead).map(|v| (k.clone(), v)))
                .collect();
            last = Some(state.policy.step(&StepObservation {
                at: t,
                current,
                observed: &observed,
                forecast: &forecast,
                stale: stale && t == newest,
            })?);
            t += step;
        }
        state.last = Some(newest.max(state.last.unwrap_or(newest)));
        state.curve = this;
        let Some(outcome) = last else {
            d.notes
                .push("calibrated: no new grid point since the last cycle; holding".to_string());
            return Ok(None);
        };
        let Some(mut request) = outcome.request else {
            return Ok(None);
        };
        let need = request.target.get();
        d.planned = Some(need);
        direction(d, need, have);
        request.service = svc.name.clone();
        request.issue_at = grid.now;
        request.deadline = grid.now + lead;
        Ok(Some(request))
    }

    fn window_end(&self, svc: &ServiceConfig, grid: &Grid) -> Result<DateTime<Utc>> {
        Ok(grid.now + to_delta(self.config.controller.interval)? + to_delta(svc.policy.lead_time)?)
    }

    /// The reactive policy combined with the last good plan; never below the current replicas.
    fn fallback(
        &self,
        svc: &ServiceConfig,
        grid: &Grid,
        current: &Allocation,
        d: &mut Decision,
        memory: &ServiceMemory,
    ) -> Option<ProvisioningRequest> {
        d.action = Action::Fallback;
        let have = current.desired.get();
        let observed = newest_observed(svc, memory);
        let reactive = fallback::reactive(&svc.policy, have, &observed);
        let window_end = self.window_end(svc, grid).unwrap_or(grid.now);
        let kept = memory.last_plan.as_ref().and_then(|steps| {
            steps
                .iter()
                .filter(|(at, _)| *at >= grid.now - grid.step_delta && *at < window_end)
                .map(|(_, r)| *r)
                .max()
        });
        let mut target = have.max(reactive.unwrap_or(have)).max(kept.unwrap_or(have));
        if target > have {
            target = svc.policy.clamp(target).get().max(have);
        }
        d.planned = Some(target);
        let fmt = |v: Option<u32>| v.map_or_else(|| "none".to_string(), |v| v.to_string());
        d.notes.push(format!(
            "fallback: reactive target {}, last good plan {}; no scale-in without fresh data",
            fmt(reactive),
            fmt(kept)
        ));
        if target <= have || !beyond_threshold(svc, target, have) {
            return None;
        }
        Some(ProvisioningRequest {
            service: svc.name.clone(),
            environment: Environment::Live,
            target: Replicas(target),
            issue_at: grid.now,
            deadline: grid.now,
            reason: format!(
                "fallback scale out {have} -> {target}: reactive {}, last good plan {}",
                fmt(reactive),
                fmt(kept)
            ),
        })
    }

    /// Calls `call` until it succeeds, fails permanently, or the attempts run out; counts every failed attempt.
    ///
    /// Only idempotent calls may come here: `describe`, and `apply` of a target (never an increment), so a
    /// retried (or timed-out) call applies nothing twice.
    async fn call_with_retry<T, F, Fut>(&self, service: &str, stage: Stage, mut call: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let max = self.retry.max_attempts.max(1);
        let timeout = self.config.controller.interval;
        let mut backoff = self.retry.initial_backoff;
        let mut attempt = 1;
        loop {
            let result = match tokio::time::timeout(timeout, call()).await {
                Ok(r) => r,
                Err(_) => Err(Error::Timeout {
                    provider: "provisioner",
                    after: timeout,
                }),
            };
            let e = match result {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            self.metrics.record_error(service, stage, e.kind());
            if !e.is_retryable() {
                return Err(e);
            }
            if attempt >= max {
                return Err(Error::RetriesExhausted {
                    attempts: attempt,
                    source: Box::new(e),
                });
            }
            tracing::info!(
                service, stage = stage.as_str(), retry.attempt = attempt, retry.max = max - 1,
                retry.backoff_ms = backoff.as_millis() as u64, error.kind = e.kind(), error = %e,
                "retry {attempt} of {}", max - 1
            );
            self.metrics.record_retry(service);
            self.clock.sleep(backoff).await;
            backoff = (backoff * 2).min(self.retry.max_backoff);
            attempt += 1;
        }
    }
}

/// Whether the change from `have` to `need` exceeds the smallest threshold of the policy's resources.
/// The newest present observation of each of the service's resources.
fn newest_observed(svc: &ServiceConfig, memory: &ServiceMemory) -> BTreeMap<ResourceKind, f64> {
    svc.resources
        .iter()
        .filter_map(|k| memory.observed.get(k).map(|s| (k.clone(), s.value)))
        .collect()
}

/// Records the direction of a change from `have` to `need` replicas in the decision; returns its verb.
fn direction(d: &mut Decision, need: u32, have: u32) -> &'static str {
    if need > have {
        d.action = Action::ScaleOut;
        "scale out"
    } else {
        d.action = Action::ScaleIn;
        "scale in"
    }
}

fn beyond_threshold(svc: &ServiceConfig, need: u32, have: u32) -> bool {
    let threshold = svc
        .policy
        .capacity
        .values()
        .map(|c| c.threshold)
        .fold(f64::INFINITY, f64::min);
    need != have && f64::from(need.abs_diff(have)) > threshold * f64::from(have)
}
