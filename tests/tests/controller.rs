//! The controller cycle end to end through config, the provider registry, the forecaster and the planner.

mod controller_support;

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use controller_support::{config_text, end, registry, seeded, svc};
use shadow::controller::Controller;
use shadow_core::{
    Environment, ManualClock,
    config::ShadowConfig,
    memory::{InMemoryMetricSource, InMemoryProvisioner},
};

fn controller(
    source: InMemoryMetricSource,
    provisioner: InMemoryProvisioner,
    dry_run: bool,
    now: DateTime<Utc>,
) -> Controller {
    let config = ShadowConfig::from_toml_str(&config_text(dry_run, 50)).unwrap();
    Controller::from_config(
        config,
        &registry(&source, &provisioner),
        Arc::new(ManualClock::new(now)),
    )
    .unwrap()
}

#[tokio::test]
async fn scales_out_ahead_of_the_daily_peak() {
    // At 12:00, 6 replicas carry the night load; the afternoon ramp starts within the hour, and the 18:00
    // peak (40 cores) needs 25 instances at 1.6 usable cores each.
    let now = end() + TimeDelta::hours(6);
    let provisioner = InMemoryProvisioner::new().with_service(&svc(), Environment::Live, 6);
    let c = controller(seeded(now, now), provisioner.clone(), false, now);
    let decisions = c.cycle().await;
    assert_eq!(decisions.len(), 1);
    let d = &decisions[0];
    assert!(d.error.is_none(), "{d:?}");
    assert_eq!(d.current, 6);
    assert_eq!(d.peak.map(|p| p.0), Some(25), "{d:?}");
    assert!(d.applied);
    let history = provisioner.history();
    assert_eq!(history.len(), 1);
    // Sized for the start of the ramp before the next cycle (1 h) plus one lead time (10 min) can act.
    assert_eq!(history[0].target.get(), 7, "{:?}", history[0]);
    assert_eq!(history[0].issue_at, now);
    assert!(history[0].deadline > now && history[0].deadline < now + TimeDelta::minutes(70));

    // A second cycle at the same moment finds nothing to change: no flapping.
    let again = &c.cycle().await[0];
    assert!(again.due.is_empty(), "{again:?}");
    assert_eq!(provisioner.history().len(), 1);
}

#[tokio::test]
async fn dry_run_plans_without_applying() {
    let now = end() + TimeDelta::hours(11) + TimeDelta::minutes(15);
    let provisioner = InMemoryProvisioner::new().with_service(&svc(), Environment::Live, 6);
    let c = controller(seeded(now, now), provisioner.clone(), true, now);
    let d = &c.cycle().await[0];
    assert!(!d.due.is_empty() && !d.applied, "{d:?}");
    assert!(provisioner.history().is_empty());
}

#[tokio::test]
async fn never_scales_in_on_stale_data() {
    // Night time with 30 replicas: the forecast says scale in, but the last two hours are missing.
    let now = end() + TimeDelta::days(1) - TimeDelta::hours(3);
    let provisioner = InMemoryProvisioner::new().with_service(&svc(), Environment::Live, 30);
    let c = controller(
        seeded(now, now - TimeDelta::hours(2)),
        provisioner.clone(),
        false,
        now,
    );
    let d = &c.cycle().await[0];
    assert!(d.notes.iter().any(|n| n.contains("scale-in skipped")), "{d:?}");
    assert!(provisioner.history().is_empty());

    // With fresh data the same situation scales in.
    let fresh = controller(seeded(now, now), provisioner.clone(), false, now);
    let d = &fresh.cycle().await[0];
    assert!(d.applied, "{d:?}");
    assert!(provisioner.history()[0].target.get() < 30);
}

#[tokio::test]
async fn a_failing_source_is_recorded_not_fatal() {
    let now = end();
    let source = seeded(now, now);
    source.fail_next(1, || shadow_core::Error::Unavailable {
        provider: "seeded",
        message: "down".into(),
    });
    let provisioner = InMemoryProvisioner::new().with_service(&svc(), Environment::Live, 6);
    let c = controller(source, provisioner.clone(), false, now);
    let d = &c.cycle().await[0];
    assert_eq!(d.error.as_deref(), Some("seeded: unavailable: down"));
    assert!(provisioner.history().is_empty());
    // The next cycle recovers.
    assert!(c.cycle().await[0].error.is_none());
}
