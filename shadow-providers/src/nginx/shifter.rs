//! [`NginxShifter`]: the [`TrafficShifter`] that rewrites an nginx upstream and reloads nginx.

use std::{
    collections::BTreeMap,
    fmt,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use async_trait::async_trait;
use shadow_core::{Error, Result, ServiceId, ShifterCapability, TrafficShifter, TrafficSplit};
use tokio::{process::Command, sync::Mutex};
use tracing::{debug, info, warn};

use super::{
    KIND,
    config::NginxConfig,
    http,
    render::{STATUS_PATH, Upstream, parse_status},
};

/// Moves traffic by rewriting one nginx upstream per service and reloading nginx.
///
/// # Contract
/// `set_weights` renders `shadow-<service>.conf` (an `upstream` with the live and shadow servers, weighted,
/// and a `server` block that proxies to it), writes it atomically (temporary file, fsync, rename), runs
/// `nginx -t`, reloads nginx, and then reads the split back from the running workers (`GET /.shadow/split`
/// on the service's `listen` address) until they serve the new generation and (with a pid file) every
/// worker from before the reload has exited or started shutting down. A side with weight 0 is marked
/// `down`, so nginx sends it no new requests and lets requests in flight finish.
///
/// # Errors
/// - [`Error::Config`] when `nginx -t` rejects the rendered file; the previous file is restored, so nothing
///   is half-applied.
/// - [`Error::Unavailable`] when nginx cannot be run or reloaded (retryable), [`Error::Timeout`] when the
///   workers do not serve the new weights within `reload_timeout` (retryable; re-applying is idempotent).
/// - [`Error::NotFound`] for a service that is not configured, or (from `weights`) one whose file was never
///   written.
///
/// # Caveats
/// Each reload makes the old workers close their idle keep-alive client connections. A client that sends a
/// request on such a connection at that instant sees the connection close before any response byte; HTTP
/// clients retry such idempotent requests once. Requests that nginx has received are not lost.
pub struct NginxShifter {
    bin: PathBuf,
    conf: Option<PathBuf>,
    prefix: Option<PathBuf>,
    pid_file: Option<PathBuf>,
    include_dir: PathBuf,
    reload_timeout: Duration,
    request_timeout: Duration,
    upstreams: BTreeMap<ServiceId, Upstream>,
    generation: AtomicU64,
    apply: Mutex<()>,
}

impl fmt::Debug for NginxShifter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NginxShifter")
            .field("bin", &self.bin)
            .field("conf", &self.conf)
            .field("include_dir", &self.include_dir)
            .field("services", &self.upstreams.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl NginxShifter {
    /// Builds the shifter from validated parts; see [`super::NginxBuilder`].
    pub(crate) fn new(
        cfg: NginxConfig,
        include_dir: PathBuf,
        upstreams: BTreeMap<ServiceId, Upstream>,
    ) -> Self {
        // Generations only need to differ between the reloads of one nginx: start from the wall clock so that
        // a restarted controller never reuses one.
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(1);
        Self {
            bin: cfg.bin.unwrap_or_else(|| PathBuf::from("nginx")),
            conf: cfg.conf,
            prefix: cfg.prefix,
            pid_file: cfg.pid_file,
            include_dir,
            reload_timeout: cfg.reload_timeout,
            request_timeout: cfg.request_timeout,
            upstreams,
            generation: AtomicU64::new(start),
            apply: Mutex::new(()),
        }
    }

    /// The validated upstream of `service`.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the service is not configured.
    pub fn upstream(&self, service: &ServiceId) -> Result<&Upstream> {
        self.upstreams.get(service).ok_or_else(|| Error::NotFound {
            provider: KIND,
            what: format!(
                "service `{service}` (configured: {})",
                self.upstreams
                    .keys()
                    .map(ServiceId::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
    }

    /// The file Shadow writes for `service`.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the service is not configured.
    pub fn file_path(&self, service: &ServiceId) -> Result<PathBuf> {
        Ok(self.include_dir.join(self.upstream(service)?.file_name()))
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        if let Some(p) = &self.prefix {
            cmd.arg("-p").arg(p);
        }
        if let Some(c) = &self.conf {
            cmd.arg("-c").arg(c);
        }
        cmd.args(args).kill_on_drop(true);
        cmd
    }

    async fn run_nginx(&self, args: &[&str]) -> Result<std::result::Result<(), String>> {
        let out = self
            .command(args)
            .output()
            .await
            .map_err(|e| Error::Unavailable {
                provider: KIND,
                message: format!("cannot run {}: {e}", self.bin.display()),
            })?;
        if out.status.success() {
            Ok(Ok(()))
        } else {
            Ok(Err(String::from_utf8_lossy(&out.stderr)
                .trim()
                .replace('\n', "; ")))
        }
    }

    /// Reads the split the running workers serve, and its generation.
    async fn read_back(&self, up: &Upstream) -> Result<(TrafficSplit, u64)> {
        let (status, body) = http::get(up.listen, STATUS_PATH, self.request_timeout).await?;
        if status != 200 {
            return Err(Error::Unavailable {
                provider: KIND,
                message: format!("GET {}{STATUS_PATH} answered {status}", up.listen),
            });
        }
        parse_status(&up.service, &body)
    }
}

impl NginxShifter {
    /// The pids of the master's workers that are serving now (empty without a pid file or off Linux).
    fn workers(&self) -> Vec<u32> {
        let Some(master) = self
            .pid_file
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|t| t.trim().parse::<u32>().ok())
        else {
            return Vec::new();
        };
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| parent_of(*pid) == Some(master) && worker_serving(*pid))
            .collect()
    }
}

/// The parent pid from `/proc/<pid>/stat` (the field after the parenthesised command name).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()
}

/// Whether `pid` is an nginx worker that still takes requests: it exists and its title is not yet
/// "worker process is shutting down" (nginx sets that title when it closes its listeners and idle
/// connections on a graceful stop).
fn worker_serving(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| {
            let title = String::from_utf8_lossy(&c);
            title.contains("worker process") && !title.contains("shutting down")
        })
        .unwrap_or(false)
}

/// Writes `text` to `path` atomically: a temporary file in the same directory (not matching `*.conf`), fsync,
/// rename, fsync of the directory.
fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("shadow");
    let tmp = dir.join(format!(".{name}.tmp"));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Unavailable {
        provider: KIND,
        message: format!("{}: {e}", path.display()),
    }
}

#[async_trait]
impl TrafficShifter for NginxShifter {
    fn name(&self) -> &str {
        KIND
    }

    fn capability(&self) -> ShifterCapability {
        ShifterCapability {
            granularity_bp: 1,
            drains_in_flight: true,
        }
    }

    #[tracing::instrument(skip(self), fields(provider = KIND, service = %service))]
    async fn weights(&self, service: &ServiceId) -> Result<TrafficSplit> {
        let up = self.upstream(service)?;
        let path = self.include_dir.join(up.file_name());
        if !path.exists() {
            return Err(Error::NotFound {
                provider: KIND,
                what: format!("no upstream rendered for `{service}` yet ({})", path.display()),
            });
        }
        Ok(self.read_back(up).await?.0)
    }

    #[tracing::instrument(skip(self), fields(provider = KIND, service = %service, target = %split))]
    async fn set_weights(&self, service: &ServiceId, split: TrafficSplit) -> Result<TrafficSplit> {
        let up = self.upstream(service)?;
        let _guard = self.apply.lock().await;
        let path = self.include_dir.join(up.file_name());
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let text = up.render(split, generation);
        let previous = match std::fs::read_to_string(&path) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_error(&path, e)),
        };
        write_atomic(&path, &text).map_err(|e| io_error(&path, e))?;
        let restore = |why: String| {
            let back = match &previous {
                Some(t) => write_atomic(&path, t),
                None => std::fs::remove_file(&path),
            };
            if let Err(e) = back {
                warn!(path = %path.display(), error = %e, "could not restore the previous upstream file");
            }
            why
        };
        match self.run_nginx(&["-t", "-q"]).await {
            Ok(Ok(())) => {}
            Ok(Err(stderr)) => {
                return Err(Error::Config {
                    field: format!("traffic.services.{service}"),
                    message: restore(format!("nginx -t rejected the rendered upstream: {stderr}")),
                });
            }
            Err(e) => {
                restore(String::new());
                return Err(e);
            }
        }
        let started = Instant::now();
        let old_workers = self.workers();
        match self.run_nginx(&["-s", "reload"]).await {
            Ok(Ok(())) => {}
            Ok(Err(stderr)) => {
                return Err(Error::Unavailable {
                    provider: KIND,
                    message: restore(format!("nginx -s reload failed: {stderr}")),
                });
            }
            Err(e) => {
                restore(String::new());
                return Err(e);
            }
        }
        // The read-back goes over a new connection each time, so it reaches a worker of the newest generation
        // as soon as one accepts.
        let mut last = None;
        while started.elapsed() < self.reload_timeout {
            match self.read_back(up).await {
                Ok((got, g)) if g == generation => {
                    let serving: Vec<u32> = old_workers
                        .iter()
                        .copied()
                        .filter(|p| worker_serving(*p))
                        .collect();
                    if serving.is_empty() {
                        info!(service = %service, split = %got, generation, took = ?started.elapsed(), "nginx serves new weights");
                        return Ok(got);
                    }
                    last = Some(format!("old workers {serving:?} still serving"));
                }
                Ok((_, g)) => last = Some(format!("still generation {g}")),
                Err(e) => last = Some(e.to_string()),
            }
            debug!(service = %service, generation, "waiting for the reloaded workers");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        warn!(service = %service, generation, last = ?last, "nginx did not serve the new weights in time");
        Err(Error::Timeout {
            provider: KIND,
            after: self.reload_timeout,
        })
    }
}
