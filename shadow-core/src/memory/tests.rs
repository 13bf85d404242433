//! Every conformance check against every in-memory implementation, plus broken wrappers that the checks must
//! catch.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use futures::stream::BoxStream;

use super::*;
use crate::{
    conformance::{self, SeededSeries},
    error::{Error, Result},
    ids::{Environment, ResourceKind, ServiceId},
    scaling::{Allocation, ProvisioningRequest},
    series::TimeSeries,
    traits::{
        clock::ManualClock,
        deps::{ConfigEntry, Dependency, DependencyEvent, DependencyKind, DependencyRegistry},
        metric::{MetricQuery, MetricSource},
        provisioner::{Provisioner, ProvisionerCapability},
    },
};

fn id(s: &str) -> ServiceId {
    ServiceId::new(s).unwrap()
}

fn seeded(environment: Environment) -> SeededSeries {
    let t0 = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
    let values = (0..30)
        .map(|i| if i % 7 == 2 { f64::NAN } else { 0.5 + f64::from(i) })
        .collect();
    let series = TimeSeries::new(t0, Duration::from_secs(60), values).unwrap();
    SeededSeries::new(id("checkout"), environment, ResourceKind::Cpu, series)
}

fn seed_source(seeded: &SeededSeries) -> InMemoryMetricSource {
    let source = InMemoryMetricSource::new();
    source.insert(
        &seeded.service,
        seeded.environment,
        seeded.resource.clone(),
        &seeded.series,
    );
    source
}

#[tokio::test]
async fn metric_source_conforms() {
    for environment in Environment::BOTH {
        let seeded = seeded(environment);
        conformance::metric_source(&seed_source(&seeded), &seeded).await;
    }
}

#[tokio::test]
async fn provisioner_conforms_under_every_capability() {
    let svc = id("checkout");
    let restricted = ProvisionerCapability {
        scale_in: false,
        max_step: Some(2),
        min_replicas: 1,
        max_replicas: 6,
    };
    let fixed = ProvisionerCapability {
        scale_in: true,
        max_step: None,
        min_replicas: 4,
        max_replicas: 4,
    };
    let clock = ManualClock::new(Utc.timestamp_opt(0, 0).unwrap());
    let cases = [
        InMemoryProvisioner::new().with_service(&svc, Environment::Live, 3),
        InMemoryProvisioner::new()
            .with_capability(restricted)
            .unwrap()
            .with_service(&svc, Environment::Shadow, 3),
        InMemoryProvisioner::new()
            .with_capability(restricted)
            .unwrap()
            .with_service(&svc, Environment::Shadow, 6),
        InMemoryProvisioner::new()
            .with_capability(fixed)
            .unwrap()
            .with_service(&svc, Environment::Live, 4),
        InMemoryProvisioner::new()
            .with_boot_delay(Arc::new(clock), Duration::from_secs(120))
            .with_service(&svc, Environment::Shadow, 5),
    ];
    for prov in cases {
        conformance::provisioner(&prov, &svc).await;
        // Every successful apply is in the history, and the shadow is back where it started.
        assert!(
            prov.history()
                .iter()
                .all(|r| r.environment == Environment::Shadow)
        );
    }
}

#[tokio::test]
async fn provisioner_restores_the_original_target() {
    let svc = id("checkout");
    let prov = InMemoryProvisioner::new().with_service(&svc, Environment::Shadow, 5);
    conformance::provisioner(&prov, &svc).await;
    assert_eq!(
        prov.describe(&svc, Environment::Shadow).await.unwrap().desired.0,
        5
    );
    let targets: Vec<u32> = prov.history().iter().map(|r| r.target.0).collect();
    assert_eq!(targets, [6, 6, 5]);
}

#[tokio::test]
async fn traffic_shifter_conforms_at_every_granularity() {
    let svc = id("checkout");
    for granularity in [1, 100, 500, 2_500, 10_000] {
        let shifter = InMemoryTrafficShifter::with_granularity(granularity)
            .unwrap()
            .with_service(&svc);
        conformance::traffic_shifter(&shifter, &svc).await;
        assert!(!shifter.history().is_empty());
    }
}

fn dep(name: &str, kind: DependencyKind) -> Dependency {
    Dependency { id: id(name), kind }
}

#[tokio::test]
async fn dependency_registry_conforms_for_add_rekind_and_remove() {
    let svc = id("checkout");
    let expected = [
        dep("payments", DependencyKind::Service),
        dep("orders-db", DependencyKind::Database),
        dep("cache", DependencyKind::Cache),
    ];
    let seeded = || {
        let registry = InMemoryDependencyRegistry::new();
        for d in &expected {
            registry.add_dependency(&svc, d.id.clone(), d.kind.clone());
        }
        registry
    };

    let registry = seeded();
    let handle = registry.clone();
    conformance::dependency_registry(&registry, &svc, &expected, async || {
        let queue = dep("events", DependencyKind::Queue);
        assert!(handle.add_dependency(&svc, queue.id.clone(), queue.kind.clone()));
        DependencyEvent::Added(queue)
    })
    .await;

    let registry = seeded();
    let handle = registry.clone();
    conformance::dependency_registry(&registry, &svc, &expected, async || {
        let rekinded = dep("cache", DependencyKind::Database);
        assert!(handle.add_dependency(&svc, rekinded.id.clone(), rekinded.kind.clone()));
        DependencyEvent::Added(rekinded)
    })
    .await;

    let registry = seeded();
    let handle = registry.clone();
    conformance::dependency_registry(&registry, &svc, &expected, async || {
        assert!(handle.remove_dependency(&svc, &id("payments")));
        DependencyEvent::Removed(id("payments"))
    })
    .await;

    // A service with no dependencies conforms too.
    let registry = InMemoryDependencyRegistry::new();
    registry.add_service(&svc);
    let handle = registry.clone();
    conformance::dependency_registry(&registry, &svc, &[], async || {
        let db = dep("db", DependencyKind::Database);
        handle.add_dependency(&svc, db.id.clone(), db.kind.clone());
        DependencyEvent::Added(db)
    })
    .await;
}

#[tokio::test]
async fn health_probe_conforms_in_both_environments() {
    let svc = id("checkout");
    for environment in Environment::BOTH {
        let probe = InMemoryHealthProbe::new()
            .with_latency(Duration::from_millis(3))
            .with_healthy(&svc, environment.other(), false);
        let handle = probe.clone();
        let svc2 = svc.clone();
        conformance::health_probe(&probe, &svc, environment, move |healthy| {
            handle.set_healthy(&svc2, environment, healthy);
            async {}
        })
        .await;
    }
    // The other environment may also be unconfigured (an error before and after).
    let probe = InMemoryHealthProbe::new();
    let handle = probe.clone();
    conformance::health_probe(&probe, &svc, Environment::Shadow, |healthy| {
        handle.set_healthy(&svc, Environment::Shadow, healthy);
        async {}
    })
    .await;
}

#[test]
fn mean_forecaster_conforms() {
    conformance::forecaster(&MeanForecaster);
}

// Broken implementations: the checks must catch them.

/// Fills gaps with zero.
#[derive(Debug)]
struct ZeroFill(InMemoryMetricSource);

#[async_trait]
impl MetricSource for ZeroFill {
    fn name(&self) -> &str {
        "zero-fill"
    }

    async fn fetch(&self, query: &MetricQuery) -> Result<TimeSeries> {
        let got = self.0.fetch(query).await?;
        let values = got
            .values()
            .iter()
            .map(|v| if v.is_nan() { 0.0 } else { *v })
            .collect();
        TimeSeries::new(got.start(), got.step(), values)
    }
}

#[tokio::test]
#[should_panic(expected = "must be NaN, never zero")]
async fn metric_check_catches_zero_filled_gaps() {
    let seeded = seeded(Environment::Live);
    conformance::metric_source(&ZeroFill(seed_source(&seeded)), &seeded).await;
}

/// Adds the target to the current size instead of setting it.
#[derive(Debug)]
struct Adds(InMemoryProvisioner);

#[async_trait]
impl Provisioner for Adds {
    fn name(&self) -> &str {
        "adds"
    }

    fn capability(&self) -> ProvisionerCapability {
        self.0.capability()
    }

    async fn describe(&self, service: &ServiceId, environment: Environment) -> Result<Allocation> {
        self.0.describe(service, environment).await
    }

    async fn apply(&self, request: &ProvisioningRequest) -> Result<Allocation> {
        let current = self.0.describe(&request.service, request.environment).await?;
        let mut added = request.clone();
        added.target.0 += current.desired.0.min(1);
        self.0.apply(&added).await
    }
}

#[tokio::test]
#[should_panic(expected = "apply must return the target as desired")]
async fn provisioner_check_catches_adding() {
    let svc = id("checkout");
    let inner = InMemoryProvisioner::new().with_service(&svc, Environment::Shadow, 2);
    conformance::provisioner(&Adds(inner), &svc).await;
}

/// Ignores the expected revision.
#[derive(Debug)]
struct NoCas(InMemoryDependencyRegistry);

#[async_trait]
impl DependencyRegistry for NoCas {
    fn name(&self) -> &str {
        "no-cas"
    }

    async fn dependencies(&self, service: &ServiceId) -> Result<Vec<Dependency>> {
        self.0.dependencies(service).await
    }

    async fn watch(&self, service: &ServiceId) -> Result<BoxStream<'static, Result<DependencyEvent>>> {
        self.0.watch(service).await
    }

    async fn get_config(
        &self,
        service: &ServiceId,
        environment: Environment,
        key: &str,
    ) -> Result<Option<ConfigEntry>> {
        self.0.get_config(service, environment, key).await
    }

    async fn put_config(
        &self,
        service: &ServiceId,
        environment: Environment,
        key: &str,
        value: &str,
        _expected_revision: Option<u64>,
    ) -> Result<u64> {
        self.0.put_config(service, environment, key, value, None).await
    }
}

#[tokio::test]
#[should_panic(expected = "expecting 0 on an existing key")]
async fn registry_check_catches_a_missing_compare_and_set() {
    let svc = id("checkout");
    let inner = InMemoryDependencyRegistry::new();
    inner.add_service(&svc);
    conformance::dependency_registry(&NoCas(inner), &svc, &[], async || {
        DependencyEvent::Removed(id("never"))
    })
    .await;
}

#[test]
fn fakes_are_cheap_shared_handles() {
    fn assert_traits<T: std::fmt::Debug + Send + Sync + Clone + 'static>() {}
    assert_traits::<InMemoryMetricSource>();
    assert_traits::<InMemoryProvisioner>();
    assert_traits::<InMemoryTrafficShifter>();
    assert_traits::<InMemoryDependencyRegistry>();
    assert_traits::<InMemoryHealthProbe>();
    assert_traits::<MeanForecaster>();
    let err = Error::invalid("x", "y");
    assert_eq!(err.kind(), "invalid_input");
}
