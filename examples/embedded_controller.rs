//! Embeds Shadow's controller in your own service: register your metric backend and provisioner as custom
//! provider kinds, load the config, and run cycles.
//!
//! Run it with `cargo run -p shadow-examples --example embedded_controller`.
//!
//! The "backend" here is an in-memory source seeded with a week of generated CPU use; in production you register
//! a factory that wraps your own client, or use a built-in kind such as `prometheus`.

use std::{sync::Arc, time::Duration};

use chrono::{DurationRound, TimeDelta, TimeZone, Utc};
use shadow::{
    controller::{Controller, describe},
    core::{
        Environment, ManualClock, ResourceKind, ServiceId, TimeSeries,
        config::ShadowConfig,
        memory::{InMemoryMetricSource, InMemoryProvisioner},
    },
    providers::ProviderRegistry,
};

const CONFIG: &str = r#"
[controller]
interval = "15m"
history = "7d"
step = "5m"
dry_run = false

[forecast]
model = "seasonal-naive"
horizon = "12h"
quantiles = [0.5, 0.9, 0.99]

[metrics]
kind = "my-metrics"

[provisioner]
kind = "my-asg"

[[services]]
name = "checkout"
resources = ["cpu"]
[services.policy]
min_replicas = 3
max_replicas = 60
quantile = 0.9
lead_time = "10m"
capacity.cpu = { per_instance = 2.0, target_utilisation = 0.7, threshold = 0.1 }
"#;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt::init();
    let service = ServiceId::new("checkout")?;
    let now = Utc.with_ymd_and_hms(2026, 11, 20, 11, 0, 0).unwrap();

    // A week of CPU (cores) with a business-hours cycle. It runs one hour past `now`, standing in for the
    // observations that arrive while the controller runs: a fetch only sees what lies before the clock.
    let step = Duration::from_secs(300);
    let start = now.duration_trunc(TimeDelta::days(1))? - TimeDelta::days(7);
    let n = ((now + TimeDelta::hours(1) - start).num_seconds() / 300) as usize;
    let cpu: Vec<f64> = (0..n)
        .map(|i| {
            let hour = (i as f64 * 300.0 / 3600.0) % 24.0;
            6.0 + 30.0 * (-((hour - 14.0) / 3.5).powi(2)).exp()
        })
        .collect();
    let metrics = InMemoryMetricSource::new();
    metrics.insert(
        &service,
        Environment::Live,
        ResourceKind::Cpu,
        &TimeSeries::new(start, step, cpu)?,
    );
    let asg = InMemoryProvisioner::new().with_service(&service, Environment::Live, 5);

    let mut registry = ProviderRegistry::with_builtin();
    let m = metrics.clone();
    registry.register_metric_source("my-metrics", Arc::new(move |_| Ok(Arc::new(m.clone()))));
    let a = asg.clone();
    registry.register_provisioner("my-asg", Arc::new(move |_| Ok(Arc::new(a.clone()))));

    let clock = ManualClock::new(now);
    let controller = Controller::from_config(
        ShadowConfig::from_toml_str(CONFIG)?,
        &registry,
        Arc::new(clock.clone()),
    )?;

    // Four cycles, 15 minutes apart, through the late-morning ramp.
    for _ in 0..4 {
        for decision in controller.cycle().await {
            println!("{}", describe(&decision));
        }
        clock.advance(Duration::from_secs(900));
    }
    println!("applied requests: {}", asg.history().len());
    Ok(())
}
