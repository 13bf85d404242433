//! The `prometheus` source reads what the real Prometheus scrapes from a live exporter.
//!
//! `./scripts/test.sh` starts Prometheus with a `file_sd_configs` job (`scrape_interval: 1s`) reading
//! `$SHADOW_PROMETHEUS_TARGETS_DIR/*.json`. This test serves `/metrics` on `127.0.0.1:0` with a gauge it
//! controls, writes a target file naming it (with `service` and `environment` target labels), and polls
//! `query_range` through [`PrometheusSource`] until the scraped values appear (at most 30 s for each).
//! It skips with a message when the variables are unset.

use std::{
    io::{BufRead, BufReader, Write},
    net::TcpListener,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use chrono::{TimeDelta, Utc};
use shadow_core::{Error, MetricQuery, MetricSource, ResourceKind, ServiceId, TimeRange};
use shadow_providers::prometheus::{PrometheusBuilder, PrometheusSource};

const WAIT: Duration = Duration::from_secs(30);

/// Serves `shadow_live_value <value>` on `/metrics` from a thread; returns the port.
fn start_exporter(value: Arc<AtomicU64>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            // Read the request head up to the blank line.
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                line.clear();
            }
            let v = f64::from_bits(value.load(Ordering::SeqCst));
            let body = format!(
                "# HELP shadow_live_value A value the test controls.\n# TYPE shadow_live_value gauge\n\
                 shadow_live_value {v}\n"
            );
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

/// Polls the last 20 s until a point equals `want`; returns every value seen then.
async fn wait_for(source: &PrometheusSource, service: &ServiceId, want: f64) -> Vec<f64> {
    let deadline = Instant::now() + WAIT;
    loop {
        let end = Utc::now();
        let range = TimeRange::new(end - TimeDelta::seconds(20), end).unwrap();
        let query = MetricQuery::new(
            service.clone(),
            ResourceKind::custom("live").unwrap(),
            range,
            Duration::from_secs(1),
        )
        .unwrap();
        // Until the first scrape lands, the server holds no series of the service: NotFound.
        let last = match source.fetch(&query).await {
            Ok(got) => {
                assert_eq!((got.start(), got.len()), (range.start, query.points()));
                if got.values().contains(&want) {
                    return got.values().to_vec();
                }
                format!("{:?}", got.values())
            }
            Err(e @ Error::NotFound { .. }) => e.to_string(),
            Err(e) => panic!("fetch failed: {e}"),
        };
        assert!(
            Instant::now() < deadline,
            "{want} not scraped within {WAIT:?}; last answer: {last}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrapes_a_live_exporter() {
    let (Ok(url), Ok(targets)) = (
        std::env::var("SHADOW_PROMETHEUS_URL"),
        std::env::var("SHADOW_PROMETHEUS_TARGETS_DIR"),
    ) else {
        println!(
            "skipping: SHADOW_PROMETHEUS_URL or SHADOW_PROMETHEUS_TARGETS_DIR is not set (run ./scripts/test.sh)"
        );
        return;
    };
    let value = Arc::new(AtomicU64::new(42.5f64.to_bits()));
    let port = start_exporter(value.clone());
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    let service = ServiceId::new(format!("live-{nanos}")).unwrap();

    // Write the target file atomically: Prometheus reads only `*.json`.
    let file = PathBuf::from(&targets).join(format!("{service}.json"));
    let tmp = file.with_extension("tmp");
    std::fs::write(
        &tmp,
        format!(
            r#"[{{"targets":["127.0.0.1:{port}"],"labels":{{"service":"{service}","environment":"live"}}}}]"#
        ),
    )
    .unwrap();
    std::fs::rename(&tmp, &file).unwrap();

    let source = PrometheusBuilder::new()
        .with_url(url)
        .with_query(
            ResourceKind::custom("live").unwrap(),
            "sum(shadow_live_value{{selector}})",
        )
        .build()
        .unwrap();
    let first = wait_for(&source, &service, 42.5).await;
    value.store(7.25f64.to_bits(), Ordering::SeqCst);
    let second = wait_for(&source, &service, 7.25).await;
    let _ = std::fs::remove_file(&file);

    // Every answered point is a scraped value; none is a zero standing in for a gap.
    for v in first.iter().chain(&second).filter(|v| !v.is_nan()) {
        assert!([42.5, 7.25].contains(v), "unexpected value {v}");
    }
    // Once 7.25 shows, it stays: the last point is the new value.
    assert_eq!(second.iter().rev().find(|v| !v.is_nan()), Some(&7.25));
}
