//! Pre-deployment warm-up: size the shadow environment for the forecast over the deployment window and ask
//! for it one lead time before the deployment, so it is booted and warm when traffic starts to move.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{PlanStep, kinds_on_one_grid, required_steps};
use crate::{
    error::{Error, Result},
    forecast::DemandCurve,
    ids::Environment,
    scaling::{Allocation, ProvisioningRequest, ScalingPolicy},
    series::to_delta,
};

/// The warm-up of the shadow environment for one deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarmUp {
    /// The request for the shadow environment: issued at `deployment − lead time`, due at the deployment.
    pub request: ProvisioningRequest,
    /// The step of the window that needs the most replicas.
    pub peak: PlanStep,
    /// Keep the capacity warm at least until here (the end of the window); the switchover may extend it.
    pub hold_until: DateTime<Utc>,
}

/// Sizes the shadow environment for a deployment at `deployment` whose switchover lasts `window`: the largest
/// need of the planned quantile over `[deployment, deployment + window)` (the forecast steps inside it, plus
/// the step in effect at the deployment, since each step's value holds until the next), requested one lead
/// time earlier.
///
/// # Errors
/// - [`Error::Config`] when the policy is invalid;
/// - [`Error::InvalidInput`] when `current` is not the shadow environment, `window` is zero, or the curve does
///   not cover the window (it starts after the deployment, or its last step ends before the window does).
pub fn plan_warm_up(
    curve: &DemandCurve,
    current: &Allocation,
    policy: &ScalingPolicy,
    deployment: DateTime<Utc>,
    window: Duration,
) -> Result<WarmUp> {
    policy.validate("policy")?;
    if current.environment != Environment::Shadow {
        return Err(Error::invalid(
            "warm-up",
            "the allocation to warm up must be the shadow environment",
        ));
    }
    if window.is_zero() {
        return Err(Error::invalid("warm-up window", "must be positive"));
    }
    let kinds = kinds_on_one_grid(curve, policy)?;
    let end = deployment + to_delta(window)?;
    let f = kinds[0].2;
    // Each step's value holds until the next: the forecast covers up to one step past its last timestamp.
    let covered = f.time_at(f.horizon());
    if f.horizon() == 0 || f.start() > deployment || covered < end {
        return Err(Error::invalid(
            "demand curve",
            format!(
                "the forecast ({} to {covered}) does not cover the window {deployment} to {end}",
                f.start()
            ),
        ));
    }
    let steps = required_steps(&kinds, policy);
    // The step in effect at the deployment: the last one at or before it.
    let first = steps.partition_point(|s| s.at <= deployment).saturating_sub(1);
    let peak = steps
        .into_iter()
        .enumerate()
        .filter(|(k, s)| *k == first || (s.at >= deployment && s.at < end))
        .map(|(_, s)| s)
        .max_by(|a, b| a.required.cmp(&b.required).then(b.at.cmp(&a.at)))
        .ok_or_else(|| Error::invalid("demand curve", "no forecast step inside the window"))?;
    let lead = to_delta(policy.lead_time)?;
    let demand = peak.demand;
    let request = ProvisioningRequest {
        service: current.service.clone(),
        environment: Environment::Shadow,
        target: peak.required,
        issue_at: deployment - lead,
        deadline: deployment,
        reason: format!(
            "warm up shadow for the deployment at {deployment}: forecast {} demand {demand:.3} at {} needs {} \
             replicas; keep until {end}",
            peak.binding, peak.at, peak.required
        ),
    };
    Ok(WarmUp {
        request,
        peak,
        hold_until: end,
    })
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};

    use super::*;
    use crate::{
        forecast::Forecast,
        ids::{ResourceKind, ServiceId},
        quantity::{Quantile, Replicas},
        scaling::ResourceCapacity,
    };

    #[test]
    fn sizes_for_the_window_peak_and_issues_one_lead_time_early() {
        let t0 = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        // p90 path per minute: the peak 9.5 inside the window, 30 outside it.
        let p90 = vec![2.0, 3.0, 4.0, 9.5, 5.0, 4.0, 30.0];
        let f = Forecast::new(
            t0,
            Duration::from_secs(60),
            p90.clone(),
            vec![Quantile::try_new(0.9).unwrap()],
            vec![p90],
        )
        .unwrap();
        let curve = DemandCurve::new(ServiceId::new("svc").unwrap()).with(ResourceKind::Cpu, f);
        let cap = ResourceCapacity {
            per_instance: 2.0,
            target_utilisation: 0.5,
            threshold: 0.1,
        };
        let mut policy = ScalingPolicy::new(1, 40, ResourceKind::Cpu, cap).unwrap();
        policy.lead_time = Duration::from_secs(120);
        let shadow = Allocation {
            service: ServiceId::new("svc").unwrap(),
            environment: Environment::Shadow,
            desired: Replicas(0),
            ready: Replicas(0),
        };
        let deploy = t0 + TimeDelta::minutes(2);
        let w = plan_warm_up(&curve, &shadow, &policy, deploy, Duration::from_secs(180)).unwrap();
        // 9.5 at 1 usable per instance: 10 replicas, issued 2 minutes before the deployment.
        assert_eq!(w.request.target, Replicas(10));
        assert_eq!(w.request.issue_at, t0);
        assert_eq!(w.request.deadline, deploy);
        assert_eq!(w.request.environment, Environment::Shadow);
        assert_eq!(w.hold_until, t0 + TimeDelta::minutes(5));
        assert_eq!(w.peak.at, t0 + TimeDelta::minutes(3));
        // A window past the forecast, a live allocation, a zero window: errors.
        assert!(plan_warm_up(&curve, &shadow, &policy, deploy, Duration::from_secs(3600)).is_err());
        let live = Allocation {
            environment: Environment::Live,
            ..shadow.clone()
        };
        assert!(plan_warm_up(&curve, &live, &policy, deploy, Duration::from_secs(60)).is_err());
        assert!(plan_warm_up(&curve, &shadow, &policy, deploy, Duration::ZERO).is_err());
    }
}
