//! Traits, domain types, errors, config and the pure scaling planner of Shadow.
//!
//! Shadow forecasts what a service will use, warms a scaled-up shadow copy ahead of a deployment or a peak,
//! and moves traffic to it step by step. This crate is what every other Shadow crate meets through:
//!
//! - **domain types**: [`ResourceKind`], [`TimeSeries`], [`Forecast`], [`DemandCurve`], [`Allocation`],
//!   [`ScalingPolicy`], [`ProvisioningRequest`], and validated quantities ([`Replicas`], [`TrafficWeight`],
//!   [`Quantile`], [`ConfidenceLevel`], [`RequestRate`]);
//! - **traits**: [`MetricSource`], [`Forecaster`] (with the typestate pair [`Fit`]/[`Predict`]),
//!   [`Provisioner`], [`TrafficShifter`], [`DependencyRegistry`], [`HealthProbe`] and [`Clock`];
//! - **the planner**: [`planner::plan`], pure and deterministic;
//! - **config**: [`config::ShadowConfig`], one TOML file;
//! - **errors**: one [`Error`] enum with [`Error::is_retryable`].
//!
//! It has no HTTP client, no async runtime and no numerical library.
//!
//! # Feature flags
//!
//! | feature | what it adds |
//! |---|---|
//! | `test-util` | in-memory implementations of every trait (`memory`) and the `conformance` suite |
//! | `mock` | mockall mocks of every async trait (`MockMetricSource`, `MockProvisioner`, ...) |
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod config;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod conformance;
pub mod error;
pub mod events;
pub mod forecast;
pub mod ids;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod memory;
pub mod planner;
pub mod quantity;
pub mod scaling;
pub mod series;
pub mod traits;

#[cfg(test)]
mod mock_tests;

pub use error::{BoxError, Error, ErrorStatus, Result};
pub use forecast::{DemandCurve, Event, Forecast, Regressors};
pub use ids::{Environment, RegionId, ResourceKind, ServiceId};
pub use quantity::{ConfidenceLevel, Quantile, Replicas, RequestRate, TrafficWeight};
pub use scaling::{Allocation, PolicyMode, PriceTable, ProvisioningRequest, ResourceCapacity, ScalingPolicy};
pub use series::{Sample, TimeRange, TimeSeries};
pub use traits::{
    clock::{Clock, ManualClock},
    deps::{
        ConfigEntry, Dependency, DependencyEvent, DependencyKind, DependencyRegistry, DynDependencyRegistry,
    },
    forecaster::{Fit, FitInput, FittedModel, Forecaster, Named, Predict, PredictRequest},
    health::{DynHealthProbe, HealthProbe, HealthStatus},
    metric::{DynMetricSource, MetricQuery, MetricSource},
    provisioner::{DynProvisioner, Provisioner, ProvisionerCapability},
    switch_state::{DynSwitchStateStore, SwitchPhase, SwitchState, SwitchStateStore},
    traffic::{DynTrafficShifter, ShifterCapability, TrafficShifter, TrafficSplit},
};

#[cfg(any(test, feature = "mock"))]
pub use traits::{
    deps::MockDependencyRegistry, health::MockHealthProbe, metric::MockMetricSource,
    provisioner::MockProvisioner, traffic::MockTrafficShifter,
};
