//! Metric sources, provisioners, traffic shifters, dependency registries and health probes of Shadow, one
//! cargo feature per backend, chosen at run time by the `kind` of a config section.
//!
//! - [`config`]: the [`ProviderKind`] enum naming every backend and each provider's options. It is compiled in
//!   every build, so a config naming any kind parses everywhere.
//! - [`ProviderRegistry`]: builds the provider a section names. [`ProviderRegistry::with_builtin`] registers
//!   the kinds compiled into this build; `register_*` adds your own.
//! - [`memory`]: the always-available `memory` provider, built on [`shadow_core::memory`].
//!
//! ```
//! use shadow_core::{Error, config::ShadowConfig};
//! use shadow_providers::ProviderRegistry;
//!
//! let cfg = ShadowConfig::from_toml_str(r#"
//!     [traffic]
//!     kind = "memory"
//!     granularity_bp = 100
//!     services = ["checkout"]
//!
//!     [registry]
//!     kind = "etcd"
//!     endpoints = ["http://127.0.0.1:2379"]
//! "#)?;
//! let registry = ProviderRegistry::with_builtin();
//! let shifter = registry.build_traffic_shifter(&cfg.traffic)?;
//! assert_eq!(shifter.capability().granularity_bp, 100);
//!
//! let err = registry.build_dependency_registry(cfg.registry.as_ref().unwrap()).unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "provider `etcd` is not compiled into this build; enable the cargo feature `etcd`"
//! );
//! # Ok::<_, Error>(())
//! ```
//!
//! # Feature flags
//!
//! No feature is enabled by default. Each network backend will get its own feature, so that a build pulls in
//! only the clients it uses. A config naming a kind whose feature is off fails when the provider is built, with
//! [`Error::FeatureDisabled`](shadow_core::Error::FeatureDisabled) naming the feature.
//!
//! | kind | cargo feature | roles | status |
//! |---|---|---|---|
//! | `memory` | none (always on) | all | available |
//! | `prometheus` | `prometheus` | metric source | available |
//! | `datadog` | `datadog` | metric source | available |
//! | `newrelic` | `newrelic` | metric source | available |
//! | `aws` | `aws` | provisioner, traffic shifter | planned |
//! | `nginx` | `nginx` | traffic shifter, health probe | available |
//! | `etcd` | `etcd` | dependency registry | planned |
//! | `consul` | `consul` | dependency registry | planned |
//!
//! Planned features are declared in `Cargo.toml` when their code lands.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod config;
pub mod datadog;
pub mod http;
pub mod memory;
pub mod newrelic;
pub mod nginx;
pub mod prometheus;
pub mod registry;

pub use config::ProviderKind;
pub use registry::{
    DependencyRegistryFactory, Factory, HealthProbeFactory, MetricSourceFactory, ProviderRegistry,
    ProviderRole, ProvisionerFactory, TrafficShifterFactory,
};
