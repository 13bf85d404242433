//! [`DatadogBuilder`]: validates the options and reads the keys, then builds a [`DatadogSource`].

use std::time::Duration;

use shadow_core::{Error, Result};

use super::{
    KIND,
    config::{DatadogConfig, MAX_POINTS_PER_SERIES},
    source::DatadogSource,
};
use crate::http::{
    client::HttpClient,
    config::{RetryOptions, Secret, secret_from_env},
};

/// The longest `not_found_lookback`: 400 days, beyond any vendor retention.
const MAX_LOOKBACK: Duration = Duration::from_secs(400 * 24 * 3600);

/// Builds a [`DatadogSource`]. All validation happens in [`build`](Self::build).
///
/// ```no_run
/// use shadow_providers::datadog::DatadogBuilder;
///
/// // Reads DD_API_KEY and DD_APP_KEY from the environment.
/// let source = DatadogBuilder::new().with_site("datadoghq.eu").build()?;
/// # Ok::<_, shadow_core::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct DatadogBuilder {
    config: DatadogConfig,
    api_key: Option<Secret>,
    app_key: Option<Secret>,
    section: Option<String>,
}

impl DatadogBuilder {
    /// A builder with the default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder from a parsed config section.
    pub fn from_config(config: DatadogConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// A builder from the environment: `SHADOW_DATADOG_SITE` and `SHADOW_DATADOG_URL` when set; the keys
    /// still come from `DD_API_KEY` and `DD_APP_KEY` at build time.
    pub fn from_env() -> Self {
        let mut b = Self::new();
        if let Ok(site) = std::env::var("SHADOW_DATADOG_SITE") {
            b = b.with_site(site);
        }
        if let Ok(url) = std::env::var("SHADOW_DATADOG_URL") {
            b = b.with_url(url);
        }
        b
    }

    /// The dotted path of the options in the config file, used in errors (default `metrics`).
    pub fn with_section(mut self, section: impl Into<String>) -> Self {
        self.section = Some(section.into());
        self
    }

    /// The Datadog site, such as `datadoghq.eu`.
    pub fn with_site(mut self, site: impl Into<String>) -> Self {
        self.config.site = site.into();
        self
    }

    /// A base URL replacing `https://api.{site}`.
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.config.url = Some(url.into());
        self
    }

    /// The API key, instead of reading `api_key_env`.
    pub fn with_api_key(mut self, key: Secret) -> Self {
        self.api_key = Some(key);
        self
    }

    /// The application key, instead of reading `app_key_env`.
    pub fn with_app_key(mut self, key: Secret) -> Self {
        self.app_key = Some(key);
        self
    }

    /// The query template of a resource kind (`cpu`, `memory`, `network_io`, `disk_io` or a custom name).
    pub fn with_query(mut self, resource: impl Into<String>, template: impl Into<String>) -> Self {
        self.config.queries.insert(resource.into(), template.into());
        self
    }

    /// The timeout of one request.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = timeout;
        self
    }

    /// The retry options.
    pub fn with_retry(mut self, retry: RetryOptions) -> Self {
        self.config.retry = retry;
        self
    }

    /// The most grid points per request (at most 1500).
    pub fn with_max_points_per_request(mut self, points: u32) -> Self {
        self.config.max_points_per_request = points;
        self
    }

    /// How far around an empty range to look before answering not found; zero turns the check off.
    pub fn with_not_found_lookback(mut self, lookback: Duration) -> Self {
        self.config.not_found_lookback = lookback;
        self
    }

    /// Validates the options, reads the keys and builds the source.
    ///
    /// # Errors
    /// [`Error::Config`] naming the field: an unset or empty key variable, an empty site, a URL that is not
    /// `http(s)://`, a `max_points_per_request` of 0 or above 1500, a query template without `{service}`, a
    /// `not_found_lookback` over 400 days, or bad retry options.
    pub fn build(self) -> Result<DatadogSource> {
        let section = self.section.unwrap_or_else(|| "metrics".to_string());
        let cfg = self.config;
        let field = |name: &str| format!("{section}.{name}");
        let base_url = match &cfg.url {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                url.trim_end_matches('/').to_string()
            }
            Some(_) => return Err(Error::config(field("url"), "must start with http:// or https://")),
            None => {
                let site = cfg.site.trim().trim_start_matches("app.").trim_matches('/');
                if site.is_empty() || site.contains(['/', ':', ' ']) {
                    return Err(Error::config(
                        field("site"),
                        "must be a Datadog site such as `datadoghq.com` or `datadoghq.eu`",
                    ));
                }
                format!("https://api.{site}")
            }
        };
        if cfg.max_points_per_request == 0 || cfg.max_points_per_request > MAX_POINTS_PER_SERIES {
            return Err(Error::config(
                field("max_points_per_request"),
                format!("must be between 1 and {MAX_POINTS_PER_SERIES}"),
            ));
        }
        for (resource, template) in &cfg.queries {
            if !template.contains("{service}") {
                return Err(Error::config(
                    field(&format!("queries.{resource}")),
                    "must contain the `{service}` placeholder",
                ));
            }
        }
        if cfg.not_found_lookback > MAX_LOOKBACK {
            return Err(Error::config(
                field("not_found_lookback"),
                format!("must be at most {MAX_LOOKBACK:?} (400 days)"),
            ));
        }
        cfg.retry.validate(&field("retry"))?;
        let api_key = match self.api_key {
            Some(k) => k,
            None => secret_from_env(&field("api_key_env"), &cfg.api_key_env)?,
        };
        let app_key = match self.app_key {
            Some(k) => k,
            None => secret_from_env(&field("app_key_env"), &cfg.app_key_env)?,
        };
        let client = HttpClient::new(KIND, cfg.timeout, cfg.retry.clone(), None)?;
        Ok(DatadogSource::new(cfg, base_url, client, api_key, app_key))
    }
}
