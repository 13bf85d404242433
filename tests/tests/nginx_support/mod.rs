//! Support for the nginx switchover scenarios: two backends that say which side answered, a paced
//! keep-alive load generator that retries an idempotent request once when the connection closes before any
//! response byte, a metric source fed by both, and recording wrappers around the shifter and provisioner.

#![allow(dead_code, unreachable_pub)]

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shadow_core::{
    Allocation, DynProvisioner, DynTrafficShifter, Environment, MetricQuery, MetricSource, Provisioner,
    ProvisionerCapability, ProvisioningRequest, Result, ServiceId, ShifterCapability, TimeSeries,
    TrafficShifter, TrafficSplit,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// Per side and per 250 ms bucket: requests, 5xx answers and client-side latencies (seconds).
#[derive(Debug, Default)]
pub struct SideStats {
    buckets: Mutex<BTreeMap<(Environment, i64), Bucket>>,
}

#[derive(Debug, Default, Clone)]
struct Bucket {
    requests: u64,
    errors: u64,
    latencies: Vec<f64>,
}

pub const BUCKET_MS: i64 = 250;

impl SideStats {
    fn bucket(at: DateTime<Utc>) -> i64 {
        at.timestamp_millis().div_euclid(BUCKET_MS)
    }

    fn served(&self, env: Environment, error: bool) {
        let mut b = self.buckets.lock().unwrap();
        let e = b.entry((env, Self::bucket(Utc::now()))).or_default();
        e.requests += 1;
        e.errors += u64::from(error);
    }

    fn latency(&self, env: Environment, at: DateTime<Utc>, secs: f64) {
        let mut b = self.buckets.lock().unwrap();
        b.entry((env, Self::bucket(at))).or_default().latencies.push(secs);
    }
}

/// A [`MetricSource`] over [`SideStats`]: `error_rate` (5xx per request, from the backends) and `latency_p99`
/// (seconds, measured by the load generator per side), on 250 ms buckets.
#[derive(Debug, Clone)]
pub struct StatsSource(pub Arc<SideStats>);

#[async_trait]
impl MetricSource for StatsSource {
    fn name(&self) -> &str {
        "test-stats"
    }

    async fn fetch(&self, q: &MetricQuery) -> Result<TimeSeries> {
        let step_ms = q.step.as_millis() as i64;
        assert_eq!(
            step_ms, BUCKET_MS,
            "the test source answers on its bucket grid only"
        );
        let buckets = self.0.buckets.lock().unwrap();
        let mut values = Vec::with_capacity(q.points());
        for i in 0..q.points() as i64 {
            let at = q.range.start + chrono::TimeDelta::milliseconds(i * step_ms);
            let v = match buckets.get(&(q.environment, SideStats::bucket(at))) {
                Some(b) if q.resource.as_str() == "error_rate" && b.requests > 0 => {
                    b.errors as f64 / b.requests as f64
                }
                Some(b) if q.resource.as_str() == "latency_p99" && !b.latencies.is_empty() => {
                    let mut l = b.latencies.clone();
                    l.sort_by(f64::total_cmp);
                    l[((l.len() as f64 * 0.99).ceil() as usize).clamp(1, l.len()) - 1]
                }
                _ => f64::NAN,
            };
            values.push(v);
        }
        TimeSeries::new(q.range.start, q.step, values)
    }
}

/// One backend: answers `GET /` with its side's name (body and `X-Side`), `GET /healthz` with 200 or 503.
#[derive(Debug, Clone)]
pub struct Backend {
    pub addr: SocketAddr,
    pub env: Environment,
    pub healthy: Arc<AtomicBool>,
}

impl Backend {
    pub async fn start(env: Environment, stats: Arc<SideStats>) -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let healthy = Arc::new(AtomicBool::new(true));
        let h = healthy.clone();
        tokio::spawn(async move {
            loop {
                let Ok((conn, _)) = listener.accept().await else {
                    continue;
                };
                let (h, stats) = (h.clone(), stats.clone());
                tokio::spawn(serve(conn, env, h, stats));
            }
        });
        Backend { addr, env, healthy }
    }
}

async fn serve(mut conn: TcpStream, env: Environment, healthy: Arc<AtomicBool>, stats: Arc<SideStats>) {
    let _ = conn.set_nodelay(true);
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        let end = loop {
            if let Some(p) = find(&buf, b"\r\n\r\n") {
                break p + 4;
            }
            match conn.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_string();
        buf.drain(..end);
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
        let close = head.to_ascii_lowercase().contains("connection: close");
        let side = env.to_string();
        let resp = if path == "/healthz" {
            if healthy.load(Ordering::SeqCst) {
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_string()
            } else {
                "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 9\r\n\r\nunhealthy".to_string()
            }
        } else {
            stats.served(env, false);
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nX-Side: {side}\r\n\r\n{side}",
                side.len()
            )
        };
        if conn.write_all(resp.as_bytes()).await.is_err() || close {
            return;
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One answered request: when it was sent (offset from the load's start) and which side answered.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    pub sent: Duration,
    pub shadow: bool,
}

/// What a load run saw.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub sent: u64,
    pub ok: u64,
    pub failed: u64,
    /// Connections that closed before any response byte (each retried once on a new connection).
    pub raw_closes: u64,
    pub elapsed: Duration,
    pub answers: Vec<Answer>,
    pub failures: Vec<String>,
}

impl LoadReport {
    pub fn rate(&self) -> f64 {
        self.sent as f64 / self.elapsed.as_secs_f64()
    }

    /// Shadow share of the requests sent in `[from, to)` and how many there were.
    pub fn shadow_share(&self, from: Duration, to: Duration) -> (f64, usize) {
        let inside: Vec<_> = self
            .answers
            .iter()
            .filter(|a| a.sent >= from && a.sent < to)
            .collect();
        let shadow = inside.iter().filter(|a| a.shadow).count();
        (shadow as f64 / inside.len().max(1) as f64, inside.len())
    }
}

/// A paced keep-alive load: `connections` workers share `rate` requests per second until `stop` is set,
/// `max_time` passes or `max_requests` were sent.
#[derive(Debug, Clone)]
pub struct Load {
    pub target: SocketAddr,
    pub rate: f64,
    pub connections: usize,
    pub max_time: Duration,
    pub max_requests: u64,
}

enum Outcome {
    Ok(bool, Duration),
    /// Closed (or reset) before any response byte.
    Closed,
    Failed(String),
}

impl Load {
    pub async fn run(
        self,
        start: Instant,
        start_utc: DateTime<Utc>,
        stop: Arc<AtomicBool>,
        stats: Arc<SideStats>,
    ) -> LoadReport {
        let sent = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        let period = Duration::from_secs_f64(self.connections as f64 / self.rate);
        for w in 0..self.connections {
            let (load, stop, sent, stats) = (self.clone(), stop.clone(), sent.clone(), stats.clone());
            tasks.push(tokio::spawn(async move {
                let mut rep = LoadReport::default();
                let mut tick = tokio::time::interval_at(
                    tokio::time::Instant::now() + period.mul_f64(w as f64 / load.connections as f64),
                    period,
                );
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let mut conn: Option<Conn> = None;
                while !stop.load(Ordering::SeqCst) && start.elapsed() < load.max_time {
                    tick.tick().await;
                    if sent.fetch_add(1, Ordering::SeqCst) >= load.max_requests {
                        break;
                    }
                    rep.sent += 1;
                    let t = start.elapsed();
                    let mut outcome = request(&mut conn, load.target).await;
                    if matches!(outcome, Outcome::Closed) {
                        // The connection closed before any response byte: retry once on a new one.
                        rep.raw_closes += 1;
                        conn = None;
                        outcome = request(&mut conn, load.target).await;
                    }
                    match outcome {
                        Outcome::Ok(shadow, latency) => {
                            rep.ok += 1;
                            rep.answers.push(Answer { sent: t, shadow });
                            let env = if shadow {
                                Environment::Shadow
                            } else {
                                Environment::Live
                            };
                            let at = start_utc + chrono::TimeDelta::from_std(t).unwrap();
                            stats.latency(env, at, latency.as_secs_f64());
                        }
                        Outcome::Closed => {
                            rep.raw_closes += 1;
                            rep.failed += 1;
                            rep.failures.push(format!("{t:?}: closed again after the retry"));
                            conn = None;
                        }
                        Outcome::Failed(why) => {
                            rep.failed += 1;
                            rep.failures.push(format!("{t:?}: {why}"));
                            conn = None;
                        }
                    }
                }
                rep
            }));
        }
        let mut all = LoadReport::default();
        for t in tasks {
            let r = t.await.unwrap();
            all.sent += r.sent;
            all.ok += r.ok;
            all.failed += r.failed;
            all.raw_closes += r.raw_closes;
            all.answers.extend(r.answers);
            all.failures.extend(r.failures);
        }
        all.elapsed = start.elapsed();
        all.answers.sort_by_key(|a| a.sent);
        all
    }
}

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

async fn request(conn: &mut Option<Conn>, target: SocketAddr) -> Outcome {
    let started = Instant::now();
    if conn.is_none() {
        match TcpStream::connect(target).await {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                *conn = Some(Conn {
                    stream: s,
                    buf: Vec::with_capacity(1024),
                });
            }
            Err(e) => return Outcome::Failed(format!("connect: {e}")),
        }
    }
    let c = conn.as_mut().unwrap();
    if c.stream
        .write_all(b"GET / HTTP/1.1\r\nHost: shadow\r\n\r\n")
        .await
        .is_err()
    {
        return Outcome::Closed;
    }
    let mut chunk = [0u8; 2048];
    let timeout = Duration::from_secs(5);
    loop {
        if let Some(end) = find(&c.buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&c.buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            if c.buf.len() >= end + 4 + len {
                let status_ok = head.starts_with("http/1.1 200");
                let body = String::from_utf8_lossy(&c.buf[end + 4..end + 4 + len]).to_string();
                let keep = !head.contains("connection: close");
                c.buf.drain(..end + 4 + len);
                let latency = started.elapsed();
                if !keep {
                    *conn = None;
                }
                if !status_ok {
                    return Outcome::Failed(format!("status: {}", head.lines().next().unwrap_or("")));
                }
                return match body.as_str() {
                    "live" => Outcome::Ok(false, latency),
                    "shadow" => Outcome::Ok(true, latency),
                    other => Outcome::Failed(format!("unexpected body {other:?}")),
                };
            }
        }
        let had_bytes = !c.buf.is_empty();
        match tokio::time::timeout(timeout, c.stream.read(&mut chunk)).await {
            Err(_) => return Outcome::Failed("timeout".into()),
            Ok(Ok(0)) | Ok(Err(_)) if !had_bytes => return Outcome::Closed,
            Ok(Ok(0)) => return Outcome::Failed("closed mid-response".into()),
            Ok(Err(e)) => return Outcome::Failed(format!("read mid-response: {e}")),
            Ok(Ok(n)) => c.buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// One `set_weights` call as the recorder saw it: requested split, offsets before and after, result.
#[derive(Debug, Clone)]
pub struct ShiftCall {
    pub target: TrafficSplit,
    pub before: Duration,
    pub after: Duration,
    pub ok: bool,
}

/// Records every `set_weights` call (with times relative to `start`) and appends to a shared order log.
#[derive(Debug, Clone)]
pub struct RecordingShifter {
    pub inner: Arc<DynTrafficShifter>,
    pub start: Instant,
    pub calls: Arc<Mutex<Vec<ShiftCall>>>,
    pub order: Arc<Mutex<Vec<String>>>,
}

#[async_trait]
impl TrafficShifter for RecordingShifter {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn capability(&self) -> ShifterCapability {
        self.inner.capability()
    }

    async fn weights(&self, service: &ServiceId) -> Result<TrafficSplit> {
        self.inner.weights(service).await
    }

    async fn set_weights(&self, service: &ServiceId, split: TrafficSplit) -> Result<TrafficSplit> {
        let before = self.start.elapsed();
        self.order
            .lock()
            .unwrap()
            .push(format!("shadow {}", split.shadow));
        let res = self.inner.set_weights(service, split).await;
        self.calls.lock().unwrap().push(ShiftCall {
            target: split,
            before,
            after: self.start.elapsed(),
            ok: res.is_ok(),
        });
        res
    }
}

/// Appends every `apply` to the shared order log.
#[derive(Debug, Clone)]
pub struct RecordingProvisioner {
    pub inner: Arc<DynProvisioner>,
    pub order: Arc<Mutex<Vec<String>>>,
}

#[async_trait]
impl Provisioner for RecordingProvisioner {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn capability(&self) -> ProvisionerCapability {
        self.inner.capability()
    }

    async fn describe(&self, service: &ServiceId, environment: Environment) -> Result<Allocation> {
        self.inner.describe(service, environment).await
    }

    async fn apply(&self, request: &ProvisioningRequest) -> Result<Allocation> {
        self.order
            .lock()
            .unwrap()
            .push(format!("apply {} {}", request.environment, request.target));
        self.inner.apply(request).await
    }
}
