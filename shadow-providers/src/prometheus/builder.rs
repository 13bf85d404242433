//! [`PrometheusBuilder`]: validates the options and builds a [`PrometheusSource`].

use std::{fmt, path::PathBuf, time::Duration};

use shadow_core::{Error, ResourceKind, Result};

use super::{
    KIND,
    config::PrometheusConfig,
    source::PrometheusSource,
    templates::{compile, validate_label},
};
use crate::http::{
    client::HttpClient,
    config::{AuthOptions, RetryOptions},
};

/// Builds a [`PrometheusSource`]. Setters never fail; [`build`](Self::build) validates everything.
///
/// ```no_run
/// use shadow_providers::prometheus::PrometheusBuilder;
///
/// let source = PrometheusBuilder::new()
///     .with_url("http://127.0.0.1:9090")
///     .with_query("requests".parse().unwrap(), r#"sum(rate(http_requests_total{{selector}}[{rate_window}]))"#)
///     .build()?;
/// # Ok::<_, shadow_core::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct PrometheusBuilder {
    config: PrometheusConfig,
    section: Option<String>,
    client: Option<HttpClient>,
    /// A `from_env` value that did not parse: (field, message), reported by `build`.
    deferred: Option<(String, String)>,
}

impl fmt::Debug for PrometheusBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrometheusBuilder")
            .field("config", &self.config)
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl PrometheusBuilder {
    /// A builder with the defaults of [`PrometheusConfig`] and no URL.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder from a parsed config.
    #[must_use]
    pub fn from_config(config: PrometheusConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// A builder from the environment:
    ///
    /// | variable | sets |
    /// |---|---|
    /// | `SHADOW_PROMETHEUS_URL` | `url` |
    /// | `SHADOW_PROMETHEUS_TIMEOUT` | `timeout` (humantime, `"30s"`) |
    /// | `SHADOW_PROMETHEUS_BEARER_TOKEN` | bearer token, read from this variable |
    /// | `SHADOW_PROMETHEUS_BEARER_TOKEN_FILE` | bearer token, read from the file it names |
    /// | `SHADOW_PROMETHEUS_USERNAME` | basic-auth user |
    /// | `SHADOW_PROMETHEUS_PASSWORD` | basic-auth password, read from this variable |
    /// | `SHADOW_PROMETHEUS_PASSWORD_FILE` | basic-auth password, read from the file it names |
    ///
    /// A malformed value is reported by [`build`](Self::build).
    #[must_use]
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let mut builder = Self::new();
        if let Some(url) = var("SHADOW_PROMETHEUS_URL") {
            builder = builder.with_url(url);
        }
        if let Some(timeout) = var("SHADOW_PROMETHEUS_TIMEOUT") {
            match humantime_serde::re::humantime::parse_duration(&timeout) {
                Ok(d) => builder = builder.with_timeout(d),
                Err(e) => {
                    builder.deferred = Some((
                        "SHADOW_PROMETHEUS_TIMEOUT".into(),
                        format!("`{timeout}` is not a duration: {e}"),
                    ));
                }
            }
        }
        let mut auth = AuthOptions::default();
        if var("SHADOW_PROMETHEUS_BEARER_TOKEN").is_some() {
            auth.bearer_token_env = Some("SHADOW_PROMETHEUS_BEARER_TOKEN".into());
        }
        auth.bearer_token_file = var("SHADOW_PROMETHEUS_BEARER_TOKEN_FILE").map(PathBuf::from);
        auth.username = var("SHADOW_PROMETHEUS_USERNAME");
        if var("SHADOW_PROMETHEUS_PASSWORD").is_some() {
            auth.password_env = Some("SHADOW_PROMETHEUS_PASSWORD".into());
        }
        auth.password_file = var("SHADOW_PROMETHEUS_PASSWORD_FILE").map(PathBuf::from);
        builder.with_auth(auth)
    }

    /// Sets the server's base URL.
    #[must_use]
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.config.url = url.into();
        self
    }

    /// Sets the timeout of one HTTP request.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = timeout;
        self
    }

    /// Sets the retry options.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryOptions) -> Self {
        self.config.retry = retry;
        self
    }

    /// Sets where the credential comes from.
    #[must_use]
    pub fn with_auth(mut self, auth: AuthOptions) -> Self {
        self.config.auth = auth;
        self
    }

    /// Sets the PromQL template of `kind`, replacing its default.
    #[must_use]
    pub fn with_query(mut self, kind: ResourceKind, template: impl Into<String>) -> Self {
        self.config.queries.insert(kind, template.into());
        self
    }

    /// Sets the window of `rate()` (`{rate_window}`).
    #[must_use]
    pub fn with_rate_window(mut self, window: Duration) -> Self {
        self.config.rate_window = window;
        self
    }

    /// Sets the most grid points per request.
    #[must_use]
    pub fn with_max_points_per_request(mut self, points: usize) -> Self {
        self.config.max_points_per_request = points;
        self
    }

    /// Sets the label that names the service.
    #[must_use]
    pub fn with_service_label(mut self, label: impl Into<String>) -> Self {
        self.config.service_label = label.into();
        self
    }

    /// Sets the label that names the environment; empty leaves it out of `{selector}`.
    #[must_use]
    pub fn with_environment_label(mut self, label: impl Into<String>) -> Self {
        self.config.environment_label = label.into();
        self
    }

    /// Sets whether an empty answer is checked against `/api/v1/series` to report unknown services.
    #[must_use]
    pub fn with_check_service_exists(mut self, check: bool) -> Self {
        self.config.check_service_exists = check;
        self
    }

    /// Uses this HTTP client instead of building one from `timeout`, `retry` and `auth`.
    #[must_use]
    pub fn with_http_client(mut self, client: HttpClient) -> Self {
        self.client = Some(client);
        self
    }

    /// Names the config section in errors (default `prometheus`; the registry uses `metrics`).
    #[must_use]
    pub fn with_section(mut self, section: impl Into<String>) -> Self {
        self.section = Some(section.into());
        self
    }

    /// Validates the options, resolves the credential and builds the source.
    ///
    /// # Errors
    /// [`Error::Config`] naming the field: a URL that is not `http://` or `https://`, a template with an
    /// unknown placeholder, a label that is not a label name, a zero timeout, rate window or
    /// `max_points_per_request`, invalid retry options, or a credential that cannot be read.
    pub fn build(self) -> Result<PrometheusSource> {
        if let Some((field, message)) = self.deferred {
            return Err(Error::config(field, message));
        }
        let section = self.section.as_deref().unwrap_or(KIND);
        let cfg = self.config;
        let field = |name: &str| format!("{section}.{name}");
        let url = cfg.url.trim();
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"));
        let url = url.trim_end_matches('/').to_string();
        match rest {
            None if url.is_empty() => return Err(Error::config(field("url"), "is required")),
            None => {
                return Err(Error::config(field("url"), "must start with http:// or https://"));
            }
            Some(r) if r.is_empty() || r.starts_with('/') => {
                return Err(Error::config(field("url"), "has no host"));
            }
            Some(r) if r.contains(['?', '#']) => {
                return Err(Error::config(field("url"), "must not have a query or fragment"));
            }
            Some(_) => {}
        }
        if cfg.max_points_per_request == 0 {
            return Err(Error::config(
                field("max_points_per_request"),
                "must be at least 1",
            ));
        }
        if cfg.rate_window.is_zero() || cfg.rate_window.subsec_nanos() % 1_000_000 != 0 {
            return Err(Error::config(
                field("rate_window"),
                "must be a positive whole number of milliseconds",
            ));
        }
        validate_label(&field("service_label"), &cfg.service_label, false)?;
        validate_label(&field("environment_label"), &cfg.environment_label, true)?;
        let templates = compile(section, &cfg.queries)?;
        let client = match self.client {
            Some(client) => client,
            None => {
                if cfg.timeout.is_zero() {
                    return Err(Error::config(field("timeout"), "must be positive"));
                }
                cfg.retry.validate(&field("retry"))?;
                let credential = cfg.auth.resolve(&field("auth"))?;
                HttpClient::new(KIND, cfg.timeout, cfg.retry, credential)?
            }
        };
        Ok(PrometheusSource {
            client,
            base_url: url,
            templates,
            rate_window: cfg.rate_window,
            max_points: cfg.max_points_per_request,
            service_label: cfg.service_label,
            environment_label: cfg.environment_label,
            check_service_exists: cfg.check_service_exists,
        })
    }
}
