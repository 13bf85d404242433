//! A gradual switchover through a real nginx: two local backends (live and shadow), a keep-alive client
//! sending about 500 requests per second, and the switchover moving traffic 1 → 5 → 25 → 50 → 100 % with
//! health probes, persisted state and phase metrics. The shadow is sized for the switch window from a
//! forecast with [`shadow_target_for_window`].
//!
//! Start nginx with the project's script, then run the example:
//!
//! ```text
//! source scripts/services.sh && services_start nginx
//! cargo run -p shadow-examples --example nginx_gradual_switch
//! services_stop_all
//! ```
//!
//! It reads `SHADOW_NGINX_BIN`, `SHADOW_NGINX_CONF_DIR` and `SHADOW_NGINX_PREFIX`, and prints the share of
//! requests the shadow served while each step held.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use anyhow::{Context, bail};
use chrono::{DateTime, TimeDelta, Utc};
use shadow::{
    SystemClock,
    core::{
        DemandCurve, Environment, Forecast, ProvisioningRequest, Replicas, ResourceCapacity, ResourceKind,
        ScalingPolicy, ServiceId, TimeRange, TrafficShifter, TrafficSplit, config::SwitchConfig,
        memory::InMemoryProvisioner,
    },
    providers::nginx::{NginxBuilder, NginxServiceConfig},
    switch::{
        FileStateStore, SwitchMetrics, SwitchRequest, Switchover,
        capacity::{need_path, shadow_target_for_window},
    },
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// Every answer: when it came and whether the shadow gave it.
type Seen = Arc<Mutex<Vec<(DateTime<Utc>, bool)>>>;

/// A backend that answers every request with its side's name.
async fn backend(side: &'static str) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 2048];
                loop {
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match conn.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(0) + 4;
                    let close = String::from_utf8_lossy(&buf[..end])
                        .to_ascii_lowercase()
                        .contains("connection: close");
                    buf.drain(..end);
                    let resp = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{side}", side.len());
                    if conn.write_all(resp.as_bytes()).await.is_err() || close {
                        return;
                    }
                }
            });
        }
    });
    Ok(addr)
}

/// Sends requests one after another on keep-alive connections, recording (time, answered by shadow).
async fn client(target: SocketAddr, stop: Arc<AtomicBool>, seen: Seen) {
    let mut conn: Option<TcpStream> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(8));
    while !stop.load(Ordering::SeqCst) {
        tick.tick().await;
        // One retry when the connection closed before an answer (nginx closes idle connections on reload).
        for _ in 0..2 {
            if conn.is_none() {
                conn = TcpStream::connect(target).await.ok();
            }
            let Some(c) = conn.as_mut() else { break };
            let mut buf = [0u8; 1024];
            let answered = async {
                c.write_all(b"GET / HTTP/1.1\r\nHost: example\r\n\r\n")
                    .await
                    .ok()?;
                let n = c.read(&mut buf).await.ok().filter(|n| *n > 0)?;
                Some(String::from_utf8_lossy(&buf[..n]).ends_with("shadow"))
            }
            .await;
            match answered {
                Some(shadow) => {
                    seen.lock().unwrap().push((Utc::now(), shadow));
                    break;
                }
                None => conn = None,
            }
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter("shadow=info").init();
    if std::env::var_os("SHADOW_NGINX_CONF_DIR").is_none() {
        bail!("SHADOW_NGINX_* are not set: run `source scripts/services.sh && services_start nginx` first");
    }
    let service = ServiceId::new("example-checkout")?;
    let (live, shadow) = (backend("live").await?, backend("shadow").await?);
    let listen = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let nginx = NginxBuilder::from_env().with_service(
        service.clone(),
        NginxServiceConfig::new(listen.to_string(), [live.to_string()], [shadow.to_string()]),
    );
    let shifter = Arc::new(nginx.clone().build_shifter()?);
    shifter.set_weights(&service, TrafficSplit::ALL_LIVE).await?;

    // Size the shadow for the next 10 minutes from a CPU forecast (cores; 2 per instance, planned at 70 %).
    let now = Utc::now();
    let cores: Vec<f64> = (0..12)
        .map(|i| 6.0 + 4.0 * (i as f64 / 3.0).sin().abs())
        .collect();
    let forecast = Forecast::new(now, Duration::from_secs(60), cores, vec![], vec![])?;
    let curve = DemandCurve::new(service.clone()).with(ResourceKind::Cpu, forecast);
    let cap = ResourceCapacity {
        per_instance: 2.0,
        target_utilisation: 0.7,
        threshold: 0.1,
    };
    let policy = ScalingPolicy::new(2, 20, ResourceKind::Cpu, cap)?;
    let window = TimeRange::new(now, now + TimeDelta::minutes(10))?;
    let target = shadow_target_for_window(&curve, &policy, window)?;
    println!("forecast peak in the switch window needs {target} replicas");

    let state_dir = std::env::temp_dir().join("shadow-example-switch-state");
    let _ = std::fs::remove_dir_all(&state_dir);
    let metrics = SwitchMetrics::new();
    let switchover = Switchover::builder()
        .with_provisioner(Arc::new(
            InMemoryProvisioner::new()
                .with_service(&service, Environment::Live, target.0)
                .with_service(&service, Environment::Shadow, 1),
        ))
        .with_shifter(shifter.clone())
        .with_probe(Arc::new(nginx.build_probe()?))
        .with_clock(Arc::new(SystemClock))
        .with_state_store(Arc::new(FileStateStore::new(&state_dir)?))
        .with_metrics(metrics.clone())
        .with_live_need(need_path(&curve, &policy, Environment::Live)?)
        .with_config(SwitchConfig {
            steps: vec![1.0, 5.0, 25.0, 50.0, 100.0],
            dwell: Duration::from_secs(2),
            settle: Duration::from_secs(1),
            probe_interval: Duration::from_millis(250),
        })
        .build()?;

    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let clients: Vec<_> = (0..4)
        .map(|_| tokio::spawn(client(listen, stop.clone(), seen.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let report = switchover
        .run(&SwitchRequest {
            service: service.clone(),
            shadow: vec![ProvisioningRequest {
                service: service.clone(),
                environment: Environment::Shadow,
                target,
                issue_at: now,
                deadline: now,
                reason: "warm the shadow for the switch window".into(),
            }],
            live_min_replicas: Replicas(target.0),
        })
        .await
        .context("switchover")?;
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.await?;
    }

    let seen = seen.lock().unwrap();
    println!("\n{} requests; the switchover's log:", seen.len());
    for e in &report.events {
        println!("  {e}");
    }
    // The share the shadow served between one confirmed step and the next.
    let steps: Vec<_> = report
        .events
        .iter()
        .filter(|e| e.detail.starts_with("shadow at"))
        .collect();
    for (i, e) in steps.iter().enumerate() {
        let to = steps.get(i + 1).map_or(Utc::now(), |n| n.at);
        let inside: Vec<_> = seen.iter().filter(|s| s.0 >= e.at && s.0 < to).collect();
        let share = inside.iter().filter(|s| s.1).count() as f64 / inside.len().max(1) as f64;
        println!(
            "  step {:>4}: shadow served {:>6.2}% of {} requests",
            e.split.shadow.to_string(),
            share * 100.0,
            inside.len()
        );
    }
    println!("\nfinal phase: {}\n\n{}", report.phase, metrics.render());
    // Leave nginx as it was: the next reload drops the example's upstream.
    std::fs::remove_file(shifter.file_path(&service)?)?;
    Ok(())
}
