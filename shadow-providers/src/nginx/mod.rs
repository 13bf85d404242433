//! The `nginx` traffic shifter and health probe: weighted upstreams in a file that nginx includes, applied
//! with `nginx -t` and a reload, and read back from the running workers.
//!
//! [`config`] (the [`NginxConfig`] options) and the pure [`render`] module are compiled in every build; the
//! shifter, the probe, [`NginxBuilder`] and [`register_nginx`] need the cargo feature `nginx`.
//!
//! # Setup
//! The main nginx config must include the directory Shadow writes to, inside `http {}`:
//!
//! ```text
//! http {
//!     include /etc/nginx/conf.d/*.conf;
//! }
//! ```
//!
//! For each configured service Shadow writes `shadow-<service>.conf` there: an `upstream shadow_<service>`
//! with the live and shadow backends and a `server` that listens on the service's `listen` address, proxies
//! to the upstream over keep-alive connections, and answers `GET /.shadow/split` with the split it was
//! rendered with. That location is how [`NginxShifter`] reads back what the running workers apply.
//!
//! # Weights
//! The split is kept to the basis point: each live server gets `live_bp * n_shadow` and each shadow server
//! `shadow_bp * n_live`, reduced by their greatest common divisor. nginx refuses `weight=0`, so a side at 0 %
//! is rendered `down`: it receives no new requests, and requests in flight finish.
//!
//! # Reloads and keep-alive
//! A reload starts new workers and lets the old ones finish their requests, so no request nginx received
//! fails. The old workers do close idle keep-alive client connections; a client that writes a request on one
//! at that instant sees the connection close before any response byte and must retry (standard HTTP clients
//! retry idempotent requests once in that case).
//!
//! ```no_run
//! # async fn demo() -> shadow_core::Result<()> {
//! use shadow_core::{ServiceId, TrafficShifter, TrafficSplit, TrafficWeight};
//! use shadow_providers::nginx::{NginxBuilder, NginxServiceConfig};
//!
//! let checkout = ServiceId::new("checkout")?;
//! let shifter = NginxBuilder::from_env()
//!     .with_service(
//!         checkout.clone(),
//!         NginxServiceConfig::new("127.0.0.1:8080", ["127.0.0.1:9001"], ["127.0.0.1:9002"]),
//!     )
//!     .build_shifter()?;
//! let applied = shifter
//!     .set_weights(&checkout, TrafficSplit::to_shadow(TrafficWeight::from_percent(5.0)?))
//!     .await?;
//! assert_eq!(applied.shadow.percent(), 5.0);
//! # Ok(()) }
//! ```

pub mod config;
pub mod render;

#[cfg(feature = "nginx")]
mod http;
#[cfg(feature = "nginx")]
mod probe;
#[cfg(feature = "nginx")]
mod shifter;

pub use config::{NginxConfig, NginxServiceConfig};
#[cfg(feature = "nginx")]
pub use probe::NginxHealthProbe;
#[cfg(feature = "nginx")]
pub use shifter::NginxShifter;

/// The provider kind that selects nginx in config, and the name it reports.
pub const KIND: &str = "nginx";

#[cfg(feature = "nginx")]
mod builder {
    use std::{collections::BTreeMap, path::PathBuf, time::Duration};

    use shadow_core::{Error, Result, ServiceId};

    use super::{NginxConfig, NginxHealthProbe, NginxServiceConfig, NginxShifter, render::Upstream};

    /// Builds an [`NginxShifter`] or [`NginxHealthProbe`]; all validation happens in `build_*`.
    #[derive(Debug, Clone, Default)]
    #[must_use]
    pub struct NginxBuilder {
        config: NginxConfig,
        section: Option<String>,
    }

    impl NginxBuilder {
        /// An empty builder.
        pub fn new() -> Self {
            Self::default()
        }

        /// Reads `SHADOW_NGINX_BIN`, `SHADOW_NGINX_PREFIX` (which holds `nginx.pid`) and
        /// `SHADOW_NGINX_CONF_DIR` (which holds `nginx.conf` and the included `conf.d/`), as
        /// `scripts/services.sh` exports them.
        pub fn from_env() -> Self {
            let mut config = NginxConfig::default();
            let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
            config.bin = var("SHADOW_NGINX_BIN");
            config.prefix = var("SHADOW_NGINX_PREFIX");
            config.pid_file = config.prefix.as_ref().map(|p| p.join("nginx.pid"));
            if let Some(dir) = var("SHADOW_NGINX_CONF_DIR") {
                config.conf = Some(dir.join("nginx.conf"));
                config.include_dir = Some(dir.join("conf.d"));
            }
            Self {
                config,
                section: None,
            }
        }

        /// Starts from a parsed config section.
        pub fn from_config(config: NginxConfig) -> Self {
            Self {
                config,
                section: None,
            }
        }

        /// Names the config section in errors. Default: `traffic`.
        pub fn with_section(mut self, section: impl Into<String>) -> Self {
            self.section = Some(section.into());
            self
        }

        /// Adds or replaces one service.
        pub fn with_service(mut self, service: ServiceId, cfg: NginxServiceConfig) -> Self {
            self.config.services.insert(service.to_string(), cfg);
            self
        }

        /// Sets how long to wait until reloaded workers serve the new weights.
        pub fn with_reload_timeout(mut self, timeout: Duration) -> Self {
            self.config.reload_timeout = timeout;
            self
        }

        fn validate(&self) -> Result<(PathBuf, BTreeMap<ServiceId, Upstream>)> {
            let section = self.section.as_deref().unwrap_or("traffic");
            let include_dir = self
                .config
                .include_dir
                .clone()
                .ok_or_else(|| Error::config(format!("{section}.include_dir"), "is required"))?;
            if !include_dir.is_dir() {
                return Err(Error::config(
                    format!("{section}.include_dir"),
                    format!("{} is not a directory", include_dir.display()),
                ));
            }
            if self.config.services.is_empty() {
                return Err(Error::config(
                    format!("{section}.services"),
                    "needs at least one service",
                ));
            }
            for (name, d) in [
                ("reload_timeout", self.config.reload_timeout),
                ("request_timeout", self.config.request_timeout),
            ] {
                if d.is_zero() {
                    return Err(Error::config(format!("{section}.{name}"), "must be positive"));
                }
            }
            let mut upstreams = BTreeMap::new();
            let mut listens = BTreeMap::new();
            for (name, cfg) in &self.config.services {
                let service = ServiceId::new(name.as_str())
                    .map_err(|e| Error::config(format!("{section}.services.{name}"), e.to_string()))?;
                let up = Upstream::new(section, service.clone(), cfg)?;
                if let Some(other) = listens.insert(up.listen, name.clone()) {
                    return Err(Error::config(
                        format!("{section}.services.{name}.listen"),
                        format!("{} is also the listen address of `{other}`", up.listen),
                    ));
                }
                upstreams.insert(service, up);
            }
            Ok((include_dir, upstreams))
        }

        /// Validates the config and builds the shifter.
        ///
        /// # Errors
        /// [`Error::Config`] naming the field: no include directory, no service, a bad address (see
        /// [`Upstream::new`]), two services on one listen address, a zero timeout.
        pub fn build_shifter(self) -> Result<NginxShifter> {
            let (include_dir, upstreams) = self.validate()?;
            Ok(NginxShifter::new(self.config, include_dir, upstreams))
        }

        /// Validates the config and builds the health probe of the same services.
        ///
        /// # Errors
        /// As [`NginxBuilder::build_shifter`].
        pub fn build_probe(self) -> Result<NginxHealthProbe> {
            let (_, upstreams) = self.validate()?;
            Ok(NginxHealthProbe::new(upstreams, self.config.request_timeout))
        }
    }
}

#[cfg(feature = "nginx")]
pub use builder::NginxBuilder;

/// Registers the `nginx` traffic shifter (section `[traffic]`) and health probe (section `[health]`, same
/// options: it checks the backends listed there).
#[cfg(feature = "nginx")]
pub fn register_nginx(registry: &mut crate::ProviderRegistry) {
    use std::sync::Arc;

    registry.register_traffic_shifter(
        KIND,
        Arc::new(|config| {
            let section = crate::ProviderRole::TrafficShifter.section();
            let options: NginxConfig = config.parse_options(section)?;
            Ok(Arc::new(
                NginxBuilder::from_config(options)
                    .with_section(section)
                    .build_shifter()?,
            ))
        }),
    );
    registry.register_health_probe(
        KIND,
        Arc::new(|config| {
            let section = crate::ProviderRole::HealthProbe.section();
            let options: NginxConfig = config.parse_options(section)?;
            Ok(Arc::new(
                NginxBuilder::from_config(options)
                    .with_section(section)
                    .build_probe()?,
            ))
        }),
    );
}

#[cfg(all(test, feature = "nginx"))]
mod tests {
    use super::*;

    #[test]
    fn build_names_the_field() {
        let err = NginxBuilder::new().build_shifter().unwrap_err().to_string();
        assert_eq!(err, "invalid config at `traffic.include_dir`: is required");
        let dir = std::env::temp_dir();
        let mut cfg = NginxConfig {
            include_dir: Some(dir.clone()),
            ..NginxConfig::default()
        };
        let err = NginxBuilder::from_config(cfg.clone())
            .build_shifter()
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("needs at least one service"), "{err}");
        cfg.services.insert(
            "a".into(),
            NginxServiceConfig::new("127.0.0.1:8080", ["127.0.0.1:1"], ["127.0.0.1:2"]),
        );
        cfg.services.insert(
            "b".into(),
            NginxServiceConfig::new("127.0.0.1:8080", ["127.0.0.1:3"], ["127.0.0.1:4"]),
        );
        let err = NginxBuilder::from_config(cfg)
            .with_section("health")
            .build_probe()
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("invalid config at `health.services.b.listen`"),
            "{err}"
        );
    }

    #[test]
    fn parses_from_a_config_section() {
        let cfg = shadow_core::config::ShadowConfig::from_toml_str(
            r#"
            [traffic]
            kind = "nginx"
            include_dir = "/tmp"
            reload_timeout = "3s"
            [traffic.services.checkout]
            listen = "127.0.0.1:8080"
            live = ["127.0.0.1:9001"]
            shadow = ["127.0.0.1:9002; evil"]
            "#,
        )
        .unwrap();
        let registry = crate::ProviderRegistry::with_builtin();
        let err = registry
            .build_traffic_shifter(&cfg.traffic)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "invalid config at `traffic.services.checkout.shadow[0]`: `127.0.0.1:9002; evil` is not a literal \
             IP:port (such as 127.0.0.1:8080)"
        );
    }
}
