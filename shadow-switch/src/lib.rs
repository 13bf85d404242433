//! The switchover state machine of Shadow: move traffic from live to a warm shadow step by step, gated by
//! health checks, with automatic, capacity-aware rollback.
//!
//! ```text
//! Preparing -> Verifying -> Shifting{0..n} -> Promoted
//!                              \-> RollingBack -> RolledBack
//! ```
//!
//! [`Switchover`] uses only the core traits ([`shadow_core::Provisioner`], [`shadow_core::TrafficShifter`],
//! [`shadow_core::HealthProbe`], [`shadow_core::Clock`]), so the same code drives real providers, the in-memory
//! fakes and the embedded demo. Its docs state the contract, idempotency and cancellation points.
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

pub mod error;
pub mod event;
mod switchover;

pub use error::{Error, Result};
pub use event::{Phase, SwitchEvent, SwitchReport};
pub use switchover::{SwitchRequest, Switchover, SwitchoverBuilder};
