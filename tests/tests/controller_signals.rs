//! A real SIGHUP reloads the config file of a running [`Runtime`].
//!
//! This file holds a single test so that it runs in its own process: the runtime installs its SIGHUP handler
//! (through tokio) before the first cycle, and the test sends the signal only after that cycle, so the default
//! action (terminate) can never hit the test harness.

mod controller_support;

use std::{sync::Arc, time::Duration};

use controller_support::*;
use shadow::{SystemClock, controller::Runtime};
use shadow_core::{Environment, config::ShadowConfig, memory::InMemoryProvisioner};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_config_file() {
    let now = chrono::Utc::now();
    let source = seeded(now, now);
    let provisioner = InMemoryProvisioner::new().with_service(&svc(), Environment::Live, 6);
    let path = std::env::temp_dir().join(format!("shadow-sighup-{}.toml", std::process::id()));
    std::fs::write(&path, config_text(true, 50)).unwrap();
    let config = ShadowConfig::from_toml_str(&config_text(true, 50)).unwrap();
    let rt = Arc::new(
        Runtime::start(config, registry(&source, &provisioner), Arc::new(SystemClock))
            .await
            .unwrap()
            .with_config_path(&path),
    );
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn({
        let rt = rt.clone();
        async move {
            rt.run(
                async {
                    let _ = stop_rx.await;
                },
                |_: &[shadow::controller::Decision]| {},
            )
            .await;
        }
    });
    let addr = rt.local_addr().unwrap();
    let metric = |name: &'static str, labels: &'static [(&'static str, &'static str)]| async move {
        value(&parse(&get(addr, "/metrics").await.1), name, labels)
    };
    wait_for(|| async { metric("shadow_cycle_seconds_count", &[]).await == Some(1.0) }).await;

    std::fs::write(&path, config_text(true, 9)).unwrap();
    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_for(|| async { metric("shadow_reloads_total", &[("result", "ok")]).await == Some(1.0) }).await;
    assert_eq!(rt.controller().config().services[0].policy.max_replicas.get(), 9);

    // A bad file on the next SIGHUP keeps the reloaded config.
    std::fs::write(&path, "[controller\n").unwrap();
    std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    wait_for(|| async { metric("shadow_reloads_total", &[("result", "error")]).await == Some(1.0) }).await;
    assert_eq!(rt.controller().config().services[0].policy.max_replicas.get(), 9);

    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .unwrap()
        .unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the server stopped"
    );
    let _ = std::fs::remove_file(&path);
}

async fn wait_for<F, Fut>(mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("condition not met within 5 s");
}
