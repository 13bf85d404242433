//! The controller in each policy mode: `reactive` (the HPA formula, both ways), `proactive` (the horizon plan,
//! covered in `controller.rs`) and `calibrated` (the online policy the simulator judges), end to end through
//! config, the provider registry and the in-memory fakes.

mod controller_support;

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};
use controller_support::{config_text, end, registry, seeded, svc};
use shadow::controller::Controller;
use shadow_core::{
    Environment, ManualClock, Provisioner,
    config::ShadowConfig,
    memory::{InMemoryMetricSource, InMemoryProvisioner},
};

/// The test config with `mode`, the cycle `interval` and the scaling `threshold`.
fn controller(
    mode: &str,
    interval: &str,
    threshold: f64,
    source: &InMemoryMetricSource,
    provisioner: &InMemoryProvisioner,
    clock: Arc<ManualClock>,
) -> Controller {
    let text = config_text(false, 50)
        .replace("interval = \"1h\"", &format!("interval = \"{interval}\""))
        .replace(
            "min_replicas = 2",
            &format!("mode = \"{mode}\"\n        min_replicas = 2"),
        )
        .replace("threshold = 0.1", &format!("threshold = {threshold}"));
    let config = ShadowConfig::from_toml_str(&text).unwrap();
    Controller::from_config(config, &registry(source, provisioner), clock).unwrap()
}

/// The seeded CPU demand (cores) at `t`: 8 at night, 40 at 18:00.
fn cores(t: DateTime<Utc>) -> f64 {
    let hour = ((t - end()).num_seconds().rem_euclid(86_400) as f64 / 3600.0 + 6.0) % 24.0;
    8.0 + 32.0 * (-((hour - 18.0) / 3.0).powi(2)).exp()
}

#[tokio::test]
async fn reactive_mode_follows_the_hpa_formula_both_ways() {
    // 18:00, 40 cores on 6 replicas of 2 cores at a 0.8 target: ceil(6 × 40 / 12 / 0.8) = 25.
    let now = end() + TimeDelta::hours(12);
    let provisioner = InMemoryProvisioner::new().with_service(&svc(), Environment::Live, 6);
    let source = seeded(now + TimeDelta::days(1), now + TimeDelta::days(1));
    let c = controller(
        "reactive",
        "1h",
        0.1,
        &source,
        &provisioner,
        Arc::new(ManualClock::new(now)),
    );
    let d = &c.cycle().await[0];
    assert!(d.error.is_none(), "{d:?}");
    let observed = d.observed[&shadow_core::ResourceKind::Cpu].value;
    let want = (6.0 * observed / 12.0 / 0.8).ceil() as u32;
    assert_eq!(provisioner.history()[0].target.get(), want, "{d:?}");
    assert!(
        provisioner.history()[0].reason.contains("reactive"),
        "{:?}",
        provisioner.history()
    );

    // 03:00 with 30 replicas: it scales in, unless the data is stale.
    let night = end() + TimeDelta::days(1) - TimeDelta::hours(3);
    let fresh = InMemoryProvisioner::new().with_service(&svc(), Environment::Live, 30);
    let source = seeded(night + TimeDelta::days(1), night + TimeDelta::days(1));
    let c = controller(
        "reactive",
        "1h",
        0.1,
        &source,
        &fresh,
        Arc::new(ManualClock::new(night)),
    );
    assert!(c.cycle().await[0].applied);
    let target = fresh.history()[0].target.get();
    assert!((2..30).contains(&target), "{target}");
    let stale = InMemoryProvisioner::new().with_service(&svc(), Environment::Live, 30);
    let source = seeded(night + TimeDelta::days(1), night - TimeDelta::hours(2));
    let c = controller(
        "reactive",
        "1h",
        0.1,
        &source,
        &stale,
        Arc::new(ManualClock::new(night)),
    );
    let d = &c.cycle().await[0];
    assert!(d.notes.iter().any(|n| n.contains("scale-in skipped")), "{d:?}");
    assert!(stale.history().is_empty());
}

/// Runs the controller in `mode` (threshold 0) every `every` for `hours` from 06:00 and returns, per cycle,
/// (now, replicas after it).
async fn run_mode(mode: &str, interval: &str, every: Duration, hours: i64) -> Vec<(DateTime<Utc>, u32)> {
    let start = end();
    let source = seeded(start + TimeDelta::days(2), start + TimeDelta::days(2));
    let provisioner = InMemoryProvisioner::new().with_service(&svc(), Environment::Live, 6);
    let clock = Arc::new(ManualClock::new(start));
    let c = controller(mode, interval, 0.0, &source, &provisioner, clock.clone());
    let mut out = Vec::new();
    let cycles = (hours * 3600) as u64 / every.as_secs();
    for k in 0..cycles {
        let now = start + TimeDelta::seconds((k * every.as_secs()) as i64);
        let d = &c.cycle().await[0];
        assert!(d.error.is_none(), "{now}: {d:?}");
        let have = provisioner
            .describe(&svc(), Environment::Live)
            .await
            .unwrap()
            .desired
            .get();
        out.push((now, have));
        clock.advance(every);
    }
    out
}

#[tokio::test]
async fn calibrated_mode_steps_the_online_policy_every_grid_point() {
    let five = Duration::from_secs(300);
    let run = run_mode("calibrated", "5m", five, 14).await;
    // Never below what the demand just observed needs (1.6 usable cores per replica).
    for &(now, have) in &run[1..] {
        let need = (cores(now - TimeDelta::minutes(5)) / 1.6 - 1e-9).ceil() as u32;
        assert!(have >= need, "{now}: {have} < {need}");
    }
    // The seeded demand repeats daily, so the forecast knows the afternoon ramp: once the forecast has a
    // record (after the first hours), the replicas set at each cycle already cover the step that starts
    // then, before it is observed. Reactive scaling, one step behind, does not on a rising ramp.
    let ahead = |run: &[(DateTime<Utc>, u32)]| {
        run.iter()
            .filter(|(t, _)| *t >= end() + TimeDelta::hours(8))
            .filter(|(t, h)| f64::from(*h) * 1.6 < cores(*t) - 1e-9)
            .count()
    };
    assert_eq!(ahead(&run), 0, "{run:?}");
    let reactive = run_mode("reactive", "5m", five, 14).await;
    assert!(ahead(&reactive) > 10, "{}", ahead(&reactive));
    let at_peak = run
        .iter()
        .find(|(t, _)| *t == end() + TimeDelta::hours(12))
        .unwrap()
        .1;
    assert!(at_peak >= 25, "{at_peak}");
    // And it scales in after the peak.
    assert!(run.last().unwrap().1 < at_peak, "{:?}", run.last());

    // A second cycle at the same moment sees no new grid point and holds.
    let source = seeded(end() + TimeDelta::days(2), end() + TimeDelta::days(2));
    let provisioner = InMemoryProvisioner::new().with_service(&svc(), Environment::Live, 6);
    let c = controller(
        "calibrated",
        "5m",
        0.1,
        &source,
        &provisioner,
        Arc::new(ManualClock::new(end())),
    );
    c.cycle().await;
    let again = &c.cycle().await[0];
    assert!(again.due.is_empty(), "{again:?}");
    assert!(
        again.notes.iter().any(|n| n.contains("no new grid point")),
        "{again:?}"
    );
}

#[tokio::test]
async fn calibrated_mode_catches_up_when_cycles_are_further_apart_than_the_step() {
    // Hourly cycles on a 5-minute grid: each cycle steps the policy through the twelve points since the
    // last one, and still ends every cycle at or above what the newest demand needs.
    let run = run_mode("calibrated", "1h", Duration::from_secs(3600), 16).await;
    for &(now, have) in &run[1..] {
        let need = (cores(now - TimeDelta::minutes(5)) / 1.6 - 1e-9).ceil() as u32;
        assert!(have >= need, "{now}: {have} < {need}");
    }
}
