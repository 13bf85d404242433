//! The online proactive policy: one decision per control step, from a bound on the demand one lead time ahead
//! and the demand observed now.
//!
//! For every resource kind of the policy, the capacity needed is `ceil(demand / usable_per_instance)`; the
//! service needs the largest over kinds. The target is the larger of
//!
//! - what the **forecast** bound needs at `now + lead time` (the capacity requested now is ready then), and
//! - what the **observed** demand needs now (never below what reactive scaling would keep),
//!
//! clamped to `[min_replicas, max_replicas]`. Then:
//!
//! - **scale out** at once when the target exceeds the current replicas by more than the threshold share;
//! - **scale in** only with fresh data, only to the largest need of the bound ahead over the stabilisation
//!   window (hysteresis) and never below what the demand now needs, only when the surplus exceeds the
//!   threshold share, and by at most `max_scale_in_step` of the replicas.
//!
//! The planner holds the recent targets, not a clock: the same calls give the same requests.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};

use crate::{
    error::Result,
    ids::ResourceKind,
    quantity::Replicas,
    scaling::{Allocation, ProvisioningRequest, ScalingPolicy},
    series::to_delta,
};

/// What one decision sees.
#[derive(Debug, Clone, PartialEq)]
pub struct StepInput<'a> {
    /// Now.
    pub at: DateTime<Utc>,
    /// What the service has now.
    pub current: &'a Allocation,
    /// The demand observed now, per resource kind. Missing or non-finite values count as missing.
    pub observed: &'a BTreeMap<ResourceKind, f64>,
    /// The planning bound on the demand one lead time ahead, per resource kind (none without a forecast).
    pub ahead: &'a BTreeMap<ResourceKind, f64>,
    /// The observations are stale (the source lags): no scale-in.
    pub stale: bool,
}

/// The proactive policy's memory: the targets of the stabilisation window.
#[derive(Debug, Clone)]
pub struct StepPlanner {
    policy: ScalingPolicy,
    recent: VecDeque<(DateTime<Utc>, u32)>,
}

impl StepPlanner {
    /// A planner for `policy`.
    ///
    /// # Errors
    /// [`crate::Error::Config`] when the policy is invalid.
    pub fn new(policy: ScalingPolicy) -> Result<Self> {
        policy.validate("policy")?;
        Ok(Self {
            policy,
            recent: VecDeque::new(),
        })
    }

    /// The policy.
    #[must_use]
    pub fn policy(&self) -> &ScalingPolicy {
        &self.policy
    }

    /// The replicas `demand` needs per kind: the largest `ceil(value / usable)` over the policy's kinds with a
    /// finite value, or `None` when no kind has one.
    #[must_use]
    pub fn need(&self, demand: &BTreeMap<ResourceKind, f64>) -> Option<u32> {
        self.policy
            .capacity
            .iter()
            .filter_map(|(kind, cap)| {
                let v = demand.get(kind).filter(|v| v.is_finite())?;
                let n = (v.max(0.0) / cap.usable_per_instance() - 1e-9).ceil();
                Some(n.clamp(0.0, f64::from(u32::MAX)) as u32)
            })
            .max()
    }

    /// One decision: the request to issue now, or `None` when nothing should change.
    ///
    /// # Errors
    /// [`crate::Error::InvalidInput`] when the lead time does not fit a time delta.
    pub fn decide(&mut self, input: &StepInput<'_>) -> Result<Option<ProvisioningRequest>> {
        let now_need = self.need(input.observed);
        let ahead_need = self.need(input.ahead);
        let Some(raw) = now_need.max(ahead_need) else {
            return Ok(None);
        };
        let want = self.policy.clamp(raw).0;
        let window = to_delta(self.policy.scale_in_stabilisation)?;
        while self.recent.front().is_some_and(|(t, _)| *t <= input.at - window) {
            self.recent.pop_front();
        }
        // The window holds what the bound ahead needed: a one-off burst in the observed demand raises the
        // target while it lasts but is not held for the whole window.
        self.recent
            .push_back((input.at, self.policy.clamp(ahead_need.unwrap_or(0)).0));
        let current = input.current.desired.0;
        let threshold = self
            .policy
            .capacity
            .values()
            .map(|c| c.threshold)
            .fold(f64::INFINITY, f64::min);
        let lead = to_delta(self.policy.lead_time)?;
        let request = |target: u32, verb: &str| ProvisioningRequest {
            service: input.current.service.clone(),
            environment: input.current.environment,
            target: Replicas(target),
            issue_at: input.at,
            deadline: input.at + lead,
            reason: format!(
                "{verb} {current} -> {target}: observed demand needs {}, the bound {} ahead needs {}",
                now_need.map_or("-".into(), |n| n.to_string()),
                humantime_short(self.policy.lead_time),
                ahead_need.map_or("-".into(), |n| n.to_string()),
            ),
        };
        if want > current {
            let missing = f64::from(want - current);
            if current == 0 || missing > threshold * f64::from(current) {
                return Ok(Some(request(want, "scale out")));
            }
            return Ok(None);
        }
        if input.stale || now_need.is_none() {
            return Ok(None);
        }
        let stable = self.recent.iter().map(|r| r.1).max().unwrap_or(want).max(want);
        if stable >= current {
            return Ok(None);
        }
        let surplus = f64::from(current - stable);
        if surplus <= threshold * f64::from(current) {
            return Ok(None);
        }
        let step = (self.policy.max_scale_in_step * f64::from(current)).ceil() as u32;
        let target = stable.max(current.saturating_sub(step.max(1)));
        let target = self.policy.clamp(target).0;
        Ok((target < current).then(|| request(target, "scale in")))
    }
}

fn humantime_short(d: std::time::Duration) -> String {
    let s = d.as_secs();
    if s % 60 == 0 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::{TimeDelta, TimeZone};

    use super::*;
    use crate::{
        ids::{Environment, ServiceId},
        scaling::ResourceCapacity,
    };

    fn planner() -> StepPlanner {
        let cap = ResourceCapacity {
            per_instance: 1.0,
            target_utilisation: 1.0,
            threshold: 0.05,
        };
        let mut p = ScalingPolicy::new(1, 50, ResourceKind::Cpu, cap).unwrap();
        p.lead_time = Duration::from_secs(300);
        p.scale_in_stabilisation = Duration::from_secs(600);
        StepPlanner::new(p).unwrap()
    }

    fn alloc(n: u32) -> Allocation {
        Allocation {
            service: ServiceId::new("svc").unwrap(),
            environment: Environment::Live,
            desired: Replicas(n),
            ready: Replicas(n),
        }
    }

    fn t(min: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000, 0).unwrap() + TimeDelta::minutes(min)
    }

    fn cpu(v: f64) -> BTreeMap<ResourceKind, f64> {
        BTreeMap::from([(ResourceKind::Cpu, v)])
    }

    fn decide(p: &mut StepPlanner, at: i64, current: u32, obs: f64, ahead: f64) -> Option<u32> {
        let a = alloc(current);
        p.decide(&StepInput {
            at: t(at),
            current: &a,
            observed: &cpu(obs),
            ahead: &cpu(ahead),
            stale: false,
        })
        .unwrap()
        .map(|r| r.target.0)
    }

    #[test]
    fn scales_out_for_the_bound_ahead_and_never_below_the_demand_now() {
        let mut p = planner();
        // 10 now, the bound ahead says 14.2: 15 instances, ready in 5 minutes.
        let a = alloc(10);
        let r = p
            .decide(&StepInput {
                at: t(0),
                current: &a,
                observed: &cpu(9.0),
                ahead: &cpu(14.2),
                stale: false,
            })
            .unwrap()
            .unwrap();
        assert_eq!(r.target, Replicas(15));
        assert_eq!(r.deadline, t(5));
        assert!(r.reason.starts_with("scale out 10 -> 15"), "{}", r.reason);
        // The bound is low but the demand now needs 12.
        assert_eq!(decide(&mut planner(), 0, 10, 11.5, 3.0), Some(12));
    }

    #[test]
    fn scales_in_after_the_window_in_bounded_steps() {
        let mut p = planner();
        assert_eq!(decide(&mut p, 0, 20, 20.0, 20.0), None);
        // Demand falls to 4 but 20 is in the 10-minute window.
        assert_eq!(decide(&mut p, 5, 20, 4.0, 4.0), None);
        assert_eq!(decide(&mut p, 10, 20, 4.0, 4.0), Some(10)); // 20 left the window; at most half at once.
        assert_eq!(decide(&mut p, 15, 10, 4.0, 4.0), Some(5));
        assert_eq!(decide(&mut p, 20, 5, 4.0, 4.0), Some(4));
        assert_eq!(decide(&mut p, 25, 4, 4.0, 4.0), None);
    }

    #[test]
    fn stale_or_missing_data_never_scales_in() {
        let mut p = planner();
        let a = alloc(20);
        let none = BTreeMap::new();
        for at in [0, 20, 40] {
            let r = p
                .decide(&StepInput {
                    at: t(at),
                    current: &a,
                    observed: &cpu(2.0),
                    ahead: &cpu(2.0),
                    stale: true,
                })
                .unwrap();
            assert!(r.is_none());
            let r = p
                .decide(&StepInput {
                    at: t(at + 1),
                    current: &a,
                    observed: &none,
                    ahead: &cpu(2.0),
                    stale: false,
                })
                .unwrap();
            assert!(r.is_none());
        }
        // Nothing at all: no decision.
        assert!(
            p.decide(&StepInput {
                at: t(99),
                current: &a,
                observed: &none,
                ahead: &none,
                stale: false
            })
            .unwrap()
            .is_none()
        );
    }
}
