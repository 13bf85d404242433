//! The `shadow.toml` config file: one file, parsed with serde, validated before use.
//!
//! Provider sections (`[metrics]`, `[provisioner]`, `[traffic]`, `[registry]`, `[health]`) name a `kind` and
//! carry the provider's own options, which the provider parses when it is built. A config naming a provider
//! that is not compiled in parses in every build and fails when the provider is built.
//!
//! ```
//! use shadow_core::config::ShadowConfig;
//!
//! let cfg = ShadowConfig::from_toml_str(r#"
//!     [metrics]
//!     kind = "memory"
//!
//!     [[services]]
//!     name = "checkout"
//!     resources = ["cpu"]
//!     [services.policy]
//!     min_replicas = 2
//!     max_replicas = 40
//!     lead_time = "5m"
//!     capacity.cpu = { per_instance = 2.0, target_utilisation = 0.7 }
//! "#).unwrap();
//! assert_eq!(cfg.services[0].policy.max_replicas.0, 40);
//!
//! let bad = ShadowConfig::from_toml_str(r#"
//!     [[services]]
//!     name = "checkout"
//!     resources = ["cpu"]
//!     policy = { min_replicas = 2, max_replicas = 1, capacity.cpu = { per_instance = 2.0 } }
//! "#).unwrap_err();
//! assert_eq!(bad.to_string(), "invalid config at `services[0].policy.max_replicas`: 1 is below min_replicas (2)");
//! ```

use std::{net::SocketAddr, path::Path, time::Duration};

use serde::{Deserialize, Serialize};

use crate::{
    error::{Error, Result},
    forecast::Event,
    ids::{ResourceKind, ServiceId},
    quantity::Quantile,
    scaling::{PriceTable, ScalingPolicy},
};

/// The whole config file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ShadowConfig {
    /// The controller loop.
    #[serde(default)]
    pub controller: ControllerConfig,
    /// The forecasting model.
    #[serde(default)]
    pub forecast: ForecastConfig,
    /// Where observed usage comes from.
    #[serde(default = "ProviderConfig::memory")]
    pub metrics: ProviderConfig,
    /// What changes the number of instances.
    #[serde(default = "ProviderConfig::memory")]
    pub provisioner: ProviderConfig,
    /// What moves traffic between live and shadow.
    #[serde(default = "ProviderConfig::memory")]
    pub traffic: ProviderConfig,
    /// Service discovery and per-environment config, if any.
    #[serde(default)]
    pub registry: Option<ProviderConfig>,
    /// Health checks of both sides, if any.
    #[serde(default)]
    pub health: Option<ProviderConfig>,
    /// The switchover.
    #[serde(default)]
    pub switch: SwitchConfig,
    /// What capacity costs (the cost-optimised policy and the simulator); `[pricing]`.
    #[serde(default)]
    pub pricing: PriceTable,
    /// The services to watch and scale.
    #[serde(default)]
    pub services: Vec<ServiceConfig>,
}

/// The controller loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ControllerConfig {
    /// How often to fetch, forecast and plan.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// How often to refit the models fully.
    #[serde(with = "humantime_serde")]
    pub refit_interval: Duration,
    /// How much history to fetch.
    #[serde(with = "humantime_serde")]
    pub history: Duration,
    /// The grid step of fetched series.
    #[serde(with = "humantime_serde")]
    pub step: Duration,
    /// Forecast and plan, but never apply.
    pub dry_run: bool,
    /// Where `shadow run` serves `/metrics` (Prometheus text format) and `/healthz`, for example
    /// `"127.0.0.1:9184"`. `None` (the default) serves nothing. Port 0 picks a free port.
    pub listen: Option<SocketAddr>,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(60),
            refit_interval: Duration::from_secs(3600),
            history: Duration::from_secs(14 * 86_400),
            step: Duration::from_secs(300),
            dry_run: true,
            listen: None,
        }
    }
}

/// The forecasting model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ForecastConfig {
    /// The model's name, for example `seasonal-naive`.
    pub model: String,
    /// The season length, when the model needs one. `None` lets the model choose.
    #[serde(with = "humantime_serde")]
    pub season: Option<Duration>,
    /// How far ahead to forecast.
    #[serde(with = "humantime_serde")]
    pub horizon: Duration,
    /// The quantiles to produce.
    pub quantiles: Vec<Quantile>,
}

impl Default for ForecastConfig {
    fn default() -> Self {
        Self {
            model: "seasonal-naive".to_string(),
            season: None,
            horizon: Duration::from_secs(6 * 3600),
            quantiles: [0.5, 0.9, 0.99]
                .into_iter()
                .filter_map(|q| Quantile::try_new(q).ok())
                .collect(),
        }
    }
}

/// One provider section: the `kind` plus the provider's own options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderConfig {
    /// The provider kind, for example `prometheus` or `memory`.
    pub kind: String,
    /// Everything else in the section, parsed by the provider.
    #[serde(flatten)]
    pub options: toml::Table,
}

impl ProviderConfig {
    /// The in-memory provider.
    #[must_use]
    pub fn memory() -> Self {
        Self {
            kind: "memory".to_string(),
            options: toml::Table::new(),
        }
    }

    /// Parses the options into the provider's own config type. `section` names the section in errors.
    ///
    /// # Errors
    /// [`Error::Config`] naming the field that is wrong.
    pub fn parse_options<T: serde::de::DeserializeOwned>(&self, section: &str) -> Result<T> {
        let value = toml::Value::Table(self.options.clone());
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." {
                section.to_string()
            } else {
                format!("{section}.{path}")
            };
            Error::config(field, e.into_inner().message().trim().to_string())
        })
    }
}

/// The switchover.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SwitchConfig {
    /// The shadow's share of traffic at each step, in percent, increasing, ending at 100.
    pub steps: Vec<f64>,
    /// How long to hold each step while checking health.
    #[serde(with = "humantime_serde")]
    pub dwell: Duration,
    /// How long the shadow must be healthy before the first step.
    #[serde(with = "humantime_serde")]
    pub settle: Duration,
    /// How often to probe health during a dwell.
    #[serde(with = "humantime_serde")]
    pub probe_interval: Duration,
}

impl Default for SwitchConfig {
    fn default() -> Self {
        Self {
            steps: vec![1.0, 5.0, 25.0, 50.0, 100.0],
            dwell: Duration::from_secs(60),
            settle: Duration::from_secs(30),
            probe_interval: Duration::from_secs(5),
        }
    }
}

/// One service to watch and scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// The service id.
    pub name: ServiceId,
    /// The resource kinds to watch.
    pub resources: Vec<ResourceKind>,
    /// How it is scaled.
    pub policy: ScalingPolicy,
    /// Known events, past and future.
    #[serde(default)]
    pub events: Vec<Event>,
}

impl ShadowConfig {
    /// Parses and validates a config from TOML text.
    ///
    /// # Errors
    /// [`Error::Config`] naming the field and saying what is wrong, with the line for syntax errors.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        let de = toml::Deserializer::new(text);
        let cfg: ShadowConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let line = inner
                .span()
                .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
            let mut message = inner.message().trim().to_string();
            if let Some(line) = line {
                message.push_str(&format!(" (line {line})"));
            }
            Error::config(if path == "." { "<root>".to_string() } else { path }, message)
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Reads, parses and validates a config file.
    ///
    /// # Errors
    /// [`Error::Config`] when the file cannot be read or is invalid.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config(path.display().to_string(), format!("cannot read: {e}")))?;
        Self::from_toml_str(&text)
    }

    /// Checks the relations between fields that the types alone do not.
    ///
    /// # Errors
    /// [`Error::Config`] naming the first invalid field.
    pub fn validate(&self) -> Result<()> {
        if self.controller.interval.is_zero() {
            return Err(Error::config("controller.interval", "must be positive"));
        }
        if self.controller.step.is_zero() {
            return Err(Error::config("controller.step", "must be positive"));
        }
        if self.forecast.horizon < self.controller.step {
            return Err(Error::config(
                "forecast.horizon",
                "must be at least one controller.step",
            ));
        }
        if self.forecast.quantiles.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::config("forecast.quantiles", "must be strictly increasing"));
        }
        self.pricing.validate("pricing")?;
        let steps = &self.switch.steps;
        if steps.is_empty() || steps.iter().any(|s| !(s.is_finite() && *s > 0.0 && *s <= 100.0)) {
            return Err(Error::config("switch.steps", "must be percentages in (0, 100]"));
        }
        if steps.windows(2).any(|w| w[0] >= w[1]) || steps.last() != Some(&100.0) {
            return Err(Error::config(
                "switch.steps",
                "must increase strictly and end at 100",
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, svc) in self.services.iter().enumerate() {
            let field = format!("services[{i}]");
            if !seen.insert(&svc.name) {
                return Err(Error::config(
                    format!("{field}.name"),
                    format!("`{}` appears twice", svc.name),
                ));
            }
            if svc.resources.is_empty() {
                return Err(Error::config(
                    format!("{field}.resources"),
                    "needs at least one resource kind",
                ));
            }
            svc.policy.validate(&format!("{field}.policy"))?;
            if let Some(kind) = svc
                .resources
                .iter()
                .find(|k| !svc.policy.capacity.contains_key(*k))
            {
                return Err(Error::config(
                    format!("{field}.policy.capacity"),
                    format!("no capacity for resource `{kind}`"),
                ));
            }
            for (j, e) in svc.events.iter().enumerate() {
                crate::ids::validate_name("event label", &e.label)
                    .map_err(|err| Error::config(format!("{field}.events[{j}].label"), err.to_string()))?;
            }
        }
        Ok(())
    }
}

impl Default for ShadowConfig {
    fn default() -> Self {
        Self {
            controller: ControllerConfig::default(),
            forecast: ForecastConfig::default(),
            metrics: ProviderConfig::memory(),
            provisioner: ProviderConfig::memory(),
            traffic: ProviderConfig::memory(),
            registry: None,
            health: None,
            switch: SwitchConfig::default(),
            pricing: PriceTable::default(),
            services: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        [controller]
        interval = "30s"
        dry_run = false

        [forecast]
        model = "seasonal-naive"
        season = "1day"
        horizon = "6h"
        quantiles = [0.5, 0.9]

        [metrics]
        kind = "prometheus"
        url = "http://127.0.0.1:9090"

        [switch]
        steps = [5, 50, 100]
        dwell = "2m"

        [[services]]
        name = "checkout"
        resources = ["cpu", "memory"]
        events = [{ label = "black-friday", start = "2026-11-27T00:00:00Z", end = "2026-11-28T00:00:00Z" }]
        [services.policy]
        min_replicas = 2
        max_replicas = 40
        capacity.cpu = { per_instance = 2.0, target_utilisation = 0.7 }
        capacity.memory = { per_instance = 4e9 }
    "#;

    #[test]
    fn parses_a_full_file() {
        let cfg = ShadowConfig::from_toml_str(GOOD).unwrap();
        assert_eq!(cfg.controller.interval, Duration::from_secs(30));
        assert!(!cfg.controller.dry_run);
        assert_eq!(cfg.forecast.season, Some(Duration::from_secs(86_400)));
        assert_eq!(cfg.metrics.kind, "prometheus");
        assert_eq!(cfg.metrics.options["url"].as_str(), Some("http://127.0.0.1:9090"));
        assert_eq!(cfg.services[0].events[0].label, "black-friday");
        assert_eq!(
            cfg.services[0].policy.capacity[&ResourceKind::Memory].target_utilisation,
            0.7
        );
        assert_eq!(cfg.provisioner.kind, "memory");
    }

    fn err(text: &str) -> String {
        ShadowConfig::from_toml_str(text).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_field() {
        let e = err(&GOOD.replace("quantiles = [0.5, 0.9]", "quantiles = [0.5, 1.5]"));
        assert!(
            e.starts_with("invalid config at `forecast.quantiles[1]`: invalid quantile: 1.5 is not strictly"),
            "{e}"
        );
        let e = err(&GOOD.replace("interval = \"30s\"", "interval = \"soon\""));
        assert!(e.starts_with("invalid config at `controller.interval`"), "{e}");
        let e = err(&GOOD.replace("min_replicas = 2", "min_replicas = 2\nmin_replica = 3"));
        assert!(
            e.contains("services[0].policy") && e.contains("unknown field `min_replica`"),
            "{e}"
        );
        let e = err(&GOOD.replace(
            "resources = [\"cpu\", \"memory\"]",
            "resources = [\"cpu\", \"gpu\"]",
        ));
        assert_eq!(
            e,
            "invalid config at `services[0].policy.capacity`: no capacity for resource `gpu`"
        );
        let e = err(&GOOD.replace("steps = [5, 50, 100]", "steps = [50, 5, 100]"));
        assert!(e.contains("switch.steps"), "{e}");
        let e = err("[controller\n");
        assert!(e.contains("line"), "{e}");
    }

    #[test]
    fn provider_options_parse_with_paths() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Prom {
            url: String,
            timeout: u32,
        }
        let cfg = ShadowConfig::from_toml_str(GOOD).unwrap();
        let e = cfg
            .metrics
            .parse_options::<Prom>("metrics")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`metrics`") && e.contains("missing field `timeout`"),
            "{e}"
        );
    }

    #[test]
    fn empty_file_gives_defaults() {
        let cfg = ShadowConfig::from_toml_str("").unwrap();
        assert_eq!(cfg, ShadowConfig::default());
    }
}
