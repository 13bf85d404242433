//! [`Provisioner`]: what changes the number of instances.

use std::fmt::Debug;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{
    error::Result,
    ids::{Environment, ServiceId},
    scaling::{Allocation, ProvisioningRequest},
};

/// What a provisioner can do. Callers check it instead of probing for errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionerCapability {
    /// Whether it can remove instances.
    pub scale_in: bool,
    /// The largest change of replicas in one request, if limited.
    pub max_step: Option<u32>,
    /// The fewest replicas it can run.
    pub min_replicas: u32,
    /// The most replicas it can run.
    pub max_replicas: u32,
}

/// Brings services to a target size: an autoscaling group, a Kubernetes deployment, or a fake.
///
/// # Contract
/// - `apply` is idempotent: a request states a target, and applying the same request twice leaves the same
///   allocation as applying it once.
/// - `apply` is all-or-nothing for one request: on error, the allocation is as it was before the call, or the
///   error says otherwise.
/// - A request outside [`ProvisionerCapability`] is refused with [`crate::Error::NotSupported`] or
///   [`crate::Error::InvalidInput`], not clamped silently.
///
/// # Errors
/// [`crate::Error::NotFound`] for an unknown service; retryable errors when the backend cannot answer now.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait Provisioner: Debug + Send + Sync + 'static {
    /// The provider's name, for logs and errors.
    fn name(&self) -> &str;

    /// What this provisioner can do.
    fn capability(&self) -> ProvisionerCapability;

    /// The current allocation of a service in one environment.
    async fn describe(&self, service: &ServiceId, environment: Environment) -> Result<Allocation>;

    /// Brings the service to `request.target` replicas and returns the allocation after the call.
    async fn apply(&self, request: &ProvisioningRequest) -> Result<Allocation>;
}

/// A [`Provisioner`] behind a pointer.
pub type DynProvisioner = dyn Provisioner;

#[cfg(test)]
mod tests {
    use super::*;

    fn _obj_safe(_: Box<dyn Provisioner>) {}
}
