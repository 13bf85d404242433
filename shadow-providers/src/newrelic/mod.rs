//! The `newrelic` metric source: NRQL `TIMESERIES` queries through NerdGraph
//! (`POST https://api.newrelic.com/graphql`, or `https://api.eu.newrelic.com/graphql` for EU accounts).
//!
//! [`config`] (every build) holds [`NewRelicConfig`]; the source itself needs the cargo feature `newrelic`.
//!
//! # Config
//!
//! ```toml
//! [metrics]
//! kind = "newrelic"
//! account_id = 1234567
//! region = "us"                        # or "eu"; or `url = "https://proxy.internal/graphql"`
//! api_key_env = "NEW_RELIC_API_KEY"    # the default; the key itself never goes in the file
//! timeout = "30s"
//! environments = { live = "production", shadow = "production-shadow" }
//! queries.cpu = "SELECT average(cpuPercent) FROM ProcessSample WHERE service = '{service}' AND environment = '{environment}' SINCE {start} UNTIL {end} TIMESERIES {step_seconds} SECONDS"
//! value_key = "average.cpuPercent"     # optional: by default the one value in each bucket
//! ```
//!
//! # Queries
//!
//! One NRQL template per resource kind. `{service}` and `{environment}` go inside single quotes and are escaped
//! (`'` → `\'`, `\` → `\\`); `{start}` and `{end}` are epoch milliseconds; `{step_seconds}` is the query's step.
//! The defaults read the infrastructure agent's `ContainerSample`, where `service` and `environment` are
//! attributes you add (custom attributes or labels):
//!
//! | kind | default `SELECT` | unit |
//! |---|---|---|
//! | `cpu` | `average(cpuUsedCores)` | cores |
//! | `memory` | `average(memoryUsageBytes)` | bytes |
//! | `network_io` | `average(networkRxBytesPerSecond) + average(networkTxBytesPerSecond) AS 'value'` | bytes per second |
//! | `disk_io` | `average(ioReadBytesPerSecond) + average(ioWriteBytesPerSecond) AS 'value'` | bytes per second |
//!
//! each followed by `FROM ContainerSample WHERE service = '{service}' AND environment = '{environment}' SINCE
//! {start} UNTIL {end} TIMESERIES {step_seconds} SECONDS`. A custom kind needs its own template.
//!
//! # Mapping onto the grid
//!
//! NerdGraph answers `data.actor.account.nrql.results`, one object per bucket:
//! `{"beginTimeSeconds": …, "endTimeSeconds": …, "average.cpuUsedCores": 0.42}`. The bucket starting at grid
//! point `range.start + i * step` gives value `i`; `null` and missing buckets give `NaN`, never zero. The value
//! is read under `value_key`, or else under the bucket's one key besides the two times. The step must be whole
//! seconds.
//!
//! An answer without any value is ambiguous: a gap, or a service New Relic never saw. The source then runs the
//! query once more over the range widened by `not_found_lookback` (default 7 days) with coarse buckets; if
//! that finds no value either, the fetch is [`Error::NotFound`](shadow_core::Error::NotFound).
//!
//! # Vendor limits
//!
//! - **Buckets**: "TIMESERIES supports a maximum of 366 buckets" (New Relic docs, troubleshooting chart
//!   errors). A longer range is split into windows of at most `max_buckets` (default and maximum 366) steps,
//!   queried one after the other and merged.
//! - **Bucket alignment**: TIMESERIES buckets are laid out back from `UNTIL`, and the start snaps so no bucket
//!   is partial (New Relic docs, "Set a query's time range", TIMESERIES query snapping). Each window's
//!   `SINCE`/`UNTIL` are grid points a whole number of steps apart, so the buckets fall on the grid.
//! - **Errors**: NerdGraph reports most failures as a 200 answer with a GraphQL `errors` array; the first
//!   error's `extensions.errorClass` decides: `TIMEOUT` → timeout and `SERVER_ERROR` → unavailable (both
//!   retried with the configured backoff), `INVALID_INPUT` → invalid input, `FORBIDDEN` → permission denied.
//!   HTTP 401/403 are permission denied; 429 and 5xx are retried by the shared client.
//!
//! The key is sent as the `API-Key` header and appears in no log, `Debug` output or error.

pub mod config;

#[cfg(feature = "newrelic")]
mod builder;
#[cfg(feature = "newrelic")]
mod error;
#[cfg(feature = "newrelic")]
mod source;
#[cfg(all(test, feature = "newrelic"))]
mod tests;

#[cfg(feature = "newrelic")]
pub use builder::NewRelicBuilder;
pub use config::NewRelicConfig;
#[cfg(feature = "newrelic")]
pub use source::{NewRelicSource, nrql_escape};

/// The kind that selects this provider: `kind = "newrelic"`.
pub const KIND: &str = "newrelic";

/// Registers the `newrelic` metric source.
#[cfg(feature = "newrelic")]
#[cfg_attr(docsrs, doc(cfg(feature = "newrelic")))]
pub fn register_newrelic(registry: &mut crate::ProviderRegistry) {
    registry.register_metric_source(KIND, std::sync::Arc::new(metric_source_factory));
}

/// Builds a source from a `[metrics]` section ([`NewRelicConfig`]), reading the key from the environment.
///
/// # Errors
/// [`Error::Config`](shadow_core::Error::Config) naming the field, as [`NewRelicBuilder::build`].
#[cfg(feature = "newrelic")]
#[cfg_attr(docsrs, doc(cfg(feature = "newrelic")))]
pub fn build_metric_source(
    config: &shadow_core::config::ProviderConfig,
) -> shadow_core::Result<NewRelicSource> {
    let section = crate::registry::ProviderRole::MetricSource.section();
    let cfg: NewRelicConfig = config.parse_options(section)?;
    NewRelicBuilder::from_config(cfg).with_section(section).build()
}

#[cfg(feature = "newrelic")]
fn metric_source_factory(
    config: &shadow_core::config::ProviderConfig,
) -> shadow_core::Result<std::sync::Arc<shadow_core::DynMetricSource>> {
    Ok(std::sync::Arc::new(build_metric_source(config)?))
}
