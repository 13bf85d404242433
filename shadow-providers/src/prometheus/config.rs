//! [`PrometheusConfig`]: the options of `kind = "prometheus"`. Pure serde data, compiled in every build.

use std::{collections::BTreeMap, fmt, time::Duration};

use serde::{Deserialize, Serialize};
use shadow_core::ResourceKind;

use crate::http::config::{AuthOptions, RetryOptions};

/// The most points Prometheus answers in one `query_range` request: it refuses
/// `(end - start) / step > 11000`.
pub const SERVER_MAX_POINTS: usize = 11_000;

/// Options of `kind = "prometheus"` in the `[metrics]` section.
///
/// Every field has a default except `url`. Secrets never appear here: `auth` names the environment
/// variable or file that holds them.
///
/// ```toml
/// [metrics]
/// kind = "prometheus"
/// url = "https://prometheus.example.com"
/// timeout = "30s"
/// rate_window = "5m"
/// max_points_per_request = 11000
/// service_label = "service"
/// environment_label = "environment"
/// check_service_exists = true
/// retry = { max_attempts = 3, initial_backoff = "200ms", max_backoff = "10s" }
/// auth = { bearer_token_env = "PROM_TOKEN" }
///
/// [metrics.queries]
/// # Overrides the default of a built-in kind, or adds a custom kind.
/// memory = 'sum(container_memory_rss{{selector}})'
/// requests = 'sum(rate(http_requests_total{app="{service}", env="{environment}"}[{rate_window}]))'
/// ```
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct PrometheusConfig {
    /// The server's base URL, `http://` or `https://`, without `/api/v1`. A path prefix is kept
    /// (`https://host/prometheus`).
    pub url: String,
    /// The timeout of one HTTP request, as a humantime string.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Retries of retryable failures (connection errors, timeouts, 429, 5xx).
    pub retry: RetryOptions,
    /// Bearer token or basic auth, read from an environment variable or a file.
    pub auth: AuthOptions,
    /// PromQL templates by resource kind (`cpu`, `memory`, `network_io`, `disk_io` or a custom name); each
    /// replaces the default of its kind. See the [module docs](crate::prometheus) for the placeholders.
    pub queries: BTreeMap<ResourceKind, String>,
    /// The window of `rate()` in the templates (`{rate_window}`). Keep it at least four scrape intervals.
    #[serde(with = "humantime_serde")]
    pub rate_window: Duration,
    /// The most grid points per `query_range` request; longer ranges are split. At most
    /// [`SERVER_MAX_POINTS`] for a stock Prometheus.
    pub max_points_per_request: usize,
    /// The label that names the service (`{selector}`).
    pub service_label: String,
    /// The label that names the environment (`live` or `shadow`) in `{selector}`; empty leaves the
    /// environment out of `{selector}`.
    pub environment_label: String,
    /// When a fetch finds no series at all, ask `/api/v1/series` whether the server holds any series with
    /// the service's label, and answer [`Error::NotFound`](shadow_core::Error::NotFound) when it holds
    /// none. Turn it off when your templates do not select by `service_label`.
    pub check_service_exists: bool,
}

impl Default for PrometheusConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            timeout: Duration::from_secs(30),
            retry: RetryOptions::default(),
            auth: AuthOptions::default(),
            queries: BTreeMap::new(),
            rate_window: Duration::from_secs(300),
            max_points_per_request: SERVER_MAX_POINTS,
            service_label: "service".to_string(),
            environment_label: "environment".to_string(),
            check_service_exists: true,
        }
    }
}

impl fmt::Debug for PrometheusConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrometheusConfig")
            .field("url", &redacted_url(&self.url))
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("auth", &self.auth)
            .field("queries", &self.queries)
            .field("rate_window", &self.rate_window)
            .field("max_points_per_request", &self.max_points_per_request)
            .field("service_label", &self.service_label)
            .field("environment_label", &self.environment_label)
            .field("check_service_exists", &self.check_service_exists)
            .finish_non_exhaustive()
    }
}

/// `url` without user info and query, which may hold credentials.
pub(crate) fn redacted_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let rest = rest.split_once('@').map_or(rest, |(_, host)| host);
    let path = rest.split(['?', '#']).next().unwrap_or(rest);
    let tail = if path.len() < rest.len() { "?REDACTED" } else { "" };
    if scheme.is_empty() {
        format!("{path}{tail}")
    } else {
        format!("{scheme}://{path}{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example_and_hides_credentials() {
        let cfg: PrometheusConfig = toml::from_str(
            r#"
            url = "https://user:pw@prom.example.com/prometheus?token=abc"
            timeout = "10s"
            rate_window = "2m"
            auth = { bearer_token_env = "PROM_TOKEN" }
            [queries]
            memory = 'sum(container_memory_rss{{selector}})'
            requests = 'sum(http_requests{app="{service}"})'
            "#,
        )
        .unwrap();
        assert_eq!(cfg.timeout, Duration::from_secs(10));
        assert_eq!(cfg.rate_window, Duration::from_secs(120));
        assert_eq!(cfg.max_points_per_request, SERVER_MAX_POINTS);
        assert!(cfg.queries.contains_key(&ResourceKind::Memory));
        assert!(
            cfg.queries
                .contains_key(&ResourceKind::custom("requests").unwrap())
        );
        let debug = format!("{cfg:?}");
        assert!(
            debug.contains("https://prom.example.com/prometheus?REDACTED"),
            "{debug}"
        );
        assert!(!debug.contains("pw") && !debug.contains("abc"), "{debug}");
        assert!(toml::from_str::<PrometheusConfig>("urll = 'x'").is_err());
        assert_eq!(redacted_url("http://h:9090"), "http://h:9090");
    }
}
