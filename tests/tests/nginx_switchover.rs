//! The switchover end to end through a real nginx under loopback load (issue 5, scenarios 1-4).
//!
//! Needs the nginx that `./scripts/test.sh` starts (`SHADOW_NGINX_BIN`, `SHADOW_NGINX_CONF_DIR`,
//! `SHADOW_NGINX_PREFIX`); without them every test prints why and passes without running. The scenarios run
//! one at a time (a shared lock), each bounded in time and requests. See the figures with
//! `./scripts/test.sh -- -p shadow-tests --test nginx_switchover -- --nocapture`.

mod nginx_support;

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use nginx_support::{
    Backend, Load, LoadReport, RecordingProvisioner, RecordingShifter, ShiftCall, SideStats, StatsSource,
};
use shadow::SystemClock;
use shadow_core::{
    Environment, ProvisioningRequest, Replicas, ServiceId, SwitchStateStore, TrafficSplit,
    config::SwitchConfig, memory::InMemoryProvisioner,
};
use shadow_providers::nginx::{NginxBuilder, NginxServiceConfig};
use shadow_switch::{
    Analysis, AnalysisConfig, FileStateStore, Phase, SwitchEvent, SwitchMetrics, SwitchRequest, Switchover,
};

/// One scenario at a time: they share nginx and the machine's two cores.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const RATE: f64 = 2_500.0;
const CONNECTIONS: usize = 16;
const MAX_TIME: Duration = Duration::from_secs(90);
const MAX_REQUESTS: u64 = 250_000;
const STEPS: [f64; 5] = [1.0, 5.0, 25.0, 50.0, 100.0];

fn nginx_env() -> bool {
    let have = ["SHADOW_NGINX_BIN", "SHADOW_NGINX_CONF_DIR", "SHADOW_NGINX_PREFIX"]
        .iter()
        .all(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()));
    if !have {
        eprintln!(
            "skipping: SHADOW_NGINX_BIN/CONF_DIR/PREFIX are not set; `./scripts/test.sh` starts nginx and sets them"
        );
    }
    have
}

/// A free port for nginx to listen on, below the kernel's ephemeral range: a port from that range could be
/// taken as the local port of some outgoing connection between this check and nginx's reload.
fn free_port() -> SocketAddr {
    use std::sync::atomic::AtomicU32;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32_768)
        .clamp(12_000, 65_535);
    let span = low - 11_000;
    let seed = std::process::id() * 7_919 + NEXT.fetch_add(1, Ordering::SeqCst) * 104_729;
    (0..span)
        .map(|i| 11_000 + (seed + i * 7_919) % span)
        .find_map(|port| std::net::TcpListener::bind(("127.0.0.1", port as u16)).ok())
        .and_then(|l| l.local_addr().ok())
        .expect("no free port below the ephemeral range")
}

struct Rig {
    service: ServiceId,
    live: Backend,
    shadow: Backend,
    listen: SocketAddr,
    stats: Arc<SideStats>,
    start: Instant,
    start_utc: DateTime<Utc>,
    order: Arc<Mutex<Vec<String>>>,
    calls: Arc<Mutex<Vec<ShiftCall>>>,
    state_dir: PathBuf,
}

impl Rig {
    async fn new(name: &str) -> Rig {
        let service = ServiceId::new(format!("{name}-{}", std::process::id())).unwrap();
        let stats = Arc::new(SideStats::default());
        let live = Backend::start(Environment::Live, stats.clone()).await;
        let shadow = Backend::start(Environment::Shadow, stats.clone()).await;
        let state_dir = std::env::temp_dir().join(format!("shadow-e2e-state-{service}"));
        let _ = std::fs::remove_dir_all(&state_dir);
        Rig {
            service,
            live,
            shadow,
            listen: free_port(),
            stats,
            start: Instant::now(),
            start_utc: Utc::now(),
            order: Arc::default(),
            calls: Arc::default(),
            state_dir,
        }
    }

    fn builder(&self) -> NginxBuilder {
        NginxBuilder::from_env().with_service(
            self.service.clone(),
            NginxServiceConfig::new(
                self.listen.to_string(),
                [self.live.addr.to_string()],
                [self.shadow.addr.to_string()],
            ),
        )
    }

    /// A new shifter (as a restarted controller builds it), recording into the rig.
    fn shifter(&self) -> RecordingShifter {
        RecordingShifter {
            inner: Arc::new(self.builder().build_shifter().unwrap()),
            start: self.start,
            calls: self.calls.clone(),
            order: self.order.clone(),
        }
    }

    fn switchover(&self, prov: &InMemoryProvisioner, metrics: &SwitchMetrics) -> Switchover {
        let analysis = Analysis::new(
            Arc::new(StatsSource(self.stats.clone())),
            AnalysisConfig {
                window: Duration::from_secs(2),
                step: Duration::from_millis(nginx_support::BUCKET_MS as u64),
                // Loopback latencies of two identical backends jitter; only a doubling counts.
                max_latency_ratio: 2.0,
                ..AnalysisConfig::default()
            },
        )
        .unwrap();
        Switchover::builder()
            .with_provisioner(Arc::new(RecordingProvisioner {
                inner: Arc::new(prov.clone()),
                order: self.order.clone(),
            }))
            .with_shifter(Arc::new(self.shifter()))
            .with_probe(Arc::new(self.builder().build_probe().unwrap()))
            .with_clock(Arc::new(SystemClock))
            .with_state_store(Arc::new(FileStateStore::new(&self.state_dir).unwrap()))
            .with_analysis(analysis)
            .with_metrics(metrics.clone())
            .with_config(SwitchConfig {
                steps: STEPS.to_vec(),
                dwell: Duration::from_secs(2),
                settle: Duration::from_millis(500),
                probe_interval: Duration::from_millis(200),
            })
            .with_ready_timeout(Duration::from_secs(20))
            .with_rollback_step_dwell(Duration::from_millis(500))
            .build()
            .unwrap()
    }

    fn provisioner(&self, live: u32) -> InMemoryProvisioner {
        InMemoryProvisioner::new()
            .with_boot_delay(Arc::new(SystemClock), Duration::from_secs(1))
            .with_service(&self.service, Environment::Live, live)
            .with_service(&self.service, Environment::Shadow, 1)
    }

    fn request(&self, shadow: u32, live_min: u32) -> SwitchRequest {
        let now = Utc::now();
        SwitchRequest {
            service: self.service.clone(),
            shadow: vec![ProvisioningRequest {
                service: self.service.clone(),
                environment: Environment::Shadow,
                target: Replicas(shadow),
                issue_at: now,
                deadline: now,
                reason: "warm the shadow for the switch window".into(),
            }],
            live_min_replicas: Replicas(live_min),
        }
    }

    /// Puts all traffic on live (the decided start) and starts the load.
    async fn start_load(&self) -> (Arc<AtomicBool>, tokio::task::JoinHandle<LoadReport>) {
        use shadow_core::TrafficShifter;
        self.shifter()
            .set_weights(&self.service, TrafficSplit::ALL_LIVE)
            .await
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let load = Load {
            target: self.listen,
            rate: RATE,
            connections: CONNECTIONS,
            max_time: MAX_TIME,
            max_requests: MAX_REQUESTS,
        };
        let handle = tokio::spawn(load.run(self.start, self.start_utc, stop.clone(), self.stats.clone()));
        // Let the load reach its pace before anything moves.
        tokio::time::sleep(Duration::from_millis(500)).await;
        (stop, handle)
    }

    async fn stop_load(
        &self,
        stop: Arc<AtomicBool>,
        handle: tokio::task::JoinHandle<LoadReport>,
    ) -> LoadReport {
        tokio::time::sleep(Duration::from_millis(500)).await;
        stop.store(true, Ordering::SeqCst);
        handle.await.unwrap()
    }

    /// Waits until a `set_weights` to `percent` has been confirmed.
    async fn wait_for_step(&self, percent: f64) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let reached = self
                .calls
                .lock()
                .unwrap()
                .iter()
                .any(|c| c.ok && c.target.shadow.percent() == percent);
            if reached {
                return;
            }
            assert!(Instant::now() < deadline, "step {percent}% never reached");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Prints and returns the shadow share of the traffic sent while each confirmed split held.
    fn splits(&self, load: &LoadReport) -> Vec<(TrafficSplit, f64, usize)> {
        let calls: Vec<ShiftCall> = self
            .calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.ok)
            .cloned()
            .collect();
        let mut out = Vec::new();
        for (i, c) in calls.iter().enumerate() {
            let to = calls.get(i + 1).map_or(load.elapsed, |n| n.before);
            let (share, n) = load.shadow_share(c.after, to);
            if n > 0 {
                println!(
                    "  target shadow {:>5}: served {:>6.2}% of {n} requests (delta {:+.2} pp)",
                    c.target.shadow.to_string(),
                    share * 100.0,
                    (share - c.target.shadow.fraction()) * 100.0
                );
                out.push((c.target, share, n));
            }
        }
        out
    }

    async fn cleanup(&self) {
        use shadow_core::TrafficShifter;
        let shifter = self.builder().build_shifter().unwrap();
        let _ = std::fs::remove_file(shifter.file_path(&self.service).unwrap());
        // Reload so nginx forgets the upstream (and frees the port); an error here only leaves a stale file.
        let _ = shifter.weights(&self.service).await;
        let bin = std::env::var("SHADOW_NGINX_BIN").unwrap();
        let dir = PathBuf::from(std::env::var("SHADOW_NGINX_CONF_DIR").unwrap());
        let _ = std::process::Command::new(bin)
            .arg("-p")
            .arg(std::env::var("SHADOW_NGINX_PREFIX").unwrap())
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .args(["-s", "reload"])
            .status();
        let _ = std::fs::remove_dir_all(&self.state_dir);
    }
}

fn print_load(name: &str, load: &LoadReport) {
    println!(
        "{name}: sent {} requests in {:.1} s ({:.0} req/s), ok {}, failed {}, raw connection closes {} (each retried once)",
        load.sent,
        load.elapsed.as_secs_f64(),
        load.rate(),
        load.ok,
        load.failed,
        load.raw_closes
    );
    for f in load.failures.iter().take(5) {
        println!("  failure: {f}");
    }
}

fn event(events: &[SwitchEvent], phase: Phase) -> &SwitchEvent {
    events
        .iter()
        .find(|e| e.phase == phase)
        .unwrap_or_else(|| panic!("no {phase} event in {events:#?}"))
}

fn assert_rate(load: &LoadReport) {
    assert!(
        load.rate() >= 2_000.0,
        "the load ran at {:.0} req/s, below 2000",
        load.rate()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_1_full_switchover_under_load() {
    if !nginx_env() {
        return;
    }
    let _serial = SERIAL.lock().await;
    let rig = Rig::new("s1").await;
    let prov = rig.provisioner(4);
    let metrics = SwitchMetrics::new();
    let (stop, handle) = rig.start_load().await;
    let report = rig
        .switchover(&prov, &metrics)
        .run(&rig.request(4, 4))
        .await
        .unwrap();
    let load = rig.stop_load(stop, handle).await;
    rig.cleanup().await;

    println!("scenario 1 (full switchover 0 -> 100%):");
    print_load("scenario 1", &load);
    let splits = rig.splits(&load);
    for e in &report.events {
        println!("  {e}");
    }
    assert_eq!(report.phase, Phase::Promoted, "{:#?}", report.events);
    assert_eq!(load.failed, 0, "{:?}", load.failures);
    assert_rate(&load);
    // Every configured step plus the all-live start, each within 5 points of its target.
    assert_eq!(splits.len(), STEPS.len() + 1, "{splits:?}");
    for (target, share, n) in &splits {
        assert!(*n >= 500, "only {n} requests at {target}");
        assert!(
            (share - target.shadow.fraction()).abs() <= 0.05,
            "{target}: shadow served {share}"
        );
    }
    assert!(metrics.render().contains("phase=\"promoted\"} 1"));
    assert_eq!(metrics.transitions(&rig.service, Phase::Promoted), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_2_shadow_fails_at_25_percent_and_rolls_back() {
    if !nginx_env() {
        return;
    }
    let _serial = SERIAL.lock().await;
    let rig = Rig::new("s2").await;
    let prov = rig.provisioner(4);
    let metrics = SwitchMetrics::new();
    let (stop, handle) = rig.start_load().await;
    let switchover = rig.switchover(&prov, &metrics);
    let request = rig.request(4, 4);
    let run = tokio::spawn(async move { switchover.run(&request).await });
    rig.wait_for_step(25.0).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let fault_at = Utc::now();
    rig.shadow.healthy.store(false, Ordering::SeqCst);
    let report = run.await.unwrap().unwrap();
    let load = rig.stop_load(stop, handle).await;
    rig.cleanup().await;

    println!("scenario 2 (shadow unhealthy at 25%):");
    print_load("scenario 2", &load);
    rig.splits(&load);
    for e in &report.events {
        println!("  {e}");
    }
    assert_eq!(report.phase, Phase::RolledBack);
    let detected = event(&report.events, Phase::RollingBack);
    assert!(
        detected.detail.contains("shadow unhealthy"),
        "{}",
        detected.detail
    );
    assert_eq!(detected.split.shadow.percent(), 25.0);
    let rolled = event(&report.events, Phase::RolledBack);
    let detection = (detected.at - fault_at).to_std().unwrap();
    let rollback = (rolled.at - detected.at).to_std().unwrap();
    println!(
        "  fault -> detection {:.0} ms, detection -> full rollback {:.0} ms",
        detection.as_secs_f64() * 1e3,
        rollback.as_secs_f64() * 1e3
    );
    // Every request sent after the rollback was confirmed went to live.
    let back = rig.calls.lock().unwrap().iter().rfind(|c| c.ok).cloned().unwrap();
    assert_eq!(back.target, TrafficSplit::ALL_LIVE);
    let (share, n) = load.shadow_share(back.after, load.elapsed);
    assert!(n > 500, "{n}");
    assert_eq!(share, 0.0, "{n} requests after rollback, shadow share {share}");
    assert_eq!(load.failed, 0, "{:?}", load.failures);
    assert_rate(&load);
    assert!(detection < Duration::from_secs(2), "{detection:?}");
    assert_eq!(metrics.transitions(&rig.service, Phase::RollingBack), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_3_rollback_scales_live_first() {
    if !nginx_env() {
        return;
    }
    let _serial = SERIAL.lock().await;
    let rig = Rig::new("s3").await;
    // Live was scaled down to 2 while the shadow took traffic; it needs 6 to carry all of it.
    let prov = rig.provisioner(2);
    let metrics = SwitchMetrics::new();
    let (stop, handle) = rig.start_load().await;
    let switchover = rig.switchover(&prov, &metrics);
    let request = rig.request(6, 6);
    let run = tokio::spawn(async move { switchover.run(&request).await });
    rig.wait_for_step(50.0).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    rig.shadow.healthy.store(false, Ordering::SeqCst);
    let report = run.await.unwrap().unwrap();
    let load = rig.stop_load(stop, handle).await;
    rig.cleanup().await;

    println!("scenario 3 (capacity-aware rollback from 50%):");
    print_load("scenario 3", &load);
    rig.splits(&load);
    for e in &report.events {
        println!("  {e}");
    }
    assert_eq!(report.phase, Phase::RolledBack);
    let order = rig.order.lock().unwrap().clone();
    println!("  order: {}", order.join(", "));
    assert_eq!(
        order,
        [
            "shadow 0%",
            "apply shadow 6",
            "shadow 1%",
            "shadow 5%",
            "shadow 25%",
            "shadow 50%",
            "apply live 6",
            "shadow 25%",
            "shadow 5%",
            "shadow 1%",
            "shadow 0%",
        ]
    );
    assert!(
        report
            .events
            .iter()
            .any(|e| e.detail.contains("live scaled 2 -> 6 (6 ready)"))
    );
    let detected = event(&report.events, Phase::RollingBack);
    let first_back = rig
        .calls
        .lock()
        .unwrap()
        .iter()
        .filter(|c| c.ok)
        .nth(5)
        .cloned()
        .unwrap();
    let waited = (rig.start_utc + chrono::TimeDelta::from_std(first_back.before).unwrap()) - detected.at;
    println!(
        "  live scale-up before the first move back: {} ms",
        waited.num_milliseconds()
    );
    assert!(waited >= chrono::TimeDelta::milliseconds(900), "{waited}");
    assert_eq!(load.failed, 0, "{:?}", load.failures);
    assert_rate(&load);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_4_killed_mid_shift_resumes_from_persisted_state() {
    if !nginx_env() {
        return;
    }
    let _serial = SERIAL.lock().await;
    let rig = Rig::new("s4").await;
    let prov = rig.provisioner(4);
    let metrics = SwitchMetrics::new();
    let (stop, handle) = rig.start_load().await;
    let switchover = rig.switchover(&prov, &metrics);
    let request = rig.request(4, 4);
    let first = {
        let request = request.clone();
        tokio::spawn(async move { switchover.run(&request).await })
    };
    rig.wait_for_step(25.0).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    // Kill the controller mid-dwell: the task is dropped at its current await, as a killed process stops.
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());
    let killed_at = rig.start.elapsed();
    let store = FileStateStore::new(&rig.state_dir).unwrap();
    let persisted = store.load(&rig.service).await.unwrap().unwrap();
    println!(
        "scenario 4: killed at {killed_at:?}; persisted {} at {} (revision {})",
        persisted.phase, persisted.split, persisted.revision
    );
    assert_eq!(persisted.phase, Phase::Shifting { step: 2 });
    assert_eq!(persisted.split.shadow.percent(), 25.0);
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Restart: new shifter, new store on the same directory, same request.
    let calls_before = rig.calls.lock().unwrap().len();
    let report = rig
        .switchover(&prov, &SwitchMetrics::new())
        .run(&request)
        .await
        .unwrap();
    // Running the finished switchover again changes nothing.
    let again = rig
        .switchover(&prov, &SwitchMetrics::new())
        .run(&request)
        .await
        .unwrap();
    let load = rig.stop_load(stop, handle).await;
    let final_state = store.load(&rig.service).await.unwrap().unwrap();
    rig.cleanup().await;

    print_load("scenario 4", &load);
    rig.splits(&load);
    for e in &report.events {
        println!("  {e}");
    }
    assert_eq!(report.phase, Phase::Promoted);
    assert!(
        report.events[0].detail.starts_with("resuming run")
            && report.events[0].detail.contains("shifting[2]"),
        "{}",
        report.events[0].detail
    );
    // The restarted run re-applied 25 % and went on; it never started over from 1 %.
    let resumed: Vec<f64> = rig.calls.lock().unwrap()[calls_before..]
        .iter()
        .map(|c| c.target.shadow.percent())
        .collect();
    assert_eq!(resumed, [25.0, 50.0, 100.0]);
    // The shadow was not provisioned again.
    assert_eq!(
        prov.history()
            .iter()
            .filter(|r| r.environment == Environment::Shadow)
            .count(),
        1
    );
    assert_eq!(final_state.phase, Phase::Promoted);
    assert_eq!(load.failed, 0, "{:?}", load.failures);
    assert_rate(&load);
    assert_eq!(again.phase, Phase::Promoted);
    assert!(
        again.events[0].detail.contains("already ended promoted"),
        "{:?}",
        again.events
    );
    assert_eq!(rig.calls.lock().unwrap().len(), calls_before + 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_shifter_and_probe_pass_conformance_and_never_half_apply() {
    use shadow_core::{TrafficShifter, TrafficWeight, conformance};
    if !nginx_env() {
        return;
    }
    let _serial = SERIAL.lock().await;
    let rig = Rig::new("conf").await;
    let shifter = rig.builder().build_shifter().unwrap();
    // Before the first set_weights nginx has nothing for the service.
    assert!(matches!(
        shifter.weights(&rig.service).await,
        Err(shadow_core::Error::NotFound { .. })
    ));
    shifter
        .set_weights(&rig.service, TrafficSplit::ALL_LIVE)
        .await
        .unwrap();
    conformance::traffic_shifter(&shifter, &rig.service).await;
    let probe = rig.builder().build_probe().unwrap();
    for (env, backend) in [(Environment::Live, &rig.live), (Environment::Shadow, &rig.shadow)] {
        let flag = backend.healthy.clone();
        conformance::health_probe(&probe, &rig.service, env, |ok| {
            flag.store(ok, Ordering::SeqCst);
            async {}
        })
        .await;
    }

    // A change that `nginx -t` rejects (here: another file defines the same upstream) fails with a config
    // error, restores the previous file, and leaves nginx serving the previous split.
    let five = TrafficSplit::to_shadow(TrafficWeight::from_percent(5.0).unwrap());
    shifter.set_weights(&rig.service, five).await.unwrap();
    let file = shifter.file_path(&rig.service).unwrap();
    let before = std::fs::read_to_string(&file).unwrap();
    let clash = file.with_file_name(format!("zz-clash-{}.conf", rig.service));
    std::fs::write(
        &clash,
        format!("upstream shadow_{} {{ server 127.0.0.1:9; }}\n", rig.service),
    )
    .unwrap();
    let err = shifter
        .set_weights(&rig.service, TrafficSplit::ALL_SHADOW)
        .await
        .unwrap_err();
    std::fs::remove_file(&clash).unwrap();
    let text = err.to_string();
    println!("rejected change: {text}");
    assert!(
        text.contains("nginx -t rejected the rendered upstream") && text.contains("duplicate upstream"),
        "{text}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
    assert_eq!(shifter.weights(&rig.service).await.unwrap(), five);
    rig.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shadow_switch_cli_runs_through_nginx_and_resumes_after_a_kill() {
    use shadow_core::TrafficShifter;
    if !nginx_env() {
        return;
    }
    let _serial = SERIAL.lock().await;
    let rig = Rig::new("cli").await;
    let var = |k: &str| std::env::var(k).unwrap();
    let conf_dir = PathBuf::from(var("SHADOW_NGINX_CONF_DIR"));
    let prefix = PathBuf::from(var("SHADOW_NGINX_PREFIX"));
    let nginx = format!(
        "kind = \"nginx\"\nbin = \"{}\"\nconf = \"{}\"\nprefix = \"{}\"\npid_file = \"{}\"\ninclude_dir = \"{}\"\n\
         services.{svc} = {{ listen = \"{}\", live = [\"{}\"], shadow = [\"{}\"] }}\n",
        var("SHADOW_NGINX_BIN"),
        conf_dir.join("nginx.conf").display(),
        prefix.display(),
        prefix.join("nginx.pid").display(),
        conf_dir.join("conf.d").display(),
        rig.listen,
        rig.live.addr,
        rig.shadow.addr,
        svc = rig.service,
    );
    let config = format!(
        "[provisioner]\nkind = \"memory\"\nservices = {{ {svc} = 3 }}\n[traffic]\n{nginx}[health]\n{nginx}\
         [switch]\nsteps = [10.0, 50.0, 100.0]\ndwell = \"1500ms\"\nsettle = \"200ms\"\nprobe_interval = \"100ms\"\n\
         [[services]]\nname = \"{svc}\"\nresources = [\"cpu\"]\n\
         policy = {{ min_replicas = 2, max_replicas = 9, lead_time = \"1m\", capacity.cpu = {{ per_instance = 2.0 }} }}\n",
        svc = rig.service,
    );
    let dir = rig.state_dir.clone();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("shadow.toml");
    std::fs::write(&path, config).unwrap();
    let state_dir = dir.join("state");
    let metrics_file = dir.join("switch.prom");
    // The real command in a separate process, so that it can be killed with SIGKILL at an arbitrary point.
    let command = || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_shadow_cli"));
        cmd.arg("switch")
            .arg("--config")
            .arg(&path)
            .arg("--state-dir")
            .arg(&state_dir)
            .arg("--metrics-file")
            .arg(&metrics_file)
            .stdin(std::process::Stdio::null());
        cmd
    };

    // Kill the command with SIGKILL while it holds 50 %, then run it again: it resumes there and promotes.
    let mut first = command().spawn().expect("start the shadow command");
    let shifter = rig.builder().build_shifter().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while shifter
        .weights(&rig.service)
        .await
        .map(|s| s.shadow.percent())
        .ok()
        != Some(50.0)
    {
        if let Some(status) = first.try_wait().unwrap() {
            panic!("the command ended early with {status}");
        }
        assert!(Instant::now() < deadline, "the command never reached 50 %");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill().unwrap(); // SIGKILL: no destructor, no flush, no signal handler runs.
    let status = first.wait().unwrap();
    assert!(!status.success(), "the killed command reported success: {status}");
    let state_file = state_dir.join(format!("{}.switch.json", rig.service));
    let state = std::fs::read_to_string(&state_file).unwrap();
    // Killed holding 50 %: either confirmed (step 1) or applied but not yet confirmed (step 0, pending 50 %).
    assert!(
        state.contains("\"step\": 1") || state.contains("\"pending\": {\n    \"shadow\": 5000"),
        "{state}"
    );
    let mut again = command();
    let second = tokio::task::spawn_blocking(move || again.output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        second.status.success(),
        "the restarted command failed: {}",
        String::from_utf8_lossy(&second.stderr)
    );
    let state = std::fs::read_to_string(&state_file).unwrap();
    assert!(state.contains("\"phase\": \"promoted\""), "{state}");
    assert!(state.contains("\"shadow\": 10000"), "{state}");
    assert_eq!(
        shifter.weights(&rig.service).await.unwrap(),
        TrafficSplit::ALL_SHADOW
    );
    let prom = std::fs::read_to_string(dir.join("switch.prom")).unwrap();
    assert!(prom.contains(&format!(
        "shadow_switch_phase{{service=\"{}\",phase=\"promoted\"}} 1",
        rig.service
    )));
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_shadow_cli"))
        .arg("switch")
        .arg("status")
        .arg("--config")
        .arg(&path)
        .arg("--state-dir")
        .arg(&state_dir)
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert!(shown.contains("promoted"), "{shown}");
    rig.cleanup().await;
}
