//! The switchover state machine of Shadow: move traffic from live to a warm shadow step by step, gated by
//! health checks, with automatic, capacity-aware rollback.
//!
//! ```text
//! Preparing -> Verifying -> Shifting{0..n} -> Promoted
//!                              \-> RollingBack -> RolledBack
//! ```
//!
//! [`Switchover`] uses only the core traits ([`shadow_core::Provisioner`], [`shadow_core::TrafficShifter`],
//! [`shadow_core::HealthProbe`], [`shadow_core::Clock`], and optionally [`shadow_core::SwitchStateStore`] and
//! [`shadow_core::MetricSource`]), so the same code drives real providers, the in-memory fakes and the
//! embedded demo. Its docs state the contract, idempotency, resume and cancellation points.
//!
//! - [`store::FileStateStore`] persists the state machine, one JSON file per service, so a killed controller
//!   resumes (or rolls back) on restart.
//! - [`analysis::Analysis`] is the metric gate: error rate and p99 latency of live and shadow, judged with
//!   thresholds and a one-sided Mann–Whitney test.
//! - [`capacity`] sizes the shadow for the switch window and live for a rollback from the forecast.
//! - [`metrics::SwitchMetrics`] exports phase changes in the Prometheus text format.
//!
//! ```no_run
//! # async fn demo(
//! #     provisioner: std::sync::Arc<shadow_core::DynProvisioner>,
//! #     shifter: std::sync::Arc<shadow_core::DynTrafficShifter>,
//! #     probe: std::sync::Arc<shadow_core::DynHealthProbe>,
//! #     shadow_request: shadow_core::ProvisioningRequest,
//! # ) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use shadow_core::{config::SwitchConfig, ManualClock, Replicas};
//! use shadow_switch::{SwitchRequest, Switchover};
//!
//! let switchover = Switchover::builder()
//!     .with_provisioner(provisioner)
//!     .with_shifter(shifter)
//!     .with_probe(probe)
//!     .with_clock(Arc::new(ManualClock::new(chrono::Utc::now())))
//!     .with_config(SwitchConfig::default())
//!     .build()?;
//! let report = switchover
//!     .run(&SwitchRequest {
//!         service: shadow_request.service.clone(),
//!         shadow: vec![shadow_request],
//!         live_min_replicas: Replicas(8),
//!     })
//!     .await?;
//! for event in &report.events {
//!     println!("{event}");
//! }
//! # Ok(()) }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod analysis;
mod builder;
pub mod capacity;
pub mod error;
pub mod event;
pub mod metrics;
pub mod store;
mod switchover;

pub use analysis::{Analysis, AnalysisConfig, Verdict};
pub use builder::{ResumePolicy, SwitchoverBuilder};
pub use error::{Error, Result};
pub use event::{Phase, SwitchEvent, SwitchReport};
pub use metrics::SwitchMetrics;
pub use store::FileStateStore;
pub use switchover::{SwitchRequest, Switchover};
