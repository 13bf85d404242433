//! The embedded demo: the whole pipeline on a generated workload, with no services and no downloads.
//!
//! 1. **Workload**: 21 days of CPU demand of `checkout` at 5-minute steps with daily and weekly cycles, a trend,
//!    seeded noise, a past campaign and an announced campaign in the next 24 hours ([`workload`]).
//! 2. **Metrics**: loaded into an [`InMemoryMetricSource`](shadow_core::memory::InMemoryMetricSource) and fetched
//!    back through `&dyn MetricSource`.
//! 3. **Forecast**: seasonal naive with the campaign as an event regressor, 24 hours ahead, p50/p90/p99.
//! 4. **Plan**: [`shadow_core::planner::plan`] for the shadow environment.
//! 5. **Warm-up**: the shadow is sized for the peak p90 need over the switch window and booted before the
//!    deployment.
//! 6. **Switchover**: [`shadow_switch::Switchover`] over 1, 5, 25, 50, 100 % on a manual clock.
//! 7. **Report and chart**: `report.txt` and `demo.svg` in the output directory, and the report on stdout.
//!
//! ```no_run
//! # async fn demo() -> Result<(), shadow::demo::DemoError> {
//! let report = shadow::demo::run(&shadow::demo::DemoOptions::new("shadow-demo", 7)).await?;
//! println!("{}", report.text);
//! # Ok(()) }
//! ```

mod pipeline;
mod report;
pub mod workload;

use std::path::PathBuf;

use shadow_core::Replicas;
use shadow_switch::Phase;

/// The switchover steps the demo uses, in percent.
pub(crate) fn pipeline_steps() -> Vec<f64> {
    shadow_core::config::SwitchConfig::default().steps
}

/// What to run the demo with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoOptions {
    /// Where `report.txt` and `demo.svg` go; created if missing.
    pub out: PathBuf,
    /// The seed of the workload's noise.
    pub seed: u64,
}

impl DemoOptions {
    /// Options for an output directory and a seed.
    #[must_use]
    pub fn new(out: impl Into<PathBuf>, seed: u64) -> Self {
        Self {
            out: out.into(),
            seed,
        }
    }
}

/// What can stop the demo.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// A core operation failed (metrics, forecast, plan, provisioning).
    #[error("{stage}")]
    Core {
        /// The pipeline stage.
        stage: &'static str,
        /// The error.
        #[source]
        source: shadow_core::Error,
    },
    /// The switchover stopped with an error.
    #[error("switchover")]
    Switch(#[from] shadow_switch::Error),
    /// An output file could not be written.
    #[error("{path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What happened.
        #[source]
        source: std::io::Error,
    },
}

/// What the demo did: the rendered report, where the files went, and the key numbers.
#[derive(Debug, Clone)]
pub struct DemoReport {
    /// The report as printed.
    pub text: String,
    /// `DIR/report.txt`.
    pub report_path: PathBuf,
    /// `DIR/demo.svg`.
    pub chart_path: PathBuf,
    /// The largest p90 need (replicas) over the switch window.
    pub peak_p90_need: Replicas,
    /// Shadow replicas ready when the switchover started shifting traffic.
    pub shadow_ready_before_switch: Replicas,
    /// The switchover's final phase.
    pub final_phase: Phase,
    /// Minutes in the next 24 h where the generated true demand exceeded the planned usable capacity.
    pub minutes_short: u32,
    /// Minutes in the next 24 h where the true demand exceeded the full (100 % utilisation) capacity.
    pub minutes_saturated: u32,
}

/// Runs the demo and writes `report.txt` and `demo.svg` into `opts.out`.
///
/// # Errors
/// [`DemoError`] naming the stage that failed.
pub async fn run(opts: &DemoOptions) -> Result<DemoReport, DemoError> {
    let outcome = pipeline::run(opts.seed).await?;
    std::fs::create_dir_all(&opts.out).map_err(|source| DemoError::Io {
        path: opts.out.clone(),
        source,
    })?;
    let text = report::text(&outcome);
    let report_path = opts.out.join("report.txt");
    std::fs::write(&report_path, &text).map_err(|source| DemoError::Io {
        path: report_path.clone(),
        source,
    })?;
    let chart_path = opts.out.join("demo.svg");
    report::chart(&outcome)
        .write(&chart_path)
        .map_err(|source| DemoError::Io {
            path: chart_path.clone(),
            source,
        })?;
    Ok(DemoReport {
        text,
        report_path,
        chart_path,
        peak_p90_need: outcome.warm.target,
        shadow_ready_before_switch: outcome.warm.ready_before_switch,
        final_phase: outcome.switch.phase,
        minutes_short: outcome.score.minutes_short,
        minutes_saturated: outcome.score.minutes_saturated,
    })
}
