//! [`Runtime`]: the long-lived controller of `shadow run`: the loop, the HTTP endpoint, signals and reloads.

use std::{
    future::Future,
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex, RwLock},
};

use shadow_core::{Clock, Error, Result, config::ShadowConfig};
use shadow_providers::ProviderRegistry;
use tokio::{sync::watch, task::JoinHandle};

use super::{Controller, Decision, Metrics, Stage, lock, server};

/// The controller as a service: cycles on `controller.interval`, serves `/metrics` and `/healthz` on
/// `controller.listen`, reloads its config on SIGHUP and stops on shutdown.
///
/// # Guarantees
/// - A reload is all-or-nothing: the new text is parsed, validated and its providers and model are built
///   before anything changes. On any error the old config stays in effect, the error is logged and counted
///   (`shadow_reloads_total{result="error"}`, `shadow_errors_total{stage="reload"}`), and returned.
/// - A reload takes effect at the next cycle; the cycle in progress finishes with the old config. Stored models,
///   observations and last good plans carry over (see [`Controller::inherit`]), and so do the metrics.
/// - `controller.listen` is bound once, at [`start`](Self::start); a reload that changes it logs a warning and
///   keeps serving on the old address.
/// - Shutdown lets the current cycle finish, then stops the HTTP server.
#[derive(Debug)]
pub struct Runtime {
    controller: RwLock<Arc<Controller>>,
    registry: ProviderRegistry,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    config_path: Option<PathBuf>,
    local_addr: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    server: Mutex<Option<JoinHandle<()>>>,
}

impl Runtime {
    /// Builds the controller from `config` and, when `controller.listen` is set, binds and starts serving.
    ///
    /// # Errors
    /// As [`Controller::from_config`], and [`Error::Config`] at `controller.listen` when the address cannot be
    /// bound.
    pub async fn start(
        config: ShadowConfig,
        registry: ProviderRegistry,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let metrics = Arc::new(Metrics::new());
        let listen = config.controller.listen;
        let controller =
            Controller::from_config(config, &registry, clock.clone())?.with_metrics(metrics.clone());
        let (stop, stopped) = watch::channel(false);
        let (mut local_addr, mut server) = (None, None);
        if let Some(addr) = listen {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| Error::config("controller.listen", format!("cannot bind {addr}: {e}")))?;
            let bound = listener
                .local_addr()
                .map_err(|e| Error::config("controller.listen", e.to_string()))?;
            tracing::info!(http.addr = %bound, "serving /metrics and /healthz");
            local_addr = Some(bound);
            server = Some(tokio::spawn(server::serve(listener, metrics.clone(), stopped)));
        }
        Ok(Self {
            controller: RwLock::new(Arc::new(controller)),
            registry,
            clock,
            metrics,
            config_path: None,
            local_addr,
            stop,
            server: Mutex::new(server),
        })
    }

    /// Sets the file that [`reload_from_file`](Self::reload_from_file) (and SIGHUP) reads.
    #[must_use]
    pub fn with_config_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.config_path = Some(path.into());
        self
    }

    /// The address the HTTP endpoint is bound to (with the real port when the config said port 0).
    #[must_use]
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    /// The controller in effect.
    #[must_use]
    pub fn controller(&self) -> Arc<Controller> {
        self.controller
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The metrics registry, shared by every controller this runtime builds.
    #[must_use]
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Runs one cycle of the controller in effect.
    pub async fn cycle(&self) -> Vec<Decision> {
        self.controller().cycle().await
    }

    /// Replaces the config with `text` if it parses, validates and builds; otherwise keeps the old one.
    ///
    /// # Errors
    /// Whatever [`ShadowConfig::from_toml_str`] or [`Controller::from_config`] returned; nothing changed then.
    pub fn reload(&self, text: &str) -> Result<()> {
        let old = self.controller();
        let built = ShadowConfig::from_toml_str(text)
            .and_then(|config| Controller::from_config(config, &self.registry, self.clock.clone()));
        let new = match built {
            Ok(c) => c
                .with_metrics(self.metrics.clone())
                .with_retry(old.retry)
                .with_concurrency(old.concurrency),
            Err(e) => {
                tracing::error!(error.kind = e.kind(), error = %e, "config reload failed; keeping the old config");
                self.metrics.record_reload(false);
                self.metrics.record_error("", Stage::Reload, e.kind());
                return Err(e);
            }
        };
        if new.config.controller.listen != old.config.controller.listen {
            tracing::warn!(
                http.addr = ?self.local_addr,
                "controller.listen changed; it takes effect after a restart"
            );
        }
        new.inherit(&old);
        let services = new.config.services.len();
        *self
            .controller
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(new);
        self.metrics.record_reload(true);
        tracing::info!(config.services = services, "config reloaded");
        Ok(())
    }

    /// Reads the config file set by [`with_config_path`](Self::with_config_path) and [`reload`](Self::reload)s it.
    ///
    /// # Errors
    /// [`Error::Config`] when no path is set or the file cannot be read, and the errors of `reload`. A read
    /// failure is counted like any failed reload.
    pub fn reload_from_file(&self) -> Result<()> {
        let Some(path) = &self.config_path else {
            return Err(Error::config("<reload>", "no config file to reload"));
        };
        match std::fs::read_to_string(path) {
            Ok(text) => self.reload(&text),
            Err(e) => {
                let e = Error::config(path.display().to_string(), format!("cannot read: {e}"));
                tracing::error!(error = %e, "config reload failed; keeping the old config");
                self.metrics.record_reload(false);
                self.metrics.record_error("", Stage::Reload, e.kind());
                Err(e)
            }
        }
    }

    /// Runs cycles every `controller.interval` until `shutdown` completes, calling `on_cycle` after each, and
    /// reloading the config file on SIGHUP (on Unix). Stops the HTTP server before returning.
    ///
    /// A cycle that has started always finishes: `shutdown` and SIGHUP are handled between cycles.
    pub async fn run<F>(&self, shutdown: F, mut on_cycle: impl FnMut(&[Decision]))
    where
        F: Future<Output = ()>,
    {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut hangup = Hangup::new();
        'cycles: loop {
            let controller = self.controller();
            let decisions = controller.cycle().await;
            on_cycle(&decisions);
            let mut sleep = std::pin::pin!(self.clock.sleep(controller.config.controller.interval));
            loop {
                tokio::select! {
                    () = &mut shutdown => break 'cycles,
                    () = &mut sleep => break,
                    () = hangup.recv() => {
                        tracing::info!("SIGHUP: reloading the config");
                        let _ = self.reload_from_file();
                    }
                }
            }
        }
        tracing::info!("shutting down");
        self.stop().await;
    }

    /// Stops the HTTP server and waits for it. Idempotent.
    pub async fn stop(&self) {
        let _ = self.stop.send(true);
        let handle = lock(&self.server).take();
        if let Some(handle) = handle {
            let _ = handle.await;
        }
    }
}

/// SIGHUP as a stream; pending forever where there is no SIGHUP.
#[derive(Debug)]
struct Hangup {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Hangup {
    fn new() -> Self {
        #[cfg(unix)]
        {
            let signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
                .inspect_err(|e| tracing::warn!(error = %e, "cannot listen for SIGHUP; reload is off"))
                .ok();
            Self { signal }
        }
        #[cfg(not(unix))]
        Self {}
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some(s) = &mut self.signal {
            if s.recv().await.is_some() {
                return;
            }
            self.signal = None;
        }
        std::future::pending::<()>().await;
    }
}
