//! [`NewRelicConfig`]: the options of `kind = "newrelic"`. Pure serde data, compiled in every build.

use std::{collections::BTreeMap, fmt, time::Duration};

use serde::{Deserialize, Serialize};
use shadow_core::{Environment, ResourceKind};

use crate::http::config::RetryOptions;

/// The default NRQL for `cpu`, in cores (`cpuUsedCores` of `ContainerSample`).
pub const DEFAULT_CPU_QUERY: &str = "SELECT average(cpuUsedCores) FROM ContainerSample \
     WHERE service = '{service}' AND environment = '{environment}' \
     SINCE {start} UNTIL {end} TIMESERIES {step_seconds} SECONDS";
/// The default NRQL for `memory`, in bytes (`memoryUsageBytes`).
pub const DEFAULT_MEMORY_QUERY: &str = "SELECT average(memoryUsageBytes) FROM ContainerSample \
     WHERE service = '{service}' AND environment = '{environment}' \
     SINCE {start} UNTIL {end} TIMESERIES {step_seconds} SECONDS";
/// The default NRQL for `network_io`, in bytes per second received plus sent.
pub const DEFAULT_NETWORK_QUERY: &str = "SELECT average(networkRxBytesPerSecond) + average(networkTxBytesPerSecond) AS 'value' \
     FROM ContainerSample WHERE service = '{service}' AND environment = '{environment}' \
     SINCE {start} UNTIL {end} TIMESERIES {step_seconds} SECONDS";
/// The default NRQL for `disk_io`, in bytes per second read plus written.
pub const DEFAULT_DISK_QUERY: &str = "SELECT average(ioReadBytesPerSecond) + average(ioWriteBytesPerSecond) AS 'value' \
     FROM ContainerSample WHERE service = '{service}' AND environment = '{environment}' \
     SINCE {start} UNTIL {end} TIMESERIES {step_seconds} SECONDS";

/// NRQL's limit of buckets in one `TIMESERIES` query ("TIMESERIES supports a maximum of 366 buckets").
pub const MAX_TIMESERIES_BUCKETS: u32 = 366;

/// The New Relic data center an account lives in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Region {
    /// `https://api.newrelic.com/graphql`.
    #[default]
    Us,
    /// `https://api.eu.newrelic.com/graphql`.
    Eu,
}

impl Region {
    /// The NerdGraph endpoint of the region.
    #[must_use]
    pub const fn endpoint(self) -> &'static str {
        match self {
            Region::Us => "https://api.newrelic.com/graphql",
            Region::Eu => "https://api.eu.newrelic.com/graphql",
        }
    }
}

/// Options of `kind = "newrelic"` in the `[metrics]` section.
///
/// The user API key is read from the environment variable named here when the source is built; it is never
/// written in the file.
///
/// ```toml
/// [metrics]
/// kind = "newrelic"
/// account_id = 1234567
/// region = "eu"                       # default "us"
/// api_key_env = "NEW_RELIC_API_KEY"
/// timeout = "30s"
/// environments = { live = "production" }
/// queries.cpu = "SELECT average(cpuPercent) FROM ProcessSample WHERE service = '{service}' AND environment = '{environment}' SINCE {start} UNTIL {end} TIMESERIES {step_seconds} SECONDS"
/// ```
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct NewRelicConfig {
    /// The account the NRQL runs in. Required.
    pub account_id: Option<u64>,
    /// The region of the account.
    pub region: Region,
    /// A full NerdGraph URL that replaces the region's endpoint (a proxy, or a test server).
    pub url: Option<String>,
    /// The environment variable holding the user API key (sent as `API-Key`).
    pub api_key_env: String,
    /// NRQL templates by resource kind, replacing the defaults. Placeholders: `{service}`, `{environment}`
    /// (inside quotes; they are escaped), `{start}`, `{end}` (epoch milliseconds) and `{step_seconds}`.
    pub queries: BTreeMap<String, String>,
    /// The key of the value in each result bucket (`average.cpuPercent`, or the name after `AS`). By default
    /// the one key besides `beginTimeSeconds` and `endTimeSeconds`.
    pub value_key: Option<String>,
    /// The value of `{environment}` for each environment; by default `live` and `shadow`.
    pub environments: BTreeMap<Environment, String>,
    /// The timeout of one HTTP request, as a humantime string.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Retries of retryable failures (connection errors, timeouts, 429, 5xx, GraphQL `TIMEOUT` and
    /// `SERVER_ERROR`).
    pub retry: RetryOptions,
    /// The most buckets asked for in one query; longer ranges are split. At most [`MAX_TIMESERIES_BUCKETS`].
    pub max_buckets: u32,
    /// How far around an empty range the source looks to tell a gap from an unknown series; `"0s"` turns the
    /// check off.
    #[serde(with = "humantime_serde")]
    pub not_found_lookback: Duration,
}

impl Default for NewRelicConfig {
    fn default() -> Self {
        Self {
            account_id: None,
            region: Region::Us,
            url: None,
            api_key_env: "NEW_RELIC_API_KEY".to_string(),
            queries: BTreeMap::new(),
            value_key: None,
            environments: BTreeMap::new(),
            timeout: Duration::from_secs(30),
            retry: RetryOptions::default(),
            max_buckets: MAX_TIMESERIES_BUCKETS,
            not_found_lookback: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl NewRelicConfig {
    /// The NRQL template for `resource`: the configured one, else the default of a built-in kind.
    #[must_use]
    pub fn query_template(&self, resource: &ResourceKind) -> Option<&str> {
        if let Some(q) = self.queries.get(resource.as_str()) {
            return Some(q);
        }
        match resource {
            ResourceKind::Cpu => Some(DEFAULT_CPU_QUERY),
            ResourceKind::Memory => Some(DEFAULT_MEMORY_QUERY),
            ResourceKind::NetworkIo => Some(DEFAULT_NETWORK_QUERY),
            ResourceKind::DiskIo => Some(DEFAULT_DISK_QUERY),
            _ => None,
        }
    }

    /// The value of `{environment}` for `env`, before escaping.
    #[must_use]
    pub fn environment_value(&self, env: Environment) -> &str {
        self.environments.get(&env).map_or(env.as_str(), String::as_str)
    }
}

impl fmt::Debug for NewRelicConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only the name of the key variable: the key never lives in the config.
        f.debug_struct("NewRelicConfig")
            .field("account_id", &self.account_id)
            .field("region", &self.region)
            .field("url", &self.url)
            .field("api_key_env", &self.api_key_env)
            .field("queries", &self.queries)
            .field("value_key", &self.value_key)
            .field("environments", &self.environments)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("max_buckets", &self.max_buckets)
            .field("not_found_lookback", &self.not_found_lookback)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_toml_with_defaults_and_refuses_typos() {
        let cfg: NewRelicConfig = toml::from_str(
            r#"
            account_id = 42
            region = "eu"
            environments = { live = "production" }
            "#,
        )
        .unwrap();
        assert_eq!(cfg.account_id, Some(42));
        assert_eq!(cfg.region.endpoint(), "https://api.eu.newrelic.com/graphql");
        assert_eq!(Region::default().endpoint(), "https://api.newrelic.com/graphql");
        assert_eq!(cfg.api_key_env, "NEW_RELIC_API_KEY");
        assert_eq!(cfg.max_buckets, 366);
        assert_eq!(cfg.environment_value(Environment::Live), "production");
        assert_eq!(cfg.query_template(&ResourceKind::Cpu), Some(DEFAULT_CPU_QUERY));
        assert_eq!(cfg.query_template(&ResourceKind::custom("rps").unwrap()), None);
        assert!(toml::from_str::<NewRelicConfig>("api_key = \"NRAK-x\"").is_err());
        assert!(toml::from_str::<NewRelicConfig>("region = \"apac\"").is_err());
        assert!(format!("{cfg:?}").contains("NEW_RELIC_API_KEY"));
    }
}
