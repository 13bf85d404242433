//! The controller loop: fetch → forecast → plan → apply, for every configured service and resource.
//!
//! Each cycle, for each service in the config (services run concurrently, at most
//! [`Controller::with_concurrency`] at a time):
//! 1. describe the live allocation through the provisioner;
//! 2. fetch the latest window of every resource kind at `controller.step`: the whole `controller.history`
//!    when the model of that series is refitted, and only the last few steps when it is reused;
//! 3. forecast `forecast.horizon` steps: a **full refit** when `controller.refit_interval` has passed since the
//!    last fit of that (service, resource), when the grid moved by more than one horizon since, or when there
//!    is no model yet; otherwise a **cheap update** from the stored fitted model (see [`Controller`], "Cheap
//!    updates"). Fitting runs on tokio's blocking pool, so every core is used;
//! 4. plan the live environment with the service's policy, and size live for the largest need until the next
//!    cycle can act (`now + interval + lead_time`); a target that differs from the current one by more than the
//!    policy's threshold is due;
//! 5. apply the due target through the provisioner, unless `dry_run`, retrying retryable failures;
//! 6. record a [`Decision`] saying what was decided and why, and update [`Metrics`].
//!
//! # Guarantees
//! - **No scale-in on stale or missing data**: when the newest observation of any resource is older than two
//!   steps, scale-in requests are dropped and the decision says so. The fallback never scales in.
//! - **Fallback**: when fetching, forecasting or planning fails, the service falls back to the reactive policy
//!   (the Kubernetes HPA formula on the newest observation, see [`fallback`]) combined with the last good plan:
//!   the target is the largest of the current replicas, the reactive target and the last good plan's need for
//!   the coming window. The decision's action is [`Action::Fallback`] and its `error` says what failed.
//! - **Idempotent apply**: a request states a target (`set_replicas(target)`), never an increment. A retryable
//!   provisioner failure (or a call that timed out) is retried with the *same* request, with exponential backoff,
//!   at most [`RetryPolicy::max_attempts`] times; the decision records one change.
//! - A failure of one service does not stop the others.
//! - Every failure is logged (`tracing`, WARN) and counted in `shadow_errors_total{service,stage,kind}`.
//!
//! # Caveats
//! Cycles of one controller must not overlap: the stored models and plans of a service are read at the start of
//! its cycle and written at the end. [`Runtime`] never overlaps them.

mod cycle;
pub mod fallback;
mod metrics;
mod models;
mod runtime;
mod server;

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use shadow_core::{
    Clock, DynMetricSource, DynProvisioner, Forecaster, ProvisioningRequest, Quantile, ResourceKind, Result,
    Sample, ServiceId, config::ShadowConfig,
};
use shadow_providers::ProviderRegistry;

pub use metrics::{Metrics, Stage};
pub use runtime::Runtime;

/// What a cycle did for one service, as the `action` label of `shadow_decisions_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[non_exhaustive]
pub enum Action {
    /// The forecast asked for more replicas.
    ScaleOut,
    /// The forecast asked for fewer replicas.
    ScaleIn,
    /// Nothing to change (or a change was skipped; see the notes).
    #[default]
    None,
    /// Fetching, forecasting or planning failed; the reactive policy and the last good plan decided.
    Fallback,
}

impl Action {
    /// The label value: `scale_out`, `scale_in`, `none` or `fallback`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::ScaleOut => "scale_out",
            Action::ScaleIn => "scale_in",
            Action::None => "none",
            Action::Fallback => "fallback",
        }
    }
}

/// The forecast of one resource at one quantile: the next step and the largest value over the horizon.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastSummary {
    /// The resource kind.
    pub resource: ResourceKind,
    /// The quantile level.
    pub quantile: Quantile,
    /// The value at the first step of the horizon.
    pub next: f64,
    /// The largest value over the horizon.
    pub peak: f64,
}

/// What one cycle decided for one service.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Decision {
    /// The service.
    pub service: String,
    /// When the cycle ran.
    pub at: DateTime<Utc>,
    /// The replicas the live environment had (0 when it could not be described).
    pub current: u32,
    /// The largest need over the horizon, and when.
    pub peak: Option<(u32, DateTime<Utc>)>,
    /// The request due in this cycle (at most one target), applied or (in dry-run) not.
    pub due: Vec<ProvisioningRequest>,
    /// Whether the due requests were applied.
    pub applied: bool,
    /// Notes: skipped scale-ins, model refits, fallbacks.
    pub notes: Vec<String>,
    /// The first error of this service's cycle, if any.
    pub error: Option<String>,
    /// What was decided.
    pub action: Action,
    /// The replicas planned for the coming window (by the forecast, or by the fallback).
    pub planned: Option<u32>,
    /// The live replicas after this cycle: the provisioner's answer when applied, else `current`. `None` when
    /// the live allocation could not be described.
    pub applied_replicas: Option<u32>,
    /// The forecast per resource and quantile (empty on fallback).
    pub forecasts: Vec<ForecastSummary>,
    /// The newest observation seen so far per resource, from this or an earlier cycle.
    pub observed: BTreeMap<ResourceKind, Sample>,
    /// How many series were fully refitted in this cycle.
    pub refitted: usize,
    /// How many series were forecast from a stored fitted model.
    pub reused: usize,
}

impl Decision {
    fn new(service: String, at: DateTime<Utc>) -> Self {
        Self {
            service,
            at,
            current: 0,
            peak: None,
            due: Vec::new(),
            applied: false,
            notes: Vec::new(),
            error: None,
            action: Action::None,
            planned: None,
            applied_replicas: None,
            forecasts: Vec::new(),
            observed: BTreeMap::new(),
            refitted: 0,
            reused: 0,
        }
    }
}

/// How provisioner calls are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included. At least 1.
    pub max_attempts: u32,
    /// The wait before the first retry; it doubles after each retry.
    pub initial_backoff: Duration,
    /// The longest wait between two attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// The controller built from a config.
///
/// # Cheap updates
/// The object-safe [`Forecaster`]/[`shadow_core::FittedModel`] pair has no "append data" operation, so a cheap
/// update re-predicts from the stored fitted model: `horizon + k` steps from the end of the fit-time history,
/// where `k` is how many steps the grid moved since, keeping the last `horizon` steps. It costs one
/// `predict` and a fetch of the last `k + 3` steps (for freshness and the fallback), with no fit and no
/// full-window fetch. What that means per model:
/// - `seasonal-naive`: the forecast is exact for the data it was fitted on; observations newer than the last
///   refit do not move it until the next refit (`controller.refit_interval`). Its fit is `O(n log n)` in the
///   history length, so a short refit interval is affordable (see `examples/controller_scale.rs`).
///
/// A model that cannot be refitted keeps the service in fallback until it can.
#[derive(Debug)]
pub struct Controller {
    config: ShadowConfig,
    source: Arc<DynMetricSource>,
    provisioner: Arc<DynProvisioner>,
    forecaster: Arc<dyn Forecaster>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    memory: Mutex<HashMap<ServiceId, models::ServiceMemory>>,
    retry: RetryPolicy,
    concurrency: usize,
}

impl Controller {
    /// Builds the providers named in the config through `registry`, with a fresh [`Metrics`] registry.
    ///
    /// # Errors
    /// [`shadow_core::Error::Config`], [`shadow_core::Error::FeatureDisabled`] or
    /// [`shadow_core::Error::UnknownProvider`] when the config is invalid or a provider or the model cannot be
    /// built.
    pub fn from_config(
        config: ShadowConfig,
        registry: &ProviderRegistry,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        config.validate()?;
        let source = registry.build_metric_source(&config.metrics)?;
        let provisioner = registry.build_provisioner(&config.provisioner)?;
        let forecaster = shadow_forecast::by_name(&config.forecast.model, config.forecast.season)?;
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Ok(Self {
            config,
            source,
            provisioner,
            forecaster: Arc::from(forecaster),
            clock,
            metrics: Arc::new(Metrics::new()),
            memory: Mutex::new(HashMap::new()),
            retry: RetryPolicy::default(),
            concurrency: cores * 8,
        })
    }

    /// Records into `metrics` instead of the controller's own registry.
    #[must_use]
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Sets how provisioner calls are retried.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets how many services are processed at once (at least 1). The default is eight per core.
    #[must_use]
    pub fn with_concurrency(mut self, services: usize) -> Self {
        self.concurrency = services.max(1);
        self
    }

    /// The config in effect.
    #[must_use]
    pub fn config(&self) -> &ShadowConfig {
        &self.config
    }

    /// The metrics this controller records into.
    #[must_use]
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Takes over the stored models, observations and last good plans of `old` (after a config reload), for
    /// the services that are still configured. Models are dropped when the forecast settings, the step or the
    /// service's events changed.
    pub fn inherit(&self, old: &Controller) {
        let same_model = old.config.forecast == self.config.forecast
            && old.config.controller.step == self.config.controller.step
            && old.config.controller.history == self.config.controller.history;
        let old_memory = lock(&old.memory);
        let mut memory = lock(&self.memory);
        for svc in &self.config.services {
            let Some(m) = old_memory.get(&svc.name) else {
                continue;
            };
            let mut m = m.clone();
            let same_events = old
                .config
                .services
                .iter()
                .any(|o| o.name == svc.name && o.events == svc.events);
            if !(same_model && same_events) {
                m.models.clear();
            }
            memory.insert(svc.name.clone(), m);
        }
        let names: Vec<String> = self.config.services.iter().map(|s| s.name.to_string()).collect();
        self.metrics.retain_services(&names);
    }

    /// Runs one cycle over every service and records its duration.
    pub async fn cycle(&self) -> Vec<Decision> {
        let started = Instant::now();
        let now = self.clock.now();
        // Collect the (lazy) futures first: a stream over a borrowing closure is not provably `Send`.
        let services: Vec<_> = self
            .config
            .services
            .iter()
            .map(|svc| self.cycle_service(svc, now))
            .collect();
        let decisions: Vec<Decision> = futures::stream::iter(services)
            .buffered(self.concurrency)
            .collect()
            .await;
        let (refits, reuses) = decisions
            .iter()
            .fold((0, 0), |(a, b), d| (a + d.refitted as u64, b + d.reused as u64));
        self.metrics.record_models(refits, reuses);
        self.metrics.record_cycle(started.elapsed(), now);
        tracing::debug!(
            cycle.services = decisions.len(),
            cycle.refits = refits,
            cycle.seconds = started.elapsed().as_secs_f64(),
            "cycle done"
        );
        decisions
    }

    /// Runs cycles every `controller.interval` until `shutdown` completes, calling `on_cycle` after each.
    ///
    /// A cycle that has started always finishes: `shutdown` is only checked between cycles.
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

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
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
    if d.action == Action::Fallback {
        line.push_str(", fallback");
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
