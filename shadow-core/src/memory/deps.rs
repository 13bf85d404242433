//! [`InMemoryDependencyRegistry`]: dependency lists with change streams, and versioned config.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use futures::{StreamExt, channel::mpsc, stream::BoxStream};

use super::{KIND, faults::Faults, lock};
use crate::{
    error::{Error, Result},
    ids::{Environment, ServiceId, validate_name},
    traits::deps::{ConfigEntry, Dependency, DependencyEvent, DependencyKind, DependencyRegistry},
};

type Watcher = mpsc::UnboundedSender<Result<DependencyEvent>>;

/// A [`DependencyRegistry`] that keeps dependencies and config in memory.
///
/// # Contract
/// - A service is known once [`add_service`](Self::add_service) or [`add_dependency`](Self::add_dependency)
///   named it, as the service or as the dependency. `dependencies` lists its dependencies sorted by id.
/// - `watch` yields every later [`add_dependency`](Self::add_dependency) or
///   [`remove_dependency`](Self::remove_dependency) that changed something, in order, on an unbounded channel.
///   The stream ends when the last handle of the registry is dropped.
/// - Config keys live per (service, environment, key) and need no known service; a missing key reads as `None`.
///   Every write takes the next value of one registry-wide revision counter, starting at 1.
/// - `put_config` with `expected_revision = Some(r)` writes only if the key is at revision `r`, where `0` means
///   "the key must not exist"; otherwise it returns [`Error::Conflict`] and writes nothing (the revision counter
///   does not move either). `None` writes unconditionally.
///
/// # Errors
/// [`Error::NotFound`] from `dependencies` and `watch` for an unknown service, [`Error::InvalidInput`] for a
/// config key that is not a valid name, [`Error::Conflict`] as above, and whatever
/// [`fail_next`](Self::fail_next) injected (a failed call changes nothing).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> shadow_core::Result<()> {
/// use futures::StreamExt;
/// use shadow_core::{memory::InMemoryDependencyRegistry, *};
///
/// let checkout = ServiceId::new("checkout")?;
/// let db = Dependency { id: ServiceId::new("orders-db")?, kind: DependencyKind::Database };
/// let registry = InMemoryDependencyRegistry::new();
/// registry.add_service(&checkout);
///
/// let mut changes = registry.watch(&checkout).await?;
/// registry.add_dependency(&checkout, db.id.clone(), db.kind.clone());
/// assert_eq!(changes.next().await.unwrap()?, DependencyEvent::Added(db.clone()));
/// assert_eq!(registry.dependencies(&checkout).await?, vec![db]);
///
/// let rev = registry.put_config(&checkout, Environment::Shadow, "pool.size", "64", Some(0)).await?;
/// let lost = registry.put_config(&checkout, Environment::Shadow, "pool.size", "8", Some(0)).await;
/// assert!(matches!(lost, Err(Error::Conflict { .. })));
/// assert_eq!(registry.get_config(&checkout, Environment::Shadow, "pool.size").await?.unwrap().revision, rev);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct InMemoryDependencyRegistry {
    state: Arc<Mutex<State>>,
    faults: Faults,
}

#[derive(Debug, Default)]
struct State {
    dependencies: BTreeMap<ServiceId, BTreeMap<ServiceId, DependencyKind>>,
    watchers: BTreeMap<ServiceId, Vec<Watcher>>,
    config: BTreeMap<(ServiceId, Environment, String), ConfigEntry>,
    revision: u64,
}

impl State {
    fn notify(&mut self, service: &ServiceId, event: &DependencyEvent) {
        if let Some(watchers) = self.watchers.get_mut(service) {
            watchers.retain(|w| w.unbounded_send(Ok(event.clone())).is_ok());
        }
    }

    fn known(&self, service: &ServiceId) -> Result<&BTreeMap<ServiceId, DependencyKind>> {
        self.dependencies.get(service).ok_or_else(|| Error::NotFound {
            provider: KIND,
            what: format!("service `{service}`"),
        })
    }
}

impl InMemoryDependencyRegistry {
    /// An empty registry.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes `service` known, with no dependencies if it had none.
    pub fn add_service(&self, service: &ServiceId) {
        lock(&self.state).dependencies.entry(service.clone()).or_default();
    }

    /// Adds `dependency` of `kind` to `service`, or changes its kind. Both services become known.
    ///
    /// Returns whether anything changed; only a change is sent to watchers, as
    /// [`DependencyEvent::Added`].
    pub fn add_dependency(&self, service: &ServiceId, dependency: ServiceId, kind: DependencyKind) -> bool {
        let mut state = lock(&self.state);
        state.dependencies.entry(dependency.clone()).or_default();
        let deps = state.dependencies.entry(service.clone()).or_default();
        if deps.get(&dependency) == Some(&kind) {
            return false;
        }
        deps.insert(dependency.clone(), kind.clone());
        state.notify(
            service,
            &DependencyEvent::Added(Dependency { id: dependency, kind }),
        );
        true
    }

    /// Removes a dependency of `service`.
    ///
    /// Returns whether it was there; only a removal is sent to watchers, as [`DependencyEvent::Removed`].
    pub fn remove_dependency(&self, service: &ServiceId, dependency: &ServiceId) -> bool {
        let mut state = lock(&self.state);
        let removed = state
            .dependencies
            .get_mut(service)
            .and_then(|deps| deps.remove(dependency))
            .is_some();
        if removed {
            state.notify(service, &DependencyEvent::Removed(dependency.clone()));
        }
        removed
    }

    /// The latest revision written, or 0 before the first write.
    #[must_use]
    pub fn revision(&self) -> u64 {
        lock(&self.state).revision
    }

    /// Makes the next `n` trait calls fail with errors made by `make_error`, after any failures already
    /// queued. A failed call changes nothing.
    pub fn fail_next(&self, n: usize, make_error: impl Fn() -> Error + Send + Sync + 'static) {
        self.faults.push(n, make_error);
    }

    /// How many calls will still fail.
    #[must_use]
    pub fn pending_failures(&self) -> usize {
        self.faults.pending()
    }
}

#[async_trait]
impl DependencyRegistry for InMemoryDependencyRegistry {
    fn name(&self) -> &str {
        KIND
    }

    async fn dependencies(&self, service: &ServiceId) -> Result<Vec<Dependency>> {
        self.faults.check()?;
        let state = lock(&self.state);
        let deps = state.known(service)?;
        // A BTreeMap iterates in key order: sorted by id.
        Ok(deps
            .iter()
            .map(|(id, kind)| Dependency {
                id: id.clone(),
                kind: kind.clone(),
            })
            .collect())
    }

    async fn watch(&self, service: &ServiceId) -> Result<BoxStream<'static, Result<DependencyEvent>>> {
        self.faults.check()?;
        let mut state = lock(&self.state);
        state.known(service)?;
        let (tx, rx) = mpsc::unbounded();
        state.watchers.entry(service.clone()).or_default().push(tx);
        Ok(rx.boxed())
    }

    async fn get_config(
        &self,
        service: &ServiceId,
        environment: Environment,
        key: &str,
    ) -> Result<Option<ConfigEntry>> {
        self.faults.check()?;
        validate_name("config key", key)?;
        let state = lock(&self.state);
        Ok(state
            .config
            .get(&(service.clone(), environment, key.to_string()))
            .cloned())
    }

    async fn put_config(
        &self,
        service: &ServiceId,
        environment: Environment,
        key: &str,
        value: &str,
        expected_revision: Option<u64>,
    ) -> Result<u64> {
        self.faults.check()?;
        validate_name("config key", key)?;
        let mut state = lock(&self.state);
        let slot = (service.clone(), environment, key.to_string());
        let current = state.config.get(&slot).map_or(0, |e| e.revision);
        if let Some(expected) = expected_revision {
            if expected != current {
                let what = if current == 0 {
                    "does not exist".to_string()
                } else {
                    format!("is at revision {current}")
                };
                return Err(Error::Conflict {
                    provider: KIND,
                    message: format!(
                        "config `{key}` of `{service}` in {environment} {what}, expected revision {expected}"
                    ),
                });
            }
        }
        state.revision += 1;
        let revision = state.revision;
        state.config.insert(
            slot,
            ConfigEntry {
                value: value.to_string(),
                revision,
            },
        );
        Ok(revision)
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    fn id(s: &str) -> ServiceId {
        ServiceId::new(s).unwrap()
    }

    fn dep(s: &str, kind: DependencyKind) -> Dependency {
        Dependency { id: id(s), kind }
    }

    #[tokio::test]
    async fn watch_sees_changes_in_order_and_ends_with_the_registry() {
        let registry = InMemoryDependencyRegistry::new();
        let svc = id("api");
        registry.add_dependency(&svc, id("z-cache"), DependencyKind::Cache);
        let changes = registry.watch(&svc).await.unwrap();
        assert!(registry.add_dependency(&svc, id("a-db"), DependencyKind::Database));
        assert!(!registry.add_dependency(&svc, id("a-db"), DependencyKind::Database));
        assert!(registry.add_dependency(&svc, id("a-db"), DependencyKind::Service));
        assert!(registry.remove_dependency(&svc, &id("z-cache")));
        assert!(!registry.remove_dependency(&svc, &id("z-cache")));
        let listed = registry.dependencies(&svc).await.unwrap();
        assert_eq!(listed, vec![dep("a-db", DependencyKind::Service)]);
        // The dependency itself is a known service with no dependencies.
        assert!(registry.dependencies(&id("a-db")).await.unwrap().is_empty());
        drop(registry);
        let events: Vec<_> = changes.map(Result::unwrap).collect().await;
        assert_eq!(
            events,
            vec![
                DependencyEvent::Added(dep("a-db", DependencyKind::Database)),
                DependencyEvent::Added(dep("a-db", DependencyKind::Service)),
                DependencyEvent::Removed(id("z-cache")),
            ]
        );
    }

    #[tokio::test]
    async fn config_cas_and_validation() {
        let registry = InMemoryDependencyRegistry::new();
        let svc = id("api");
        let env = Environment::Live;
        assert_eq!(registry.dependencies(&svc).await.unwrap_err().kind(), "not_found");
        assert_eq!(registry.watch(&svc).await.err().unwrap().kind(), "not_found");
        assert!(registry.get_config(&svc, env, "bad key").await.is_err());
        assert_eq!(registry.put_config(&svc, env, "k", "v1", None).await.unwrap(), 1);
        let err = registry
            .put_config(&svc, env, "k", "v2", Some(7))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "memory: conflict: config `k` of `api` in live is at revision 1, expected revision 7"
        );
        assert_eq!(registry.revision(), 1);
        assert_eq!(
            registry.put_config(&svc, env, "k", "v2", Some(1)).await.unwrap(),
            2
        );
        registry.fail_next(1, || Error::Unavailable {
            provider: KIND,
            message: "injected".into(),
        });
        assert!(registry.put_config(&svc, env, "k", "v3", None).await.is_err());
        let entry = registry.get_config(&svc, env, "k").await.unwrap().unwrap();
        assert_eq!((entry.value.as_str(), entry.revision), ("v2", 2));
    }
}
