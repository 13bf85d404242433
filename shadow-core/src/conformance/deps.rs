//! The [`dependency_registry`] check.

use std::future::Future;

use futures::StreamExt;

use super::{WATCH_TIMEOUT, assert_err_kind, unique_suffix, unknown_service, within};
use crate::{
    ids::{Environment, ServiceId},
    traits::deps::{ConfigEntry, Dependency, DependencyEvent, DependencyRegistry},
};

/// Checks the [`DependencyRegistry`] contract for `service`.
///
/// The trait has no way to change dependencies, so the caller passes `change`: an async hook that changes the
/// dependencies of `service` in the backend (adds, re-kinds or removes one) and returns the event a watcher
/// must see for it.
///
/// # Assumptions
/// - The backend lists exactly `expected` (in any order) as the dependencies of `service`, and nothing else
///   changes them while the check runs.
/// - The backend does not know the service `shadow-conformance-no-such-service`.
/// - Config keys starting with `shadow-conformance.` are free to write; the check uses keys unique to the run.
///
/// # Asserts
/// 1. `name()` is not empty.
/// 2. `dependencies` returns `expected`, sorted by id; an unknown service gives
///    [`Error::NotFound`](crate::Error::NotFound) from `dependencies` and `watch`.
/// 3. Config round trip and environment isolation: a fresh key reads `None` in both environments; a value
///    written to live reads back with the returned revision and stays invisible in shadow, and the other way
///    round.
/// 4. Compare-and-set: expecting 0 on an existing key, or a revision the key does not have, fails with
///    [`Error::Conflict`](crate::Error::Conflict) and writes nothing; expecting a non-zero revision on a
///    missing key fails the same way and creates nothing; expecting the current revision writes.
/// 5. Every successful write returns a revision greater than every earlier one, unconditional writes
///    included.
/// 6. A stream from `watch` opened before `change` runs yields the event `change` returned, within
///    [`WATCH_TIMEOUT`](super::WATCH_TIMEOUT), and `dependencies` reflects the change afterwards, still sorted.
///
/// # Panics
/// On the first violation, with a message naming the provider and the rule.
pub async fn dependency_registry<F, Fut>(
    registry: &dyn DependencyRegistry,
    service: &ServiceId,
    expected: &[Dependency],
    change: F,
) where
    F: FnOnce() -> Fut,
    Fut: Future<Output = DependencyEvent>,
{
    let name = registry.name().to_string();
    assert!(
        !name.is_empty(),
        "conformance: dependency registry: name() is empty"
    );
    let ctx = |rule: &str| format!("conformance: dependency registry `{name}`: {rule}");

    // 2. Listing.
    let list = async || {
        let deps = registry
            .dependencies(service)
            .await
            .unwrap_or_else(|e| panic!("{}", ctx(&format!("dependencies({service}) failed: {e}"))));
        assert!(
            deps.windows(2).all(|w| w[0].id < w[1].id),
            "{}",
            ctx(&format!(
                "dependencies must be sorted by id, without repeats: {deps:?}"
            ))
        );
        deps
    };
    let mut sorted = expected.to_vec();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(
        list().await,
        sorted,
        "{}",
        ctx("dependencies differ from the seeded ones")
    );
    let unknown = unknown_service();
    assert_err_kind(
        &registry.dependencies(&unknown).await,
        &["not_found"],
        &ctx("dependencies of an unknown service"),
    );
    assert_err_kind(
        &registry.watch(&unknown).await.map(|_| ()),
        &["not_found"],
        &ctx("watch of an unknown service"),
    );

    // 3-5. Config.
    config(registry, service, &ctx).await;

    // 6. Watch.
    let mut changes = registry
        .watch(service)
        .await
        .unwrap_or_else(|e| panic!("{}", ctx(&format!("watch({service}) failed: {e}"))));
    let event = change().await;
    let seen = within(WATCH_TIMEOUT, changes.next())
        .await
        .unwrap_or_else(|| {
            panic!(
                "{}",
                ctx(&format!("no event within {WATCH_TIMEOUT:?} for {event:?}"))
            )
        })
        .unwrap_or_else(|| panic!("{}", ctx("the watch stream ended before the change")))
        .unwrap_or_else(|e| panic!("{}", ctx(&format!("the watch stream yielded an error: {e}"))));
    assert_eq!(
        seen,
        event,
        "{}",
        ctx("watch must yield the change made after subscribing")
    );
    let after = list().await;
    match &event {
        DependencyEvent::Added(dep) => assert!(
            after.contains(dep),
            "{}",
            ctx(&format!("{dep:?} was added but is not listed: {after:?}"))
        ),
        DependencyEvent::Removed(id) => assert!(
            after.iter().all(|d| d.id != *id),
            "{}",
            ctx(&format!("`{id}` was removed but is still listed: {after:?}"))
        ),
    }
}

async fn config(registry: &dyn DependencyRegistry, service: &ServiceId, ctx: &impl Fn(&str) -> String) {
    let (live, shadow) = (Environment::Live, Environment::Shadow);
    let key = format!("shadow-conformance.{}", unique_suffix());
    let get = async |env: Environment, key: &str| {
        registry.get_config(service, env, key).await.unwrap_or_else(|e| {
            panic!(
                "{}",
                ctx(&format!("get_config({service}, {env}, {key}) failed: {e}"))
            )
        })
    };
    let mut last = 0;
    let mut put = async |env: Environment, key: &str, value: &str, expected: Option<u64>| {
        let rev = registry
            .put_config(service, env, key, value, expected)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "{}",
                    ctx(&format!(
                        "put_config({env}, {key}, {value}, {expected:?}) failed: {e}"
                    ))
                )
            });
        assert!(
            rev > last,
            "{}",
            ctx(&format!("revision {rev} after revision {last}"))
        );
        last = rev;
        rev
    };
    let entry = |value: &str, revision| {
        Some(ConfigEntry {
            value: value.to_string(),
            revision,
        })
    };

    assert_eq!(
        get(live, &key).await,
        None,
        "{}",
        ctx("a fresh key must read None in live")
    );
    assert_eq!(
        get(shadow, &key).await,
        None,
        "{}",
        ctx("a fresh key must read None in shadow")
    );
    let r_live = put(live, &key, "live-1", Some(0)).await;
    assert_eq!(
        get(live, &key).await,
        entry("live-1", r_live),
        "{}",
        ctx("live round trip")
    );
    assert_eq!(
        get(shadow, &key).await,
        None,
        "{}",
        ctx("a live write is visible in shadow")
    );
    let r_shadow = put(shadow, &key, "shadow-1", Some(0)).await;
    assert_eq!(
        get(shadow, &key).await,
        entry("shadow-1", r_shadow),
        "{}",
        ctx("shadow round trip")
    );
    assert_eq!(
        get(live, &key).await,
        entry("live-1", r_live),
        "{}",
        ctx("a shadow write changed live")
    );

    // Compare-and-set conflicts write nothing.
    for (rule, expected) in [
        ("expecting 0 on an existing key", 0),
        ("expecting another key's revision", r_shadow),
        ("expecting a future revision", r_shadow.saturating_add(1_000)),
    ] {
        assert_err_kind(
            &registry
                .put_config(service, live, &key, "lost", Some(expected))
                .await,
            &["conflict"],
            &ctx(rule),
        );
        assert_eq!(
            get(live, &key).await,
            entry("live-1", r_live),
            "{}",
            ctx(&format!("a conflicting write ({rule}) changed the value"))
        );
    }
    let missing = format!("{key}.missing");
    assert_err_kind(
        &registry
            .put_config(service, live, &missing, "lost", Some(r_live))
            .await,
        &["conflict"],
        &ctx("expecting a revision on a missing key"),
    );
    assert_eq!(
        get(live, &missing).await,
        None,
        "{}",
        ctx("a conflicting write created the key")
    );

    let r2 = put(live, &key, "live-2", Some(r_live)).await;
    assert_eq!(
        get(live, &key).await,
        entry("live-2", r2),
        "{}",
        ctx("compare-and-set with the current revision")
    );
    let r3 = put(live, &key, "live-3", None).await;
    assert_eq!(
        get(live, &key).await,
        entry("live-3", r3),
        "{}",
        ctx("unconditional write")
    );
}
