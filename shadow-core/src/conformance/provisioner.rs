//! The [`provisioner`] check.

use chrono::Utc;

use super::{assert_err_kind, unknown_service};
use crate::{
    ids::{Environment, ServiceId},
    quantity::Replicas,
    scaling::{Allocation, ProvisioningRequest},
    traits::provisioner::{Provisioner, ProvisionerCapability},
};

/// The error kinds the [`Provisioner`] contract allows for a request outside the capability.
const REFUSALS: &[&str] = &["not_supported", "invalid_input"];

/// Checks the [`Provisioner`] contract on the shadow environment of `service`.
///
/// # Assumptions
/// - The backend knows `service`, and nothing else changes its replicas while the check runs.
/// - The backend does not know the service `shadow-conformance-no-such-service`.
///
/// # Asserts
/// 1. `name()` is not empty; the capability has `min_replicas <= max_replicas` and no `max_step` of 0.
/// 2. `describe` works for both environments and echoes the service and environment; an unknown service gives
///    [`Error::NotFound`](crate::Error::NotFound) from `describe` and `apply`.
/// 3. When the capability allows any change from the current shadow target (one more replica, the minimum, or
///    one fewer, in that order of preference): `apply` returns an allocation with that target as `desired` and
///    `ready <= desired`, `describe` then reports it, and applying the same request again leaves the same
///    target (one change, not two). The live environment is untouched.
/// 4. Requests outside the capability are refused with [`Error::NotSupported`](crate::Error::NotSupported) or
///    [`Error::InvalidInput`](crate::Error::InvalidInput) and leave the target unchanged: above
///    `max_replicas`, below `min_replicas`, one more than `max_step` away, and one fewer when `scale_in` is
///    false. Each applies only where it is expressible (for example, not above `u32::MAX`).
/// 5. When the capability allows it, `apply` brings the shadow back to its original target, which also checks
///    scale-in when the change in 3 was a scale-out.
///
/// # Panics
/// On the first violation, with a message naming the provider and the rule.
pub async fn provisioner(prov: &dyn Provisioner, service: &ServiceId) {
    let name = prov.name().to_string();
    assert!(!name.is_empty(), "conformance: provisioner: name() is empty");
    let ctx = |rule: &str| format!("conformance: provisioner `{name}`: {rule}");
    let cap = prov.capability();
    assert!(
        cap.min_replicas <= cap.max_replicas && cap.max_step != Some(0),
        "{}",
        ctx(&format!("inconsistent capability {cap:?}"))
    );

    let describe = async |environment: Environment| -> Allocation {
        let alloc = prov.describe(service, environment).await.unwrap_or_else(|e| {
            panic!(
                "{}",
                ctx(&format!("describe({service}, {environment}) failed: {e}"))
            )
        });
        assert_eq!(
            (&alloc.service, alloc.environment),
            (service, environment),
            "{}",
            ctx("describe must echo the service and environment")
        );
        alloc
    };
    let live_before = describe(Environment::Live).await;
    let original = describe(Environment::Shadow).await.desired.0;

    assert_err_kind(
        &prov.describe(&unknown_service(), Environment::Live).await,
        &["not_found"],
        &ctx("describe of an unknown service"),
    );
    assert_err_kind(
        &prov.apply(&request(&unknown_service(), Replicas(1))).await,
        &["not_found"],
        &ctx("apply for an unknown service"),
    );

    // 3. One allowed change, applied twice.
    let mut current = original;
    let candidates = [
        current.saturating_add(1),
        cap.min_replicas,
        current.saturating_sub(1),
    ];
    if let Some(target) = candidates.into_iter().find(|&t| allowed(&cap, current, t)) {
        let req = request(service, Replicas(target));
        for attempt in ["first", "second"] {
            let alloc = prov.apply(&req).await.unwrap_or_else(|e| {
                panic!(
                    "{}",
                    ctx(&format!("{attempt} apply of {current} -> {target} failed: {e}"))
                )
            });
            assert_eq!(
                alloc.desired.0,
                target,
                "{}",
                ctx(&format!("{attempt} apply must return the target as desired"))
            );
            assert!(
                alloc.ready <= alloc.desired,
                "{}",
                ctx(&format!(
                    "after scaling to {target}, ready {} is above desired",
                    alloc.ready
                ))
            );
            let seen = describe(Environment::Shadow).await.desired.0;
            assert_eq!(
                seen,
                target,
                "{}",
                ctx(&format!(
                    "describe after the {attempt} apply (apply is idempotent: it sets, never adds)"
                ))
            );
        }
        current = target;
        assert_eq!(
            describe(Environment::Live).await.desired,
            live_before.desired,
            "{}",
            ctx("applying to shadow changed live")
        );
    }

    // 4. Refusals leave the target unchanged.
    let mut refused = Vec::new();
    if cap.max_replicas < u32::MAX {
        refused.push(("above max_replicas", cap.max_replicas + 1));
    }
    if cap.min_replicas > 0 {
        refused.push(("below min_replicas", cap.min_replicas - 1));
    }
    if let Some(step) = cap.max_step {
        let up = current.checked_add(step + 1).filter(|t| *t <= cap.max_replicas);
        let down = current
            .checked_sub(step + 1)
            .filter(|t| cap.scale_in && *t >= cap.min_replicas);
        if let Some(target) = up.or(down) {
            refused.push(("beyond max_step", target));
        }
    }
    if !cap.scale_in && current > 0 {
        refused.push(("a scale-in without scale_in", current - 1));
    }
    for (rule, target) in refused {
        assert_err_kind(
            &prov.apply(&request(service, Replicas(target))).await,
            REFUSALS,
            &ctx(&format!("{rule}: {current} -> {target} must be refused")),
        );
        assert_eq!(
            describe(Environment::Shadow).await.desired.0,
            current,
            "{}",
            ctx(&format!("a refused request ({rule}) changed the target"))
        );
    }

    // 5. Restore.
    if original != current && allowed(&cap, current, original) {
        let alloc = prov
            .apply(&request(service, Replicas(original)))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "{}",
                    ctx(&format!("restoring {current} -> {original} failed: {e}"))
                )
            });
        assert_eq!(
            alloc.desired.0,
            original,
            "{}",
            ctx("restoring the original target")
        );
    }
}

/// Whether the capability allows changing the target from `current` to `target`.
fn allowed(cap: &ProvisionerCapability, current: u32, target: u32) -> bool {
    target != current
        && (cap.min_replicas..=cap.max_replicas).contains(&target)
        && cap.max_step.is_none_or(|step| target.abs_diff(current) <= step)
        && (target > current || cap.scale_in)
}

fn request(service: &ServiceId, target: Replicas) -> ProvisioningRequest {
    let now = Utc::now();
    ProvisioningRequest {
        service: service.clone(),
        environment: Environment::Shadow,
        target,
        issue_at: now,
        deadline: now,
        reason: "shadow conformance check".to_string(),
    }
}
