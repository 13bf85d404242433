//! [`Switchover`]: the state machine, its builder and the request it runs.

use std::{fmt, sync::Arc, time::Duration};

use shadow_core::{
    Clock, DynHealthProbe, DynProvisioner, DynTrafficShifter, Environment, HealthStatus, ProvisioningRequest,
    Replicas, ServiceId, TrafficSplit, TrafficWeight, config::SwitchConfig,
};
use tracing::{debug, info, warn};

use crate::{
    error::{Error, Result},
    event::{Phase, SwitchEvent, SwitchReport},
};

/// How many times a retryable provider error is retried (attempts = retries + 1).
const RETRIES: u32 = 2;

/// What one switchover run needs besides the providers.
#[derive(Debug, Clone, PartialEq)]
pub struct SwitchRequest {
    /// The service to switch.
    pub service: ServiceId,
    /// The shadow's provisioning requests, applied in order; the last one's target is what the shadow must
    /// reach before traffic moves.
    pub shadow: Vec<ProvisioningRequest>,
    /// The fewest ready live replicas that can carry all traffic (from the forecast). A rollback scales live up
    /// to this before moving traffic back.
    pub live_min_replicas: Replicas,
}

/// Builds a [`Switchover`]. Every provider is required; [`SwitchoverBuilder::build`] checks the config.
#[derive(Debug, Default)]
#[must_use]
pub struct SwitchoverBuilder {
    provisioner: Option<Arc<DynProvisioner>>,
    shifter: Option<Arc<DynTrafficShifter>>,
    probe: Option<Arc<DynHealthProbe>>,
    clock: Option<Arc<dyn Clock>>,
    config: SwitchConfig,
    ready_timeout: Option<Duration>,
}

impl SwitchoverBuilder {
    /// Sets the provisioner of both environments.
    pub fn with_provisioner(mut self, provisioner: Arc<DynProvisioner>) -> Self {
        self.provisioner = Some(provisioner);
        self
    }

    /// Sets the traffic shifter.
    pub fn with_shifter(mut self, shifter: Arc<DynTrafficShifter>) -> Self {
        self.shifter = Some(shifter);
        self
    }

    /// Sets the health probe of both environments.
    pub fn with_probe(mut self, probe: Arc<DynHealthProbe>) -> Self {
        self.probe = Some(probe);
        self
    }

    /// Sets the clock that every wait, dwell and timeout runs on.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Sets steps, dwell, settle and probe interval. Default: [`SwitchConfig::default`].
    pub fn with_config(mut self, config: SwitchConfig) -> Self {
        self.config = config;
        self
    }

    /// Sets how long to wait for an environment to become ready. Default: 10 minutes.
    pub fn with_ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = Some(timeout);
        self
    }

    /// Checks the config and builds the switchover.
    ///
    /// # Errors
    /// [`Error::Config`] when a provider is missing, the steps are not increasing percentages in `(0, 100]`
    /// ending at 100, or the probe interval is zero.
    pub fn build(self) -> Result<Switchover> {
        let missing = |what: &str| Error::Config {
            field: what.to_string(),
            message: "is required".to_string(),
        };
        let cfg = self.config;
        let steps = cfg
            .steps
            .iter()
            .map(|p| TrafficWeight::from_percent(*p))
            .collect::<shadow_core::Result<Vec<_>>>()
            .map_err(|e| Error::Config {
                field: "switch.steps".into(),
                message: e.to_string(),
            })?;
        if steps.is_empty()
            || steps.windows(2).any(|w| w[0] >= w[1])
            || steps.first() == Some(&TrafficWeight::ZERO)
            || steps.last() != Some(&TrafficWeight::FULL)
        {
            return Err(Error::Config {
                field: "switch.steps".into(),
                message: "must be percentages in (0, 100] that increase strictly and end at 100".into(),
            });
        }
        if cfg.probe_interval.is_zero() {
            return Err(Error::Config {
                field: "switch.probe_interval".into(),
                message: "must be positive".into(),
            });
        }
        Ok(Switchover {
            provisioner: self.provisioner.ok_or_else(|| missing("provisioner"))?,
            shifter: self.shifter.ok_or_else(|| missing("shifter"))?,
            probe: self.probe.ok_or_else(|| missing("probe"))?,
            clock: self.clock.ok_or_else(|| missing("clock"))?,
            steps,
            dwell: cfg.dwell,
            settle: cfg.settle,
            probe_interval: cfg.probe_interval,
            ready_timeout: self.ready_timeout.unwrap_or(Duration::from_secs(600)),
        })
    }
}

/// A gradual, health-gated switchover from live to shadow with automatic rollback.
///
/// It meets the world only through [`shadow_core::Provisioner`], [`shadow_core::TrafficShifter`],
/// [`shadow_core::HealthProbe`] and [`shadow_core::Clock`].
///
/// # Contract
/// 1. **Preparing**: applies the shadow's requests in order and polls `describe(shadow)` every probe interval
///    until `ready >= target` of the last request, or fails with [`Error::NotReady`] after the ready timeout.
/// 2. **Verifying**: probes the shadow at once and then every probe interval until `settle` has passed; one
///    failed probe stops with [`Error::ShadowUnhealthy`]. No traffic has moved in either phase.
/// 3. **Shifting**: for each step, `set_weights` to the step's shadow share and checks that the read-back split
///    equals it; then dwells for `dwell`, probing live *and* shadow every probe interval.
/// 4. **Promoted** after the last step (100 %) held.
///
/// During shifting, a failed or erroring probe, a shifter error or a read-back mismatch starts **RollingBack**:
/// it describes live, and if fewer than [`SwitchRequest::live_min_replicas`] are ready it applies a live request
/// for that many and waits for them; then it sets all traffic to live (with retries) and ends **RolledBack**.
///
/// # Errors
/// See [`Error`]. A rollback is an outcome, not an error: [`Switchover::run`] returns `Ok` with
/// [`Phase::RolledBack`]; only a rollback that cannot restore all-live traffic is [`Error::RollbackFailed`].
///
/// # Guarantees
/// - Every step is idempotent: provisioning states a target (`set_replicas(n)`, never "add n") and shifting
///   states a split, so re-running a step (or the whole switchover) re-applies the same target and never
///   increments.
/// - Traffic never moves back before live has at least `live_min_replicas` ready, unless live cannot get
///   there within the ready timeout (see Caveats).
/// - Retryable provider errors are retried twice, one probe interval apart; each retry logs at WARN.
///
/// # Cancellation
/// `run` only changes the world at its `.await`s on the providers. Dropping the future between awaits leaves
/// traffic at the last split the shifter confirmed (the last [`SwitchEvent::split`] logged), and the shadow at
/// whatever size was applied. **Nothing rolls back on drop**: a caller that cancels must run a new switchover
/// or set the weights itself. Dropping the future *during* a `set_weights` call leaves the split the backend
/// ended up with, which the next `weights()` read shows.
///
/// # Assumptions
/// The probe interval is much shorter than the dwell; the shifter applies splits atomically.
///
/// # Caveats
/// If live cannot reach `live_min_replicas` within the ready timeout during a rollback, traffic still moves back
/// to live, because the shadow has already failed; the event log and a WARN line say so.
pub struct Switchover {
    provisioner: Arc<DynProvisioner>,
    shifter: Arc<DynTrafficShifter>,
    probe: Arc<DynHealthProbe>,
    clock: Arc<dyn Clock>,
    steps: Vec<TrafficWeight>,
    dwell: Duration,
    settle: Duration,
    probe_interval: Duration,
    ready_timeout: Duration,
}

impl fmt::Debug for Switchover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Switchover")
            .field("provisioner", &self.provisioner.name())
            .field("shifter", &self.shifter.name())
            .field("probe", &self.probe.name())
            .field("steps", &self.steps)
            .field("dwell", &self.dwell)
            .field("settle", &self.settle)
            .field("probe_interval", &self.probe_interval)
            .field("ready_timeout", &self.ready_timeout)
            .finish_non_exhaustive()
    }
}

/// Why shifting stopped.
struct Abort(String);

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

    /// Runs the switchover to a terminal phase and returns the log.
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

    /// Runs the switchover, appending every transition to `log` as it happens (also on error), and returns
    /// the terminal phase.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`], [`Error::Provision`], [`Error::NotReady`], [`Error::ShadowUnhealthy`] and
    /// [`Error::Shifter`] before traffic moved; [`Error::RollbackFailed`] when all-live could not be restored.
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
        let mut split = self
            .retry("shifter.weights", || self.shifter.weights(svc))
            .await
            .map_err(Error::Shifter)?;

        self.enter(
            log,
            Phase::Preparing,
            split,
            svc,
            format!("apply shadow target {}", last.target),
        );
        for r in &request.shadow {
            self.retry("provisioner.apply", || self.provisioner.apply(r))
                .await
                .map_err(|source| Error::Provision {
                    environment: Environment::Shadow,
                    source,
                })?;
        }
        let ready = self.wait_ready(svc, Environment::Shadow, last.target).await?;

        self.enter(
            log,
            Phase::Verifying,
            split,
            svc,
            format!("shadow {ready}/{} ready; settling {:?}", last.target, self.settle),
        );
        let started = self.clock.now();
        loop {
            let status = self.check(svc, Environment::Shadow).await;
            if !status.healthy {
                return Err(Error::ShadowUnhealthy {
                    detail: status.detail,
                });
            }
            let elapsed = self.elapsed_since(started);
            if elapsed >= self.settle {
                break;
            }
            self.clock
                .sleep(self.probe_interval.min(self.settle - elapsed))
                .await;
        }

        match self.shift(svc, &mut split, log).await {
            Ok(()) => {
                self.enter(log, Phase::Promoted, split, svc, "all traffic on shadow".into());
                Ok(Phase::Promoted)
            }
            Err(Abort(why)) => self.roll_back(request, split, why, log).await,
        }
    }

    async fn shift(
        &self,
        svc: &ServiceId,
        split: &mut TrafficSplit,
        log: &mut Vec<SwitchEvent>,
    ) -> Result<(), Abort> {
        for (step, weight) in self.steps.iter().copied().enumerate() {
            let target = TrafficSplit::to_shadow(weight);
            let got = self
                .retry("shifter.set_weights", || self.shifter.set_weights(svc, target))
                .await
                .map_err(|e| Abort(format!("set_weights({target}) failed: {e}")))?;
            *split = got;
            if got != target {
                return Err(Abort(format!("asked for {target}, shifter applied {got}")));
            }
            self.enter(
                log,
                Phase::Shifting { step },
                got,
                svc,
                format!("shadow at {weight}; dwell {:?}", self.dwell),
            );
            let started = self.clock.now();
            while self.elapsed_since(started) < self.dwell {
                let left = self.dwell.saturating_sub(self.elapsed_since(started));
                self.clock.sleep(self.probe_interval.min(left)).await;
                for env in Environment::BOTH {
                    let status = self.check(svc, env).await;
                    if !status.healthy {
                        return Err(Abort(format!("{env} unhealthy at {weight}: {}", status.detail)));
                    }
                }
            }
        }
        Ok(())
    }

    async fn roll_back(
        &self,
        request: &SwitchRequest,
        split: TrafficSplit,
        why: String,
        log: &mut Vec<SwitchEvent>,
    ) -> Result<Phase> {
        let svc = &request.service;
        self.enter(log, Phase::RollingBack, split, svc, why);
        let fail = |source| Error::RollbackFailed { split, source };
        let live = self
            .retry("provisioner.describe", || {
                self.provisioner.describe(svc, Environment::Live)
            })
            .await
            .map_err(fail)?;
        let need = request.live_min_replicas;
        if live.ready < need {
            let now = self.clock.now();
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
            self.retry("provisioner.apply", || self.provisioner.apply(&scale))
                .await
                .map_err(fail)?;
            let detail = match self.wait_ready(svc, Environment::Live, need).await {
                Ok(ready) => format!("live scaled {} -> {} ({ready} ready)", live.ready, scale.target),
                Err(e) => {
                    warn!(service = %svc, error = %e, "live not ready in time; moving traffic back anyway");
                    format!("live scale-up to {} incomplete: {e}", scale.target)
                }
            };
            self.enter(log, Phase::RollingBack, split, svc, detail);
        }
        let back = self
            .retry("shifter.set_weights", || {
                self.shifter.set_weights(svc, TrafficSplit::ALL_LIVE)
            })
            .await
            .map_err(fail)?;
        if back != TrafficSplit::ALL_LIVE {
            return Err(Error::RollbackFailed {
                split: back,
                source: shadow_core::Error::Conflict {
                    provider: "switch",
                    message: format!("asked for all-live, shifter applied {back}"),
                },
            });
        }
        self.enter(
            log,
            Phase::RolledBack,
            back,
            svc,
            "all traffic back on live".into(),
        );
        Ok(Phase::RolledBack)
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

    /// One health check; a probe error counts as unhealthy.
    async fn check(&self, svc: &ServiceId, env: Environment) -> HealthStatus {
        match self.probe.check(svc, env).await {
            Ok(status) => status,
            Err(e) => HealthStatus::unhealthy(Duration::ZERO, format!("probe error: {e}")),
        }
    }

    async fn retry<T, F, Fut>(&self, op: &'static str, mut call: F) -> shadow_core::Result<T>
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

    fn elapsed_since(&self, started: chrono::DateTime<chrono::Utc>) -> Duration {
        (self.clock.now() - started).to_std().unwrap_or(Duration::ZERO)
    }

    fn enter(
        &self,
        log: &mut Vec<SwitchEvent>,
        phase: Phase,
        split: TrafficSplit,
        svc: &ServiceId,
        detail: String,
    ) {
        match phase {
            Phase::RollingBack | Phase::RolledBack => {
                warn!(switch.phase = %phase, service = %svc, switch.shadow = %split.shadow, %detail, "switchover");
            }
            _ => {
                info!(switch.phase = %phase, service = %svc, switch.shadow = %split.shadow, %detail, "switchover")
            }
        }
        log.push(SwitchEvent {
            at: self.clock.now(),
            phase,
            split,
            detail,
        });
    }
}

#[cfg(test)]
mod tests {
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
