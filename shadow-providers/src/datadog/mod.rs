//! The `datadog` metric source: Datadog's v1 timeseries query API (`GET https://api.{site}/api/v1/query`).
//!
//! [`config`] (every build) holds [`DatadogConfig`]; the source itself needs the cargo feature `datadog`.
//!
//! # Config
//!
//! ```toml
//! [metrics]
//! kind = "datadog"
//! site = "datadoghq.eu"          # default "datadoghq.com"; or `url = "https://proxy.internal"`
//! api_key_env = "DD_API_KEY"     # the default; the key itself never goes in the file
//! app_key_env = "DD_APP_KEY"     # the default
//! timeout = "30s"
//! retry = { max_attempts = 4, initial_backoff = "500ms", max_backoff = "30s" }
//! environments = { live = "prod", shadow = "prod-shadow" }   # values of `{environment}`
//! queries.memory = "sum:container.memory.usage{service:{service},env:{environment}}.rollup(avg, {step_seconds})"
//! ```
//!
//! # Queries
//!
//! One template per resource kind; `{service}`, `{environment}` and `{step_seconds}` (the query's step) are
//! filled in. The defaults, averaged over the containers of the service:
//!
//! | kind | default template | unit |
//! |---|---|---|
//! | `cpu` | `avg:container.cpu.usage{service:{service},env:{environment}}.rollup(avg, {step_seconds}) / 1000000000` | cores (the metric is in nanocores) |
//! | `memory` | `avg:container.memory.usage{…}.rollup(avg, {step_seconds})` | bytes |
//! | `network_io` | `avg:container.net.rcvd{…}.rollup(…) + avg:container.net.sent{…}.rollup(…)` | bytes per second |
//! | `disk_io` | `avg:container.io.read{…}.rollup(…) + avg:container.io.write{…}.rollup(…)` | bytes per second |
//!
//! A custom kind (`queue_depth`) needs its own `queries.queue_depth`; without one, a fetch is
//! [`Error::NotFound`](shadow_core::Error::NotFound).
//!
//! # Mapping onto the grid
//!
//! The answer's `series[].pointlist` is `[[milliseconds, value or null], …]`, and a rollup point carries the
//! time its bucket starts. A point whose time is exactly grid point `range.start + i * step` gives value `i`;
//! `null`, a missing point or no series at all give `NaN`, never zero. Points off the grid are dropped, so
//! align `range.start` to the step (rollup buckets are aligned to multiples of the interval). The step must be
//! whole seconds.
//!
//! A template must yield one series: more than one (a `by {host}`, or no space aggregator) is
//! [`Error::InvalidInput`](shadow_core::Error::InvalidInput), since summing or averaging them here would hide
//! what the user asked for.
//!
//! An empty answer is ambiguous: a gap, or a service Datadog never saw. The source then asks once more over the
//! range widened by `not_found_lookback` (default 7 days) at a coarse rollup; if that finds no value either,
//! the fetch is [`Error::NotFound`](shadow_core::Error::NotFound), otherwise the range is all gaps.
//!
//! # Vendor limits
//!
//! - **Points**: Datadog returns at most 1500 points per series (rollup docs, "rollup interval: enforced vs
//!   custom"); beyond that it widens the rollup by itself, which would break the grid. So a range of more than
//!   `max_points_per_request` (default and maximum 1500) steps is split into windows of whole steps,
//!   requested one after the other and merged.
//! - **Rate limits**: a 429 carries `X-RateLimit-Limit`, `-Period`, `-Remaining` and `-Reset` (seconds until
//!   the period resets; API reference, "Rate limits"). The shared `HttpClient` (`crate::http::client`)
//!   retries a 429 after `X-RateLimit-Reset` seconds (capped at `retry.max_backoff`).
//! - **Errors**: a non-2xx answer carries `{"errors": ["…"]}`: 403 is permission denied, 400 invalid input,
//!   429/5xx retryable; a 200 answer with `"status": "error"` is invalid input with its `error` text.
//!
//! The keys are sent as `DD-API-KEY` and `DD-APPLICATION-KEY` headers, and appear in no log, `Debug` output
//! or error.

pub mod config;

#[cfg(feature = "datadog")]
mod builder;
#[cfg(feature = "datadog")]
mod error;
#[cfg(feature = "datadog")]
mod source;
#[cfg(all(test, feature = "datadog"))]
mod tests;

#[cfg(feature = "datadog")]
pub use builder::DatadogBuilder;
pub use config::DatadogConfig;
#[cfg(feature = "datadog")]
pub use source::DatadogSource;

/// The kind that selects this provider: `kind = "datadog"`.
pub const KIND: &str = "datadog";

/// Registers the `datadog` metric source.
#[cfg(feature = "datadog")]
#[cfg_attr(docsrs, doc(cfg(feature = "datadog")))]
pub fn register_datadog(registry: &mut crate::ProviderRegistry) {
    registry.register_metric_source(KIND, std::sync::Arc::new(metric_source_factory));
}

/// Builds a source from a `[metrics]` section ([`DatadogConfig`]), reading the keys from the environment.
///
/// # Errors
/// [`Error::Config`](shadow_core::Error::Config) naming the field, as [`DatadogBuilder::build`].
#[cfg(feature = "datadog")]
#[cfg_attr(docsrs, doc(cfg(feature = "datadog")))]
pub fn build_metric_source(
    config: &shadow_core::config::ProviderConfig,
) -> shadow_core::Result<DatadogSource> {
    let section = crate::registry::ProviderRole::MetricSource.section();
    let cfg: DatadogConfig = config.parse_options(section)?;
    DatadogBuilder::from_config(cfg).with_section(section).build()
}

#[cfg(feature = "datadog")]
fn metric_source_factory(
    config: &shadow_core::config::ProviderConfig,
) -> shadow_core::Result<std::sync::Arc<shadow_core::DynMetricSource>> {
    Ok(std::sync::Arc::new(build_metric_source(config)?))
}
