//! [`NginxConfig`]: the options of a `[traffic] kind = "nginx"` section. Compiled in every build.

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};

/// The options of the `nginx` traffic shifter and health probe.
///
/// ```toml
/// [traffic]
/// kind = "nginx"
/// bin = "/usr/sbin/nginx"                    # default: `nginx` on PATH
/// conf = "/etc/nginx/nginx.conf"             # the main config, for `nginx -t` and `-s reload`
/// prefix = "/var/lib/nginx"                  # optional `-p` prefix
/// pid_file = "/run/nginx.pid"                # optional: wait until pre-reload workers stop serving
/// include_dir = "/etc/nginx/conf.d"          # the main config includes `<include_dir>/*.conf` inside http {}
/// reload_timeout = "10s"                     # how long to wait for the new workers to serve the new weights
///
/// [traffic.services.checkout]
/// listen = "127.0.0.1:8080"                  # the server block Shadow renders for the service
/// live = ["127.0.0.1:9001", "127.0.0.1:9002"]
/// shadow = ["127.0.0.1:9101"]
/// health_path = "/healthz"                   # what the `nginx` health probe asks each backend
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct NginxConfig {
    /// The nginx binary. Default: `nginx` on `PATH`.
    #[serde(alias = "SHADOW_NGINX_BIN")]
    pub bin: Option<PathBuf>,
    /// The main config file, passed as `-c` to `nginx -t` and `nginx -s reload`.
    pub conf: Option<PathBuf>,
    /// The `-p` prefix of the running nginx, if it was started with one.
    #[serde(alias = "SHADOW_NGINX_PREFIX")]
    pub prefix: Option<PathBuf>,
    /// The pid file of the nginx master (the `pid` directive). When set, a weight change is confirmed only
    /// once every worker that ran before the reload has exited or started shutting down (and so stopped
    /// taking requests), not just when a new worker serves the new weights. Linux only (reads `/proc`).
    pub pid_file: Option<PathBuf>,
    /// The directory whose `*.conf` files the main config includes inside `http {}`. Shadow writes
    /// `shadow-<service>.conf` there.
    pub include_dir: Option<PathBuf>,
    /// How long to wait, after a reload, until nginx serves the new weights.
    #[serde(with = "humantime_serde")]
    pub reload_timeout: Duration,
    /// How long one health check or read-back request may take.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// The services, by id.
    pub services: BTreeMap<String, NginxServiceConfig>,
}

impl Default for NginxConfig {
    fn default() -> Self {
        Self {
            bin: None,
            conf: None,
            prefix: None,
            pid_file: None,
            include_dir: None,
            reload_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(2),
            services: BTreeMap::new(),
        }
    }
}

/// The upstream of one service: where nginx listens for it and the backends of each side.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct NginxServiceConfig {
    /// `IP:port` of the server block Shadow renders for the service. Only literal socket addresses are accepted.
    pub listen: String,
    /// `IP:port` of every live backend.
    pub live: Vec<String>,
    /// `IP:port` of every shadow backend.
    pub shadow: Vec<String>,
    /// The path the health probe requests on every backend. Default: `/healthz`.
    pub health_path: Option<String>,
    /// Idle keep-alive connections nginx keeps to the backends (`keepalive` in the upstream). Default: 32.
    pub keepalive: Option<u32>,
}

impl NginxServiceConfig {
    /// A service listening on `listen` with the given backends.
    #[must_use]
    pub fn new(
        listen: impl Into<String>,
        live: impl IntoIterator<Item = impl Into<String>>,
        shadow: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            listen: listen.into(),
            live: live.into_iter().map(Into::into).collect(),
            shadow: shadow.into_iter().map(Into::into).collect(),
            health_path: None,
            keepalive: None,
        }
    }

    /// Sets the health path.
    #[must_use]
    pub fn with_health_path(mut self, path: impl Into<String>) -> Self {
        self.health_path = Some(path.into());
        self
    }
}
