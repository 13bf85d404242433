//! [`Switchover`]: the state machine and the request it runs.

use std::{fmt, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use shadow_core::{
    Clock, DynHealthProbe, DynProvisioner, DynSwitchStateStore, DynTrafficShifter, Environment, HealthStatus,
    ProvisioningRequest, Replicas, ServiceId, SwitchState, TimeRange, TrafficSplit, TrafficWeight,
};
use tracing::{debug, info, warn};

use crate::{
    analysis::Analysis,
    builder::{ResumePolicy, SwitchoverBuilder},
    capacity::peak_need,
    error::{Error, Result},
    event::{Phase, SwitchEvent, SwitchReport},
    metrics::SwitchMetrics,
};

/// How many times a retryable provider error is retried (attempts = retries + 1).
pub(crate) const RETRIES: u32 = 2;

/// What one switchover run needs besides the providers.
#[derive(Debug, Clone, PartialEq)]
pub struct SwitchRequest {
    /// The service to switch.
    pub service: ServiceId,
    /// The shadow's provisioning requests, applied in order; the last one's target is what the shadow must
    /// reach before traffic moves. Its [`ProvisioningRequest::idempotency_key`] identifies the run in the
    /// state store.
    pub shadow: Vec<ProvisioningRequest>,
    /// The fewest ready live replicas that can carry all traffic (from the forecast). A rollback scales live up
    /// to this (or to the forecast need set with [`SwitchoverBuilder::with_live_need`], whichever is larger)
    /// before moving traffic back.
    pub live_min_replicas: Replicas,
}

/// A gradual, health-gated switchover from live to shadow with automatic, capacity-aware rollback.
///
/// It meets the world only through [`shadow_core::Provisioner`], [`shadow_core::TrafficShifter`],
/// [`shadow_core::HealthProbe`], [`shadow_core::Clock`], and optionally a
/// [`shadow_core::SwitchStateStore`] and a [`shadow_core::MetricSource`] (through [`Analysis`]).
///
/// # Contract
/// 1. **Preparing**: applies the shadow's requests in order and polls `describe(shadow)` every probe interval
///    until `ready >= target` of the last request, or fails with [`Error::NotReady`] after the ready timeout.
/// 2. **Verifying**: probes the shadow at once and then every probe interval until `settle` has passed; one
///    failed probe stops with [`Error::ShadowUnhealthy`]. No traffic has moved in either phase.
/// 3. **Shifting**: for each step, saves the split it is about to apply (write-ahead), `set_weights` to it and
///    checks the read-back; then dwells, probing live *and* shadow every probe interval, and at the end of the
///    dwell runs the metric gate ([`Analysis`]) when one is set.
/// 4. **Promoted** after the last step (100 %) held and passed.
///
/// During shifting, a failed or erroring probe, a failed metric gate, a shifter error, a read-back mismatch or
/// a state-store failure starts **RollingBack**: it computes what live needs (the request's
/// `live_min_replicas` and the forecast need over the next ready timeout), and if fewer are ready it scales
/// live and waits, then moves traffic back **step by step** through the configured steps below the current
/// split (pausing the rollback step dwell between them); if live already had the capacity it moves all traffic
/// back at once. It ends **RolledBack**.
///
/// # Errors
/// See [`Error`]. A rollback is an outcome, not an error: [`Switchover::run`] returns `Ok` with
/// [`Phase::RolledBack`]; only a rollback that cannot restore all-live traffic is [`Error::RollbackFailed`].
///
/// # Guarantees
/// - **Idempotent transitions**: provisioning states a target (`set_replicas(n)`, never "add n") and shifting
///   states a split, so re-running a step, or the whole switchover, re-applies the same target.
/// - **Persisted state**: with a state store, every phase change and every split about to be applied is saved
///   first (compare-and-swap on a revision). A run whose stored state is terminal and has the same run id
///   returns that outcome without touching anything.
/// - **Resume**: a run that finds a non-terminal state resumes it: before any traffic moved it starts over;
///   in **Shifting** it reads the split back from the shifter and, if it is the stored split or the pending
///   one, re-checks both sides and continues from that step ([`ResumePolicy::Continue`]) or rolls back
///   ([`ResumePolicy::RollBack`]); a split that is neither, a failed check, or **RollingBack** rolls back. So
///   a restart never leaves traffic at a split nobody decided.
/// - Traffic never moves back before live has the capacity it needs, unless live cannot get there within the
///   ready timeout (see Caveats).
/// - Retryable provider errors are retried twice, one probe interval apart; each retry logs at WARN.
///
/// # Cancellation
/// `run` changes the world only at its `.await`s on the providers and the store. Dropping the future (or
/// killing the process) between awaits leaves traffic at the last confirmed split, which the store holds
/// (with the split being applied as `pending`). **Nothing rolls back on drop**: run the switchover again with
/// the same store to resume or roll back.
///
/// # Assumptions
/// The probe interval is much shorter than the dwell; the shifter applies splits atomically; one controller
/// runs a service's switchover at a time.
///
/// # Caveats
/// If live cannot reach the needed replicas within the ready timeout during a rollback, traffic still moves
/// back to live, because the shadow has already failed; the event log and a WARN line say so. State-store
/// failures during a rollback are logged and do not stop it.
pub struct Switchover {
    pub(crate) provisioner: Arc<DynProvisioner>,
    pub(crate) shifter: Arc<DynTrafficShifter>,
    pub(crate) probe: Arc<DynHealthProbe>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) store: Option<Arc<DynSwitchStateStore>>,
    pub(crate) analysis: Option<Analysis>,
    pub(crate) metrics: Option<SwitchMetrics>,
    pub(crate) live_need: Vec<(DateTime<Utc>, Replicas)>,
    pub(crate) resume: ResumePolicy,
    pub(crate) steps: Vec<TrafficWeight>,
    pub(crate) dwell: Duration,
    pub(crate) settle: Duration,
    pub(crate) probe_interval: Duration,
    pub(crate) ready_timeout: Duration,
    pub(crate) rollback_step_dwell: Duration,
}

impl fmt::Debug for Switchover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Switchover")
            .field("provisioner", &self.provisioner.name())
            .field("shifter", &self.shifter.name())
            .field("probe", &self.probe.name())
            .field("store", &self.store.as_ref().map(|s| s.name().to_string()))
            .field("analysis", &self.analysis.as_ref().map(Analysis::config))
            .field("steps", &self.steps)
            .field("dwell", &self.dwell)
            .field("settle", &self.settle)
            .field("probe_interval", &self.probe_interval)
            .field("ready_timeout", &self.ready_timeout)
            .field("resume", &self.resume)
            .finish_non_exhaustive()
    }
}

/// Why shifting stopped.
struct Abort(String);

/// One run: the request, the log and what has been persisted.
struct Run<'a> {
    sw: &'a Switchover,
    request: &'a SwitchRequest,
    log: &'a mut Vec<SwitchEvent>,
    run_id: String,
    revision: u64,
    phase: Phase,
    /// The last phase entered in this process (for the transition counters).
    entered: Option<Phase>,
    split: TrafficSplit,
}

impl Switchover {
    /// Starts building a switchover.
    pub fn builder() -> SwitchoverBuilder {
        SwitchoverBuilder::default()
    }

    /// The configured shadow weights, in order.
    #[must_use]
    pub fn steps(&self) -> &[TrafficWeight] {
        &self.steps
    }

    /// Runs (or resumes) the switchover to a terminal phase and returns the log.
    ///
    /// # Errors
    /// As [`Switchover::run_logged`]; the log is lost on error, use `run_logged` to keep it.
    pub async fn run(&self, request: &SwitchRequest) -> Result<SwitchReport> {
        let mut events = Vec::new();
        let phase = self.run_logged(request, &mut events).await?;
        Ok(SwitchReport {
            service: request.service.clone(),
            phase,
            events,
        })
    }

    /// Runs (or resumes) the switchover, appending every transition to `log` as it happens (also on error),
    /// and returns the terminal phase.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`], [`Error::State`], [`Error::Provision`], [`Error::NotReady`],
    /// [`Error::ShadowUnhealthy`] and [`Error::Shifter`] before traffic moved; [`Error::RollbackFailed`] when
    /// all-live could not be restored.
    pub async fn run_logged(&self, request: &SwitchRequest, log: &mut Vec<SwitchEvent>) -> Result<Phase> {
        let svc = &request.service;
        let Some(last) = request.shadow.last() else {
            return Err(Error::InvalidRequest("no shadow provisioning request".into()));
        };
        if let Some(bad) = request
            .shadow
            .iter()
            .find(|r| r.environment != Environment::Shadow || &r.service != svc)
        {
            return Err(Error::InvalidRequest(format!(
                "request for {}/{} in a switchover of {svc}/shadow",
                bad.service, bad.environment
            )));
        }
        let stored = match &self.store {
            Some(store) => self
                .retry("store.load", || store.load(svc))
                .await
                .map_err(Error::State)?,
            None => None,
        };
        let mut run = Run {
            sw: self,
            request,
            log,
            run_id: last.idempotency_key(),
            revision: stored.as_ref().map_or(0, |s| s.revision),
            phase: Phase::Preparing,
            entered: None,
            split: TrafficSplit::ALL_LIVE,
        };
        match stored {
            Some(s) if s.phase.is_terminal() && s.run_id == run.run_id => {
                run.phase = s.phase;
                run.split = s.split;
                run.note(format!(
                    "run {} already ended {}; nothing to do",
                    s.run_id, s.phase
                ));
                Ok(s.phase)
            }
            Some(s) if !s.phase.is_terminal() => run.resume(s).await,
            _ => run.fresh().await,
        }
    }

    pub(crate) async fn retry<T, F, Fut>(&self, op: &'static str, mut call: F) -> shadow_core::Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = shadow_core::Result<T>>,
    {
        let mut attempt = 0;
        loop {
            match call().await {
                Err(e) if e.is_retryable() && attempt < RETRIES => {
                    attempt += 1;
                    warn!(op, attempt, max = RETRIES, backoff = ?self.probe_interval, error = %e, "retry {attempt} of {RETRIES}");
                    self.clock.sleep(self.probe_interval).await;
                }
                other => return other,
            }
        }
    }

    /// One health check; a probe error counts as unhealthy.
    async fn check(&self, svc: &ServiceId, env: Environment) -> HealthStatus {
        match self.probe.check(svc, env).await {
            Ok(status) => status,
            Err(e) => HealthStatus::unhealthy(Duration::ZERO, format!("probe error: {e}")),
        }
    }

    fn elapsed_since(&self, started: DateTime<Utc>) -> Duration {
        (self.clock.now() - started).to_std().unwrap_or(Duration::ZERO)
    }

    /// Polls `describe` until `ready >= target`, bounded by the ready timeout.
    async fn wait_ready(&self, svc: &ServiceId, env: Environment, target: Replicas) -> Result<Replicas> {
        let started = self.clock.now();
        loop {
            let alloc = self
                .retry("provisioner.describe", || self.provisioner.describe(svc, env))
                .await
                .map_err(|source| Error::Provision {
                    environment: env,
                    source,
                })?;
            debug!(service = %svc, environment = %env, ready = alloc.ready.0, target = target.0, "waiting for ready");
            if alloc.ready >= target {
                return Ok(alloc.ready);
            }
            let waited = self.elapsed_since(started);
            if waited >= self.ready_timeout {
                return Err(Error::NotReady {
                    environment: env,
                    ready: alloc.ready,
                    target,
                    waited,
                });
            }
            self.clock.sleep(self.probe_interval).await;
        }
    }

    /// Both sides' probes, then the metric gate over the last `window`: `Err` says why the shadow failed.
    async fn gate(&self, svc: &ServiceId, window: Option<Duration>) -> std::result::Result<String, String> {
        for env in Environment::BOTH {
            let status = self.check(svc, env).await;
            if !status.healthy {
                return Err(format!("{env} unhealthy: {}", status.detail));
            }
        }
        match (&self.analysis, window) {
            (Some(a), Some(w)) => match a.judge(svc, self.clock.now(), w).await {
                Ok(v) if v.passed() => Ok(format!("analysis passed: {v}")),
                Ok(v) => Err(format!("analysis failed: {v}")),
                Err(e) => Err(format!("analysis failed: {}", chain(&e))),
            },
            _ => Ok(String::new()),
        }
    }
}

/// An error and its sources on one line.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

impl Run<'_> {
    fn svc(&self) -> &ServiceId {
        &self.request.service
    }

    /// Logs, exports and persists a phase change (or a confirmed split within a phase).
    async fn enter(&mut self, phase: Phase, detail: String) -> shadow_core::Result<()> {
        let entered = self.entered != Some(phase);
        self.entered = Some(phase);
        self.phase = phase;
        self.record(entered, detail.clone());
        self.persist(None, detail).await
    }

    /// Logs an event without persisting.
    fn note(&mut self, detail: String) {
        self.record(false, detail);
    }

    fn record(&mut self, entered: bool, detail: String) {
        let (svc, phase, split) = (self.svc().clone(), self.phase, self.split);
        match phase {
            Phase::RollingBack | Phase::RolledBack => {
                warn!(switch.phase = %phase, service = %svc, switch.shadow = %split.shadow, %detail, "switchover");
            }
            _ => {
                info!(switch.phase = %phase, service = %svc, switch.shadow = %split.shadow, %detail, "switchover")
            }
        }
        if let Some(m) = &self.sw.metrics {
            m.record(&svc, phase, split, entered);
        }
        self.log.push(SwitchEvent {
            at: self.sw.clock.now(),
            phase,
            split,
            detail,
        });
    }

    async fn persist(&mut self, pending: Option<TrafficSplit>, detail: String) -> shadow_core::Result<()> {
        let Some(store) = &self.sw.store else {
            return Ok(());
        };
        let state = SwitchState {
            service: self.svc().clone(),
            run_id: self.run_id.clone(),
            phase: self.phase,
            split: self.split,
            pending,
            revision: self.revision + 1,
            updated_at: self.sw.clock.now(),
            detail,
        };
        store.save(&state).await?;
        self.revision = state.revision;
        Ok(())
    }

    /// Applies `target` with a write-ahead save; returns the split the shifter confirmed.
    async fn apply(&mut self, target: TrafficSplit) -> std::result::Result<TrafficSplit, String> {
        self.persist(Some(target), format!("applying {target}"))
            .await
            .map_err(|e| format!("cannot persist the split about to be applied: {e}"))?;
        let (sw, svc) = (self.sw, self.request.service.clone());
        let got = sw
            .retry("shifter.set_weights", || sw.shifter.set_weights(&svc, target))
            .await
            .map_err(|e| format!("set_weights({target}) failed: {e}"))?;
        self.split = got;
        if got != target {
            return Err(format!("asked for {target}, shifter applied {got}"));
        }
        Ok(got)
    }

    async fn fresh(mut self) -> Result<Phase> {
        let (sw, svc) = (self.sw, self.request.service.clone());
        self.split = match sw.retry("shifter.weights", || sw.shifter.weights(&svc)).await {
            Ok(split) => split,
            // A shifter that has never been set for the service starts from the decided state: all live.
            Err(shadow_core::Error::NotFound { .. }) => sw
                .retry("shifter.set_weights", || {
                    sw.shifter.set_weights(&svc, TrafficSplit::ALL_LIVE)
                })
                .await
                .map_err(Error::Shifter)?,
            Err(e) => return Err(Error::Shifter(e)),
        };
        self.prepare_and_verify().await?;
        self.shift_from(0).await
    }

    async fn prepare_and_verify(&mut self) -> Result<()> {
        let (sw, request) = (self.sw, self.request);
        let svc = &request.service;
        let last = request
            .shadow
            .last()
            .ok_or_else(|| Error::InvalidRequest("no shadow request".into()))?;
        self.enter(Phase::Preparing, format!("apply shadow target {}", last.target))
            .await
            .map_err(Error::State)?;
        for r in &request.shadow {
            sw.retry("provisioner.apply", || sw.provisioner.apply(r))
                .await
                .map_err(|source| Error::Provision {
                    environment: Environment::Shadow,
                    source,
                })?;
        }
        let ready = sw.wait_ready(svc, Environment::Shadow, last.target).await?;
        self.enter(
            Phase::Verifying,
            format!("shadow {ready}/{} ready; settling {:?}", last.target, sw.settle),
        )
        .await
        .map_err(Error::State)?;
        let started = sw.clock.now();
        loop {
            let status = sw.check(svc, Environment::Shadow).await;
            if !status.healthy {
                return Err(Error::ShadowUnhealthy {
                    detail: status.detail,
                });
            }
            let elapsed = sw.elapsed_since(started);
            if elapsed >= sw.settle {
                return Ok(());
            }
            sw.clock.sleep(sw.probe_interval.min(sw.settle - elapsed)).await;
        }
    }

    async fn shift_from(mut self, first: usize) -> Result<Phase> {
        match self.shift(first).await {
            Ok(()) => {
                if let Err(e) = self.enter(Phase::Promoted, "all traffic on shadow".into()).await {
                    warn!(service = %self.svc(), error = %e, "promoted, but the state store failed");
                }
                Ok(Phase::Promoted)
            }
            Err(Abort(why)) => self.roll_back(why).await,
        }
    }

    async fn shift(&mut self, first: usize) -> std::result::Result<(), Abort> {
        let sw = self.sw;
        let svc = self.svc().clone();
        for (step, weight) in sw.steps.iter().copied().enumerate().skip(first) {
            let got = self.apply(TrafficSplit::to_shadow(weight)).await.map_err(Abort)?;
            self.enter(
                Phase::Shifting { step },
                format!("shadow at {}; dwell {:?}", got.shadow, sw.dwell),
            )
            .await
            .map_err(|e| Abort(format!("state store failed: {e}")))?;
            let started = sw.clock.now();
            while sw.elapsed_since(started) < sw.dwell {
                let left = sw.dwell.saturating_sub(sw.elapsed_since(started));
                sw.clock.sleep(sw.probe_interval.min(left)).await;
                for env in Environment::BOTH {
                    let status = sw.check(&svc, env).await;
                    if !status.healthy {
                        return Err(Abort(format!("{env} unhealthy at {weight}: {}", status.detail)));
                    }
                }
            }
            match sw.gate(&svc, Some(sw.dwell)).await {
                Ok(detail) if !detail.is_empty() => self.note(format!("step {step} at {weight}: {detail}")),
                Ok(_) => {}
                Err(why) => return Err(Abort(format!("at {weight}: {why}"))),
            }
        }
        Ok(())
    }

    async fn resume(mut self, stored: shadow_core::SwitchState) -> Result<Phase> {
        let (sw, svc) = (self.sw, self.request.service.clone());
        self.run_id = stored.run_id.clone();
        self.phase = stored.phase;
        self.split = stored.split;
        let actual = sw.retry("shifter.weights", || sw.shifter.weights(&svc)).await;
        let pending = stored
            .pending
            .map(|p| p.to_string())
            .unwrap_or_else(|| "none".into());
        let actual = match actual {
            Ok(a) => a,
            Err(e) => {
                self.note(format!(
                    "resuming run {}: cannot read the split ({e})",
                    stored.run_id
                ));
                return self
                    .roll_back(format!("resumed {}; split unknown", stored.phase))
                    .await;
            }
        };
        let known = actual == stored.split || Some(actual) == stored.pending;
        self.split = actual;
        self.note(format!(
            "resuming run {} from {} (stored split {}, pending {pending}; shifter reports {actual})",
            stored.run_id, stored.phase, stored.split
        ));
        match stored.phase {
            Phase::Preparing | Phase::Verifying if actual == TrafficSplit::ALL_LIVE => {
                self.prepare_and_verify().await?;
                self.shift_from(0).await
            }
            Phase::Shifting { step } if known && step < sw.steps.len() => {
                if sw.resume == ResumePolicy::RollBack {
                    return self
                        .roll_back(format!("resumed at step {step}; resume policy is roll-back"))
                        .await;
                }
                // The crash hit after the next step's split was applied but before it was confirmed: go on
                // from that step rather than moving traffic back to this one.
                let next = sw.steps.get(step + 1).map(|w| TrafficSplit::to_shadow(*w));
                let from = if Some(actual) == stored.pending && stored.pending == next {
                    step + 1
                } else {
                    step
                };
                match sw.gate(&svc, Some(sw.dwell)).await {
                    Ok(_) => self.shift_from(from).await,
                    Err(why) => self.roll_back(format!("resumed at step {step}: {why}")).await,
                }
            }
            Phase::RollingBack => {
                self.roll_back(format!("resumed a rollback: {}", stored.detail))
                    .await
            }
            other => {
                self.roll_back(format!(
                    "resumed {other} with traffic at {actual}, a split nobody decided"
                ))
                .await
            }
        }
    }

    async fn roll_back(mut self, why: String) -> Result<Phase> {
        let (sw, svc) = (self.sw, self.request.service.clone());
        if let Err(e) = self.enter(Phase::RollingBack, why).await {
            warn!(service = %svc, error = %e, "state store failed; rolling back anyway");
        }
        let from = self.split;
        let fail = |split, source| Error::RollbackFailed { split, source };
        let live = sw
            .retry("provisioner.describe", || {
                sw.provisioner.describe(&svc, Environment::Live)
            })
            .await
            .map_err(|e| fail(from, e))?;
        let now = sw.clock.now();
        let horizon = now + shadow_core::series::to_delta(sw.ready_timeout).unwrap_or_default();
        let forecast = TimeRange::new(now, horizon)
            .ok()
            .and_then(|w| peak_need(&sw.live_need, w));
        let need = forecast
            .unwrap_or(Replicas(0))
            .max(self.request.live_min_replicas);
        let mut scaled = false;
        if live.ready < need {
            let scale = ProvisioningRequest {
                service: svc.clone(),
                environment: Environment::Live,
                target: need.max(live.desired),
                issue_at: now,
                deadline: now,
                reason: format!(
                    "rollback: live has {} ready, needs {need} to carry all traffic",
                    live.ready
                ),
            };
            sw.retry("provisioner.apply", || sw.provisioner.apply(&scale))
                .await
                .map_err(|e| fail(from, e))?;
            let detail = match sw.wait_ready(&svc, Environment::Live, need).await {
                Ok(ready) => format!("live scaled {} -> {} ({ready} ready)", live.ready, scale.target),
                Err(e) => {
                    warn!(service = %svc, error = %e, "live not ready in time; moving traffic back anyway");
                    format!("live scale-up to {} incomplete: {e}", scale.target)
                }
            };
            scaled = true;
            self.note(detail);
        } else {
            self.note(format!(
                "live has {} ready, needs {need}: no scale-up",
                live.ready
            ));
        }
        // After a scale-up the new live replicas take traffic gradually; otherwise all at once.
        let mut path: Vec<TrafficSplit> = if scaled {
            sw.steps
                .iter()
                .rev()
                .filter(|w| **w < from.shadow)
                .map(|w| TrafficSplit::to_shadow(*w))
                .collect()
        } else {
            Vec::new()
        };
        path.push(TrafficSplit::ALL_LIVE);
        for (i, target) in path.iter().copied().enumerate() {
            if let Err(e) = self
                .persist(Some(target), format!("rolling back to {target}"))
                .await
            {
                warn!(service = %svc, error = %e, "state store failed; rolling back anyway");
            }
            let got = sw
                .retry("shifter.set_weights", || sw.shifter.set_weights(&svc, target))
                .await
                .map_err(|e| fail(self.split, e))?;
            self.split = got;
            if got != target {
                return Err(Error::RollbackFailed {
                    split: got,
                    source: shadow_core::Error::Conflict {
                        provider: "switch",
                        message: format!("asked for {target}, shifter applied {got}"),
                    },
                });
            }
            if i + 1 < path.len() {
                self.note(format!("shadow back at {}", got.shadow));
                sw.clock.sleep(sw.rollback_step_dwell).await;
            }
        }
        if let Err(e) = self
            .enter(Phase::RolledBack, "all traffic back on live".into())
            .await
        {
            warn!(service = %svc, error = %e, "rolled back, but the state store failed");
        }
        Ok(Phase::RolledBack)
    }
}

#[cfg(test)]
mod tests {
    use shadow_core::config::SwitchConfig;

    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    #[allow(dead_code)]
    fn run_is_send(s: &Switchover, r: &SwitchRequest) {
        assert_send(&s.run(r));
    }

    #[test]
    fn build_checks_steps() {
        let bad = SwitchConfig {
            steps: vec![5.0, 1.0, 100.0],
            ..SwitchConfig::default()
        };
        let err = Switchover::builder().with_config(bad).build().unwrap_err();
        assert!(err.to_string().contains("switch.steps"), "{err}");
        let err = Switchover::builder().build().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid switch config at `provisioner`: is required"
        );
    }
}
