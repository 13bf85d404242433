//! The switchover against the in-memory fakes and a manual clock.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use shadow_core::{
    Allocation, Clock, Environment, HealthProbe, HealthStatus, ManualClock, Provisioner,
    ProvisionerCapability, ProvisioningRequest, Replicas, Result, ServiceId, ShifterCapability,
    TrafficShifter, TrafficSplit, TrafficWeight,
    config::SwitchConfig,
    memory::{InMemoryHealthProbe, InMemoryProvisioner, InMemoryTrafficShifter},
};
use shadow_switch::{Error, Phase, SwitchRequest, Switchover};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
}

fn svc() -> ServiceId {
    ServiceId::new("checkout").unwrap()
}

fn pct(p: f64) -> TrafficWeight {
    TrafficWeight::from_percent(p).unwrap()
}

fn shadow_request(target: u32) -> ProvisioningRequest {
    ProvisioningRequest {
        service: svc(),
        environment: Environment::Shadow,
        target: Replicas(target),
        issue_at: t0(),
        deadline: t0(),
        reason: "warm-up".into(),
    }
}

struct World {
    clock: ManualClock,
    prov: InMemoryProvisioner,
    shifter: InMemoryTrafficShifter,
    probe: InMemoryHealthProbe,
}

fn world(live: u32) -> World {
    let clock = ManualClock::new(t0());
    let prov = InMemoryProvisioner::new()
        .with_boot_delay(Arc::new(clock.clone()), Duration::from_secs(90))
        .with_service(&svc(), Environment::Live, live)
        .with_service(&svc(), Environment::Shadow, 1);
    let shifter = InMemoryTrafficShifter::new().with_service(&svc());
    let probe = InMemoryHealthProbe::new()
        .with_healthy(&svc(), Environment::Live, true)
        .with_healthy(&svc(), Environment::Shadow, true);
    World {
        clock,
        prov,
        shifter,
        probe,
    }
}

fn switchover(
    w: &World,
    prov: Arc<dyn Provisioner>,
    shifter: Arc<dyn TrafficShifter>,
    probe: Arc<dyn HealthProbe>,
) -> Switchover {
    Switchover::builder()
        .with_provisioner(prov)
        .with_shifter(shifter)
        .with_probe(probe)
        .with_clock(Arc::new(w.clock.clone()))
        .with_config(SwitchConfig {
            steps: vec![1.0, 5.0, 25.0, 50.0, 100.0],
            dwell: Duration::from_secs(60),
            settle: Duration::from_secs(30),
            probe_interval: Duration::from_secs(5),
        })
        .build()
        .unwrap()
}

fn request(target: u32, live_min: u32) -> SwitchRequest {
    SwitchRequest {
        service: svc(),
        shadow: vec![shadow_request(target)],
        live_min_replicas: Replicas(live_min),
    }
}

#[tokio::test]
async fn promotes_through_every_step() {
    let w = world(6);
    let s = switchover(
        &w,
        Arc::new(w.prov.clone()),
        Arc::new(w.shifter.clone()),
        Arc::new(w.probe.clone()),
    );
    let report = s.run(&request(6, 6)).await.unwrap();

    assert_eq!(report.phase, Phase::Promoted);
    let steps: Vec<_> = [1.0, 5.0, 25.0, 50.0, 100.0].into_iter().map(pct).collect();
    assert_eq!(report.split_history(), steps);
    let applied: Vec<_> = w.shifter.history().into_iter().map(|(_, s)| s.shadow).collect();
    assert_eq!(applied, steps);
    // The shadow was warmed before any traffic moved: boot delay 90 s, then settle 30 s.
    let shadow = w.prov.describe(&svc(), Environment::Shadow).await.unwrap();
    assert_eq!(shadow.ready, Replicas(6));
    let first_shift = report
        .events
        .iter()
        .find(|e| matches!(e.phase, Phase::Shifting { .. }))
        .unwrap();
    assert!(first_shift.at >= t0() + chrono::TimeDelta::seconds(120));
    // Five dwells of 60 s after that.
    assert_eq!(w.clock.now() - first_shift.at, chrono::TimeDelta::seconds(300));
    assert_eq!(report.events.first().unwrap().phase, Phase::Preparing);
    assert_eq!(report.events.last().unwrap().split, TrafficSplit::ALL_SHADOW);
}

#[tokio::test]
async fn rerunning_reapplies_the_same_targets() {
    let w = world(6);
    let s = switchover(
        &w,
        Arc::new(w.prov.clone()),
        Arc::new(w.shifter.clone()),
        Arc::new(w.probe.clone()),
    );
    s.run(&request(6, 6)).await.unwrap();
    s.run(&request(6, 6)).await.unwrap();
    let targets: Vec<_> = w.prov.history().iter().map(|r| r.target).collect();
    assert_eq!(targets, vec![Replicas(6), Replicas(6)]);
    assert_eq!(
        w.prov
            .describe(&svc(), Environment::Shadow)
            .await
            .unwrap()
            .desired,
        Replicas(6)
    );
}

/// Turns the shadow unhealthy once the shifter's split reaches `at`.
#[derive(Debug)]
struct FailsAt {
    shifter: InMemoryTrafficShifter,
    at: TrafficWeight,
}

#[async_trait]
impl HealthProbe for FailsAt {
    fn name(&self) -> &str {
        "fails-at"
    }

    async fn check(&self, service: &ServiceId, environment: Environment) -> Result<HealthStatus> {
        let split = self.shifter.weights(service).await?;
        if environment == Environment::Shadow && split.shadow >= self.at {
            return Ok(HealthStatus::unhealthy(Duration::ZERO, "HTTP 503"));
        }
        Ok(HealthStatus::healthy(Duration::ZERO, "HTTP 200"))
    }
}

#[tokio::test]
async fn rolls_back_when_shadow_fails_at_25_percent() {
    let w = world(6);
    let probe = FailsAt {
        shifter: w.shifter.clone(),
        at: pct(25.0),
    };
    let s = switchover(
        &w,
        Arc::new(w.prov.clone()),
        Arc::new(w.shifter.clone()),
        Arc::new(probe),
    );
    let report = s.run(&request(6, 6)).await.unwrap();

    assert_eq!(report.phase, Phase::RolledBack);
    let applied: Vec<_> = w.shifter.history().into_iter().map(|(_, s)| s.shadow).collect();
    assert_eq!(applied, vec![pct(1.0), pct(5.0), pct(25.0), TrafficWeight::ZERO]);
    let back = report
        .events
        .iter()
        .find(|e| e.phase == Phase::RollingBack)
        .unwrap();
    assert!(back.detail.contains("shadow unhealthy at 25%"), "{}", back.detail);
    assert_eq!(back.split.shadow, pct(25.0));
    // Live had enough replicas: no live request.
    assert!(
        w.prov
            .history()
            .iter()
            .all(|r| r.environment == Environment::Shadow)
    );
}

/// Records provisioner and shifter calls into one shared log, to check their order.
#[derive(Debug, Clone)]
struct Recorder<T> {
    inner: T,
    log: Arc<Mutex<Vec<String>>>,
}

#[async_trait]
impl Provisioner for Recorder<InMemoryProvisioner> {
    fn name(&self) -> &str {
        "recorder"
    }

    fn capability(&self) -> ProvisionerCapability {
        self.inner.capability()
    }

    async fn describe(&self, service: &ServiceId, environment: Environment) -> Result<Allocation> {
        self.inner.describe(service, environment).await
    }

    async fn apply(&self, request: &ProvisioningRequest) -> Result<Allocation> {
        let out = self.inner.apply(request).await?;
        self.log
            .lock()
            .unwrap()
            .push(format!("apply {} {}", request.environment, request.target));
        Ok(out)
    }
}

#[async_trait]
impl TrafficShifter for Recorder<InMemoryTrafficShifter> {
    fn name(&self) -> &str {
        "recorder"
    }

    fn capability(&self) -> ShifterCapability {
        self.inner.capability()
    }

    async fn weights(&self, service: &ServiceId) -> Result<TrafficSplit> {
        self.inner.weights(service).await
    }

    async fn set_weights(&self, service: &ServiceId, split: TrafficSplit) -> Result<TrafficSplit> {
        let out = self.inner.set_weights(service, split).await?;
        self.log.lock().unwrap().push(format!("shadow {}", out.shadow));
        Ok(out)
    }
}

#[tokio::test]
async fn scales_live_up_before_moving_traffic_back() {
    // Live was scaled down to 2 while the shadow took traffic; the forecast says live needs 8.
    let w = world(2);
    let log = Arc::new(Mutex::new(Vec::new()));
    let prov = Recorder {
        inner: w.prov.clone(),
        log: log.clone(),
    };
    let shifter = Recorder {
        inner: w.shifter.clone(),
        log: log.clone(),
    };
    let probe = FailsAt {
        shifter: w.shifter.clone(),
        at: pct(50.0),
    };
    let s = switchover(&w, Arc::new(prov), Arc::new(shifter), Arc::new(probe));
    let report = s.run(&request(8, 8)).await.unwrap();

    assert_eq!(report.phase, Phase::RolledBack);
    assert_eq!(
        *log.lock().unwrap(),
        [
            "apply shadow 8",
            "shadow 1%",
            "shadow 5%",
            "shadow 25%",
            "shadow 50%",
            "apply live 8",
            // Live had to be scaled, so its new replicas take traffic back step by step.
            "shadow 25%",
            "shadow 5%",
            "shadow 1%",
            "shadow 0%"
        ]
    );
    let live = w.prov.describe(&svc(), Environment::Live).await.unwrap();
    assert_eq!(live.ready, Replicas(8));
    // Traffic moved back only after the live replicas booted (90 s boot delay).
    let rolled = report.events.last().unwrap();
    let started = report
        .events
        .iter()
        .find(|e| e.phase == Phase::RollingBack)
        .unwrap();
    assert!(rolled.at - started.at >= chrono::TimeDelta::seconds(90));
    assert!(
        report
            .events
            .iter()
            .any(|e| e.detail.contains("live scaled 2 -> 8"))
    );
}

#[tokio::test]
async fn stops_before_traffic_moves_when_shadow_never_settles_or_boots() {
    let w = world(6);
    w.probe.set_healthy(&svc(), Environment::Shadow, false);
    let s = switchover(
        &w,
        Arc::new(w.prov.clone()),
        Arc::new(w.shifter.clone()),
        Arc::new(w.probe.clone()),
    );
    let mut log = Vec::new();
    let err = s.run_logged(&request(6, 6), &mut log).await.unwrap_err();
    assert!(matches!(err, Error::ShadowUnhealthy { .. }), "{err}");
    assert_eq!(log.last().unwrap().phase, Phase::Verifying);
    assert!(w.shifter.history().is_empty());

    // A boot that never finishes within the timeout.
    let slow = InMemoryProvisioner::new()
        .with_boot_delay(Arc::new(w.clock.clone()), Duration::from_secs(3600))
        .with_service(&svc(), Environment::Shadow, 1);
    let s = Switchover::builder()
        .with_provisioner(Arc::new(slow))
        .with_shifter(Arc::new(w.shifter.clone()))
        .with_probe(Arc::new(w.probe.clone()))
        .with_clock(Arc::new(w.clock.clone()))
        .with_ready_timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let err = s.run(&request(4, 4)).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotReady {
                environment: Environment::Shadow,
                ..
            }
        ),
        "{err}"
    );
    assert!(w.shifter.history().is_empty());
}

#[tokio::test]
async fn retries_transient_errors_and_stops_on_persistent_ones_before_traffic_moves() {
    let w = world(6);
    let s = switchover(
        &w,
        Arc::new(w.prov.clone()),
        Arc::new(w.shifter.clone()),
        Arc::new(w.probe.clone()),
    );
    let unavailable = || shadow_core::Error::Unavailable {
        provider: "memory",
        message: "injected".into(),
    };
    // Two transient failures of the first shifter call are retried.
    w.shifter.fail_next(2, unavailable);
    w.prov.fail_next(2, unavailable);
    assert_eq!(s.run(&request(6, 6)).await.unwrap().phase, Phase::Promoted);
    // Three are not: the switchover stops before any traffic moves.
    w.shifter.set_split(&svc(), TrafficSplit::ALL_LIVE);
    let before = w.shifter.history().len();
    w.shifter.fail_next(3, unavailable);
    let err = s.run(&request(6, 6)).await.unwrap_err();
    assert!(matches!(err, Error::Shifter(_)), "{err}");
    assert_eq!(w.shifter.history().len(), before);
}
