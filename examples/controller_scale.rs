//! Scale evaluation of the controller: one cycle over 10,000 service-resource series (2,500 services × 4
//! resources, 14 days at 5 minutes = 4,032 points each) from a local generated source, timed for a cold full
//! refit, for cheap-update cycles, and for a warm full refit; with the peak memory (VmHWM).
//!
//! Run it (release build; it prints the figures):
//!
//! ```text
//! cargo run --release -p shadow-examples --example controller_scale
//! cargo run --release -p shadow-examples --example controller_scale -- 500   # fewer services
//! ```
//!
//! The source generates each series on the fly from the query (a daily and weekly cycle plus deterministic
//! noise), so the figures measure the controller, not a store. The provisioner is the in-memory fake, and the
//! controller applies (not dry-run).

use std::{
    fmt::Write as _,
    sync::Arc,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use shadow::{
    controller::Controller,
    core::{
        Environment, ManualClock, MetricQuery, MetricSource, ResourceKind, ServiceId, TimeSeries,
        config::ShadowConfig, memory::InMemoryProvisioner,
    },
    providers::ProviderRegistry,
};

/// Generates usage for `svc-NNNNN` on any grid: no storage, deterministic.
#[derive(Debug)]
struct GeneratedSource;

#[async_trait]
impl MetricSource for GeneratedSource {
    fn name(&self) -> &str {
        "generated"
    }

    async fn fetch(&self, query: &MetricQuery) -> shadow::core::Result<TimeSeries> {
        let id: u64 = query.service.as_str()[4..].parse().unwrap_or(0);
        let kind = ResourceKind::BUILTIN
            .iter()
            .position(|k| *k == query.resource)
            .unwrap_or(0) as u64;
        let seed = id * 4 + kind;
        let scale = 1.0 + (seed % 17) as f64;
        let step = query.step.as_secs_f64();
        let t0 = query.range.start.timestamp() as f64;
        let values = (0..query.points())
            .map(|i| {
                let t = t0 + i as f64 * step;
                let day = (t / 86_400.0 * std::f64::consts::TAU).sin();
                let week = (t / 604_800.0 * std::f64::consts::TAU).cos();
                // A cheap hash of (series, time) as noise in [0, 1).
                let h = (seed ^ (t as u64)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
                let noise = h as f64 / (1u64 << 24) as f64;
                scale * (10.0 + 6.0 * day + 2.0 * week + noise)
            })
            .collect();
        TimeSeries::new(query.range.start, query.step, values)
    }
}

fn config(services: usize) -> String {
    let mut text = String::from(
        r#"
        [controller]
        interval = "5m"
        refit_interval = "1h"
        history = "14d"
        step = "5m"
        dry_run = false
        [forecast]
        model = "seasonal-naive"
        horizon = "6h"
        quantiles = [0.5, 0.9, 0.99]
        [metrics]
        kind = "generated"
        [provisioner]
        kind = "bench"
        "#,
    );
    for i in 0..services {
        let _ = write!(
            text,
            r#"
            [[services]]
            name = "svc-{i:05}"
            resources = ["cpu", "memory", "network_io", "disk_io"]
            [services.policy]
            min_replicas = 1
            max_replicas = 1000
            lead_time = "10m"
            capacity.cpu = {{ per_instance = 4.0 }}
            capacity.memory = {{ per_instance = 8.0 }}
            capacity.network_io = {{ per_instance = 16.0 }}
            capacity.disk_io = {{ per_instance = 16.0 }}
            "#
        );
    }
    text
}

/// Peak resident set size of this process, from `/proc/self/status`.
fn vm_hwm() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l[6..].trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string())
}

/// CPU time (user + system) this process used so far, from `/proc/self/stat`, in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which ends with ')'): utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks: f64 = fields
        .get(11..13)
        .map_or(0.0, |f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum());
    ticks / 100.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let services: usize = std::env::args().nth(1).map_or(Ok(2_500), |a| a.parse())?;
    let now = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap();
    let clock = ManualClock::new(now);

    let mut provisioner = InMemoryProvisioner::new();
    for i in 0..services {
        provisioner = provisioner.with_service(&ServiceId::new(format!("svc-{i:05}"))?, Environment::Live, 5);
    }
    let mut registry = ProviderRegistry::with_builtin();
    registry.register_metric_source("generated", Arc::new(|_| Ok(Arc::new(GeneratedSource))));
    let p = provisioner.clone();
    registry.register_provisioner("bench", Arc::new(move |_| Ok(Arc::new(p.clone()))));
    let controller = Controller::from_config(
        ShadowConfig::from_toml_str(&config(services))?,
        &registry,
        Arc::new(clock.clone()),
    )?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "controller_scale: {services} services x 4 resources = {} series, 4032 points each, {cores} cores",
        services * 4
    );

    let run = |label: &'static str| {
        let controller = &controller;
        async move {
            let (started, cpu) = (Instant::now(), cpu_seconds());
            let decisions = controller.cycle().await;
            let secs = started.elapsed().as_secs_f64();
            let cores_used = (cpu_seconds() - cpu) / secs;
            let refits: usize = decisions.iter().map(|d| d.refitted).sum();
            let reuses: usize = decisions.iter().map(|d| d.reused).sum();
            let errors = decisions.iter().filter(|d| d.error.is_some()).count();
            let applied = decisions.iter().filter(|d| d.applied).count();
            println!(
                "{label:<16} {secs:>8.3} s  cpu {cores_used:>4.2} cores  refits {refits:>6}  reuses {reuses:>6}  errors {errors}  applied {applied}  VmHWM {}",
                vm_hwm()
            );
            secs
        }
    };
    run("cold full refit").await;
    let mut cheap = Vec::new();
    for _ in 0..3 {
        clock.advance(Duration::from_secs(300));
        cheap.push(run("cheap update").await);
    }
    clock.advance(Duration::from_secs(3600));
    let refit = run("warm full refit").await;
    let started = Instant::now();
    let text = controller.metrics().render();
    println!(
        "/metrics render   {:>8.3} s   {} lines, {} bytes",
        started.elapsed().as_secs_f64(),
        text.lines().count(),
        text.len()
    );
    cheap.sort_by(f64::total_cmp);
    println!(
        "summary: cheap cycle median {:.3} s (target < 10 s), full refit {refit:.3} s (target < 300 s), peak memory {}",
        cheap[cheap.len() / 2],
        vm_hwm()
    );
    Ok(())
}
