//! Persisted state, resume after a crash, and the metric gate, against the in-memory fakes and a manual clock.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, TimeZone, Utc};
use shadow_core::{
    Environment, ManualClock, ProvisioningRequest, Replicas, ResourceKind, ServiceId, SwitchPhase,
    SwitchState, SwitchStateStore, TimeSeries, TrafficShifter, TrafficSplit, TrafficWeight,
    config::SwitchConfig,
    memory::{
        InMemoryHealthProbe, InMemoryMetricSource, InMemoryProvisioner, InMemorySwitchStateStore,
        InMemoryTrafficShifter,
    },
};
use shadow_switch::{
    Analysis, AnalysisConfig, Phase, ResumePolicy, SwitchMetrics, SwitchRequest, Switchover,
};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
}

fn svc() -> ServiceId {
    ServiceId::new("checkout").unwrap()
}

fn split(p: f64) -> TrafficSplit {
    TrafficSplit::to_shadow(TrafficWeight::from_percent(p).unwrap())
}

struct World {
    clock: ManualClock,
    prov: InMemoryProvisioner,
    shifter: InMemoryTrafficShifter,
    probe: InMemoryHealthProbe,
    store: InMemorySwitchStateStore,
    metrics: SwitchMetrics,
}

fn world() -> World {
    let clock = ManualClock::new(t0());
    World {
        prov: InMemoryProvisioner::new()
            .with_service(&svc(), Environment::Live, 6)
            .with_service(&svc(), Environment::Shadow, 1),
        shifter: InMemoryTrafficShifter::new().with_service(&svc()),
        probe: InMemoryHealthProbe::new()
            .with_healthy(&svc(), Environment::Live, true)
            .with_healthy(&svc(), Environment::Shadow, true),
        store: InMemorySwitchStateStore::new(),
        metrics: SwitchMetrics::new(),
        clock,
    }
}

impl World {
    fn switchover(&self, resume: ResumePolicy, analysis: Option<Analysis>) -> Switchover {
        let mut b = Switchover::builder()
            .with_provisioner(Arc::new(self.prov.clone()))
            .with_shifter(Arc::new(self.shifter.clone()))
            .with_probe(Arc::new(self.probe.clone()))
            .with_clock(Arc::new(self.clock.clone()))
            .with_state_store(Arc::new(self.store.clone()))
            .with_metrics(self.metrics.clone())
            .with_resume_policy(resume)
            .with_config(SwitchConfig {
                steps: vec![1.0, 5.0, 25.0, 50.0, 100.0],
                dwell: Duration::from_secs(60),
                settle: Duration::from_secs(30),
                probe_interval: Duration::from_secs(5),
            });
        if let Some(a) = analysis {
            b = b.with_analysis(a);
        }
        b.build().unwrap()
    }

    /// The state a controller killed during step `step` leaves behind.
    async fn crashed_at(&self, step: usize, confirmed: TrafficSplit, pending: Option<TrafficSplit>) {
        let req = request();
        self.store
            .save(&SwitchState {
                service: svc(),
                run_id: req.shadow[0].idempotency_key(),
                phase: SwitchPhase::Shifting { step },
                split: confirmed,
                pending,
                revision: 1,
                updated_at: t0(),
                detail: "dwelling".into(),
            })
            .await
            .unwrap();
    }
}

fn request() -> SwitchRequest {
    SwitchRequest {
        service: svc(),
        shadow: vec![ProvisioningRequest {
            service: svc(),
            environment: Environment::Shadow,
            target: Replicas(6),
            issue_at: t0(),
            deadline: t0(),
            reason: "warm-up".into(),
        }],
        live_min_replicas: Replicas(6),
    }
}

fn shifts(w: &World) -> Vec<f64> {
    w.shifter
        .history()
        .iter()
        .map(|(_, s)| s.shadow.percent())
        .collect()
}

#[tokio::test]
async fn persists_every_transition_and_a_finished_run_is_a_no_op() {
    let w = world();
    let s = w.switchover(ResumePolicy::Continue, None);
    let report = s.run(&request()).await.unwrap();
    assert_eq!(report.phase, Phase::Promoted);
    let stored = w.store.states().pop().unwrap();
    assert_eq!(
        (stored.phase, stored.split, stored.pending),
        (Phase::Promoted, TrafficSplit::ALL_SHADOW, None)
    );
    // preparing, verifying, 5 x (write-ahead + confirmed), promoted.
    assert_eq!(stored.revision, 13);
    let before = shifts(&w).len();
    let again = s.run(&request()).await.unwrap();
    assert_eq!(again.phase, Phase::Promoted);
    assert_eq!(again.events.len(), 1);
    assert!(again.events[0].detail.contains("already ended promoted"));
    assert_eq!(shifts(&w).len(), before);
    assert_eq!(w.prov.history().len(), 1);
    assert_eq!(w.metrics.transitions(&svc(), Phase::Promoted), 1);
    assert_eq!(w.metrics.transitions(&svc(), Phase::Preparing), 1);
    assert_eq!(w.metrics.transitions(&svc(), Phase::Shifting { step: 0 }), 5);
}

#[tokio::test]
async fn resumes_an_interrupted_step() {
    let w = world();
    w.prov.set_replicas(&svc(), Environment::Shadow, 6);
    w.shifter.set_split(&svc(), split(25.0));
    w.crashed_at(2, split(25.0), None).await;
    let report = w
        .switchover(ResumePolicy::Continue, None)
        .run(&request())
        .await
        .unwrap();
    assert_eq!(report.phase, Phase::Promoted);
    assert!(
        report.events[0]
            .detail
            .starts_with("resuming run checkout/shadow/6@"),
        "{:?}",
        report.events[0]
    );
    assert_eq!(shifts(&w), [25.0, 50.0, 100.0]);
    assert!(
        w.prov.history().is_empty(),
        "the shadow was not provisioned again"
    );
}

#[tokio::test]
async fn resumes_when_the_crash_hit_between_write_ahead_and_apply() {
    // Saved "applying 50 %" but died before the shifter call: traffic is still at 25 %.
    let w = world();
    w.shifter.set_split(&svc(), split(25.0));
    w.crashed_at(2, split(25.0), Some(split(50.0))).await;
    let report = w
        .switchover(ResumePolicy::Continue, None)
        .run(&request())
        .await
        .unwrap();
    assert_eq!(report.phase, Phase::Promoted);
    assert_eq!(shifts(&w), [25.0, 50.0, 100.0]);
}

#[tokio::test]
async fn resumes_from_the_next_step_when_the_crash_hit_after_apply() {
    // Saved "applying 50 %", the shifter applied it, and the controller died before confirming.
    let w = world();
    w.shifter.set_split(&svc(), split(50.0));
    w.crashed_at(2, split(25.0), Some(split(50.0))).await;
    let report = w
        .switchover(ResumePolicy::Continue, None)
        .run(&request())
        .await
        .unwrap();
    assert_eq!(report.phase, Phase::Promoted);
    assert_eq!(shifts(&w), [50.0, 100.0]);
}

#[tokio::test]
async fn rolls_back_a_split_nobody_decided_or_a_failing_side_or_by_policy() {
    // Someone moved traffic to 40 % by hand while the controller was down.
    let w = world();
    w.shifter.set_split(&svc(), split(40.0));
    w.crashed_at(2, split(25.0), None).await;
    let report = w
        .switchover(ResumePolicy::Continue, None)
        .run(&request())
        .await
        .unwrap();
    assert_eq!(report.phase, Phase::RolledBack);
    let rb = report
        .events
        .iter()
        .find(|e| e.phase == Phase::RollingBack)
        .unwrap();
    assert!(rb.detail.contains("nobody decided"), "{}", rb.detail);
    assert_eq!(w.shifter.weights(&svc()).await.unwrap(), TrafficSplit::ALL_LIVE);

    // The shadow failed while the controller was down.
    let w = world();
    w.shifter.set_split(&svc(), split(25.0));
    w.probe.set_healthy(&svc(), Environment::Shadow, false);
    w.crashed_at(2, split(25.0), None).await;
    let report = w
        .switchover(ResumePolicy::Continue, None)
        .run(&request())
        .await
        .unwrap();
    assert_eq!(report.phase, Phase::RolledBack);

    // The operator asked for rollbacks on resume.
    let w = world();
    w.shifter.set_split(&svc(), split(5.0));
    w.crashed_at(1, split(5.0), None).await;
    let report = w
        .switchover(ResumePolicy::RollBack, None)
        .run(&request())
        .await
        .unwrap();
    assert_eq!(report.phase, Phase::RolledBack);
    assert_eq!(shifts(&w), [0.0]);
}

#[tokio::test]
async fn a_state_store_that_refuses_writes_stops_before_traffic_moves() {
    let w = world();
    w.store.fail_next(1, || shadow_core::Error::PermissionDenied {
        provider: "memory",
        message: "read-only".into(),
    });
    let err = w
        .switchover(ResumePolicy::Continue, None)
        .run(&request())
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "switch state store failed");
    assert!(w.shifter.history().is_empty());
}

fn series(values: impl Fn(usize) -> f64) -> TimeSeries {
    // One point a second for three hours before and after t0.
    let start = t0() - chrono::TimeDelta::hours(3);
    TimeSeries::new(start, Duration::from_secs(1), (0..6 * 3600).map(values).collect()).unwrap()
}

#[tokio::test]
async fn the_metric_gate_rolls_back_a_shadow_with_more_errors() {
    let w = world();
    let source = InMemoryMetricSource::new();
    let err: ResourceKind = "error_rate".parse().unwrap();
    let lat: ResourceKind = "latency_p99".parse().unwrap();
    // Live: 0.1-0.3 % errors; shadow: 4-6 %. Latencies alike (20-24 ms).
    source.insert(
        &svc(),
        Environment::Live,
        err.clone(),
        &series(|i| 0.001 + (i % 3) as f64 * 0.001),
    );
    source.insert(
        &svc(),
        Environment::Shadow,
        err,
        &series(|i| 0.04 + (i % 3) as f64 * 0.01),
    );
    for env in Environment::BOTH {
        source.insert(
            &svc(),
            env,
            lat.clone(),
            &series(|i| 0.020 + (i % 5) as f64 * 0.001),
        );
    }
    let analysis = Analysis::new(Arc::new(source), AnalysisConfig::default()).unwrap();
    let report = w
        .switchover(ResumePolicy::Continue, Some(analysis))
        .run(&request())
        .await
        .unwrap();
    assert_eq!(report.phase, Phase::RolledBack);
    let rb = report
        .events
        .iter()
        .find(|e| e.phase == Phase::RollingBack)
        .unwrap();
    assert!(
        rb.detail.starts_with("at 1%: analysis failed: error_rate Fail"),
        "{}",
        rb.detail
    );
    assert!(rb.detail.contains("latency_p99 Pass"), "{}", rb.detail);
    assert_eq!(shifts(&w), [1.0, 0.0]);
}

#[tokio::test]
async fn the_metric_gate_passes_alike_sides_and_treats_missing_data_as_inconclusive() {
    let w = world();
    let source = InMemoryMetricSource::new();
    let err: ResourceKind = "error_rate".parse().unwrap();
    for env in Environment::BOTH {
        source.insert(
            &svc(),
            env,
            err.clone(),
            &series(|i| 0.001 + (i % 4) as f64 * 0.001),
        );
    }
    let analysis = Analysis::new(Arc::new(source), AnalysisConfig::default()).unwrap();
    let report = w
        .switchover(ResumePolicy::Continue, Some(analysis))
        .run(&request())
        .await
        .unwrap();
    assert_eq!(report.phase, Phase::Promoted);
    let notes: Vec<_> = report
        .events
        .iter()
        .filter(|e| e.detail.contains("analysis passed"))
        .collect();
    assert_eq!(notes.len(), 5);
    assert!(
        notes[0].detail.contains("error_rate Pass") && notes[0].detail.contains("latency_p99 Inconclusive")
    );
}
