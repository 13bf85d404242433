//! Unit tests of the `prometheus` source against [`MockServer`] answering in the documented format.
//!
//! `GET /api/v1/query_range` answers (<https://prometheus.io/docs/prometheus/latest/querying/api/#range-queries>):
//!
//! ```json
//! {"status":"success","data":{"resultType":"matrix","result":[{"metric":{"<label>":"<value>"},
//!   "values":[[<unix seconds>,"<value>"], ...]}]}}
//! {"status":"error","errorType":"bad_data","error":"<message>"}          (HTTP 400; 422 for `execution`)
//! ```
//!
//! `GET /api/v1/series` answers `{"status":"success","data":[{"__name__":"<name>","<label>":"<value>"}]}`.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use chrono::{DateTime, TimeZone, Utc};
use shadow_core::{
    Environment, Error, MetricQuery, MetricSource, ResourceKind, ServiceId, TimeRange, TimeSeries,
    config::ProviderConfig,
    conformance::{self, SeededSeries},
};

use super::{PrometheusBuilder, PrometheusSource};
use crate::{
    ProviderRegistry,
    http::{
        config::{AuthOptions, RetryOptions},
        mock_server::{MockServer, Recorded, Reply},
    },
};

const T0: i64 = 1_700_000_040;
const STEP: Duration = Duration::from_secs(60);

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).unwrap()
}

fn fast_retry(max_attempts: u32) -> RetryOptions {
    RetryOptions {
        max_attempts,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(2),
    }
}

fn source(server: &MockServer) -> PrometheusSource {
    PrometheusBuilder::new()
        .with_url(server.url("/"))
        .with_retry(fast_retry(1))
        .build()
        .unwrap()
}

fn query(service: &str, resource: ResourceKind, from: i64, to: i64) -> MetricQuery {
    MetricQuery::new(
        ServiceId::new(service).unwrap(),
        resource,
        TimeRange::new(t(from), t(to)).unwrap(),
        STEP,
    )
    .unwrap()
}

/// A matrix answer with one series holding `points`, or none when `points` is empty.
fn matrix(points: &[(f64, String)]) -> String {
    let result = if points.is_empty() {
        String::new()
    } else {
        let values: Vec<String> = points.iter().map(|(ts, v)| format!("[{ts},\"{v}\"]")).collect();
        format!(r#"{{"metric":{{}},"values":[{}]}}"#, values.join(","))
    };
    format!(r#"{{"status":"success","data":{{"resultType":"matrix","result":[{result}]}}}}"#)
}

fn param(r: &Recorded, name: &str) -> f64 {
    r.param(name).unwrap().parse().unwrap()
}

/// Answers every grid time of the request with `value(t)`, skipping `None`s.
fn grid_handler(value: impl Fn(f64) -> Option<f64> + Send + Sync + 'static) -> impl Fn(&Recorded) -> Reply {
    move |r| {
        let (start, end, step) = (param(r, "start"), param(r, "end"), param(r, "step"));
        let mut points = Vec::new();
        let mut ts = start;
        while ts <= end {
            if let Some(v) = value(ts) {
                points.push((ts, format!("{v}")));
            }
            ts += step;
        }
        Reply::json(200, matrix(&points))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn splits_long_ranges_into_aligned_chunks() {
    let server = MockServer::with_handler(grid_handler(|ts| Some(ts - T0 as f64))).await;
    let source = PrometheusBuilder::new()
        .with_url(server.url(""))
        .with_max_points_per_request(4)
        .build()
        .unwrap();
    // 10 points: [T0, T0 + 600) at 60 s.
    let got = source
        .fetch(&query("checkout", ResourceKind::Memory, T0, T0 + 600))
        .await
        .unwrap();
    let expected: Vec<f64> = (0..10).map(|i| (i * 60) as f64).collect();
    assert_eq!(
        (got.start(), got.step(), got.values()),
        (t(T0), STEP, &expected[..])
    );
    let requests = server.requests();
    let mut sent: Vec<(f64, f64, f64)> = requests
        .iter()
        .map(|r| (param(r, "start"), param(r, "end"), param(r, "step")))
        .collect();
    sent.sort_by(|a, b| a.0.total_cmp(&b.0));
    let t0 = T0 as f64;
    assert_eq!(
        sent,
        [
            (t0, t0 + 180.0, 60.0),
            (t0 + 240.0, t0 + 420.0, 60.0),
            (t0 + 480.0, t0 + 540.0, 60.0)
        ]
    );
    assert!(requests.iter().all(|r| r.path == "/api/v1/query_range"));
    assert_eq!(
        requests[0].param("query"),
        Some(
            r#"sum(container_memory_working_set_bytes{service="checkout",environment="live", container!=""})"#
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_nan_and_infinite_answers_become_gaps_never_zeros() {
    let t0 = T0 as f64;
    // Only 3 of 6 points come back, one of them "NaN" and one "+Inf"; 1 ms timestamps are also allowed.
    let body = matrix(&[
        (t0, "1.5".into()),
        (t0 + 120.0, "NaN".into()),
        (t0 + 180.0, "+Inf".into()),
        (t0 + 240.0, "7".into()),
    ]);
    let server = MockServer::start(vec![Reply::json(200, body)]).await;
    let got = source(&server)
        .fetch(&query("checkout", ResourceKind::Cpu, T0, T0 + 360))
        .await
        .unwrap();
    let shown: Vec<String> = got.values().iter().map(|v| format!("{v}")).collect();
    assert_eq!(shown, ["1.5", "NaN", "NaN", "NaN", "7", "NaN"]);

    // An empty answer for a known service: all NaN, after one look at /api/v1/series.
    let server = MockServer::with_handler(|r| match r.path.as_str() {
        "/api/v1/series" => Reply::json(
            200,
            r#"{"status":"success","data":[{"__name__":"x","service":"a"}]}"#,
        ),
        _ => Reply::json(200, matrix(&[])),
    })
    .await;
    let got = source(&server)
        .fetch(&query("a", ResourceKind::Cpu, T0, T0 + 180))
        .await
        .unwrap();
    assert_eq!(got.len(), 3);
    assert!(got.values().iter().all(|v| v.is_nan()));
    let series = server
        .requests()
        .into_iter()
        .find(|r| r.path == "/api/v1/series")
        .unwrap();
    assert_eq!(series.param("match[]"), Some(r#"{service="a"}"#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maps_prometheus_errors() {
    let bad_data = r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error"}"#;
    let execution =
        r#"{"status":"error","errorType":"execution","error":"many-to-many matching not allowed"}"#;
    let timeout =
        r#"{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}"#;
    let q = query("checkout", ResourceKind::Cpu, T0, T0 + 120);
    for (status, body, kind) in [
        (400, bad_data, "invalid_input"),
        (422, execution, "invalid_input"),
        (503, timeout, "unavailable"),
        (200, bad_data, "invalid_input"),
        (200, timeout, "unavailable"),
        (200, "<html>", "generic"),
    ] {
        let server = MockServer::start(vec![Reply::json(status, body)]).await;
        let err = source(&server).fetch(&q).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{status} {body}: {err}");
    }
    let server = MockServer::start(vec![Reply::json(400, bad_data)]).await;
    let err = source(&server).fetch(&q).await.unwrap_err();
    assert!(err.to_string().contains("parse error"), "{err}");

    // 503 is retried with backoff, then reported as exhausted.
    let server = MockServer::start(vec![Reply::json(503, timeout)]).await;
    let retrying = PrometheusBuilder::new()
        .with_url(server.url(""))
        .with_retry(fast_retry(3))
        .build()
        .unwrap();
    let err = retrying.fetch(&q).await.unwrap_err();
    assert!(
        matches!(err, Error::RetriesExhausted { attempts: 3, .. }),
        "{err}"
    );
    assert_eq!(server.requests().len(), 3);

    // Several series: the template must aggregate.
    let two = r#"{"status":"success","data":{"resultType":"matrix","result":[
        {"metric":{"pod":"a"},"values":[[1700000040,"1"]]},{"metric":{"pod":"b"},"values":[[1700000040,"2"]]}]}}"#;
    let server = MockServer::start(vec![Reply::json(200, two)]).await;
    let err = source(&server).fetch(&q).await.unwrap_err();
    assert_eq!(err.kind(), "invalid_input");
    assert!(
        err.to_string()
            .contains(r#"answered 2 series ({pod="a"}, {pod="b"}"#),
        "{err}"
    );

    // A custom kind without a template, and a service the server does not know.
    let server = MockServer::with_handler(|r| match r.path.as_str() {
        "/api/v1/series" => Reply::json(200, r#"{"status":"success","data":[]}"#),
        _ => Reply::json(200, matrix(&[])),
    })
    .await;
    let custom = query(
        "checkout",
        ResourceKind::custom("queue_depth").unwrap(),
        T0,
        T0 + 60,
    );
    let err = source(&server).fetch(&custom).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("queries.queue_depth"), "{err}");
    assert!(server.requests().is_empty());
    let err = source(&server).fetch(&q).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    let unchecked = PrometheusBuilder::new()
        .with_url(server.url(""))
        .with_check_service_exists(false)
        .build()
        .unwrap();
    assert!(
        unchecked
            .fetch(&q)
            .await
            .unwrap()
            .values()
            .iter()
            .all(|v| v.is_nan())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_credentials_and_never_shows_them() {
    let dir = std::env::temp_dir().join(format!("shadow-prom-auth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let token = dir.join("token");
    std::fs::write(&token, "tok-s3cr3t\n").unwrap();
    let password = dir.join("password");
    std::fs::write(&password, "pw-s3cr3t").unwrap();
    let q = query("checkout", ResourceKind::Memory, T0, T0 + 60);

    let server = MockServer::start(vec![Reply::json(200, matrix(&[(T0 as f64, "1".into())]))]).await;
    let bearer = PrometheusBuilder::new()
        .with_url(server.url(""))
        .with_auth(AuthOptions {
            bearer_token_file: Some(token.clone()),
            ..AuthOptions::default()
        })
        .build()
        .unwrap();
    bearer.fetch(&q).await.unwrap();
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some("Bearer tok-s3cr3t")
    );

    let denied = r#"{"status":"error","errorType":"unauthorized","error":"bad token"}"#;
    let server = MockServer::start(vec![Reply::json(401, denied)]).await;
    let basic = PrometheusBuilder::new()
        .with_url(server.url(""))
        .with_auth(AuthOptions {
            username: Some("shadow".into()),
            password_file: Some(password),
            ..AuthOptions::default()
        })
        .build()
        .unwrap();
    let err = basic.fetch(&q).await.unwrap_err();
    assert!(matches!(err, Error::PermissionDenied { .. }), "{err}");
    // "shadow:pw-s3cr3t" in base64.
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some("Basic c2hhZG93OnB3LXMzY3IzdA==")
    );
    for shown in [
        format!("{bearer:?}"),
        format!("{basic:?}"),
        format!("{err} {err:?}"),
        format!(
            "{:?}",
            PrometheusBuilder::new().with_url("https://u:p4ss@h/?key=k3y")
        ),
    ] {
        for secret in ["tok-s3cr3t", "pw-s3cr3t", "c2hhZG93", "p4ss", "k3y"] {
            assert!(!shown.contains(secret), "{secret} leaked into {shown}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn build_validates_everything() {
    let err = |b: PrometheusBuilder| b.build().unwrap_err().to_string();
    let ok = PrometheusBuilder::new().with_url("http://127.0.0.1:9090");
    assert!(ok.clone().build().is_ok());
    assert_eq!(
        err(PrometheusBuilder::new()),
        "invalid config at `prometheus.url`: is required"
    );
    assert!(err(ok.clone().with_url("ftp://h")).contains("http:// or https://"));
    assert!(err(ok.clone().with_url("http://")).contains("no host"));
    assert!(err(ok.clone().with_url("http://h?x=1")).contains("query"));
    assert!(
        err(ok.clone().with_query(ResourceKind::Cpu, "rate(x{{pod}}[1m])"))
            .contains("`prometheus.queries.cpu`: unknown placeholder `{pod}`")
    );
    assert!(err(ok.clone().with_service_label("app-name")).contains("prometheus.service_label"));
    assert!(err(ok.clone().with_max_points_per_request(0)).contains("max_points_per_request"));
    assert!(err(ok.clone().with_rate_window(Duration::ZERO)).contains("rate_window"));
    assert!(err(ok.clone().with_timeout(Duration::ZERO)).contains("prometheus.timeout"));
    assert!(err(ok.with_retry(fast_retry(0))).contains("max_attempts"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registry_builds_it_from_a_config_section() {
    let server = MockServer::start(vec![Reply::json(200, matrix(&[(T0 as f64, "3".into())]))]).await;
    let options: toml::Table = toml::from_str(&format!(
        r#"
        url = "{}"
        service_label = "app"
        environment_label = ""
        rate_window = "2m"
        queries.requests = 'sum(rate(http_requests_total{{{{selector}}}}[{{rate_window}}]))'
        "#,
        server.url("")
    ))
    .unwrap();
    let section = ProviderConfig {
        kind: super::KIND.into(),
        options,
    };
    let source = ProviderRegistry::with_builtin()
        .build_metric_source(&section)
        .unwrap();
    assert_eq!(source.name(), "prometheus");
    let q = query("checkout", ResourceKind::custom("requests").unwrap(), T0, T0 + 60);
    assert_eq!(source.fetch(&q).await.unwrap().values(), &[3.0]);
    assert_eq!(
        server.requests()[0].param("query"),
        Some(r#"sum(rate(http_requests_total{app="checkout"}[120s]))"#)
    );
    let mut bad = section.clone();
    bad.options.insert("urll".into(), "x".into());
    let err = ProviderRegistry::with_builtin()
        .build_metric_source(&bad)
        .unwrap_err();
    assert!(err.to_string().contains("`metrics.urll`: unknown field"), "{err}");
    bad.options.remove("urll");
    bad.options.insert("timeout".into(), "0s".into());
    let err = ProviderRegistry::with_builtin()
        .build_metric_source(&bad)
        .unwrap_err();
    assert!(err.to_string().contains("`metrics.timeout`"), "{err}");
}

/// Serves `seeded` for (`checkout`, live, memory) through the default memory template, like a server
/// holding those samples and nothing else.
fn seeded_server_handler(seeded: Arc<BTreeMap<i64, f64>>) -> impl Fn(&Recorded) -> Reply + Send + Sync {
    move |r| match r.path.as_str() {
        "/api/v1/series" if r.param("match[]") == Some(r#"{service="checkout"}"#) => Reply::json(
            200,
            r#"{"status":"success","data":[{"__name__":"x","service":"checkout"}]}"#,
        ),
        "/api/v1/series" => Reply::json(200, r#"{"status":"success","data":[]}"#),
        _ => {
            let q = r.param("query").unwrap_or_default();
            let ours = q.contains(r#"service="checkout",environment="live""#)
                && q.contains("container_memory_working_set_bytes");
            let seeded = seeded.clone();
            grid_handler(move |ts| {
                if ours {
                    seeded.get(&(ts as i64)).copied()
                } else {
                    None
                }
            })(r)
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_the_conformance_suite() {
    let values = vec![3.0, 4.5, f64::NAN, 6.0, f64::NAN, f64::NAN, 9.25, 1e9];
    let series = TimeSeries::new(t(T0), STEP, values).unwrap();
    let samples: BTreeMap<i64, f64> = series.samples().map(|s| (s.at.timestamp(), s.value)).collect();
    let server = MockServer::with_handler(seeded_server_handler(Arc::new(samples))).await;
    let source = PrometheusBuilder::new()
        .with_url(server.url(""))
        .with_max_points_per_request(3)
        .build()
        .unwrap();
    let seeded = SeededSeries::new(
        ServiceId::new("checkout").unwrap(),
        Environment::Live,
        ResourceKind::Memory,
        series,
    );
    conformance::metric_source(&source, &seeded).await;
}
