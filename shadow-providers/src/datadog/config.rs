//! [`DatadogConfig`]: the options of `kind = "datadog"`. Pure serde data, compiled in every build.

use std::{collections::BTreeMap, fmt, time::Duration};

use serde::{Deserialize, Serialize};
use shadow_core::{Environment, ResourceKind};

use crate::http::config::RetryOptions;

/// The default query for `cpu`, in cores: `container.cpu.usage` is reported in nanocores, so it is divided
/// by 10⁹.
pub const DEFAULT_CPU_QUERY: &str =
    "avg:container.cpu.usage{service:{service},env:{environment}}.rollup(avg, {step_seconds}) / 1000000000";
/// The default query for `memory`, in bytes (`container.memory.usage`).
pub const DEFAULT_MEMORY_QUERY: &str =
    "avg:container.memory.usage{service:{service},env:{environment}}.rollup(avg, {step_seconds})";
/// The default query for `network_io`, in bytes per second received plus sent.
pub const DEFAULT_NETWORK_QUERY: &str = "avg:container.net.rcvd{service:{service},env:{environment}}.rollup(avg, {step_seconds}) + \
     avg:container.net.sent{service:{service},env:{environment}}.rollup(avg, {step_seconds})";
/// The default query for `disk_io`, in bytes per second read plus written.
pub const DEFAULT_DISK_QUERY: &str = "avg:container.io.read{service:{service},env:{environment}}.rollup(avg, {step_seconds}) + \
     avg:container.io.write{service:{service},env:{environment}}.rollup(avg, {step_seconds})";

/// Datadog's limit of points per series in one answer (the rollup docs: "a single series can have at most
/// 1500 points"). Longer ranges are split into requests of at most this many steps.
pub const MAX_POINTS_PER_SERIES: u32 = 1500;

/// Options of `kind = "datadog"` in the `[metrics]` section.
///
/// The API and application keys are read from the environment variables named here when the source is built;
/// they are never written in the file.
///
/// ```toml
/// [metrics]
/// kind = "datadog"
/// site = "datadoghq.eu"            # or "us5.datadoghq.com"; default "datadoghq.com"
/// api_key_env = "DD_API_KEY"
/// app_key_env = "DD_APP_KEY"
/// timeout = "30s"
/// retry = { max_attempts = 4, initial_backoff = "500ms", max_backoff = "30s" }
/// environments = { live = "prod", shadow = "prod-shadow" }
/// queries.cpu = "sum:kubernetes.cpu.usage.total{service:{service},env:{environment}}.rollup(avg, {step_seconds}) / 1000000000"
/// queries.queue_depth = "max:rabbitmq.queue.messages{service:{service}}.rollup(max, {step_seconds})"
/// ```
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct DatadogConfig {
    /// The Datadog site: `datadoghq.com` (US1, the default), `us3.datadoghq.com`, `us5.datadoghq.com`,
    /// `datadoghq.eu`, `ap1.datadoghq.com`, `ddog-gov.com`... Requests go to `https://api.{site}`.
    pub site: String,
    /// A full base URL that replaces `https://api.{site}` (a proxy, or a test server).
    pub url: Option<String>,
    /// The environment variable holding the API key (`DD-API-KEY`).
    pub api_key_env: String,
    /// The environment variable holding the application key (`DD-APPLICATION-KEY`).
    pub app_key_env: String,
    /// Query templates by resource kind (`cpu`, `memory`, `network_io`, `disk_io` or a custom name), replacing
    /// the defaults. Placeholders: `{service}`, `{environment}`, `{step_seconds}`.
    pub queries: BTreeMap<String, String>,
    /// The value of `{environment}` for each environment; by default `live` and `shadow`.
    pub environments: BTreeMap<Environment, String>,
    /// The timeout of one HTTP request, as a humantime string.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Retries of retryable failures (connection errors, timeouts, 429, 5xx).
    pub retry: RetryOptions,
    /// The most grid points asked for in one request; longer ranges are split. At most
    /// [`MAX_POINTS_PER_SERIES`].
    pub max_points_per_request: u32,
    /// How far around an empty range the source looks to tell a gap from an unknown series (see the module
    /// docs). `"0s"` turns the check off: an empty answer is then always a gap.
    #[serde(with = "humantime_serde")]
    pub not_found_lookback: Duration,
}

impl Default for DatadogConfig {
    fn default() -> Self {
        Self {
            site: "datadoghq.com".to_string(),
            url: None,
            api_key_env: "DD_API_KEY".to_string(),
            app_key_env: "DD_APP_KEY".to_string(),
            queries: BTreeMap::new(),
            environments: BTreeMap::new(),
            timeout: Duration::from_secs(30),
            retry: RetryOptions::default(),
            max_points_per_request: MAX_POINTS_PER_SERIES,
            not_found_lookback: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl DatadogConfig {
    /// The query template for `resource`: the configured one, else the default of a built-in kind.
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

    /// The value of `{environment}` for `env`.
    #[must_use]
    pub fn environment_tag(&self, env: Environment) -> &str {
        self.environments.get(&env).map_or(env.as_str(), String::as_str)
    }
}

impl fmt::Debug for DatadogConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only the names of the key variables: the keys never live in the config.
        f.debug_struct("DatadogConfig")
            .field("site", &self.site)
            .field("url", &self.url)
            .field("api_key_env", &self.api_key_env)
            .field("app_key_env", &self.app_key_env)
            .field("queries", &self.queries)
            .field("environments", &self.environments)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("max_points_per_request", &self.max_points_per_request)
            .field("not_found_lookback", &self.not_found_lookback)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_toml_with_defaults_and_refuses_typos() {
        let cfg: DatadogConfig = toml::from_str(
            r#"
            site = "datadoghq.eu"
            environments = { live = "prod" }
            queries.cpu = "avg:my.cpu{service:{service}}"
            timeout = "5s"
            "#,
        )
        .unwrap();
        assert_eq!(cfg.site, "datadoghq.eu");
        assert_eq!(cfg.api_key_env, "DD_API_KEY");
        assert_eq!(cfg.timeout, Duration::from_secs(5));
        assert_eq!(cfg.environment_tag(Environment::Live), "prod");
        assert_eq!(cfg.environment_tag(Environment::Shadow), "shadow");
        assert_eq!(
            cfg.query_template(&ResourceKind::Cpu),
            Some("avg:my.cpu{service:{service}}")
        );
        assert_eq!(
            cfg.query_template(&ResourceKind::Memory),
            Some(DEFAULT_MEMORY_QUERY)
        );
        assert_eq!(cfg.query_template(&ResourceKind::custom("rps").unwrap()), None);
        assert!(toml::from_str::<DatadogConfig>("api_key = \"abc\"").is_err());
        let debug = format!("{cfg:?}");
        assert!(debug.contains("DD_API_KEY") && debug.ends_with(".. }"), "{debug}");
    }
}
