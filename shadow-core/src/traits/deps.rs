//! [`DependencyRegistry`]: a service's dependencies and its per-environment config.

use std::fmt::{self, Debug};

use async_trait::async_trait;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

use crate::{
    error::Result,
    ids::{Environment, ServiceId},
};

/// What kind of dependency a service has.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DependencyKind {
    /// A database.
    Database,
    /// A cache.
    Cache,
    /// A message queue.
    Queue,
    /// Another service.
    Service,
}

impl fmt::Display for DependencyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DependencyKind::Database => "database",
            DependencyKind::Cache => "cache",
            DependencyKind::Queue => "queue",
            DependencyKind::Service => "service",
        })
    }
}

/// One dependency of a service.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Dependency {
    /// The dependency's own id; it may have dependencies of its own.
    pub id: ServiceId,
    /// What it is.
    pub kind: DependencyKind,
}

/// A change to a service's dependencies, as seen by [`DependencyRegistry::watch`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DependencyEvent {
    /// A dependency was added (or changed kind).
    Added(Dependency),
    /// A dependency was removed.
    Removed(ServiceId),
}

/// A config value with the revision it was written at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigEntry {
    /// The value.
    pub value: String,
    /// The revision of the write; increases with every write to the registry.
    pub revision: u64,
}

/// Service discovery and per-environment config: etcd, Consul, or a fake.
///
/// # Contract
/// - `dependencies` lists the direct dependencies, sorted by id.
/// - `watch` yields every change after the call, in order. The stream ends when the registry goes away.
/// - `put_config` with `expected_revision = Some(r)` writes only if the key's revision is still `r` (`0` means
///   "the key must not exist"); otherwise it fails with [`crate::Error::Conflict`] and writes nothing.
///
/// # Errors
/// [`crate::Error::NotFound`] for an unknown service; retryable errors when the backend cannot answer now.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait DependencyRegistry: Debug + Send + Sync + 'static {
    /// The provider's name, for logs and errors.
    fn name(&self) -> &str;

    /// The direct dependencies of `service`.
    async fn dependencies(&self, service: &ServiceId) -> Result<Vec<Dependency>>;

    /// Changes to the dependencies of `service` from now on.
    async fn watch(&self, service: &ServiceId) -> Result<BoxStream<'static, Result<DependencyEvent>>>;

    /// Reads one config key of `service` in `environment`.
    async fn get_config(
        &self,
        service: &ServiceId,
        environment: Environment,
        key: &str,
    ) -> Result<Option<ConfigEntry>>;

    /// Writes one config key and returns the new revision.
    async fn put_config(
        &self,
        service: &ServiceId,
        environment: Environment,
        key: &str,
        value: &str,
        expected_revision: Option<u64>,
    ) -> Result<u64>;
}

/// A [`DependencyRegistry`] behind a pointer.
pub type DynDependencyRegistry = dyn DependencyRegistry;

#[cfg(test)]
mod tests {
    use super::*;

    fn _obj_safe(_: Box<dyn DependencyRegistry>) {}
}
