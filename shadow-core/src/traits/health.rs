//! [`HealthProbe`]: whether one side of a service is healthy.

use std::{fmt::Debug, time::Duration};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{
    error::Result,
    ids::{Environment, ServiceId},
};

/// The outcome of one health check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthStatus {
    /// Whether the side passed.
    pub healthy: bool,
    /// How long the check took.
    pub latency: Duration,
    /// What was seen, for logs: a status code, an error.
    pub detail: String,
}

impl HealthStatus {
    /// A passing check.
    #[must_use]
    pub fn healthy(latency: Duration, detail: impl Into<String>) -> Self {
        Self {
            healthy: true,
            latency,
            detail: detail.into(),
        }
    }

    /// A failing check.
    #[must_use]
    pub fn unhealthy(latency: Duration, detail: impl Into<String>) -> Self {
        Self {
            healthy: false,
            latency,
            detail: detail.into(),
        }
    }
}

/// Checks the health of one side of a service: an HTTP endpoint, a TCP port, or a fake.
///
/// # Contract
/// An unhealthy target is a successful call that returns `healthy: false`. `Err` means the probe itself could
/// not run (bad config); callers treat it as unhealthy too.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait HealthProbe: Debug + Send + Sync + 'static {
    /// The probe's name, for logs.
    fn name(&self) -> &str;

    /// Checks `service` in `environment` once.
    async fn check(&self, service: &ServiceId, environment: Environment) -> Result<HealthStatus>;
}

/// A [`HealthProbe`] behind a pointer.
pub type DynHealthProbe = dyn HealthProbe;

#[cfg(test)]
mod tests {
    use super::*;

    fn _obj_safe(_: Box<dyn HealthProbe>) {}
}
