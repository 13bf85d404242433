//! The controller end to end against a real Prometheus holding a real trace.
//!
//! The test backfills one trace into a Prometheus of its own (so it can stop it without disturbing the other
//! tests), runs the controller in dry-run mode against it, scrapes the controller's `/metrics`, and checks that
//! the exported plan equals what the same engine computes from the same data held in memory. It then stops
//! Prometheus and checks the fallback: the cycle falls back to the reactive policy and the last good plan,
//! never scales in, and the failure shows on `/metrics`.
//!
//! The trace is a NAB AWS CloudWatch CPU series when `../shared/data` is present, otherwise a generated one.
//! It needs the `prometheus` and `promtool` binaries that `./scripts/test.sh` installs, and skips with a
//! message when `SHADOW_PROMETHEUS_URL` is unset (the harness did not run).

mod controller_support;

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Arc,
    time::Duration,
};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use controller_support::{get, parse, value};
use shadow::controller::{Action, Controller, Runtime};
use shadow_core::{
    Environment, ManualClock, ResourceKind, ServiceId, TimeSeries, config::ShadowConfig,
    memory::InMemoryMetricSource,
};
use shadow_providers::ProviderRegistry;
use shadow_tests::prometheus_fixtures::{Family, Series, data_dir, lookback, nab, write_openmetrics};

const STEP: i64 = 300;

/// A Prometheus process that is killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn have(bin: &str) -> bool {
    Command::new(bin)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// The trace: `(name, samples in unix seconds)`.
fn trace() -> (String, Vec<(i64, f64)>) {
    if let Ok(Some(family)) = nab(&data_dir()) {
        let pick = family
            .series
            .iter()
            .find(|s| s.label("series") == Some("ec2_cpu_utilization_5f5533"))
            .or_else(|| family.series.iter().max_by_key(|s| s.samples.len()));
        if let Some(s) = pick {
            return (
                format!("nab/{}", s.label("series").unwrap_or("?")),
                s.samples.clone(),
            );
        }
    }
    println!("note: ../shared/data/nab is absent; using a generated trace");
    let start = 1_700_000_100 - 1_700_000_100 % STEP;
    let samples = (0..8 * 288)
        .map(|i| {
            let hour = (i % 288) as f64 / 12.0;
            (
                start + i * STEP,
                20.0 + 15.0 * (-((hour - 15.0) / 3.0).powi(2)).exp() + (i % 7) as f64 * 0.3,
            )
        })
        .collect();
    ("generated".to_string(), samples)
}

fn start_prometheus(dir: &Path, samples: &[(i64, f64)]) -> Server {
    let family = Family {
        name: "shadow_e2e_cpu".into(),
        kind: "gauge",
        series: vec![Series {
            labels: vec![
                ("service".into(), "checkout".into()),
                ("environment".into(), "live".into()),
            ],
            samples: samples.to_vec(),
        }],
    };
    let om = dir.join("trace.om");
    let mut file = std::fs::File::create(&om).unwrap();
    write_openmetrics(&[family], &mut file).unwrap();
    drop(file);
    let data = dir.join("data");
    let out = Command::new("promtool")
        .args([
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "--max-block-duration=8760h",
        ])
        .arg(&om)
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = dir.join("prometheus.yml");
    std::fs::write(&config, "global:\n  scrape_interval: 1m\n").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--storage.tsdb.retention.time=100y")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

async fn wait_ready(url: &str) {
    let addr: std::net::SocketAddr = url.trim_start_matches("http://").parse().unwrap();
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() && get(addr, "/-/ready").await.0 == 200 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("prometheus at {url} did not become ready in 30 s");
}

fn config(metrics: &str, per_instance: f64) -> ShadowConfig {
    ShadowConfig::from_toml_str(&format!(
        r#"
        [controller]
        interval = "1h"
        history = "7d"
        step = "5m"
        dry_run = true
        listen = "127.0.0.1:0"
        [forecast]
        horizon = "12h"
        quantiles = [0.5, 0.9]
        {metrics}
        [provisioner]
        kind = "memory"
        services = {{ checkout = 10 }}
        [[services]]
        name = "checkout"
        resources = ["cpu"]
        [services.policy]
        min_replicas = 2
        max_replicas = 200
        lead_time = "10m"
        capacity.cpu = {{ per_instance = {per_instance}, target_utilisation = 0.7, threshold = 0.1 }}
    "#
    ))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_plan_from_real_prometheus_matches_the_engine_and_falls_back_when_it_stops() {
    if std::env::var_os("SHADOW_PROMETHEUS_URL").is_none() || !have("prometheus") || !have("promtool") {
        println!(
            "skipping: SHADOW_PROMETHEUS_URL not set or prometheus/promtool missing (run ./scripts/test.sh)"
        );
        return;
    }
    let (name, samples) = trace();
    let dir: PathBuf = std::env::temp_dir().join(format!("shadow-e2e-prom-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let server = start_prometheus(&dir, &samples);
    wait_ready(&server.url).await;

    // "Now" is one step after the newest sample, on the 5-minute grid.
    let last = samples.last().unwrap().0;
    let now: DateTime<Utc> = Utc.timestamp_opt(last - last.rem_euclid(STEP) + STEP, 0).unwrap();
    let mean = samples.iter().map(|s| s.1).sum::<f64>() / samples.len() as f64;
    // Capacity per instance such that mean demand needs about 10 instances at the 70 % target.
    let per_instance = (mean / 7.0).max(1e-3);
    let clock = ManualClock::new(now);

    let prom_section = format!(
        "[metrics]\nkind = \"prometheus\"\nurl = \"{}\"\nqueries.cpu = 'shadow_e2e_cpu{{service=\"{{service}}\",environment=\"{{environment}}\"}}'\nretry = {{ max_attempts = 2, initial_backoff = \"50ms\", max_backoff = \"100ms\" }}",
        server.url
    );
    let rt = Runtime::start(
        config(&prom_section, per_instance),
        ProviderRegistry::with_builtin(),
        Arc::new(clock.clone()),
    )
    .await
    .unwrap();
    let addr = rt.local_addr().unwrap();
    let live = rt.cycle().await.remove(0);
    assert!(live.error.is_none(), "{name}: {live:?}");
    assert!(!live.applied, "dry-run never applies");

    // The same engine on the same data held in memory: Prometheus answers each grid point with the newest
    // sample of the five minutes before it, so the in-memory copy is built the same way.
    let end = now;
    let start = end - TimeDelta::days(7);
    let grid: Vec<f64> = (0..7 * 288)
        .map(|i| lookback(&samples, start.timestamp() + i * STEP).unwrap_or(f64::NAN))
        .collect();
    let series = TimeSeries::new(start, Duration::from_secs(STEP as u64), grid).unwrap();
    let memory = InMemoryMetricSource::new();
    memory.insert(
        &ServiceId::new("checkout").unwrap(),
        Environment::Live,
        ResourceKind::Cpu,
        &series,
    );
    let mut registry = ProviderRegistry::with_builtin();
    registry.register_metric_source("seeded", Arc::new(move |_| Ok(Arc::new(memory.clone()))));
    let engine = Controller::from_config(
        config("[metrics]\nkind = \"seeded\"", per_instance),
        &registry,
        Arc::new(clock.clone()),
    )
    .unwrap();
    let expected = engine.cycle().await.remove(0);
    assert!(expected.error.is_none(), "{expected:?}");
    assert_eq!(live.planned, expected.planned, "{name}");
    assert_eq!(live.forecasts, expected.forecasts, "{name}");
    assert_eq!(live.action, expected.action, "{name}");

    let (status, body) = get(addr, "/metrics").await;
    assert_eq!(status, 200);
    let m = parse(&body);
    let svc = [("service", "checkout")];
    assert_eq!(
        value(&m, "shadow_planned_replicas", &svc),
        expected.planned.map(f64::from),
        "{name}"
    );
    for f in &expected.forecasts {
        let q = f.quantile.to_string();
        let labels = [
            ("service", "checkout"),
            ("resource", "cpu"),
            ("quantile", q.as_str()),
            ("at", "peak"),
        ];
        assert_eq!(
            value(&m, "shadow_forecast_demand", &labels),
            Some(f.peak),
            "{name} {labels:?}"
        );
    }
    println!(
        "{name}: {} samples, plan {:?} replicas (peak need {:?}), action {:?}",
        samples.len(),
        live.planned,
        live.peak,
        live.action
    );

    // Stop Prometheus: the next cycle falls back and never scales in.
    drop(server);
    clock.advance(Duration::from_secs(3600));
    let down = rt.cycle().await.remove(0);
    assert_eq!(down.action, Action::Fallback, "{down:?}");
    assert!(
        down.error.as_deref().is_some_and(|e| e.contains("prometheus")),
        "{down:?}"
    );
    assert!(
        down.planned.is_some_and(|p| p >= down.current),
        "no scale-in on missing data: {down:?}"
    );
    assert!(!down.applied);
    let m = parse(&get(addr, "/metrics").await.1);
    let fetch_errors: f64 = m
        .iter()
        .filter(|s| {
            s.name == "shadow_errors_total" && s.labels.get("stage").map(String::as_str) == Some("fetch")
        })
        .map(|s| s.value)
        .sum();
    assert!(fetch_errors >= 1.0, "fetch errors on /metrics: {fetch_errors}");
    let fallback = [("service", "checkout"), ("action", "fallback")];
    assert_eq!(value(&m, "shadow_decisions_total", &fallback), Some(1.0));
    rt.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
