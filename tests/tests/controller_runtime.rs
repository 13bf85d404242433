//! The controller runtime over real HTTP on 127.0.0.1:0: `/metrics` equals the decisions, `/healthz`, dry-run,
//! fallback on source failures, no scale-in on stale data, provisioner retries, and config reloads.

mod controller_support;

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use chrono::TimeDelta;
use controller_support::*;
use shadow::controller::{Action, RetryPolicy, Runtime};
use shadow_core::{
    Allocation, Environment, Error, ManualClock, Provisioner, ProvisionerCapability, ProvisioningRequest,
    ServiceId, config::ShadowConfig, memory::InMemoryProvisioner,
};

fn unavailable() -> Error {
    Error::Unavailable {
        provider: "seeded",
        message: "down".into(),
    }
}

#[tokio::test]
async fn metrics_after_a_cycle_equal_the_decision_and_healthz_is_ok() {
    let now = end() + TimeDelta::hours(6);
    let provisioner = InMemoryProvisioner::new().with_service(&svc(), Environment::Live, 6);
    let rt = runtime(
        &seeded(now, now),
        &provisioner,
        false,
        Arc::new(ManualClock::new(now)),
    )
    .await;
    let addr = rt.local_addr().expect("listen is set");
    assert_ne!(addr.port(), 0);

    let d = rt.cycle().await.remove(0);
    assert!(d.error.is_none(), "{d:?}");
    assert_eq!(d.action, Action::ScaleOut);
    assert!(d.applied);

    let (status, body) = get(addr, "/metrics").await;
    assert_eq!(status, 200);
    let m = parse(&body);
    let service = [("service", "checkout")];
    assert_eq!(
        value(&m, "shadow_planned_replicas", &service),
        d.planned.map(f64::from)
    );
    assert_eq!(
        value(&m, "shadow_applied_replicas", &service),
        d.applied_replicas.map(f64::from)
    );
    assert_eq!(
        value(&m, "shadow_applied_replicas", &service),
        Some(f64::from(d.due[0].target.get()))
    );
    assert_eq!(value(&m, "shadow_current_replicas", &service), Some(6.0));
    assert_eq!(d.forecasts.len(), 2, "p50 and p90");
    for f in &d.forecasts {
        let q = f.quantile.to_string();
        for (at, want) in [("next", f.next), ("peak", f.peak)] {
            let labels = [
                ("service", "checkout"),
                ("resource", "cpu"),
                ("quantile", q.as_str()),
                ("at", at),
            ];
            assert_eq!(
                value(&m, "shadow_forecast_demand", &labels),
                Some(want),
                "{labels:?}"
            );
        }
    }
    let decided = [("service", "checkout"), ("action", "scale_out")];
    assert_eq!(value(&m, "shadow_decisions_total", &decided), Some(1.0));
    let newest = d.observed[&shadow_core::ResourceKind::Cpu].at;
    let age = (now - newest).num_seconds() as f64;
    let labels = [("service", "checkout"), ("resource", "cpu")];
    assert_eq!(value(&m, "shadow_data_staleness_seconds", &labels), Some(age));
    assert_eq!(value(&m, "shadow_cycle_seconds_count", &[]), Some(1.0));
    assert_eq!(value(&m, "shadow_model_refits_total", &[]), Some(1.0));
    assert!(!m.iter().any(|s| s.name == "shadow_errors_total"), "{body}");

    assert_eq!(get(addr, "/healthz").await, (200, "ok\n".to_string()));
    assert_eq!(get(addr, "/nope").await.0, 404);
    rt.stop().await;
}

#[tokio::test]
async fn dry_run_plans_and_exports_but_applies_nothing() {
    let now = end() + TimeDelta::hours(6);
    let provisioner = InMemoryProvisioner::new().with_service(&svc(), Environment::Live, 6);
    let rt = runtime(
        &seeded(now, now),
        &provisioner,
        true,
        Arc::new(ManualClock::new(now)),
    )
    .await;
    let d = rt.cycle().await.remove(0);
    assert_eq!(d.action, Action::ScaleOut);
    assert!(!d.due.is_empty() && !d.applied, "{d:?}");
    assert!(provisioner.history().is_empty());
    let m = parse(&get(rt.local_addr().unwrap(), "/metrics").await.1);
    let service = [("service", "checkout")];
    assert_eq!(value(&m, "shadow_applied_replicas", &service), Some(6.0));
    assert!(value(&m, "shadow_planned_replicas", &service).unwrap() > 6.0);
    rt.stop().await;
}

#[tokio::test]
async fn a_source_outage_falls_back_and_keeps_the_last_good_plan() {
    let now = end() + TimeDelta::hours(6);
    let clock = ManualClock::new(now);
    let source = seeded(now + TimeDelta::hours(2), now + TimeDelta::hours(2));
    let provisioner = InMemoryProvisioner::new().with_service(&svc(), Environment::Live, 6);
    let rt = runtime(&source, &provisioner, false, Arc::new(clock.clone())).await;
    let first = rt.cycle().await.remove(0);
    assert_eq!((first.action, first.planned), (Action::ScaleOut, Some(7)));

    // An hour later the source times out. The reactive policy on the last observation (11:55, 8.5 cores on 7
    // replicas) wants fewer, but the last good plan still needs more for the coming window: scale out to it.
    clock.advance(Duration::from_secs(3600));
    source.fail_next(1, || Error::Timeout {
        provider: "seeded",
        after: Duration::from_secs(30),
    });
    let d = rt.cycle().await.remove(0);
    assert_eq!(d.action, Action::Fallback, "{d:?}");
    assert_eq!(d.error.as_deref(), Some("seeded: timed out after 30s"));
    assert!(d.forecasts.is_empty());
    let planned = d.planned.unwrap();
    assert!(planned > 7, "{d:?}");
    assert_eq!(d.due[0].target.get(), planned);
    assert!(
        d.due[0].reason.contains("fallback scale out 7 ->"),
        "{}",
        d.due[0].reason
    );
    assert!(d.applied);
    assert!(
        d.notes
            .iter()
            .any(|n| n.starts_with("fallback: reactive target 6")),
        "{d:?}"
    );

    let m = parse(&get(rt.local_addr().unwrap(), "/metrics").await.1);
    let err = [("service", "checkout"), ("stage", "fetch"), ("kind", "timeout")];
    assert_eq!(value(&m, "shadow_errors_total", &err), Some(1.0));
    let fb = [("service", "checkout"), ("action", "fallback")];
    assert_eq!(value(&m, "shadow_decisions_total", &fb), Some(1.0));
    assert_eq!(
        value(&m, "shadow_planned_replicas", &[("service", "checkout")]),
        Some(f64::from(planned))
    );

    // The source is back: the forecast decides again.
    clock.advance(Duration::from_secs(3600));
    let d = rt.cycle().await.remove(0);
    assert_ne!(d.action, Action::Fallback, "{d:?}");
    assert!(d.error.is_none());
    rt.stop().await;
}

#[tokio::test]
async fn never_scales_in_on_stale_or_missing_data() {
    // Night, 30 replicas: the forecast says scale in.
    let now = end() + TimeDelta::days(1) - TimeDelta::hours(3);
    let provisioner = InMemoryProvisioner::new().with_service(&svc(), Environment::Live, 30);

    // Stale data: the last two hours are missing. The forecast runs, the scale-in is dropped.
    let stale = seeded(now, now - TimeDelta::hours(2));
    let rt = runtime(&stale, &provisioner, false, Arc::new(ManualClock::new(now))).await;
    let d = rt.cycle().await.remove(0);
    assert_eq!(d.action, Action::None, "{d:?}");
    assert!(
        d.notes.iter().any(|n| n == "scale-in skipped: data is stale"),
        "{d:?}"
    );
    assert!(d.planned.unwrap() < 30);
    rt.stop().await;

    // Missing data: the source is down and there is no earlier observation. The fallback keeps 30.
    let down = seeded(now, now);
    down.fail_next(1, unavailable);
    let rt = runtime(&down, &provisioner, false, Arc::new(ManualClock::new(now))).await;
    let d = rt.cycle().await.remove(0);
    assert_eq!((d.action, d.planned), (Action::Fallback, Some(30)), "{d:?}");
    assert!(d.due.is_empty());
    assert!(provisioner.history().is_empty());
    rt.stop().await;
}

/// Fails the next `n` calls to `apply` (only), then delegates to the in-memory provisioner.
#[derive(Debug, Clone)]
struct FlakyApply {
    inner: InMemoryProvisioner,
    failures: Arc<std::sync::Mutex<u32>>,
    seen: Arc<std::sync::Mutex<Vec<ProvisioningRequest>>>,
}

#[async_trait]
impl Provisioner for FlakyApply {
    fn name(&self) -> &str {
        "flaky"
    }

    fn capability(&self) -> ProvisionerCapability {
        self.inner.capability()
    }

    async fn describe(
        &self,
        service: &ServiceId,
        environment: Environment,
    ) -> shadow_core::Result<Allocation> {
        self.inner.describe(service, environment).await
    }

    async fn apply(&self, request: &ProvisioningRequest) -> shadow_core::Result<Allocation> {
        self.seen.lock().unwrap().push(request.clone());
        {
            let mut failures = self.failures.lock().unwrap();
            if *failures > 0 {
                *failures -= 1;
                return Err(Error::Unavailable {
                    provider: "flaky",
                    message: "503".into(),
                });
            }
        }
        self.inner.apply(request).await
    }
}

async fn flaky_runtime(failures: u32) -> (Runtime, FlakyApply) {
    let now = end() + TimeDelta::hours(6);
    let flaky = FlakyApply {
        inner: InMemoryProvisioner::new().with_service(&svc(), Environment::Live, 6),
        failures: Arc::new(std::sync::Mutex::new(failures)),
        seen: Arc::default(),
    };
    let mut registry = registry(&seeded(now, now), &flaky.inner);
    let f = flaky.clone();
    registry.register_provisioner("shared", Arc::new(move |_| Ok(Arc::new(f.clone()))));
    let config = ShadowConfig::from_toml_str(&config_text(false, 50)).unwrap();
    let rt = Runtime::start(config, registry, Arc::new(ManualClock::new(now)))
        .await
        .unwrap();
    (rt, flaky)
}

#[tokio::test]
async fn a_provisioner_failure_is_retried_with_the_same_target_and_recorded_once() {
    let (rt, flaky) = flaky_runtime(2).await;
    let d = rt.cycle().await.remove(0);
    assert!(d.applied && d.error.is_none(), "{d:?}");
    assert_eq!(d.due.len(), 1);
    let seen = flaky.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "two failures and one success");
    assert!(
        seen.iter().all(|r| *r == d.due[0]),
        "the same target every time: {seen:?}"
    );
    assert_eq!(flaky.inner.history(), vec![d.due[0].clone()], "one change");

    let m = parse(&get(rt.local_addr().unwrap(), "/metrics").await.1);
    let err = [
        ("service", "checkout"),
        ("stage", "apply"),
        ("kind", "unavailable"),
    ];
    assert_eq!(value(&m, "shadow_errors_total", &err), Some(2.0));
    assert_eq!(
        value(&m, "shadow_apply_retries_total", &[("service", "checkout")]),
        Some(2.0)
    );
    let out = [("service", "checkout"), ("action", "scale_out")];
    assert_eq!(value(&m, "shadow_decisions_total", &out), Some(1.0));
    rt.stop().await;
}

#[tokio::test]
async fn provisioner_retries_are_bounded() {
    let (rt, flaky) = flaky_runtime(100).await;
    let d = rt.cycle().await.remove(0);
    let attempts = RetryPolicy::default().max_attempts;
    assert!(!d.applied);
    assert_eq!(
        d.error,
        Some(format!(
            "gave up after {attempts} attempts: flaky: unavailable: 503"
        ))
    );
    assert_eq!(flaky.seen.lock().unwrap().len(), attempts as usize);
    assert!(flaky.inner.history().is_empty());
    let m = parse(&get(rt.local_addr().unwrap(), "/metrics").await.1);
    let err = [
        ("service", "checkout"),
        ("stage", "apply"),
        ("kind", "unavailable"),
    ];
    assert_eq!(value(&m, "shadow_errors_total", &err), Some(f64::from(attempts)));
    rt.stop().await;
}

#[tokio::test]
async fn a_bad_reload_keeps_the_old_config_and_a_good_one_takes_effect() {
    let now = end() + TimeDelta::hours(6);
    let provisioner = InMemoryProvisioner::new().with_service(&svc(), Environment::Live, 6);
    let rt = runtime(
        &seeded(now, now),
        &provisioner,
        false,
        Arc::new(ManualClock::new(now)),
    )
    .await;
    let before = rt.controller().config().clone();

    let e = rt.reload("[controller\n").unwrap_err();
    assert_eq!(e.kind(), "config");
    let e = rt
        .reload(&config_text(false, 50).replace("kind = \"seeded\"", "kind = \"nowhere\""))
        .unwrap_err();
    assert_eq!(e.kind(), "unknown_provider");
    let e = rt.reload(&config_text(false, 1)).unwrap_err();
    assert!(e.to_string().contains("max_replicas"), "{e}");
    assert_eq!(rt.controller().config(), &before);
    // The old config still acts.
    let d = rt.cycle().await.remove(0);
    assert!(d.applied, "{d:?}");

    rt.reload(&config_text(true, 8)).unwrap();
    assert!(rt.controller().config().controller.dry_run);
    let d = rt.cycle().await.remove(0);
    assert!(!d.applied, "dry-run after the reload: {d:?}");
    assert_eq!(d.refitted + d.reused, 1);
    assert_eq!(d.reused, 1, "the model carried over the reload");

    let m = parse(&get(rt.local_addr().unwrap(), "/metrics").await.1);
    assert_eq!(
        value(&m, "shadow_reloads_total", &[("result", "error")]),
        Some(3.0)
    );
    assert_eq!(value(&m, "shadow_reloads_total", &[("result", "ok")]), Some(1.0));
    let reload = [("service", ""), ("stage", "reload"), ("kind", "config")];
    assert_eq!(value(&m, "shadow_errors_total", &reload), Some(2.0));
    rt.stop().await;
}
