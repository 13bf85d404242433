//! Capacity from the forecast: what the shadow must be warmed to, and what live needs to carry all traffic
//! back during a rollback.

use chrono::{DateTime, Utc};
use shadow_core::{
    Allocation, DemandCurve, Environment, Replicas, ScalingPolicy, TimeRange,
    planner::{
        self,
        warmup::{WarmUp, plan_warm_up},
    },
};

use crate::error::{Error, Result};

/// The replicas the shadow needs to carry **all** traffic over the switch window, from the planner's
/// pre-deployment warm-up ([`planner::warmup::plan_warm_up`]): the largest need of the policy's demand quantile
/// at its target utilisation over `[window.start, window.end)` (the forecast steps inside it plus the step in
/// effect at its start), clamped to `[min_replicas, max_replicas]`.
///
/// This is the one place the prepare phase sizes the shadow. Use [`shadow_warm_up_for_window`] for the
/// whole warm-up (when to ask, until when to hold).
///
/// # Errors
/// [`Error::Capacity`] when the planner rejects the curve or policy, or the forecast does not cover `window`.
pub fn shadow_target_for_window(
    curve: &DemandCurve,
    policy: &ScalingPolicy,
    window: TimeRange,
) -> Result<Replicas> {
    Ok(shadow_warm_up_for_window(curve, policy, window)?.request.target)
}

/// The planner's warm-up of the shadow for a switchover over `window`: the request (its target, issued one
/// lead time before `window.start`, due at it) and how long to keep the capacity warm.
///
/// # Errors
/// As [`shadow_target_for_window`].
pub fn shadow_warm_up_for_window(
    curve: &DemandCurve,
    policy: &ScalingPolicy,
    window: TimeRange,
) -> Result<WarmUp> {
    let length = (window.end - window.start).to_std().map_err(|_| {
        Error::Capacity(shadow_core::Error::invalid(
            "switch window",
            "must end after it starts",
        ))
    })?;
    // The warm-up's request does not depend on the current allocation; any shadow allocation will do.
    let shadow = Allocation {
        service: curve.service.clone(),
        environment: Environment::Shadow,
        desired: policy.min_replicas,
        ready: policy.min_replicas,
    };
    plan_warm_up(curve, &shadow, policy, window.start, length).map_err(Error::Capacity)
}

/// The replicas needed at each forecast step for all traffic, from the planner.
///
/// # Errors
/// [`Error::Capacity`] when the planner rejects the curve or policy.
pub fn need_path(
    curve: &DemandCurve,
    policy: &ScalingPolicy,
    environment: Environment,
) -> Result<Vec<(DateTime<Utc>, Replicas)>> {
    // The planner's steps do not depend on the current allocation; any allocation will do.
    let current = Allocation {
        service: curve.service.clone(),
        environment,
        desired: policy.min_replicas,
        ready: policy.min_replicas,
    };
    let plan = planner::plan(curve, &current, policy).map_err(Error::Capacity)?;
    Ok(plan.steps.iter().map(|s| (s.at, s.required)).collect())
}

/// The largest need in `window` on a path from [`need_path`]: the steps inside it plus the step in effect
/// at its start. `None` when the path has no step at or before `window.end`.
#[must_use]
pub fn peak_need(path: &[(DateTime<Utc>, Replicas)], window: TimeRange) -> Option<Replicas> {
    let in_effect = path
        .iter()
        .rev()
        .find(|(at, _)| *at <= window.start)
        .map(|(_, r)| *r);
    path.iter()
        .filter(|(at, _)| *at >= window.start && *at < window.end)
        .map(|(_, r)| *r)
        .chain(in_effect)
        .max()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeZone;
    use shadow_core::{Forecast, ResourceCapacity, ResourceKind, ServiceId};

    use super::*;

    #[test]
    fn sizes_the_shadow_for_the_window_peak() {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let svc = ServiceId::new("checkout").unwrap();
        // CPU cores: 2, 4, 9, 3 at 5-minute steps; 2 cores per instance at 50 % -> 1 usable core each.
        let values = vec![2.0, 4.0, 9.0, 3.0];
        let f = Forecast::new(t0, Duration::from_secs(300), values, vec![], vec![]).unwrap();
        let curve = DemandCurve::new(svc).with(ResourceKind::Cpu, f);
        let cap = ResourceCapacity {
            per_instance: 2.0,
            target_utilisation: 0.5,
            threshold: 0.1,
        };
        let policy = ScalingPolicy::new(1, 20, ResourceKind::Cpu, cap).unwrap();
        let min = |m| t0 + chrono::TimeDelta::minutes(m);
        let w = TimeRange::new(min(0), min(10)).unwrap();
        assert_eq!(shadow_target_for_window(&curve, &policy, w).unwrap(), Replicas(4));
        let w = TimeRange::new(min(6), min(20)).unwrap();
        assert_eq!(shadow_target_for_window(&curve, &policy, w).unwrap(), Replicas(9));
        let before = TimeRange::new(min(-30), min(-20)).unwrap();
        assert!(shadow_target_for_window(&curve, &policy, before).is_err());
        // Past the forecast's last step (which holds until 20 minutes): an error, not a guess.
        let after = TimeRange::new(min(10), min(25)).unwrap();
        assert!(shadow_target_for_window(&curve, &policy, after).is_err());
        // The warm-up is asked for one lead time before the window and held until its end.
        let mut lead = policy.clone();
        lead.lead_time = Duration::from_secs(240);
        let w = shadow_warm_up_for_window(&curve, &lead, TimeRange::new(min(6), min(20)).unwrap()).unwrap();
        assert_eq!(w.request.target, Replicas(9));
        assert_eq!(w.request.environment, Environment::Shadow);
        assert_eq!(w.request.issue_at, min(2));
        assert_eq!(w.request.deadline, min(6));
        assert_eq!(w.hold_until, min(20));
    }
}
