//! Shared helpers of the controller runtime tests: a seeded workload, a runtime wired to in-memory fakes, a
//! raw HTTP GET and a parser of the Prometheus text format.
#![allow(dead_code, unreachable_pub)]

use std::{collections::BTreeMap, net::SocketAddr, sync::Arc, time::Duration};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use shadow::controller::Runtime;
use shadow_core::{
    Clock, Environment, ResourceKind, ServiceId, TimeSeries,
    config::ShadowConfig,
    memory::{InMemoryMetricSource, InMemoryProvisioner},
};
use shadow_providers::ProviderRegistry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const STEP: i64 = 300;

/// Midnight-aligned reference: 2026-11-20T06:00Z.
pub fn end() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 6, 0, 0).unwrap()
}

pub fn svc() -> ServiceId {
    ServiceId::new("checkout").unwrap()
}

/// Eight days of CPU up to `series_end` with a daily cycle (8 cores at night, 40 at 18:00); values at or
/// after `present_until` are missing.
pub fn seeded(series_end: DateTime<Utc>, present_until: DateTime<Utc>) -> InMemoryMetricSource {
    let start = series_end - TimeDelta::days(8);
    let n = (8 * 86_400 / STEP) as usize;
    let values = (0..n)
        .map(|i| {
            let t = start + TimeDelta::seconds(STEP * i as i64);
            if t >= present_until {
                return f64::NAN;
            }
            let hour = ((t - end()).num_seconds().rem_euclid(86_400) as f64 / 3600.0 + 6.0) % 24.0;
            8.0 + 32.0 * (-((hour - 18.0) / 3.0).powi(2)).exp()
        })
        .collect();
    let series = TimeSeries::new(start, Duration::from_secs(STEP as u64), values).unwrap();
    let source = InMemoryMetricSource::new();
    source.insert(&svc(), Environment::Live, ResourceKind::Cpu, &series);
    source
}

/// The test config: hourly cycles on a 5-minute grid, one CPU-bound service, `/metrics` on a free port.
pub fn config_text(dry_run: bool, max_replicas: u32) -> String {
    format!(
        r#"
        [controller]
        interval = "1h"
        refit_interval = "6h"
        history = "7d"
        step = "5m"
        dry_run = {dry_run}
        listen = "127.0.0.1:0"
        [forecast]
        horizon = "24h"
        quantiles = [0.5, 0.9]
        [metrics]
        kind = "seeded"
        [provisioner]
        kind = "shared"
        [[services]]
        name = "checkout"
        resources = ["cpu"]
        [services.policy]
        min_replicas = 2
        max_replicas = {max_replicas}
        lead_time = "10m"
        capacity.cpu = {{ per_instance = 2.0, target_utilisation = 0.8, threshold = 0.1 }}
    "#
    )
}

/// A registry whose `seeded` and `shared` kinds hand out the given fakes.
pub fn registry(source: &InMemoryMetricSource, provisioner: &InMemoryProvisioner) -> ProviderRegistry {
    let mut registry = ProviderRegistry::with_builtin();
    let s = source.clone();
    registry.register_metric_source("seeded", Arc::new(move |_| Ok(Arc::new(s.clone()))));
    let p = provisioner.clone();
    registry.register_provisioner("shared", Arc::new(move |_| Ok(Arc::new(p.clone()))));
    registry
}

pub async fn runtime(
    source: &InMemoryMetricSource,
    provisioner: &InMemoryProvisioner,
    dry_run: bool,
    clock: Arc<dyn Clock>,
) -> Runtime {
    let config = ShadowConfig::from_toml_str(&config_text(dry_run, 50)).unwrap();
    Runtime::start(config, registry(source, provisioner), clock)
        .await
        .unwrap()
}

/// GETs `path` over a fresh connection; returns the status code and the body.
pub async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

/// One sample of the text format.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Parses the Prometheus text exposition format (comments skipped, label values unescaped).
pub fn parse(text: &str) -> Vec<MetricSample> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (name, rest) = match line.find('{') {
            Some(i) => (&line[..i], &line[i..]),
            None => line.split_at(line.find(' ').unwrap()),
        };
        let mut labels = BTreeMap::new();
        let mut value_text = rest.trim();
        if let Some(body) = rest.strip_prefix('{') {
            let mut chars = body.chars();
            loop {
                let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
                assert_eq!(chars.next(), Some('"'), "{line}");
                let mut value = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => match chars.next() {
                            Some('n') => value.push('\n'),
                            Some(other) => value.push(other),
                            None => panic!("{line}"),
                        },
                        '"' => break,
                        c => value.push(c),
                    }
                }
                labels.insert(key.trim_start_matches(',').to_string(), value);
                let rest: String = chars.clone().collect();
                if let Some(after) = rest.strip_prefix('}') {
                    value_text = line[line.len() - after.len()..].trim();
                    break;
                }
            }
        }
        let value = match value_text {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
        };
        out.push(MetricSample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    out
}

/// The value of the sample named `name` whose labels include all of `labels`.
pub fn value(samples: &[MetricSample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}
