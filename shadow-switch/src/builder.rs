//! [`SwitchoverBuilder`]: providers, config and the optional state store, metric gate and metrics.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shadow_core::{
    Clock, DynHealthProbe, DynProvisioner, DynSwitchStateStore, DynTrafficShifter, Replicas, TrafficWeight,
    config::SwitchConfig,
};

use crate::{
    analysis::Analysis,
    error::{Error, Result},
    metrics::SwitchMetrics,
    switchover::Switchover,
};

/// What a restarted switchover does with a shift that a crash interrupted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResumePolicy {
    /// Re-check both sides and, if they pass, continue from the interrupted step (re-applying its split).
    #[default]
    Continue,
    /// Roll back to live.
    RollBack,
}

/// Builds a [`Switchover`]. Provisioner, shifter, probe and clock are required; [`SwitchoverBuilder::build`]
/// checks the config.
#[derive(Debug, Default)]
#[must_use]
pub struct SwitchoverBuilder {
    provisioner: Option<Arc<DynProvisioner>>,
    shifter: Option<Arc<DynTrafficShifter>>,
    probe: Option<Arc<DynHealthProbe>>,
    clock: Option<Arc<dyn Clock>>,
    store: Option<Arc<DynSwitchStateStore>>,
    analysis: Option<Analysis>,
    metrics: Option<SwitchMetrics>,
    live_need: Vec<(DateTime<Utc>, Replicas)>,
    resume: ResumePolicy,
    config: SwitchConfig,
    ready_timeout: Option<Duration>,
    rollback_step_dwell: Option<Duration>,
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

    /// Persists every transition in `store` and resumes from it. Without a store, a restart starts over.
    pub fn with_state_store(mut self, store: Arc<DynSwitchStateStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Judges error rate and p99 latency of both sides at the end of every step.
    pub fn with_analysis(mut self, analysis: Analysis) -> Self {
        self.analysis = Some(analysis);
        self
    }

    /// Records every phase change in `metrics`.
    pub fn with_metrics(mut self, metrics: SwitchMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The replicas live needs for all traffic at each forecast step (see [`crate::capacity::need_path`]).
    /// A rollback scales live to the largest need over the next ready timeout, and at least to
    /// [`crate::SwitchRequest::live_min_replicas`].
    pub fn with_live_need(mut self, path: Vec<(DateTime<Utc>, Replicas)>) -> Self {
        self.live_need = path;
        self
    }

    /// What to do with a shift interrupted by a crash. Default: [`ResumePolicy::Continue`].
    pub fn with_resume_policy(mut self, policy: ResumePolicy) -> Self {
        self.resume = policy;
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

    /// Sets the pause between the steps of a rollback that had to scale live first. Default: the probe
    /// interval.
    pub fn with_rollback_step_dwell(mut self, dwell: Duration) -> Self {
        self.rollback_step_dwell = Some(dwell);
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
            store: self.store,
            analysis: self.analysis,
            metrics: self.metrics,
            live_need: self.live_need,
            resume: self.resume,
            steps,
            dwell: cfg.dwell,
            settle: cfg.settle,
            probe_interval: cfg.probe_interval,
            ready_timeout: self.ready_timeout.unwrap_or(Duration::from_secs(600)),
            rollback_step_dwell: self.rollback_step_dwell.unwrap_or(cfg.probe_interval),
        })
    }
}
