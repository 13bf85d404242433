//! Propagating one config change to both environments, with undo on failure.

use shadow_core::{ConfigEntry, DependencyRegistry, Environment, ServiceId};

use crate::{Error, Result};

/// What [`propagate_config`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropagateOutcome {
    /// The revision written to the shadow environment, or `None` if it already had the value.
    pub shadow_revision: Option<u64>,
    /// The revision written to the live environment, or `None` if it already had the value.
    pub live_revision: Option<u64>,
}

/// Writes `key = value` for `service` in the shadow environment, then in live.
///
/// Shadow goes first because it serves less traffic. Each write is a compare-and-set on the revision read just
/// before, so a concurrent writer is detected, never overwritten.
///
/// # Guarantees
/// - Idempotent: a side that already holds `value` is not written again.
/// - If the live write fails after the shadow write succeeded, the shadow's previous value is written back (again
///   by compare-and-set), so both sides keep agreeing.
///
/// # Errors
/// - [`Error::Registry`] when the change failed and nothing is left changed.
/// - [`Error::PartiallyApplied`] when the shadow could not be restored, or had no previous value to restore
///   (the registry trait has no delete); the message says which side holds which value.
pub async fn propagate_config(
    registry: &dyn DependencyRegistry,
    service: &ServiceId,
    key: &str,
    value: &str,
) -> Result<PropagateOutcome> {
    let before_shadow = registry.get_config(service, Environment::Shadow, key).await?;
    let before_live = registry.get_config(service, Environment::Live, key).await?;
    let needs = |e: &Option<ConfigEntry>| e.as_ref().is_none_or(|e| e.value != value);
    let revision = |e: &Option<ConfigEntry>| Some(e.as_ref().map_or(0, |e| e.revision));

    let shadow_revision = if needs(&before_shadow) {
        let rev = registry
            .put_config(service, Environment::Shadow, key, value, revision(&before_shadow))
            .await?;
        Some(rev)
    } else {
        None
    };
    if !needs(&before_live) {
        return Ok(PropagateOutcome {
            shadow_revision,
            live_revision: None,
        });
    }
    match registry
        .put_config(service, Environment::Live, key, value, revision(&before_live))
        .await
    {
        Ok(rev) => {
            tracing::info!(service = %service, config.key = key, "config propagated to shadow and live");
            Ok(PropagateOutcome {
                shadow_revision,
                live_revision: Some(rev),
            })
        }
        Err(source) => {
            let Some(written) = shadow_revision else {
                return Err(Error::Registry(source));
            };
            let partial = |detail: String, source| Error::PartiallyApplied {
                service: service.clone(),
                key: key.to_string(),
                detail,
                source: Box::new(source),
            };
            let Some(previous) = before_shadow else {
                return Err(partial(
                    "shadow holds the new value, live is unchanged, and the shadow key did not exist before"
                        .into(),
                    source,
                ));
            };
            match registry
                .put_config(service, Environment::Shadow, key, &previous.value, Some(written))
                .await
            {
                Ok(_) => {
                    tracing::warn!(service = %service, config.key = key, error = %source, "live write failed; shadow restored");
                    Err(Error::Registry(source))
                }
                Err(undo) => Err(partial(
                    format!(
                        "shadow holds the new value, live is unchanged, and restoring shadow failed: {undo}"
                    ),
                    source,
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use async_trait::async_trait;
    use futures::stream::BoxStream;
    use shadow_core::{
        Dependency, DependencyEvent, Result as CoreResult, memory::InMemoryDependencyRegistry,
    };

    use super::*;

    fn svc() -> ServiceId {
        ServiceId::new("checkout").unwrap()
    }

    #[tokio::test]
    async fn writes_both_sides_once() {
        let r = InMemoryDependencyRegistry::new();
        let out = propagate_config(&r, &svc(), "pool_size", "32").await.unwrap();
        assert!(out.shadow_revision.is_some() && out.live_revision.is_some());
        for env in Environment::BOTH {
            assert_eq!(
                r.get_config(&svc(), env, "pool_size")
                    .await
                    .unwrap()
                    .unwrap()
                    .value,
                "32"
            );
        }
        let again = propagate_config(&r, &svc(), "pool_size", "32").await.unwrap();
        assert_eq!(
            again,
            PropagateOutcome {
                shadow_revision: None,
                live_revision: None
            }
        );
    }

    /// Delegates to an in-memory registry but fails every write to live.
    #[derive(Debug)]
    struct LiveWritesFail(Arc<InMemoryDependencyRegistry>);

    #[async_trait]
    impl DependencyRegistry for LiveWritesFail {
        fn name(&self) -> &str {
            "live-writes-fail"
        }
        async fn dependencies(&self, s: &ServiceId) -> CoreResult<Vec<Dependency>> {
            self.0.dependencies(s).await
        }
        async fn watch(&self, s: &ServiceId) -> CoreResult<BoxStream<'static, CoreResult<DependencyEvent>>> {
            self.0.watch(s).await
        }
        async fn get_config(
            &self,
            s: &ServiceId,
            e: Environment,
            k: &str,
        ) -> CoreResult<Option<ConfigEntry>> {
            self.0.get_config(s, e, k).await
        }
        async fn put_config(
            &self,
            s: &ServiceId,
            e: Environment,
            k: &str,
            v: &str,
            rev: Option<u64>,
        ) -> CoreResult<u64> {
            if e == Environment::Live {
                return Err(shadow_core::Error::Unavailable {
                    provider: "test",
                    message: "down".into(),
                });
            }
            self.0.put_config(s, e, k, v, rev).await
        }
    }

    #[tokio::test]
    async fn restores_shadow_when_live_fails() {
        let inner = Arc::new(InMemoryDependencyRegistry::new());
        inner
            .put_config(&svc(), Environment::Shadow, "pool_size", "8", None)
            .await
            .unwrap();
        inner
            .put_config(&svc(), Environment::Live, "pool_size", "8", None)
            .await
            .unwrap();
        let r = LiveWritesFail(inner.clone());
        let err = propagate_config(&r, &svc(), "pool_size", "32").await.unwrap_err();
        assert!(
            matches!(err, Error::Registry(shadow_core::Error::Unavailable { .. })),
            "{err}"
        );
        for env in Environment::BOTH {
            assert_eq!(
                inner
                    .get_config(&svc(), env, "pool_size")
                    .await
                    .unwrap()
                    .unwrap()
                    .value,
                "8"
            );
        }

        let fresh = LiveWritesFail(Arc::new(InMemoryDependencyRegistry::new()));
        let err = propagate_config(&fresh, &svc(), "new_key", "1")
            .await
            .unwrap_err();
        assert!(matches!(err, Error::PartiallyApplied { .. }));
        assert!(err.to_string().contains("did not exist before"), "{err}");
    }
}
