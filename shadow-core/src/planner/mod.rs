//! The pure scaling planner: demand curve + current allocation + policy → idempotent provisioning requests.
//!
//! This is the threshold rule of the seed design. For every step of the forecast it computes the replicas that
//! the policy's demand quantile needs at the target utilisation, takes the largest over resource kinds, and
//! clamps to `[min_replicas, max_replicas]`. It then walks the horizon:
//!
//! - **scale out** when the missing capacity exceeds the resource's threshold (a share of the current capacity).
//!   The target is the largest need over the next lead time, and the request is issued one lead time before the
//!   step that needs it, so capacity is ready when the load arrives;
//! - **scale in** only when the need stays below the capacity by more than the threshold for the whole
//!   stabilisation window, and then only to the largest need in that window.
//!
//! The planner is deterministic: the same inputs give the same plan, with no clock and no randomness.
//!
//! Around this horizon plan, the submodules hold the other policies, all pure:
//!
//! - [`hpa`]: the Kubernetes HPA, reproduced faithfully (formula, tolerance, stabilisation, rate limits): the
//!   reactive baseline and the fallback when there is no forecast;
//! - [`proactive`]: the online proactive policy, one decision per control step from a bound one lead time
//!   ahead, never below what the observed demand needs, with hysteresis and bounded scale-in;
//! - [`online`]: the proactive policy the simulator judges, as one state machine: calibrated bounds from
//!   four predictors, priced headroom under budgets, then the [`proactive`] decision;
//! - [`calibrate`]: calibrated demand bounds from recent backtest errors, falling back to persistence
//!   (reactive scaling) where the forecast has no skill;
//! - [`cost`]: the reserved / on-demand / spot mix and the newsvendor planning quantile from a price table;
//! - [`warmup`]: sizing the shadow environment ahead of a deployment.

pub mod calibrate;
pub mod cost;
pub mod hpa;
pub mod online;
pub mod proactive;
pub mod warmup;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    error::{Error, Result},
    forecast::DemandCurve,
    ids::{Environment, ResourceKind},
    quantity::Replicas,
    scaling::{Allocation, ProvisioningRequest, ScalingPolicy},
    series::to_delta,
};

/// What one step of the horizon needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanStep {
    /// The step's timestamp.
    pub at: DateTime<Utc>,
    /// The planned demand quantile of the binding resource kind (the one that needs the most replicas).
    /// One number, not a map per kind: the planner runs for every service each cycle, and a per-step map
    /// would be most of its cost.
    pub demand: f64,
    /// The replicas needed, clamped to the policy's bounds.
    pub required: Replicas,
    /// The resource kind that needed the most replicas.
    pub binding: ResourceKind,
}

/// The planner's output for one service and environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Live or shadow.
    pub environment: Environment,
    /// What every step of the horizon needs.
    pub steps: Vec<PlanStep>,
    /// The requests to issue, in order of `issue_at`. Empty when nothing needs to change.
    pub requests: Vec<ProvisioningRequest>,
}

impl Plan {
    /// The capacity in effect at each step if every request is applied at its deadline.
    #[must_use]
    pub fn capacity_path(&self, current: Replicas) -> Vec<Replicas> {
        let mut cap = current;
        let mut next = self.requests.iter().peekable();
        self.steps
            .iter()
            .map(|s| {
                while let Some(r) = next.next_if(|r| r.deadline <= s.at) {
                    cap = r.target;
                }
                cap
            })
            .collect()
    }

    /// The largest need over the horizon.
    #[must_use]
    pub fn peak(&self) -> Option<&PlanStep> {
        self.steps.iter().max_by_key(|s| s.required)
    }
}

/// Plans the capacity of `current.environment` for the demand in `curve`.
///
/// # Errors
/// - [`Error::Config`] when the policy is invalid.
/// - [`Error::InvalidInput`] when the curve has no forecast for any resource kind of the policy, or the forecasts
///   of different kinds have different grids.
pub fn plan(curve: &DemandCurve, current: &Allocation, policy: &ScalingPolicy) -> Result<Plan> {
    policy.validate("policy")?;
    let kinds = kinds_on_one_grid(curve, policy)?;
    let step = kinds[0].2.step();
    let steps = required_steps(&kinds, policy);

    let threshold = kinds
        .iter()
        .map(|(_, cap, _)| cap.threshold)
        .fold(f64::INFINITY, f64::min);
    let step_ms = step.as_millis().max(1);
    let lead_steps = policy.lead_time.as_millis().div_ceil(step_ms) as usize;
    let stab_steps = (policy.scale_in_stabilisation.as_millis().div_ceil(step_ms) as usize).max(1);
    let lead = to_delta(policy.lead_time)?;

    let mut requests = Vec::new();
    let mut cap = current.desired.0;
    let mut h = 0;
    while h < steps.len() {
        let need = steps[h].required.0;
        let missing = f64::from(need.saturating_sub(cap));
        if need > cap && missing > threshold * f64::from(cap) {
            let end = (h + lead_steps.max(1)).min(steps.len());
            let target = steps[h..end].iter().map(|s| s.required.0).max().unwrap_or(need);
            requests.push(request(current, &steps[h], target, cap, lead, "scale out"));
            cap = target;
            h = end;
            continue;
        }
        let window_end = h + stab_steps;
        if need < cap && window_end <= steps.len() {
            let window_max = steps[h..window_end]
                .iter()
                .map(|s| s.required.0)
                .max()
                .unwrap_or(need);
            let surplus = f64::from(cap - window_max.min(cap));
            if window_max < cap && surplus > threshold * f64::from(cap) {
                let bound = (policy.max_scale_in_step * f64::from(cap)).ceil() as u32;
                let target = window_max.max(cap.saturating_sub(bound.max(1)));
                requests.push(request(current, &steps[h], target, cap, lead, "scale in"));
                cap = target;
            }
        }
        h += 1;
    }
    Ok(Plan {
        environment: current.environment,
        steps,
        requests,
    })
}

/// The demand quantile and required replicas of every step, for the kinds that have a forecast (checked to
/// share one grid).
fn required_steps(
    kinds: &[(
        &ResourceKind,
        &crate::scaling::ResourceCapacity,
        &crate::forecast::Forecast,
    )],
    policy: &ScalingPolicy,
) -> Vec<PlanStep> {
    let level = policy.quantile.get();
    let first = kinds[0].2;
    let paths: Vec<_> = kinds
        .iter()
        .map(|(kind, cap, f)| (*kind, *cap, f.nearest_quantile(level)))
        .collect();
    (0..first.horizon())
        .map(|h| {
            let mut best = (0u32, paths[0].0, paths[0].2[h].max(0.0));
            for (kind, cap, path) in &paths {
                let d = path[h].max(0.0);
                let need = (d / cap.usable_per_instance()).ceil().min(f64::from(u32::MAX)) as u32;
                if need > best.0 {
                    best = (need, *kind, d);
                }
            }
            PlanStep {
                at: first.time_at(h),
                demand: best.2,
                required: policy.clamp(best.0),
                binding: best.1.clone(),
            }
        })
        .collect()
}

/// Checks the curve against the policy: the kinds of the policy that have a forecast, on one grid.
fn kinds_on_one_grid<'a>(
    curve: &'a DemandCurve,
    policy: &'a ScalingPolicy,
) -> Result<
    Vec<(
        &'a ResourceKind,
        &'a crate::scaling::ResourceCapacity,
        &'a crate::forecast::Forecast,
    )>,
> {
    let kinds: Vec<_> = policy
        .capacity
        .iter()
        .filter_map(|(kind, cap)| curve.resources.get(kind).map(|f| (kind, cap, f)))
        .collect();
    let Some((_, _, first)) = kinds.first() else {
        return Err(Error::invalid(
            "demand curve",
            format!(
                "no forecast for any resource kind of the policy ({})",
                policy
                    .capacity
                    .keys()
                    .map(ResourceKind::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    };
    let (start, step, horizon) = (first.start(), first.step(), first.horizon());
    if let Some((kind, _, _)) = kinds
        .iter()
        .find(|(_, _, f)| f.start() != start || f.step() != step || f.horizon() != horizon)
    {
        return Err(Error::invalid(
            "demand curve",
            format!("the forecast of `{kind}` is on a different grid"),
        ));
    }
    Ok(kinds)
}

fn request(
    current: &Allocation,
    step: &PlanStep,
    target: u32,
    from: u32,
    lead: chrono::TimeDelta,
    verb: &str,
) -> ProvisioningRequest {
    let demand = step.demand;
    ProvisioningRequest {
        service: current.service.clone(),
        environment: current.environment,
        target: Replicas(target),
        issue_at: step.at - lead,
        deadline: step.at,
        reason: format!(
            "{verb} {from} -> {target}: forecast {} demand {demand:.3} at {} needs {} replicas",
            step.binding,
            step.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            step.required
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;
    use crate::{
        forecast::Forecast,
        ids::ServiceId,
        quantity::Quantile,
        scaling::{ResourceCapacity, ScalingPolicy},
    };

    fn t0() -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000, 0).unwrap()
    }

    fn curve(values: &[f64]) -> DemandCurve {
        let q = Quantile::try_new(0.9).unwrap();
        let f = Forecast::new(
            t0(),
            Duration::from_secs(60),
            values.to_vec(),
            vec![q],
            vec![values.to_vec()],
        )
        .unwrap();
        DemandCurve::new(ServiceId::new("svc").unwrap()).with(ResourceKind::Cpu, f)
    }

    fn policy() -> ScalingPolicy {
        let cap = ResourceCapacity {
            per_instance: 1.0,
            target_utilisation: 1.0,
            threshold: 0.1,
        };
        let mut p = ScalingPolicy::new(1, 20, ResourceKind::Cpu, cap).unwrap();
        p.lead_time = Duration::from_secs(120);
        p.scale_in_stabilisation = Duration::from_secs(180);
        p.max_scale_in_step = 1.0;
        p
    }

    fn alloc(n: u32) -> Allocation {
        Allocation {
            service: ServiceId::new("svc").unwrap(),
            environment: Environment::Live,
            desired: Replicas(n),
            ready: Replicas(n),
        }
    }

    #[test]
    fn scales_out_one_lead_time_ahead() {
        // 4 replicas now; demand rises to 8 at step 3.
        let plan = plan(&curve(&[4.0, 4.0, 4.0, 8.0, 8.0, 8.0, 8.0]), &alloc(4), &policy()).unwrap();
        assert_eq!(plan.requests.len(), 1);
        let r = &plan.requests[0];
        assert_eq!(r.target, Replicas(8));
        assert_eq!(r.deadline, t0() + chrono::TimeDelta::seconds(180));
        assert_eq!(r.issue_at, t0() + chrono::TimeDelta::seconds(60));
        assert!(r.reason.starts_with("scale out 4 -> 8"));
        assert_eq!(plan.peak().unwrap().required, Replicas(8));
    }

    #[test]
    fn ignores_changes_below_the_threshold() {
        // 10 -> 11 is 10 % missing, not above the 10 % threshold.
        let plan = plan(&curve(&[11.0; 6]), &alloc(10), &policy()).unwrap();
        assert!(plan.requests.is_empty());
    }

    #[test]
    fn scales_in_only_after_a_stable_window() {
        // Dips for two steps (shorter than the 3-step window) then stays low.
        let plan = plan(
            &curve(&[10.0, 2.0, 2.0, 10.0, 3.0, 3.0, 3.0, 3.0]),
            &alloc(10),
            &policy(),
        )
        .unwrap();
        assert_eq!(plan.requests.len(), 1);
        assert_eq!(plan.requests[0].target, Replicas(3));
        assert_eq!(plan.requests[0].deadline, t0() + chrono::TimeDelta::seconds(240));
        let caps = plan.capacity_path(Replicas(10));
        assert_eq!(caps[3], Replicas(10));
        assert_eq!(caps[4], Replicas(3));
    }

    #[test]
    fn bounds_and_missing_kinds() {
        let plan = plan(&curve(&[1000.0; 3]), &alloc(5), &policy()).unwrap();
        assert_eq!(plan.requests[0].target, Replicas(20));
        let empty = DemandCurve::new(ServiceId::new("svc").unwrap());
        assert!(
            super::plan(&empty, &alloc(5), &policy())
                .unwrap_err()
                .to_string()
                .contains("no forecast")
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn never_outside_bounds_and_deterministic(
            values in proptest::collection::vec(0.0f64..100.0, 1..40),
            current in 0u32..30,
        ) {
            let c = curve(&values);
            let p = policy();
            let a = plan(&c, &alloc(current), &p).unwrap();
            let b = plan(&c, &alloc(current), &p).unwrap();
            prop_assert_eq!(&a, &b);
            for s in &a.steps {
                prop_assert!(s.required >= p.min_replicas && s.required <= p.max_replicas);
            }
            for r in &a.requests {
                prop_assert!(r.target >= p.min_replicas && r.target <= p.max_replicas);
                prop_assert!(r.issue_at < r.deadline);
            }
        }

        #[test]
        fn monotone_in_demand(
            values in proptest::collection::vec(0.0f64..100.0, 1..40),
            extra in proptest::collection::vec(0.0f64..20.0, 40),
        ) {
            // More demand at every step never needs fewer replicas at any step, nor a lower peak.
            let p = policy();
            let more: Vec<f64> = values.iter().zip(&extra).map(|(v, e)| v + e).collect();
            let a = plan(&curve(&values), &alloc(5), &p).unwrap();
            let b = plan(&curve(&more), &alloc(5), &p).unwrap();
            for (x, y) in a.steps.iter().zip(&b.steps) {
                prop_assert!(x.required <= y.required);
            }
            prop_assert!(a.peak().unwrap().required <= b.peak().unwrap().required);
        }

        #[test]
        fn step_planner_is_bounded_monotone_and_quiet(
            observed in 0.0f64..200.0,
            ahead in 0.0f64..200.0,
            bump in 0.0f64..50.0,
            current in 1u32..=20,
        ) {
            use std::collections::BTreeMap;
            let decide = |obs: f64, ahead: f64| {
                let mut sp = proactive::StepPlanner::new(policy()).unwrap();
                let a = alloc(current);
                let o = BTreeMap::from([(ResourceKind::Cpu, obs)]);
                let h = BTreeMap::from([(ResourceKind::Cpu, ahead)]);
                sp.decide(&proactive::StepInput { at: t0(), current: &a, observed: &o, ahead: &h, stale: false })
                    .unwrap()
                    .map_or(current, |r| r.target.0)
            };
            let p = policy();
            let t = decide(observed, ahead);
            prop_assert!(t >= p.min_replicas.0 && t <= p.max_replicas.0);
            // Deterministic, and monotone in demand (a first decision has no scale-in history).
            prop_assert_eq!(t, decide(observed, ahead));
            prop_assert!(decide(observed + bump, ahead + bump) >= t);
            // Demand that exactly needs the current replicas asks for nothing.
            let n = f64::from(current);
            prop_assert_eq!(decide(n, n), current);
        }

        #[test]
        fn no_request_when_demand_matches_capacity(n in 1u32..20, len in 1usize..30) {
            let plan = plan(&curve(&vec![f64::from(n); len]), &alloc(n), &policy()).unwrap();
            prop_assert!(plan.requests.is_empty());
        }
    }
}
