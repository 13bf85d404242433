//! Prints the speed figures of the planner and the simulator:
//!
//! - one planning step for 10,000 service-resource demand curves (target: under 50 ms);
//! - one year of a 5-minute trace through `shadow simulate`'s five policies (target: seconds).
//!
//! ```text
//! cargo run --release -p shadow-examples --example planner_bench
//! ```
//!
//! The curves and the trace are generated here (a daily cycle with seeded noise), so no data is needed.

use std::{collections::BTreeMap, time::Duration, time::Instant};

use chrono::{TimeZone, Utc};
use shadow::{
    core::{
        Allocation, DemandCurve, Environment, Forecast, Quantile, Replicas, ResourceCapacity, ResourceKind,
        ScalingPolicy, ServiceId, TimeSeries,
        planner::{
            self,
            proactive::{StepInput, StepPlanner},
        },
    },
    sim::{SimOptions, simulate},
};

/// A small deterministic generator for the noise.
fn noise(state: &mut u64) -> f64 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    ((*state >> 11) as f64 / (1u64 << 53) as f64) - 0.5
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt::init();
    let t0 = Utc.timestamp_opt(1_700_000_000, 0).single().expect("valid time");
    let q = [Quantile::try_new(0.9)?];
    let cap = ResourceCapacity {
        per_instance: 1.0,
        target_utilisation: 0.7,
        threshold: 0.05,
    };
    let policy = ScalingPolicy::new(1, 10_000, ResourceKind::Cpu, cap)?;
    let mut seed = 7u64;
    // 10,000 curves of 24 five-minute steps (two hours), one per service and resource, each a daily cycle at
    // its own phase with noise.
    let mut inputs = Vec::with_capacity(10_000);
    for k in 0..10_000u32 {
        let base = 5.0 + f64::from(k % 97);
        let path: Vec<f64> = (0..24)
            .map(|h| {
                let phase = f64::from(k % 288 + h) / 288.0 * std::f64::consts::TAU;
                base * (1.0 + 0.3 * phase.sin()) + noise(&mut seed)
            })
            .collect();
        let f = Forecast::new(t0, Duration::from_secs(300), path.clone(), q.to_vec(), vec![path])?;
        let service = ServiceId::new(format!("svc-{k}"))?;
        let curve = DemandCurve::new(service.clone()).with(ResourceKind::Cpu, f);
        let current = Allocation {
            service,
            environment: Environment::Live,
            desired: Replicas((base / 0.7) as u32),
            ready: Replicas((base / 0.7) as u32),
        };
        inputs.push((curve, current));
    }
    let mut best = f64::INFINITY;
    let mut requests = 0;
    for _ in 0..5 {
        let start = Instant::now();
        requests = 0;
        for (curve, current) in &inputs {
            requests += planner::plan(curve, current, &policy)?.requests.len();
        }
        best = best.min(start.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "planner::plan, 10,000 curves of 24 steps: {best:.1} ms (best of 5; {requests} requests; target < 50 ms)"
    );

    let mut planners: Vec<StepPlanner> = (0..10_000)
        .map(|_| StepPlanner::new(policy.clone()))
        .collect::<Result<_, _>>()?;
    let start = Instant::now();
    let mut changes = 0;
    for (k, ((_, current), p)) in inputs.iter().zip(&mut planners).enumerate() {
        let observed = BTreeMap::from([(ResourceKind::Cpu, 5.0 + (k % 97) as f64)]);
        let ahead = BTreeMap::from([(ResourceKind::Cpu, 6.0 + (k % 97) as f64)]);
        let input = StepInput {
            at: t0,
            current,
            observed: &observed,
            ahead: &ahead,
            stale: false,
        };
        changes += usize::from(p.decide(&input)?.is_some());
    }
    println!(
        "StepPlanner::decide, 10,000 services: {:.1} ms ({changes} requests)",
        start.elapsed().as_secs_f64() * 1e3
    );

    // A year of 5-minute demand: a daily and weekly cycle with noise.
    let n = 365 * 288;
    let values: Vec<f64> = (0..n)
        .map(|i| {
            let day = (i % 288) as f64 / 288.0 * std::f64::consts::TAU;
            let week = if (i / 288) % 7 >= 5 { 0.7 } else { 1.0 };
            (50.0 + 30.0 * day.sin()) * week + 5.0 * noise(&mut seed)
        })
        .collect();
    let trace = TimeSeries::new(t0, Duration::from_secs(300), values)?;
    let start = Instant::now();
    let report = simulate(&trace, &SimOptions::default())?;
    println!(
        "shadow simulate, one year of 5-minute demand ({n} points, {} policies, {} refits): {:.1} s",
        report.policies.len(),
        report.refits,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
