//! Provider kinds and the options of each provider: pure serde data, compiled in every build.
//!
//! A config that names a provider parses whether or not the provider is compiled in; building it through
//! [`ProviderRegistry`](crate::ProviderRegistry) is what fails, with
//! [`Error::FeatureDisabled`] naming the cargo feature to enable.

use std::{collections::BTreeMap, fmt, str::FromStr, time::Duration};

use serde::{Deserialize, Serialize};
use shadow_core::{Dependency, Error, ServiceId, memory::InMemoryProvisioner};

/// Every provider kind Shadow knows, whether or not it is compiled into this build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ProviderKind {
    /// The in-memory backends of [`shadow_core::memory`]. Always compiled in.
    Memory,
    /// Prometheus, as a metric source.
    Prometheus,
    /// Datadog, as a metric source.
    Datadog,
    /// New Relic, as a metric source.
    NewRelic,
    /// AWS: auto-scaling groups and load-balancer weights.
    Aws,
    /// nginx upstream weights, as a traffic shifter.
    Nginx,
    /// etcd, as a dependency registry.
    Etcd,
    /// Consul, as a dependency registry.
    Consul,
}

impl ProviderKind {
    /// Every kind, in the order of their names.
    pub const ALL: [ProviderKind; 8] = [
        ProviderKind::Aws,
        ProviderKind::Consul,
        ProviderKind::Datadog,
        ProviderKind::Etcd,
        ProviderKind::Memory,
        ProviderKind::NewRelic,
        ProviderKind::Nginx,
        ProviderKind::Prometheus,
    ];

    /// The name used in config files (`kind = "prometheus"`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Memory => "memory",
            ProviderKind::Prometheus => "prometheus",
            ProviderKind::Datadog => "datadog",
            ProviderKind::NewRelic => "newrelic",
            ProviderKind::Aws => "aws",
            ProviderKind::Nginx => "nginx",
            ProviderKind::Etcd => "etcd",
            ProviderKind::Consul => "consul",
        }
    }

    /// The cargo feature of `shadow-providers` that compiles this kind in, or `None` when it is always
    /// compiled in.
    #[must_use]
    pub const fn feature(self) -> Option<&'static str> {
        match self {
            ProviderKind::Memory => None,
            ProviderKind::Prometheus => Some("prometheus"),
            ProviderKind::Datadog => Some("datadog"),
            ProviderKind::NewRelic => Some("newrelic"),
            ProviderKind::Aws => Some("aws"),
            ProviderKind::Nginx => Some("nginx"),
            ProviderKind::Etcd => Some("etcd"),
            ProviderKind::Consul => Some("consul"),
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProviderKind {
    type Err = Error;

    /// Parses a config name. Names are lowercase and exact.
    ///
    /// # Errors
    /// [`Error::UnknownProvider`] listing every known kind.
    fn from_str(s: &str) -> Result<Self, Error> {
        ProviderKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| Error::UnknownProvider {
                kind: s.to_string(),
                available: ProviderKind::ALL.iter().map(|k| k.as_str().to_string()).collect(),
            })
    }
}

/// Options of `kind = "memory"` in the `[metrics]` section. There are none: the source starts empty and is
/// seeded through its handle; any option is a typo and is refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MemoryMetricsConfig {}

/// Options of `kind = "memory"` in the `[provisioner]` section: the capability and the starting replicas.
///
/// ```toml
/// [provisioner]
/// kind = "memory"
/// max_replicas = 50
/// max_step = 10
/// services = { checkout = 3 }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MemoryProvisionerConfig {
    /// Whether it can remove replicas.
    pub scale_in: bool,
    /// The largest change of replicas in one request, if limited.
    pub max_step: Option<u32>,
    /// The fewest replicas it can run.
    pub min_replicas: u32,
    /// The most replicas it can run.
    pub max_replicas: u32,
    /// The services it knows, with their replicas in the live environment. The shadow environment starts
    /// at 0.
    pub services: BTreeMap<ServiceId, u32>,
}

impl Default for MemoryProvisionerConfig {
    fn default() -> Self {
        let cap = InMemoryProvisioner::DEFAULT_CAPABILITY;
        Self {
            scale_in: cap.scale_in,
            max_step: cap.max_step,
            min_replicas: cap.min_replicas,
            max_replicas: cap.max_replicas,
            services: BTreeMap::new(),
        }
    }
}

/// Options of `kind = "memory"` in the `[traffic]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MemoryTrafficConfig {
    /// The rounding step of weights, in basis points; must divide 10 000.
    pub granularity_bp: u16,
    /// What the capability reports for draining requests in flight.
    pub drains_in_flight: bool,
    /// The services it knows; each starts with all traffic on live.
    pub services: Vec<ServiceId>,
}

impl Default for MemoryTrafficConfig {
    fn default() -> Self {
        Self {
            granularity_bp: 1,
            drains_in_flight: true,
            services: Vec::new(),
        }
    }
}

/// Options of `kind = "memory"` in the `[registry]` section.
///
/// ```toml
/// [registry]
/// kind = "memory"
/// dependencies.checkout = [{ id = "orders-db", kind = "database" }]
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MemoryRegistryConfig {
    /// The direct dependencies of each service.
    pub dependencies: BTreeMap<ServiceId, Vec<Dependency>>,
}

/// Options of `kind = "memory"` in the `[health]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MemoryHealthConfig {
    /// The latency every check reports, as a humantime string (`"5ms"`).
    #[serde(with = "humantime_serde")]
    pub latency: Duration,
    /// The services that start healthy in both environments. Checks of other services fail with
    /// [`Error::NotFound`].
    pub services: Vec<ServiceId>,
}

impl Default for MemoryHealthConfig {
    fn default() -> Self {
        Self {
            latency: Duration::from_millis(1),
            services: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_name_their_feature() {
        for kind in ProviderKind::ALL {
            assert_eq!(kind.to_string().parse::<ProviderKind>().unwrap(), kind);
            let toml = toml::Value::try_from(kind).unwrap();
            assert_eq!(toml.as_str(), Some(kind.as_str()));
            match kind {
                ProviderKind::Memory => assert_eq!(kind.feature(), None),
                other => assert_eq!(other.feature(), Some(other.as_str())),
            }
        }
        let names: Vec<_> = ProviderKind::ALL.iter().map(|k| k.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
    }

    #[test]
    fn unknown_kinds_list_every_known_one() {
        let err = "Prometheus".parse::<ProviderKind>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown provider kind `Prometheus`; available: aws, consul, datadog, etcd, memory, newrelic, nginx, \
             prometheus"
        );
    }

    #[test]
    fn defaults_match_the_in_memory_types() {
        let cfg = MemoryProvisionerConfig::default();
        assert_eq!(
            (cfg.scale_in, cfg.max_step, cfg.min_replicas, cfg.max_replicas),
            (true, None, 0, 10_000)
        );
        assert_eq!(MemoryTrafficConfig::default().granularity_bp, 1);
        assert_eq!(MemoryHealthConfig::default().latency, Duration::from_millis(1));
    }
}
