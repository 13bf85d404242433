//! Allocations, scaling policies and provisioning requests.

use std::{collections::BTreeMap, time::Duration};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    error::{Error, Result},
    ids::{Environment, ResourceKind, ServiceId},
    quantity::{Quantile, Replicas},
};

/// What a service has now in one environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    /// The service.
    pub service: ServiceId,
    /// Live or shadow.
    pub environment: Environment,
    /// The replicas asked for.
    pub desired: Replicas,
    /// The replicas booted, warm and serving. Never above `desired` for long.
    pub ready: Replicas,
}

/// Capacity and thresholds of one resource kind per instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceCapacity {
    /// How much of the resource one instance provides (cores, bytes, bytes per second, ...).
    pub per_instance: f64,
    /// The share of the capacity to plan for, in `(0, 1]`. `0.7` keeps 30 % headroom.
    #[serde(default = "default_target_utilisation")]
    pub target_utilisation: f64,
    /// Provision only when the missing capacity exceeds this share of the current capacity, in `[0, 1)`.
    #[serde(default = "default_threshold")]
    pub threshold: f64,
}

fn default_target_utilisation() -> f64 {
    0.7
}

fn default_threshold() -> f64 {
    0.1
}

impl ResourceCapacity {
    /// The capacity one instance contributes at the target utilisation.
    #[must_use]
    pub fn usable_per_instance(&self) -> f64 {
        self.per_instance * self.target_utilisation
    }

    fn validate(&self, field: &str) -> Result<()> {
        if !(self.per_instance.is_finite() && self.per_instance > 0.0) {
            return Err(Error::config(
                format!("{field}.per_instance"),
                "must be a positive number",
            ));
        }
        if !(self.target_utilisation > 0.0 && self.target_utilisation <= 1.0) {
            return Err(Error::config(
                format!("{field}.target_utilisation"),
                "must be in (0, 1]",
            ));
        }
        if !(self.threshold >= 0.0 && self.threshold < 1.0) {
            return Err(Error::config(format!("{field}.threshold"), "must be in [0, 1)"));
        }
        Ok(())
    }
}

/// How the planner decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyMode {
    /// Scale on what is observed now, against thresholds: the HPA formula
    /// ([`crate::planner::hpa::reactive_replicas`]), both ways; no scale-in on stale data.
    Reactive,
    /// Schedule capacity from the forecast's demand quantile, a lead time ahead ([`crate::planner::plan`]).
    #[default]
    Proactive,
    /// Every control step, a bound on the demand one lead time ahead calibrated on the recent errors of the
    /// forecast, persistence, a smoothed level and the recent peak, with headroom priced by the price table
    /// ([`crate::planner::online::OnlinePolicy`]): the policy the simulator judges.
    Calibrated,
}

/// The rules a service is scaled by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScalingPolicy {
    /// How the planner decides.
    #[serde(default)]
    pub mode: PolicyMode,
    /// Never fewer instances than this.
    pub min_replicas: Replicas,
    /// Never more instances than this.
    pub max_replicas: Replicas,
    /// Per-instance capacity and thresholds, per resource kind. At least one.
    pub capacity: BTreeMap<ResourceKind, ResourceCapacity>,
    /// The demand quantile to provision for.
    #[serde(default = "default_quantile")]
    pub quantile: Quantile,
    /// Boot plus warm-up time of a new instance: capacity is requested this long before it is needed.
    #[serde(with = "humantime_serde", default = "default_lead_time")]
    pub lead_time: Duration,
    /// Demand must stay low for this long before capacity is removed.
    #[serde(with = "humantime_serde", default = "default_stabilisation")]
    pub scale_in_stabilisation: Duration,
    /// One scale-in removes at most this share of the current replicas, in `(0, 1]`.
    #[serde(default = "default_max_scale_in_step")]
    pub max_scale_in_step: f64,
}

fn default_max_scale_in_step() -> f64 {
    0.5
}

fn default_quantile() -> Quantile {
    Quantile::try_new(0.9).expect("0.9 is a valid quantile")
}

fn default_lead_time() -> Duration {
    Duration::from_secs(300)
}

fn default_stabilisation() -> Duration {
    Duration::from_secs(300)
}

impl ScalingPolicy {
    /// A policy with one resource kind and the defaults for everything else.
    ///
    /// # Errors
    /// As [`ScalingPolicy::validate`].
    pub fn new(
        min_replicas: u32,
        max_replicas: u32,
        kind: ResourceKind,
        capacity: ResourceCapacity,
    ) -> Result<Self> {
        let policy = Self {
            mode: PolicyMode::default(),
            min_replicas: Replicas(min_replicas),
            max_replicas: Replicas(max_replicas),
            capacity: BTreeMap::from([(kind, capacity)]),
            quantile: default_quantile(),
            lead_time: default_lead_time(),
            scale_in_stabilisation: default_stabilisation(),
            max_scale_in_step: default_max_scale_in_step(),
        };
        policy.validate("policy")?;
        Ok(policy)
    }

    /// Checks the policy. `field` is the dotted path of the policy in the config, used in errors.
    ///
    /// # Errors
    /// [`Error::Config`] naming the field that is wrong: `min_replicas > max_replicas`, no capacity,
    /// a non-positive capacity, a utilisation outside `(0, 1]`, a threshold outside `[0, 1)`.
    pub fn validate(&self, field: &str) -> Result<()> {
        if self.min_replicas > self.max_replicas {
            return Err(Error::config(
                format!("{field}.max_replicas"),
                format!(
                    "{} is below min_replicas ({})",
                    self.max_replicas, self.min_replicas
                ),
            ));
        }
        if self.max_replicas.0 == 0 {
            return Err(Error::config(
                format!("{field}.max_replicas"),
                "must be at least 1",
            ));
        }
        if self.capacity.is_empty() {
            return Err(Error::config(
                format!("{field}.capacity"),
                "needs at least one resource kind",
            ));
        }
        for (kind, cap) in &self.capacity {
            // Name the field only on failure: validation runs on every plan.
            if cap.validate("").is_err() {
                cap.validate(&format!("{field}.capacity.{kind}"))?;
            }
        }
        if !(self.max_scale_in_step > 0.0 && self.max_scale_in_step <= 1.0) {
            return Err(Error::config(
                format!("{field}.max_scale_in_step"),
                "must be in (0, 1]",
            ));
        }
        Ok(())
    }

    /// Clamps `replicas` into `[min_replicas, max_replicas]`.
    #[must_use]
    pub fn clamp(&self, replicas: u32) -> Replicas {
        Replicas(replicas.clamp(self.min_replicas.0, self.max_replicas.0))
    }
}

/// What capacity costs: the price table of the cost-optimised policy and the simulator.
///
/// Prices are per instance-hour in any currency; only their ratios matter to the planner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PriceTable {
    /// On-demand price per instance-hour.
    pub on_demand: f64,
    /// Reserved (committed) price per instance-hour, paid whether the instance is used or not.
    pub reserved: f64,
    /// Spot price per instance-hour.
    pub spot: f64,
    /// Expected spot interruptions per spot instance-hour.
    pub spot_interruptions_per_hour: f64,
    /// The cap on interruption risk: at most this share of the capacity runs on spot, in `[0, 1]`.
    pub max_spot_share: f64,
    /// What one minute with demand above the booted capacity costs (lost requests, SLO credits), as a
    /// multiple of what the capacity that demand needs costs for that minute at the on-demand price. The
    /// planner buys headroom only while it saves more in expected penalties than it costs.
    pub shortfall_penalty: f64,
}

impl Default for PriceTable {
    /// On-demand 1.0, reserved 0.6, spot 0.35, 0.05 spot interruptions per hour, at most 30 % spot, and a
    /// shortfall penalty of 90: one minute short costs as much as 90 minutes of the capacity needed.
    fn default() -> Self {
        Self {
            on_demand: 1.0,
            reserved: 0.6,
            spot: 0.35,
            spot_interruptions_per_hour: 0.05,
            max_spot_share: 0.3,
            shortfall_penalty: 90.0,
        }
    }
}

impl PriceTable {
    /// Checks the table. `field` is its dotted path in the config, used in errors.
    ///
    /// # Errors
    /// [`Error::Config`] naming the field: a price that is not a positive number, a negative or non-finite
    /// interruption rate, a spot share outside `[0, 1]`.
    pub fn validate(&self, field: &str) -> Result<()> {
        for (name, v) in [
            ("on_demand", self.on_demand),
            ("reserved", self.reserved),
            ("spot", self.spot),
            ("shortfall_penalty", self.shortfall_penalty),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::config(
                    format!("{field}.{name}"),
                    "must be a positive number",
                ));
            }
        }
        if !(self.spot_interruptions_per_hour.is_finite() && self.spot_interruptions_per_hour >= 0.0) {
            return Err(Error::config(
                format!("{field}.spot_interruptions_per_hour"),
                "must be a finite number >= 0",
            ));
        }
        if !(0.0..=1.0).contains(&self.max_spot_share) {
            return Err(Error::config(
                format!("{field}.max_spot_share"),
                "must be in [0, 1]",
            ));
        }
        Ok(())
    }
}

/// An idempotent request to bring a service to a target size.
///
/// A request always states the target, never "add n", so applying it twice gives the same result as once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisioningRequest {
    /// The service.
    pub service: ServiceId,
    /// Live or shadow.
    pub environment: Environment,
    /// The number of replicas to have.
    pub target: Replicas,
    /// When to issue the request (the deadline minus the lead time).
    pub issue_at: DateTime<Utc>,
    /// When the capacity must be ready.
    pub deadline: DateTime<Utc>,
    /// Why, in words a person can check.
    pub reason: String,
}

impl ProvisioningRequest {
    /// A stable key: two requests with the same key ask for the same outcome.
    #[must_use]
    pub fn idempotency_key(&self) -> String {
        format!(
            "{}/{}/{}@{}",
            self.service,
            self.environment,
            self.target,
            self.deadline.timestamp()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cap() -> ResourceCapacity {
        ResourceCapacity {
            per_instance: 2.0,
            target_utilisation: 0.5,
            threshold: 0.1,
        }
    }

    #[test]
    fn validation_names_the_field() {
        let err = ScalingPolicy::new(5, 2, ResourceKind::Cpu, cap()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid config at `policy.max_replicas`: 2 is below min_replicas (5)"
        );
        let zero = ResourceCapacity {
            per_instance: 0.0,
            ..cap()
        };
        let err = ScalingPolicy::new(1, 2, ResourceKind::Cpu, zero).unwrap_err();
        assert!(err.to_string().contains("policy.capacity.cpu.per_instance"));
        let p = ScalingPolicy::new(1, 3, ResourceKind::Cpu, cap()).unwrap();
        assert_eq!(p.clamp(10), Replicas(3));
        assert_eq!(p.clamp(0), Replicas(1));
        assert_eq!(cap().usable_per_instance(), 1.0);
    }
}
