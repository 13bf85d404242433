//! [`NewRelicBuilder`]: validates the options and reads the key, then builds a [`NewRelicSource`].

use std::time::Duration;

use shadow_core::{Error, Result};

use super::{
    KIND,
    config::{MAX_TIMESERIES_BUCKETS, NewRelicConfig, Region},
    source::NewRelicSource,
};
use crate::http::{
    client::HttpClient,
    config::{RetryOptions, Secret, secret_from_env},
};

/// The longest `not_found_lookback`: 400 days, beyond any vendor retention.
const MAX_LOOKBACK: Duration = Duration::from_secs(400 * 24 * 3600);

/// Builds a [`NewRelicSource`]. All validation happens in [`build`](Self::build).
///
/// ```no_run
/// use shadow_providers::newrelic::{NewRelicBuilder, config::Region};
///
/// // Reads NEW_RELIC_API_KEY from the environment.
/// let source = NewRelicBuilder::new().with_account_id(1234567).with_region(Region::Eu).build()?;
/// # Ok::<_, shadow_core::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct NewRelicBuilder {
    config: NewRelicConfig,
    api_key: Option<Secret>,
    section: Option<String>,
}

impl NewRelicBuilder {
    /// A builder with the default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder from a parsed config section.
    pub fn from_config(config: NewRelicConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// A builder from the environment: `SHADOW_NEWRELIC_ACCOUNT_ID`, `SHADOW_NEWRELIC_REGION` (`us`/`eu`) and
    /// `SHADOW_NEWRELIC_URL` when set; the key still comes from `NEW_RELIC_API_KEY` at build time. A value that
    /// does not parse is left out, and `build` reports what is missing.
    pub fn from_env() -> Self {
        let mut b = Self::new();
        if let Some(id) = std::env::var("SHADOW_NEWRELIC_ACCOUNT_ID")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            b = b.with_account_id(id);
        }
        match std::env::var("SHADOW_NEWRELIC_REGION").as_deref() {
            Ok("eu") => b = b.with_region(Region::Eu),
            Ok("us") => b = b.with_region(Region::Us),
            _ => {}
        }
        if let Ok(url) = std::env::var("SHADOW_NEWRELIC_URL") {
            b = b.with_url(url);
        }
        b
    }

    /// The dotted path of the options in the config file, used in errors (default `metrics`).
    pub fn with_section(mut self, section: impl Into<String>) -> Self {
        self.section = Some(section.into());
        self
    }

    /// The account the queries run in.
    pub fn with_account_id(mut self, id: u64) -> Self {
        self.config.account_id = Some(id);
        self
    }

    /// The region of the account.
    pub fn with_region(mut self, region: Region) -> Self {
        self.config.region = region;
        self
    }

    /// A NerdGraph URL replacing the region's endpoint.
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.config.url = Some(url.into());
        self
    }

    /// The user API key, instead of reading `api_key_env`.
    pub fn with_api_key(mut self, key: Secret) -> Self {
        self.api_key = Some(key);
        self
    }

    /// The NRQL template of a resource kind.
    pub fn with_query(mut self, resource: impl Into<String>, template: impl Into<String>) -> Self {
        self.config.queries.insert(resource.into(), template.into());
        self
    }

    /// The key of the value in each result bucket.
    pub fn with_value_key(mut self, key: impl Into<String>) -> Self {
        self.config.value_key = Some(key.into());
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

    /// The most buckets per query (at most 366).
    pub fn with_max_buckets(mut self, buckets: u32) -> Self {
        self.config.max_buckets = buckets;
        self
    }

    /// How far around an empty range to look before answering not found; zero turns the check off.
    pub fn with_not_found_lookback(mut self, lookback: Duration) -> Self {
        self.config.not_found_lookback = lookback;
        self
    }

    /// Validates the options, reads the key and builds the source.
    ///
    /// # Errors
    /// [`Error::Config`] naming the field: no `account_id`, an unset or empty key variable, a URL that is not
    /// `http(s)://`, a `max_buckets` of 0 or above 366, a template missing `{service}`, `{start}`, `{end}` or
    /// `{step_seconds}`, a `not_found_lookback` over 400 days, or bad retry options.
    pub fn build(self) -> Result<NewRelicSource> {
        let section = self.section.unwrap_or_else(|| "metrics".to_string());
        let cfg = self.config;
        let field = |name: &str| format!("{section}.{name}");
        let Some(account_id) = cfg.account_id else {
            return Err(Error::config(field("account_id"), "is required"));
        };
        let endpoint = match &cfg.url {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => url.clone(),
            Some(_) => return Err(Error::config(field("url"), "must start with http:// or https://")),
            None => cfg.region.endpoint().to_string(),
        };
        if cfg.max_buckets == 0 || cfg.max_buckets > MAX_TIMESERIES_BUCKETS {
            return Err(Error::config(
                field("max_buckets"),
                format!("must be between 1 and {MAX_TIMESERIES_BUCKETS}"),
            ));
        }
        for (resource, template) in &cfg.queries {
            for placeholder in ["{service}", "{start}", "{end}", "{step_seconds}"] {
                if !template.contains(placeholder) {
                    return Err(Error::config(
                        field(&format!("queries.{resource}")),
                        format!("must contain the `{placeholder}` placeholder"),
                    ));
                }
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
        let client = HttpClient::new(KIND, cfg.timeout, cfg.retry.clone(), None)?;
        Ok(NewRelicSource::new(cfg, account_id, endpoint, client, api_key))
    }
}
