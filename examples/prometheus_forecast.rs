//! Reads one service's CPU from a Prometheus, forecasts it with quantiles, and prints the capacity plan.
//!
//! ```sh
//! SHADOW_PROMETHEUS_URL=http://127.0.0.1:9090 \
//!   cargo run -p shadow-examples --example prometheus_forecast -- checkout
//! ```
//!
//! The first argument is the service (the value of the `service` label); an optional second argument is a
//! PromQL template for its CPU in cores (default: cAdvisor's `container_cpu_usage_seconds_total` rate, summed
//! over the service's pods); an optional third argument is the end of the window in RFC 3339 (default: now).
//! `SHADOW_PROMETHEUS_URL` (default `http://127.0.0.1:9090`) and the other
//! `SHADOW_PROMETHEUS_*` variables configure the client, as `PrometheusBuilder::from_env` documents. The window
//! is the 7 days before the end, at 5-minute steps.

use std::time::Duration;

use chrono::{DurationRound, TimeDelta, Utc};
use shadow::{
    core::{
        Allocation, DemandCurve, Environment, FitInput, Forecaster, MetricQuery, MetricSource,
        PredictRequest, Quantile, Replicas, ResourceCapacity, ResourceKind, ScalingPolicy, ServiceId,
        TimeRange, planner,
    },
    forecast::{Season, SeasonalNaive},
    providers::prometheus::PrometheusBuilder,
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt::init();
    let mut args = std::env::args().skip(1);
    let service = ServiceId::new(args.next().unwrap_or_else(|| "checkout".to_string()))?;
    let mut builder = PrometheusBuilder::from_env();
    if std::env::var_os("SHADOW_PROMETHEUS_URL").is_none() {
        builder = builder.with_url("http://127.0.0.1:9090");
    }
    if let Some(template) = args.next().filter(|t| !t.is_empty()) {
        builder = builder.with_query(ResourceKind::Cpu, template);
    }
    let end = match args.next() {
        Some(t) => chrono::DateTime::parse_from_rfc3339(&t)?.with_timezone(&Utc),
        None => Utc::now(),
    };
    let source = builder.build()?;

    let step = Duration::from_secs(300);
    let end = end.duration_trunc(TimeDelta::minutes(5))?;
    let range = TimeRange::new(end - TimeDelta::days(7), end)?;
    let history = source
        .fetch(&MetricQuery::new(
            service.clone(),
            ResourceKind::Cpu,
            range,
            step,
        )?)
        .await?;
    println!(
        "{service}: {} points from {} ({} missing)",
        history.len(),
        history.start(),
        history.missing()
    );

    let levels: Vec<Quantile> = [0.5, 0.9, 0.99]
        .into_iter()
        .map(Quantile::try_new)
        .collect::<Result<_, _>>()?;
    let fitted = SeasonalNaive::new(Season::Auto).fit_boxed(&FitInput::new(&history))?;
    let forecast = fitted.predict_boxed(&PredictRequest::new(72, &levels))?;
    for (k, level) in forecast.levels().iter().enumerate() {
        let path = &forecast.quantile_paths()[k];
        let peak = path.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        println!(
            "  {}: next {:.3} cores, peak over 6 h {:.3} cores",
            level.label(),
            path[0],
            peak
        );
    }

    let capacity = ResourceCapacity {
        per_instance: 2.0,
        target_utilisation: 0.7,
        threshold: 0.1,
    };
    let policy = ScalingPolicy::new(2, 100, ResourceKind::Cpu, capacity)?;
    let current = Allocation {
        service: service.clone(),
        environment: Environment::Live,
        desired: Replicas(2),
        ready: Replicas(2),
    };
    let plan = planner::plan(
        &DemandCurve::new(service).with(ResourceKind::Cpu, forecast),
        &current,
        &policy,
    )?;
    for r in &plan.requests {
        println!(
            "  {} -> {}: {}",
            r.issue_at.format("%a %H:%M"),
            r.target,
            r.reason
        );
    }
    Ok(())
}
