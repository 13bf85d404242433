//! The `memory` provider: the deterministic in-memory backends of [`shadow_core::memory`], selected from config.
//!
//! These are real backends, not mocks: the embedded demo and the simulations run on them, replaying hours on a
//! [`ManualClock`](shadow_core::ManualClock). That is why this crate depends on `shadow-core` with its
//! `test-util` feature; the feature adds only those in-memory types and the conformance suite, no dependency.
//!
//! Each `build_*` function parses the section's options with `deny_unknown_fields` (a typo is a
//! [`Error::Config`] naming the field) and returns the concrete type, so a caller can keep a handle to seed or
//! inspect it while the trait object goes elsewhere. Every call builds a new, independent backend.

use std::sync::Arc;

use shadow_core::{
    DynDependencyRegistry, DynHealthProbe, DynMetricSource, DynProvisioner, DynTrafficShifter, Environment,
    Error, ProvisionerCapability, Result,
    config::ProviderConfig,
    memory::{
        InMemoryDependencyRegistry, InMemoryHealthProbe, InMemoryMetricSource, InMemoryProvisioner,
        InMemoryTrafficShifter,
    },
};

use crate::{
    config::{
        MemoryHealthConfig, MemoryMetricsConfig, MemoryProvisionerConfig, MemoryRegistryConfig,
        MemoryTrafficConfig,
    },
    registry::{ProviderRegistry, ProviderRole},
};

/// The kind that selects this provider: `kind = "memory"`.
pub const KIND: &str = shadow_core::memory::KIND;

/// Registers the `memory` kind for every role.
pub fn register_memory(registry: &mut ProviderRegistry) {
    registry
        .register_metric_source(KIND, Arc::new(metric_source_factory))
        .register_provisioner(KIND, Arc::new(provisioner_factory))
        .register_traffic_shifter(KIND, Arc::new(traffic_shifter_factory))
        .register_dependency_registry(KIND, Arc::new(dependency_registry_factory))
        .register_health_probe(KIND, Arc::new(health_probe_factory));
}

/// Builds an empty metric source from a `[metrics]` section ([`MemoryMetricsConfig`]).
///
/// # Errors
/// [`Error::Config`] for any option: there are none.
pub fn build_metric_source(config: &ProviderConfig) -> Result<InMemoryMetricSource> {
    let MemoryMetricsConfig {} = config.parse_options(ProviderRole::MetricSource.section())?;
    Ok(InMemoryMetricSource::new())
}

/// Builds a provisioner from a `[provisioner]` section ([`MemoryProvisionerConfig`]).
///
/// # Errors
/// [`Error::Config`] naming the field: an unknown option, `max_replicas` below `min_replicas`, a `max_step` of
/// 0, or starting replicas outside `min_replicas..=max_replicas`.
pub fn build_provisioner(config: &ProviderConfig) -> Result<InMemoryProvisioner> {
    let section = ProviderRole::Provisioner.section();
    let opts: MemoryProvisionerConfig = config.parse_options(section)?;
    if opts.min_replicas > opts.max_replicas {
        return Err(Error::config(
            format!("{section}.max_replicas"),
            format!(
                "{} is below min_replicas ({})",
                opts.max_replicas, opts.min_replicas
            ),
        ));
    }
    if opts.max_step == Some(0) {
        return Err(Error::config(format!("{section}.max_step"), "must be at least 1"));
    }
    let capability = ProvisionerCapability {
        scale_in: opts.scale_in,
        max_step: opts.max_step,
        min_replicas: opts.min_replicas,
        max_replicas: opts.max_replicas,
    };
    let mut prov = InMemoryProvisioner::new()
        .with_capability(capability)
        .map_err(|e| Error::config(section, e.to_string()))?;
    for (service, replicas) in &opts.services {
        if !(opts.min_replicas..=opts.max_replicas).contains(replicas) {
            return Err(Error::config(
                format!("{section}.services.{service}"),
                format!(
                    "{replicas} is outside min_replicas..=max_replicas ({}..={})",
                    opts.min_replicas, opts.max_replicas
                ),
            ));
        }
        prov = prov.with_service(service, Environment::Live, *replicas);
    }
    Ok(prov)
}

/// Builds a traffic shifter from a `[traffic]` section ([`MemoryTrafficConfig`]).
///
/// # Errors
/// [`Error::Config`] naming the field: an unknown option, or a `granularity_bp` that is 0, above 10 000 or
/// does not divide 10 000.
pub fn build_traffic_shifter(config: &ProviderConfig) -> Result<InMemoryTrafficShifter> {
    let section = ProviderRole::TrafficShifter.section();
    let opts: MemoryTrafficConfig = config.parse_options(section)?;
    let mut shifter = InMemoryTrafficShifter::with_granularity(opts.granularity_bp)
        .map_err(|e| Error::config(format!("{section}.granularity_bp"), e.to_string()))?
        .with_drains_in_flight(opts.drains_in_flight);
    for service in &opts.services {
        shifter = shifter.with_service(service);
    }
    Ok(shifter)
}

/// Builds a dependency registry from a `[registry]` section ([`MemoryRegistryConfig`]).
///
/// # Errors
/// [`Error::Config`] naming the field: an unknown option, a bad service id or dependency kind.
pub fn build_dependency_registry(config: &ProviderConfig) -> Result<InMemoryDependencyRegistry> {
    let opts: MemoryRegistryConfig = config.parse_options(ProviderRole::DependencyRegistry.section())?;
    let registry = InMemoryDependencyRegistry::new();
    for (service, deps) in &opts.dependencies {
        registry.add_service(service);
        for dep in deps {
            registry.add_dependency(service, dep.id.clone(), dep.kind.clone());
        }
    }
    Ok(registry)
}

/// Builds a health probe from a `[health]` section ([`MemoryHealthConfig`]): the listed services start healthy
/// in both environments.
///
/// # Errors
/// [`Error::Config`] naming the field: an unknown option, or a latency that is not a humantime duration.
pub fn build_health_probe(config: &ProviderConfig) -> Result<InMemoryHealthProbe> {
    let opts: MemoryHealthConfig = config.parse_options(ProviderRole::HealthProbe.section())?;
    let probe = InMemoryHealthProbe::new().with_latency(opts.latency);
    for service in &opts.services {
        for environment in Environment::BOTH {
            probe.set_healthy(service, environment, true);
        }
    }
    Ok(probe)
}

fn metric_source_factory(config: &ProviderConfig) -> Result<Arc<DynMetricSource>> {
    Ok(Arc::new(build_metric_source(config)?))
}

fn provisioner_factory(config: &ProviderConfig) -> Result<Arc<DynProvisioner>> {
    Ok(Arc::new(build_provisioner(config)?))
}

fn traffic_shifter_factory(config: &ProviderConfig) -> Result<Arc<DynTrafficShifter>> {
    Ok(Arc::new(build_traffic_shifter(config)?))
}

fn dependency_registry_factory(config: &ProviderConfig) -> Result<Arc<DynDependencyRegistry>> {
    Ok(Arc::new(build_dependency_registry(config)?))
}

fn health_probe_factory(config: &ProviderConfig) -> Result<Arc<DynHealthProbe>> {
    Ok(Arc::new(build_health_probe(config)?))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use shadow_core::{Dependency, DependencyKind, ServiceId, config::ShadowConfig, conformance};

    use super::*;

    fn config(text: &str) -> ShadowConfig {
        ShadowConfig::from_toml_str(text).unwrap()
    }

    fn section_error(text: &str, build: impl Fn(&ShadowConfig) -> Result<()>) -> String {
        build(&config(text)).unwrap_err().to_string()
    }

    #[test]
    fn typos_name_the_field() {
        let e = section_error("[provisioner]\nkind = \"memory\"\nmax_replica = 3", |c| {
            build_provisioner(&c.provisioner).map(drop)
        });
        assert!(
            e.starts_with(
                "invalid config at `provisioner.max_replica`: unknown field `max_replica`, expected one of"
            ),
            "{e}"
        );
        let e = section_error("[metrics]\nkind = \"memory\"\nurl = \"http://x\"", |c| {
            build_metric_source(&c.metrics).map(drop)
        });
        assert_eq!(
            e,
            "invalid config at `metrics.url`: unknown field `url`, there are no fields"
        );
        let e = section_error("[health]\nkind = \"memory\"\nlatency = \"soon\"", |c| {
            let health = c.health.as_ref().expect("a health section");
            build_health_probe(health).map(drop)
        });
        assert!(e.starts_with("invalid config at `health.latency`"), "{e}");
        let e = section_error(
            "[registry]\nkind = \"memory\"\ndependencies.api = [{ id = \"db\", kind = \"databse\" }]",
            |c| build_dependency_registry(c.registry.as_ref().expect("a registry section")).map(drop),
        );
        assert!(
            e.contains("registry.dependencies.api[0].kind") && e.contains("databse"),
            "{e}"
        );
    }

    #[test]
    fn invalid_values_name_the_field() {
        let prov = |opts: &str| {
            section_error(&format!("[provisioner]\nkind = \"memory\"\n{opts}"), |c| {
                build_provisioner(&c.provisioner).map(drop)
            })
        };
        assert_eq!(
            prov("min_replicas = 5\nmax_replicas = 2"),
            "invalid config at `provisioner.max_replicas`: 2 is below min_replicas (5)"
        );
        assert!(prov("max_step = 0").starts_with("invalid config at `provisioner.max_step`"));
        assert_eq!(
            prov("max_replicas = 4\nservices = { checkout = 9 }"),
            "invalid config at `provisioner.services.checkout`: 9 is outside min_replicas..=max_replicas (0..=4)"
        );
        let e = section_error("[traffic]\nkind = \"memory\"\ngranularity_bp = 300", |c| {
            build_traffic_shifter(&c.traffic).map(drop)
        });
        assert!(e.starts_with("invalid config at `traffic.granularity_bp`"), "{e}");
    }

    #[tokio::test]
    async fn built_backends_pass_the_conformance_suite() {
        let cfg = config(
            r#"
            [provisioner]
            kind = "memory"
            scale_in = false
            max_step = 5
            min_replicas = 1
            max_replicas = 40
            services = { checkout = 3 }

            [traffic]
            kind = "memory"
            granularity_bp = 100
            services = ["checkout"]

            [health]
            kind = "memory"
            latency = "5ms"
            services = ["checkout"]
            "#,
        );
        let svc = ServiceId::new("checkout").unwrap();
        let prov = build_provisioner(&cfg.provisioner).unwrap();
        let cap = shadow_core::Provisioner::capability(&prov);
        assert_eq!(
            (cap.scale_in, cap.max_step, cap.max_replicas),
            (false, Some(5), 40)
        );
        conformance::provisioner(&prov, &svc).await;

        let shifter = build_traffic_shifter(&cfg.traffic).unwrap();
        assert_eq!(
            shadow_core::TrafficShifter::capability(&shifter).granularity_bp,
            100
        );
        conformance::traffic_shifter(&shifter, &svc).await;

        let probe = build_health_probe(cfg.health.as_ref().unwrap()).unwrap();
        let status = shadow_core::HealthProbe::check(&probe, &svc, Environment::Shadow)
            .await
            .unwrap();
        assert_eq!((status.healthy, status.latency), (true, Duration::from_millis(5)));
        let handle = probe.clone();
        conformance::health_probe(&probe, &svc, Environment::Shadow, |healthy| {
            handle.set_healthy(&svc, Environment::Shadow, healthy);
            async {}
        })
        .await;
    }

    #[tokio::test]
    async fn registry_section_seeds_dependencies() {
        let cfg = config(
            r#"
            [registry]
            kind = "memory"
            dependencies.checkout = [
                { id = "payments", kind = "service" },
                { id = "orders-db", kind = "database" },
            ]
            "#,
        );
        let registry = build_dependency_registry(cfg.registry.as_ref().unwrap()).unwrap();
        let svc = ServiceId::new("checkout").unwrap();
        let expected = [
            Dependency {
                id: ServiceId::new("orders-db").unwrap(),
                kind: DependencyKind::Database,
            },
            Dependency {
                id: ServiceId::new("payments").unwrap(),
                kind: DependencyKind::Service,
            },
        ];
        let handle = registry.clone();
        conformance::dependency_registry(&registry, &svc, &expected, async || {
            handle.remove_dependency(&svc, &expected[1].id);
            shadow_core::DependencyEvent::Removed(expected[1].id.clone())
        })
        .await;
    }
}
