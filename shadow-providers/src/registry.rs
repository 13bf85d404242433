//! [`ProviderRegistry`]: builds the provider a config section names, from the kinds registered at run time.

use std::{collections::BTreeMap, fmt, sync::Arc};

use shadow_core::{
    DynDependencyRegistry, DynHealthProbe, DynMetricSource, DynProvisioner, DynTrafficShifter, Error, Result,
    config::ProviderConfig,
};

use crate::config::ProviderKind;

/// A function that builds a provider from its config section.
pub type Factory<T> = Arc<dyn Fn(&ProviderConfig) -> Result<Arc<T>> + Send + Sync>;
/// Builds a [`MetricSource`](shadow_core::MetricSource).
pub type MetricSourceFactory = Factory<DynMetricSource>;
/// Builds a [`Provisioner`](shadow_core::Provisioner).
pub type ProvisionerFactory = Factory<DynProvisioner>;
/// Builds a [`TrafficShifter`](shadow_core::TrafficShifter).
pub type TrafficShifterFactory = Factory<DynTrafficShifter>;
/// Builds a [`DependencyRegistry`](shadow_core::DependencyRegistry).
pub type DependencyRegistryFactory = Factory<DynDependencyRegistry>;
/// Builds a [`HealthProbe`](shadow_core::HealthProbe).
pub type HealthProbeFactory = Factory<DynHealthProbe>;

/// The role a provider plays, which is also the config section that selects it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ProviderRole {
    /// A [`MetricSource`](shadow_core::MetricSource), section `[metrics]`.
    MetricSource,
    /// A [`Provisioner`](shadow_core::Provisioner), section `[provisioner]`.
    Provisioner,
    /// A [`TrafficShifter`](shadow_core::TrafficShifter), section `[traffic]`.
    TrafficShifter,
    /// A [`DependencyRegistry`](shadow_core::DependencyRegistry), section `[registry]`.
    DependencyRegistry,
    /// A [`HealthProbe`](shadow_core::HealthProbe), section `[health]`.
    HealthProbe,
}

impl ProviderRole {
    /// Every role.
    pub const ALL: [ProviderRole; 5] = [
        ProviderRole::MetricSource,
        ProviderRole::Provisioner,
        ProviderRole::TrafficShifter,
        ProviderRole::DependencyRegistry,
        ProviderRole::HealthProbe,
    ];

    /// The config section of this role in `shadow.toml`, used as the field path in config errors.
    #[must_use]
    pub const fn section(self) -> &'static str {
        match self {
            ProviderRole::MetricSource => "metrics",
            ProviderRole::Provisioner => "provisioner",
            ProviderRole::TrafficShifter => "traffic",
            ProviderRole::DependencyRegistry => "registry",
            ProviderRole::HealthProbe => "health",
        }
    }
}

/// Builds providers by the `kind` of their config section.
///
/// [`with_builtin`](Self::with_builtin) registers every kind compiled into this build; `register_*` adds
/// custom kinds or replaces built-in ones (a test can register a pre-seeded fake under `memory`). Nothing is
/// registered behind your back: there is no global registry.
///
/// # Errors
/// Every `build_*` method fails with
/// - [`Error::FeatureDisabled`] when the kind is a known [`ProviderKind`] that no role has registered, that is,
///   its cargo feature is not compiled in (or a registry built with [`new`](Self::new) left it out);
/// - [`Error::UnknownProvider`] for any other kind missing from the role, listing the kinds registered for the
///   role, sorted;
/// - whatever the factory returns, typically [`Error::Config`] naming the bad option.
///
/// ```
/// use shadow_core::{Error, MetricSource, Provisioner, config::ShadowConfig};
/// use shadow_providers::ProviderRegistry;
///
/// let cfg = ShadowConfig::from_toml_str(r#"
///     [metrics]
///     kind = "prometheus"
///     url = "http://127.0.0.1:9090"
///
///     [provisioner]
///     kind = "memory"
///     max_replicas = 50
///     services = { checkout = 3 }
/// "#)?;
/// let registry = ProviderRegistry::with_builtin();
/// let prov = registry.build_provisioner(&cfg.provisioner)?;
/// assert_eq!(prov.capability().max_replicas, 50);
///
/// // `prometheus` builds when its cargo feature is on, and names the feature when it is off.
/// match registry.build_metric_source(&cfg.metrics) {
///     Ok(source) => assert_eq!(source.name(), "prometheus"),
///     Err(err) => assert!(matches!(err, Error::FeatureDisabled { feature: "prometheus", .. })),
/// }
/// # Ok::<_, Error>(())
/// ```
#[derive(Clone, Default)]
pub struct ProviderRegistry {
    metric_sources: BTreeMap<String, MetricSourceFactory>,
    provisioners: BTreeMap<String, ProvisionerFactory>,
    traffic_shifters: BTreeMap<String, TrafficShifterFactory>,
    dependency_registries: BTreeMap<String, DependencyRegistryFactory>,
    health_probes: BTreeMap<String, HealthProbeFactory>,
}

impl ProviderRegistry {
    /// An empty registry. Most callers want [`with_builtin`](Self::with_builtin).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry with every kind compiled into this build: `memory` (see [`crate::memory`]), plus `prometheus`,
    /// `datadog`, `newrelic` and `nginx` when their features are on.
    #[must_use]
    pub fn with_builtin() -> Self {
        let mut registry = Self::new();
        crate::memory::register_memory(&mut registry);
        #[cfg(feature = "prometheus")]
        crate::prometheus::register_prometheus(&mut registry);
        #[cfg(feature = "datadog")]
        crate::datadog::register_datadog(&mut registry);
        #[cfg(feature = "newrelic")]
        crate::newrelic::register_newrelic(&mut registry);
        #[cfg(feature = "nginx")]
        crate::nginx::register_nginx(&mut registry);
        registry
    }

    /// Registers a metric source kind, replacing any factory registered under the same kind.
    pub fn register_metric_source(
        &mut self,
        kind: impl Into<String>,
        factory: MetricSourceFactory,
    ) -> &mut Self {
        self.metric_sources.insert(kind.into(), factory);
        self
    }

    /// Registers a provisioner kind, replacing any factory registered under the same kind.
    pub fn register_provisioner(
        &mut self,
        kind: impl Into<String>,
        factory: ProvisionerFactory,
    ) -> &mut Self {
        self.provisioners.insert(kind.into(), factory);
        self
    }

    /// Registers a traffic shifter kind, replacing any factory registered under the same kind.
    pub fn register_traffic_shifter(
        &mut self,
        kind: impl Into<String>,
        factory: TrafficShifterFactory,
    ) -> &mut Self {
        self.traffic_shifters.insert(kind.into(), factory);
        self
    }

    /// Registers a dependency registry kind, replacing any factory registered under the same kind.
    pub fn register_dependency_registry(
        &mut self,
        kind: impl Into<String>,
        factory: DependencyRegistryFactory,
    ) -> &mut Self {
        self.dependency_registries.insert(kind.into(), factory);
        self
    }

    /// Registers a health probe kind, replacing any factory registered under the same kind.
    pub fn register_health_probe(
        &mut self,
        kind: impl Into<String>,
        factory: HealthProbeFactory,
    ) -> &mut Self {
        self.health_probes.insert(kind.into(), factory);
        self
    }

    /// Builds the metric source that `config` names.
    ///
    /// # Errors
    /// As described on [`ProviderRegistry`].
    pub fn build_metric_source(&self, config: &ProviderConfig) -> Result<Arc<DynMetricSource>> {
        self.build(&self.metric_sources, ProviderRole::MetricSource, config)
    }

    /// Builds the provisioner that `config` names.
    ///
    /// # Errors
    /// As described on [`ProviderRegistry`].
    pub fn build_provisioner(&self, config: &ProviderConfig) -> Result<Arc<DynProvisioner>> {
        self.build(&self.provisioners, ProviderRole::Provisioner, config)
    }

    /// Builds the traffic shifter that `config` names.
    ///
    /// # Errors
    /// As described on [`ProviderRegistry`].
    pub fn build_traffic_shifter(&self, config: &ProviderConfig) -> Result<Arc<DynTrafficShifter>> {
        self.build(&self.traffic_shifters, ProviderRole::TrafficShifter, config)
    }

    /// Builds the dependency registry that `config` names.
    ///
    /// # Errors
    /// As described on [`ProviderRegistry`].
    pub fn build_dependency_registry(&self, config: &ProviderConfig) -> Result<Arc<DynDependencyRegistry>> {
        self.build(
            &self.dependency_registries,
            ProviderRole::DependencyRegistry,
            config,
        )
    }

    /// Builds the health probe that `config` names.
    ///
    /// # Errors
    /// As described on [`ProviderRegistry`].
    pub fn build_health_probe(&self, config: &ProviderConfig) -> Result<Arc<DynHealthProbe>> {
        self.build(&self.health_probes, ProviderRole::HealthProbe, config)
    }

    /// The kinds registered for `role`, sorted.
    #[must_use]
    pub fn kinds(&self, role: ProviderRole) -> Vec<&str> {
        fn keys<V>(m: &BTreeMap<String, V>) -> Vec<&str> {
            m.keys().map(String::as_str).collect()
        }
        match role {
            ProviderRole::MetricSource => keys(&self.metric_sources),
            ProviderRole::Provisioner => keys(&self.provisioners),
            ProviderRole::TrafficShifter => keys(&self.traffic_shifters),
            ProviderRole::DependencyRegistry => keys(&self.dependency_registries),
            ProviderRole::HealthProbe => keys(&self.health_probes),
        }
    }

    fn build<T: ?Sized>(
        &self,
        factories: &BTreeMap<String, Factory<T>>,
        role: ProviderRole,
        config: &ProviderConfig,
    ) -> Result<Arc<T>> {
        let kind = config.kind.as_str();
        let Some(factory) = factories.get(kind) else {
            return Err(self.missing(role, kind));
        };
        tracing::debug!(
            provider.kind = kind,
            provider.role = role.section(),
            "building provider"
        );
        factory(config)
    }

    fn missing(&self, role: ProviderRole, kind: &str) -> Error {
        let registered_anywhere = ProviderRole::ALL.iter().any(|r| self.kinds(*r).contains(&kind));
        if !registered_anywhere {
            if let Some(feature) = kind.parse::<ProviderKind>().ok().and_then(ProviderKind::feature) {
                return Error::FeatureDisabled {
                    provider: kind.to_string(),
                    feature,
                };
            }
        }
        Error::UnknownProvider {
            kind: kind.to_string(),
            available: self.kinds(role).into_iter().map(String::from).collect(),
        }
    }
}

impl fmt::Debug for ProviderRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("ProviderRegistry");
        for role in ProviderRole::ALL {
            s.field(role.section(), &self.kinds(role));
        }
        s.finish()
    }
}

#[cfg(test)]
mod tests {
    use shadow_core::memory::{InMemoryMetricSource, KIND};

    use super::*;

    fn section(kind: &str) -> ProviderConfig {
        ProviderConfig {
            kind: kind.to_string(),
            options: toml::Table::new(),
        }
    }

    #[test]
    fn builtin_builds_memory_for_every_role() {
        // Only `memory`, whatever features this build has on.
        let mut registry = ProviderRegistry::new();
        crate::memory::register_memory(&mut registry);
        assert!(
            ProviderRegistry::with_builtin()
                .kinds(ProviderRole::MetricSource)
                .contains(&KIND)
        );
        let memory = section(KIND);
        assert_eq!(registry.build_metric_source(&memory).unwrap().name(), "memory");
        assert_eq!(registry.build_provisioner(&memory).unwrap().name(), "memory");
        assert_eq!(registry.build_traffic_shifter(&memory).unwrap().name(), "memory");
        assert_eq!(
            registry.build_dependency_registry(&memory).unwrap().name(),
            "memory"
        );
        assert_eq!(registry.build_health_probe(&memory).unwrap().name(), "memory");
        for role in ProviderRole::ALL {
            assert_eq!(registry.kinds(role), ["memory"]);
        }
        assert_eq!(
            format!("{registry:?}"),
            "ProviderRegistry { metrics: [\"memory\"], provisioner: [\"memory\"], traffic: [\"memory\"], \
             registry: [\"memory\"], health: [\"memory\"] }"
        );
    }

    #[test]
    fn known_kinds_that_are_not_compiled_in_name_their_feature() {
        // A registry with only `memory`, as a build without backend features has.
        let mut registry = ProviderRegistry::new();
        crate::memory::register_memory(&mut registry);
        for kind in ProviderKind::ALL
            .into_iter()
            .filter(|k| *k != ProviderKind::Memory)
        {
            let cfg = section(kind.as_str());
            let errors = [
                registry.build_metric_source(&cfg).err(),
                registry.build_provisioner(&cfg).err(),
                registry.build_traffic_shifter(&cfg).err(),
                registry.build_dependency_registry(&cfg).err(),
                registry.build_health_probe(&cfg).err(),
            ];
            for err in errors {
                match err {
                    Some(Error::FeatureDisabled { provider, feature }) => {
                        assert_eq!(
                            (provider.as_str(), Some(feature)),
                            (kind.as_str(), kind.feature())
                        );
                    }
                    other => panic!("{kind}: expected FeatureDisabled, got {other:?}"),
                }
            }
        }
        let err = registry.build_metric_source(&section("etcd")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "provider `etcd` is not compiled into this build; enable the cargo feature `etcd`"
        );
    }

    #[test]
    fn unknown_kinds_list_the_registered_ones_sorted() {
        // `memory` only, whatever backend features this build has on.
        let mut registry = ProviderRegistry::new();
        crate::memory::register_memory(&mut registry);
        let source = InMemoryMetricSource::new();
        let handle = source.clone();
        registry
            .register_metric_source("static", Arc::new(move |_| Ok(Arc::new(handle.clone()))))
            .register_metric_source("csv", Arc::new(|_| Err(Error::config("metrics.path", "missing"))));
        let err = registry.build_metric_source(&section("graphite")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown provider kind `graphite`; available: csv, memory, static"
        );
        // Other roles list only their own kinds.
        match registry.build_provisioner(&section("static")).unwrap_err() {
            Error::UnknownProvider { kind, available } => {
                assert_eq!((kind.as_str(), available), ("static", vec!["memory".to_string()]));
            }
            other => panic!("expected UnknownProvider, got {other}"),
        }
        // An empty registry knows nothing, not even memory, and says so.
        let empty = ProviderRegistry::new();
        match empty.build_health_probe(&section("memory")).unwrap_err() {
            Error::UnknownProvider { available, .. } => assert!(available.is_empty()),
            other => panic!("expected UnknownProvider, got {other}"),
        }
        assert_eq!(
            registry
                .build_metric_source(&section("csv"))
                .unwrap_err()
                .to_string(),
            "invalid config at `metrics.path`: missing"
        );
        assert!(registry.build_metric_source(&section("static")).is_ok());
    }

    #[tokio::test]
    async fn custom_factories_replace_builtin_kinds() {
        use chrono::{TimeDelta, TimeZone, Utc};
        use shadow_core::{Environment, MetricQuery, ResourceKind, ServiceId, TimeRange, TimeSeries};

        let seeded = InMemoryMetricSource::new();
        let svc = ServiceId::new("checkout").unwrap();
        let t0 = Utc.timestamp_opt(0, 0).unwrap();
        let step = std::time::Duration::from_secs(60);
        let series = TimeSeries::new(t0, step, vec![4.0]).unwrap();
        seeded.insert(&svc, Environment::Live, ResourceKind::Cpu, &series);
        let handle = seeded.clone();
        let mut registry = ProviderRegistry::with_builtin();
        registry.register_metric_source(KIND, Arc::new(move |_| Ok(Arc::new(handle.clone()))));
        let source = registry.build_metric_source(&section(KIND)).unwrap();
        let range = TimeRange::new(t0, t0 + TimeDelta::seconds(60)).unwrap();
        let query = MetricQuery::new(svc, ResourceKind::Cpu, range, step).unwrap();
        assert_eq!(source.fetch(&query).await.unwrap().values(), &[4.0]);
    }
}
