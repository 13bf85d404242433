//! The reactive policy the controller falls back to when it cannot forecast: the Kubernetes HPA formula.
//!
//! For each resource kind with an observation, the utilisation of the current capacity is
//! `observed / (current × per_instance)`, and its ratio to the target is `ratio = utilisation /
//! target_utilisation`. Within the tolerance (`|ratio − 1| ≤ 0.1`) the resource wants `current`; otherwise it
//! wants `ceil(current × ratio)`. The service wants the largest over resource kinds, clamped to the policy's
//! bounds. From zero replicas, a resource wants `ceil(observed / usable_per_instance)`.
//!
//! This is the formula of the Kubernetes Horizontal Pod Autoscaler
//! (`desiredReplicas = ceil(currentReplicas × currentMetricValue / desiredMetricValue)`, tolerance 0.1), and it
//! is the planner's one implementation: [`shadow_core::planner::hpa::reactive_replicas`].

use std::collections::BTreeMap;

use shadow_core::{ResourceKind, ScalingPolicy, planner::hpa};

/// The HPA tolerance: no change while the utilisation is within 10 % of the target.
pub const TOLERANCE: f64 = hpa::DEFAULT_TOLERANCE;

/// The replicas the reactive policy wants for the `observed` values (per resource kind), or `None` when no
/// resource of the policy has a finite observation.
///
/// ```
/// use std::collections::BTreeMap;
/// use shadow::controller::fallback::reactive;
/// use shadow::core::{ResourceKind, ScalingPolicy};
///
/// let policy: ScalingPolicy = serde_json::from_str(
///     r#"{ "min_replicas": 1, "max_replicas": 100,
///          "capacity": { "cpu": { "per_instance": 1.0, "target_utilisation": 0.5 } } }"#,
/// ).unwrap();
/// // 10 replicas of 1 core at 80 % use: ratio 1.6, so 16 replicas.
/// let observed = BTreeMap::from([(ResourceKind::Cpu, 8.0)]);
/// assert_eq!(reactive(&policy, 10, &observed), Some(16));
/// // 5.3 cores is 53 %, within 10 % of the 50 % target: no change.
/// let observed = BTreeMap::from([(ResourceKind::Cpu, 5.3)]);
/// assert_eq!(reactive(&policy, 10, &observed), Some(10));
/// ```
#[must_use]
pub fn reactive(policy: &ScalingPolicy, current: u32, observed: &BTreeMap<ResourceKind, f64>) -> Option<u32> {
    hpa::reactive_replicas(policy, current, observed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ScalingPolicy {
        serde_json::from_str(
            r#"{ "min_replicas": 2, "max_replicas": 20, "capacity": {
                "cpu": { "per_instance": 2.0, "target_utilisation": 0.5 },
                "memory": { "per_instance": 4.0, "target_utilisation": 1.0 } } }"#,
        )
        .unwrap()
    }

    #[test]
    fn takes_the_largest_need_and_clamps() {
        let p = policy();
        // cpu: 4 replicas × 2 cores at 6 cores = 75 % → ratio 1.5 → 6; memory: 8 of 16 → ratio 0.5 → 2.
        let obs = BTreeMap::from([(ResourceKind::Cpu, 6.0), (ResourceKind::Memory, 8.0)]);
        assert_eq!(reactive(&p, 4, &obs), Some(6));
        let obs = BTreeMap::from([(ResourceKind::Cpu, 100.0)]);
        assert_eq!(reactive(&p, 4, &obs), Some(20));
        let obs = BTreeMap::from([(ResourceKind::Cpu, 0.1)]);
        assert_eq!(reactive(&p, 4, &obs), Some(2));
        assert_eq!(
            reactive(&p, 0, &BTreeMap::from([(ResourceKind::Cpu, 5.0)])),
            Some(5)
        );
        assert_eq!(reactive(&p, 4, &BTreeMap::new()), None);
        assert_eq!(
            reactive(&p, 4, &BTreeMap::from([(ResourceKind::Cpu, f64::NAN)])),
            None
        );
    }
}
