//! The [`health_probe`] check.

use std::future::Future;

use super::unknown_service;
use crate::{
    error::Result,
    ids::{Environment, ServiceId},
    traits::health::{HealthProbe, HealthStatus},
};

/// Checks the [`HealthProbe`] contract on `service` in `environment`.
///
/// The trait cannot make a target healthy or not, so the caller passes `set_health`: an async hook that makes
/// the target healthy (`true`) or unhealthy (`false`), for example by flipping a fake or stopping a test
/// server.
///
/// # Assumptions
/// - `set_health` changes only (`service`, `environment`), and takes effect before it returns.
/// - The probe is not configured for the service `shadow-conformance-no-such-service`.
///
/// # Asserts
/// 1. `name()` is not empty.
/// 2. After `set_health(true)`, two checks in a row return `Ok` with `healthy: true`.
/// 3. After `set_health(false)`, the check returns `Ok` with `healthy: false`: an unhealthy target is a
///    successful call, not an error.
/// 4. After `set_health(true)` again, the check is healthy again.
/// 5. The other environment's outcome (healthy, unhealthy or error) is the same before and after.
/// 6. A check of an unknown service is not `Ok` with `healthy: true`.
///
/// # Panics
/// On the first violation, with a message naming the provider and the rule.
pub async fn health_probe<F, Fut>(
    probe: &dyn HealthProbe,
    service: &ServiceId,
    environment: Environment,
    mut set_health: F,
) where
    F: FnMut(bool) -> Fut,
    Fut: Future<Output = ()>,
{
    let name = probe.name().to_string();
    assert!(!name.is_empty(), "conformance: health probe: name() is empty");
    let ctx = |rule: &str| format!("conformance: health probe `{name}`: {rule}");
    let outcome = |r: &Result<HealthStatus>| r.as_ref().map(|s| s.healthy).map_err(|e| e.kind());
    let other = environment.other();
    let other_before = outcome(&probe.check(service, other).await);

    let expect = async |healthy: bool, rule: &str| {
        let status = probe.check(service, environment).await.unwrap_or_else(|e| {
            panic!(
                "{}",
                ctx(&format!("{rule}: check({service}, {environment}) failed: {e}"))
            )
        });
        assert_eq!(
            status.healthy,
            healthy,
            "{}",
            ctx(&format!(
                "{rule}: check({service}, {environment}) returned {status:?}"
            ))
        );
    };
    set_health(true).await;
    expect(true, "after set_health(true)").await;
    expect(true, "a second check after set_health(true)").await;
    set_health(false).await;
    expect(
        false,
        "after set_health(false) (unhealthy is Ok with healthy: false)",
    )
    .await;
    set_health(true).await;
    expect(true, "after set_health(true) again").await;

    let other_after = outcome(&probe.check(service, other).await);
    assert_eq!(
        other_after,
        other_before,
        "{}",
        ctx(&format!("changing {environment} changed the outcome in {other}"))
    );
    let unknown = probe.check(&unknown_service(), environment).await;
    assert!(
        !matches!(unknown, Ok(HealthStatus { healthy: true, .. })),
        "{}",
        ctx("an unknown service must not be healthy")
    );
}
