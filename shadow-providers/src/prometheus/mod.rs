//! The `prometheus` metric source: [`PrometheusSource`] reads `GET /api/v1/query_range`.
//!
//! [`config`] (the [`PrometheusConfig`] options) is compiled in every build; the source, its builder and
//! [`register_prometheus`] need the cargo feature `prometheus`.
//!
//! # Config
//!
//! ```toml
//! [metrics]
//! kind = "prometheus"
//! url = "https://prometheus.example.com"   # http:// or https://, without /api/v1
//! timeout = "30s"                          # per HTTP request
//! rate_window = "5m"                       # {rate_window}
//! max_points_per_request = 11000           # longer ranges are split
//! service_label = "service"                # used by {selector}
//! environment_label = "environment"        # used by {selector}; "" leaves it out
//! check_service_exists = true              # empty answer + no series of the service -> NotFound
//! retry = { max_attempts = 3, initial_backoff = "200ms", max_backoff = "10s" }
//! auth = { bearer_token_env = "PROM_TOKEN" }   # or bearer_token_file, or username + password_env/_file
//!
//! [metrics.queries]
//! memory = 'sum(container_memory_rss{{selector}})'
//! requests = 'sum(rate(http_requests_total{app="{service}", env="{environment}"}[{rate_window}]))'
//! ```
//!
//! [`PrometheusBuilder::from_env`] reads `SHADOW_PROMETHEUS_URL`, `SHADOW_PROMETHEUS_TIMEOUT` and the
//! credential variables instead.
//!
//! # Templates
//!
//! A template is PromQL with placeholders. `{name}` with `name` an identifier is a placeholder; every other
//! brace is PromQL, so label matchers need no escaping. Unknown placeholders fail the build.
//!
//! | placeholder | becomes |
//! |---|---|
//! | `{service}` | the service id, escaped for a double-quoted string |
//! | `{environment}` | `live` or `shadow` |
//! | `{rate_window}` | `rate_window` in PromQL syntax (`300s`) |
//! | `{selector}` | `service="<id>",environment="<env>"`, with the configured label names |
//!
//! The defaults read cAdvisor metrics and sum them over the service's pods (`container!=""` drops the
//! pod-level cgroup series, which would count usage twice):
//!
//! | kind | default template |
//! |---|---|
//! | `cpu` (cores) | `sum(rate(container_cpu_usage_seconds_total{{selector}, container!=""}[{rate_window}]))` |
//! | `memory` (bytes) | `sum(container_memory_working_set_bytes{{selector}, container!=""})` |
//! | `network_io` (bytes/s) | `sum(rate({__name__=~"container_network_(receive\|transmit)_bytes_total", {selector}}[{rate_window}]))` |
//! | `disk_io` (bytes/s) | `sum(rate({__name__=~"container_fs_(reads\|writes)_bytes_total", {selector}, container!=""}[{rate_window}]))` |
//!
//! A custom kind has no default: a fetch of a custom kind without a configured template is
//! [`Error::NotFound`](shadow_core::Error::NotFound), because for this source the resource is unknown, the
//! same answer as for a service it does not know.
//!
//! A template must answer **one** series. An answer with several series is
//! [`Error::InvalidInput`](shadow_core::Error::InvalidInput) naming two of them; the source never sums them
//! itself, because adding series it cannot see the meaning of (for example a sum and its parts) would
//! count twice silently. Aggregate in the template (`sum(...)`, `max(...)`).
//!
//! # Chunking
//!
//! A query of `n = query.points()` grid points becomes `ceil(n / max_points_per_request)` requests, sent one
//! after another. Chunk `k` asks for `start = range.start + k * max * step` and `end` at its last grid point,
//! so every chunk is on the query's grid and the chunks never overlap. Prometheus refuses more than 11,000
//! points per request, hence the default.
//!
//! # Gaps
//!
//! The result always has exactly `query.points()` values on the grid `range.start + i * step`. A grid point
//! the server did not answer is `NaN`, never zero: an empty answer, a partial one, and samples `"NaN"`,
//! `"+Inf"` or `"-Inf"` all become gaps. Prometheus itself carries a sample forward for its lookback delta
//! (5 minutes by default), so a missing sample is a gap only when no sample lies within that window before
//! the grid point. When no chunk answers any series and `check_service_exists` is on, the source asks
//! `/api/v1/series` for any series with `service_label="<id>"` (all time), and answers `NotFound` when there
//! is none; otherwise the result is all `NaN`.
//!
//! # Errors
//!
//! Timeouts, retries (connection errors, 429, 5xx, with backoff and `Retry-After`) and the status table
//! come from the shared [HTTP client](crate::http): Prometheus's `bad_data` (400) and `execution` (422)
//! errors are `InvalidInput`, `timeout`/`unavailable` (503) are `Unavailable`, 401/403 are
//! `PermissionDenied`. Credentials and URL queries never appear in errors or `Debug`.

pub mod config;

#[cfg(feature = "prometheus")]
mod builder;
#[cfg(feature = "prometheus")]
mod response;
#[cfg(feature = "prometheus")]
mod source;
#[cfg(feature = "prometheus")]
pub mod templates;
#[cfg(all(test, feature = "prometheus"))]
mod tests;

#[cfg(feature = "prometheus")]
pub use builder::PrometheusBuilder;
pub use config::PrometheusConfig;
#[cfg(feature = "prometheus")]
pub use source::PrometheusSource;

/// The kind that selects this provider: `kind = "prometheus"`.
pub const KIND: &str = "prometheus";

/// Registers the `prometheus` kind as a metric source. [`ProviderRegistry::with_builtin`] calls it when the
/// feature is on.
///
/// [`ProviderRegistry::with_builtin`]: crate::ProviderRegistry::with_builtin
#[cfg(feature = "prometheus")]
pub fn register_prometheus(registry: &mut crate::ProviderRegistry) {
    use std::sync::Arc;

    let section = crate::ProviderRole::MetricSource.section();
    registry.register_metric_source(
        KIND,
        Arc::new(move |config| {
            let options: PrometheusConfig = config.parse_options(section)?;
            let source = PrometheusBuilder::from_config(options)
                .with_section(section)
                .build()?;
            Ok(Arc::new(source))
        }),
    );
}
