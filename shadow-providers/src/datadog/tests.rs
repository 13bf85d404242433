//! Tests of the Datadog source against a local server answering in Datadog's documented format (see
//! `fixtures/README.md`).

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use shadow_core::{
    Environment, Error, MetricQuery, MetricSource, ResourceKind, ServiceId, TimeRange, TimeSeries,
    config::ProviderConfig,
    conformance::{self, SeededSeries},
};

use super::{DatadogBuilder, DatadogSource};
use crate::{
    ProviderRegistry,
    http::{
        config::{RetryOptions, Secret},
        mock_server::{MockServer, Recorded, Reply},
    },
};

const API_KEY: &str = "dd-api-SECRET-0123456789";
const APP_KEY: &str = "dd-app-SECRET-9876543210";
/// 2023-11-14T22:14:00Z, a multiple of 60 s.
const T0: i64 = 1_700_000_040;

fn t(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(s, 0).unwrap()
}

fn fast_retry(max_attempts: u32) -> RetryOptions {
    RetryOptions {
        max_attempts,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_secs(5),
    }
}

fn source(server: &MockServer) -> DatadogSource {
    DatadogBuilder::new()
        .with_url(server.url(""))
        .with_api_key(Secret::new(API_KEY))
        .with_app_key(Secret::new(APP_KEY))
        .with_retry(fast_retry(3))
        .build()
        .unwrap()
}

fn cpu_query(from: i64, to: i64) -> MetricQuery {
    MetricQuery::new(
        ServiceId::new("checkout").unwrap(),
        ResourceKind::Cpu,
        TimeRange::new(t(from), t(to)).unwrap(),
        Duration::from_secs(60),
    )
    .unwrap()
}

fn values_eq(got: &[f64], expected: &[f64]) -> bool {
    got.len() == expected.len()
        && got
            .iter()
            .zip(expected)
            .all(|(g, e)| (g.is_nan() && e.is_nan()) || g == e)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maps_the_pointlist_onto_the_grid_and_sends_the_keys() {
    let server = MockServer::start(vec![Reply::json(200, include_str!("fixtures/query_ok.json"))]).await;
    let got = source(&server).fetch(&cpu_query(T0, T0 + 240)).await.unwrap();
    assert_eq!((got.start(), got.step()), (t(T0), Duration::from_secs(60)));
    assert!(
        values_eq(got.values(), &[0.25, f64::NAN, 0.5, 1.75]),
        "{:?}",
        got.values()
    );
    let timestamps: Vec<_> = got.timestamps().collect();
    assert_eq!(timestamps, [t(T0), t(T0 + 60), t(T0 + 120), t(T0 + 180)]);

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", "/api/v1/query"));
    assert_eq!(r.param("from"), Some("1700000040"));
    assert_eq!(r.param("to"), Some("1700000280"));
    assert_eq!(
        r.param("query"),
        Some("avg:container.cpu.usage{service:checkout,env:live}.rollup(avg, 60) / 1000000000")
    );
    assert_eq!(r.header("dd-api-key"), Some(API_KEY));
    assert_eq!(r.header("dd-application-key"), Some(APP_KEY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_window_is_gaps_when_the_series_exists_and_not_found_otherwise() {
    // The window is empty; the widened probe finds data: all NaN.
    let server = MockServer::start(vec![
        Reply::json(200, include_str!("fixtures/query_empty.json")),
        Reply::json(200, include_str!("fixtures/query_ok.json")),
    ])
    .await;
    let got = source(&server).fetch(&cpu_query(T0, T0 + 120)).await.unwrap();
    assert!(got.values().iter().all(|v| v.is_nan()));
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let week = 7 * 24 * 3600;
    assert_eq!(requests[1].param("from"), Some((T0 - week).to_string().as_str()));
    assert_eq!(
        requests[1].param("to"),
        Some((T0 + 120 + week).to_string().as_str())
    );
    // A rollup coarse enough for 1500 points over two weeks and two minutes.
    assert!(requests[1].param("query").unwrap().contains(".rollup(avg, 807)"));

    // Both empty: not found.
    let server = MockServer::start(vec![Reply::json(200, include_str!("fixtures/query_empty.json"))]).await;
    let err = source(&server).fetch(&cpu_query(T0, T0 + 120)).await.unwrap_err();
    assert_eq!(err.kind(), "not_found", "{err}");

    // With the check off, an empty answer is a gap and costs one request.
    let server = MockServer::start(vec![Reply::json(200, include_str!("fixtures/query_empty.json"))]).await;
    let src = DatadogBuilder::new()
        .with_url(server.url(""))
        .with_api_key(Secret::new(API_KEY))
        .with_app_key(Secret::new(APP_KEY))
        .with_not_found_lookback(Duration::ZERO)
        .build()
        .unwrap();
    assert!(src.fetch(&cpu_query(T0, T0 + 120)).await.unwrap().values()[0].is_nan());
    assert_eq!(server.requests().len(), 1);
}

/// Answers every window with value = seconds since T0 / 60 at each rollup point in `[from, to)`.
fn counting_handler(r: &Recorded) -> Reply {
    let from: i64 = r.param("from").unwrap().parse().unwrap();
    let to: i64 = r.param("to").unwrap().parse().unwrap();
    let points: Vec<String> = (from..to)
        .step_by(60)
        .map(|s| format!("[{}.0, {}]", s * 1000, (s - T0) / 60))
        .collect();
    Reply::json(
        200,
        format!(
            r#"{{"status":"ok","res_type":"time_series","series":[{{"pointlist":[{}],"scope":"service:checkout","interval":60}}]}}"#,
            points.join(",")
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn splits_long_ranges_into_windows_of_whole_steps() {
    let server = MockServer::with_handler(counting_handler).await;
    let src = DatadogBuilder::new()
        .with_url(server.url(""))
        .with_api_key(Secret::new(API_KEY))
        .with_app_key(Secret::new(APP_KEY))
        .with_max_points_per_request(3)
        .build()
        .unwrap();
    // Seven points; the end falls 1 s after the last one.
    let got = src.fetch(&cpu_query(T0, T0 + 361)).await.unwrap();
    assert_eq!(got.values(), &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let mut windows: Vec<(i64, i64)> = server
        .requests()
        .iter()
        .map(|r| {
            (
                r.param("from").unwrap().parse().unwrap(),
                r.param("to").unwrap().parse().unwrap(),
            )
        })
        .collect();
    windows.sort_unstable();
    assert_eq!(
        windows,
        [(T0, T0 + 180), (T0 + 180, T0 + 360), (T0 + 360, T0 + 420)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waits_for_the_rate_limit_reset_then_succeeds() {
    let server = MockServer::start(vec![
        Reply::json(429, include_str!("fixtures/error_429.json"))
            .with_header("X-RateLimit-Limit", "1600")
            .with_header("X-RateLimit-Period", "3600")
            .with_header("X-RateLimit-Remaining", "0")
            .with_header("X-RateLimit-Reset", "1"),
        Reply::json(200, include_str!("fixtures/query_ok.json")),
    ])
    .await;
    let started = Instant::now();
    let got = source(&server).fetch(&cpu_query(T0, T0 + 240)).await.unwrap();
    let waited = started.elapsed();
    assert_eq!(got.values()[0], 0.25);
    assert_eq!(server.requests().len(), 2);
    // The backoff alone is 1 ms: the second attempt waited for X-RateLimit-Reset (1 s).
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_secs(4),
        "{waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maps_errors_and_does_not_retry_permanent_ones() {
    let q = cpu_query(T0, T0 + 240);
    let server = MockServer::start(vec![Reply::json(403, include_str!("fixtures/error_403.json"))]).await;
    let err = source(&server).fetch(&q).await.unwrap_err();
    assert!(matches!(err, Error::PermissionDenied { .. }), "{err}");
    assert_eq!(err.to_string(), "datadog: permission denied: HTTP 403: Forbidden");
    assert_eq!(server.requests().len(), 1);

    let server = MockServer::start(vec![Reply::json(400, include_str!("fixtures/error_400.json"))]).await;
    let err = source(&server).fetch(&q).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    assert!(
        err.to_string()
            .ends_with("HTTP 400: Error parsing query: unable to parse avg:container.cpu.usage{"),
        "{err}"
    );
    assert_eq!(server.requests().len(), 1);

    let server = MockServer::start(vec![Reply::json(200, include_str!("fixtures/status_error.json"))]).await;
    let err = source(&server).fetch(&q).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    assert!(
        err.to_string().contains("Rule 'scope_expr' didn't match"),
        "{err}"
    );
    assert_eq!(server.requests().len(), 1);

    let server = MockServer::start(vec![Reply::json(
        200,
        include_str!("fixtures/query_two_series.json"),
    )])
    .await;
    let err = source(&server).fetch(&q).await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput { .. }) && err.to_string().contains("returned 2 series"),
        "{err}"
    );

    // Server errors are retried up to max_attempts, then reported as exhausted.
    let server = MockServer::start(vec![Reply::json(503, r#"{"errors":["Service unavailable"]}"#)]).await;
    let err = source(&server).fetch(&q).await.unwrap_err();
    assert!(
        matches!(err, Error::RetriesExhausted { attempts: 3, .. }),
        "{err}"
    );
    assert_eq!(server.requests().len(), 3);

    // Without a template, a custom resource is not found, before any request.
    let server = MockServer::start(vec![Reply::json(200, include_str!("fixtures/query_ok.json"))]).await;
    let mut custom = q.clone();
    custom.resource = ResourceKind::custom("queue_depth").unwrap();
    assert_eq!(
        source(&server).fetch(&custom).await.unwrap_err().kind(),
        "not_found"
    );
    assert!(server.requests().is_empty());
    // A step that is not whole seconds cannot be a rollup.
    let mut odd = q;
    odd.step = Duration::from_millis(1500);
    assert_eq!(
        source(&server).fetch(&odd).await.unwrap_err().kind(),
        "invalid_input"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_never_show_in_debug_or_errors() {
    let server = MockServer::start(vec![Reply::json(403, include_str!("fixtures/error_403.json"))]).await;
    let src = source(&server);
    let err = src.fetch(&cpu_query(T0, T0 + 60)).await.unwrap_err();
    let builder = DatadogBuilder::new()
        .with_api_key(Secret::new(API_KEY))
        .with_app_key(Secret::new(APP_KEY));
    for text in [
        format!("{src:?}"),
        format!("{err:?}"),
        format!("{err}"),
        format!("{builder:?}"),
    ] {
        assert!(!text.contains(API_KEY) && !text.contains(APP_KEY), "{text}");
    }
    assert!(format!("{src:?}").contains("DD_API_KEY"));
}

/// A Datadog that holds `seeded` for service `checkout`: it averages the samples of each rollup bucket in
/// `[from, to)` and answers no series when the window has none.
fn seeded_handler(seeded: TimeSeries) -> impl Fn(&Recorded) -> Reply + Send + Sync + 'static {
    move |r| {
        let query = r.param("query").unwrap_or_default();
        let from: i64 = r.param("from").unwrap().parse().unwrap();
        let to: i64 = r.param("to").unwrap().parse().unwrap();
        let interval: i64 = query
            .split(".rollup(avg, ")
            .nth(1)
            .and_then(|s| s.split(')').next())
            .and_then(|s| s.parse().ok())
            .unwrap();
        let known = query.contains("container.cpu.usage{service:checkout,env:live}");
        let points: Vec<(i64, Option<f64>)> = (from..to)
            .step_by(interval as usize)
            .map(|b| {
                let inside: Vec<f64> = seeded
                    .samples()
                    .filter(|s| (b..b + interval).contains(&s.at.timestamp()))
                    .map(|s| s.value)
                    .collect();
                let mean = (!inside.is_empty()).then(|| inside.iter().sum::<f64>() / inside.len() as f64);
                (b, mean.filter(|_| known))
            })
            .collect();
        let series = if points.iter().any(|(_, v)| v.is_some()) {
            let list: Vec<String> = points
                .iter()
                .map(|(b, v)| match v {
                    Some(v) => format!("[{}.0, {v:?}]", b * 1000),
                    None => format!("[{}.0, null]", b * 1000),
                })
                .collect();
            format!(
                r#"[{{"metric":"container.cpu.usage","pointlist":[{}],"scope":"env:live,service:checkout","interval":{interval},"aggr":"avg"}}]"#,
                list.join(",")
            )
        } else {
            "[]".to_string()
        };
        Reply::json(
            200,
            format!(r#"{{"status":"ok","res_type":"time_series","query":"q","series":{series}}}"#),
        )
    }
}

/// The series the conformance tests seed: 12 points at 60 s with gaps and a real zero.
pub(crate) fn seeded_series() -> TimeSeries {
    let nan = f64::NAN;
    TimeSeries::new(
        t(T0),
        Duration::from_secs(60),
        vec![1.5, 2.0, nan, 4.25, 0.0, 3.0, nan, nan, 7.5, 1.0, 2.0, 3.5],
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_the_metric_source_conformance_suite() {
    let series = seeded_series();
    let server = MockServer::with_handler(seeded_handler(series.clone())).await;
    let src = source(&server);
    let seeded = SeededSeries::new(
        ServiceId::new("checkout").unwrap(),
        Environment::Live,
        ResourceKind::Cpu,
        series,
    );
    conformance::metric_source(&src, &seeded).await;
    // A grid whose end is past the data ends in gaps.
    let got = src.fetch(&cpu_query(T0 + 600, T0 + 900)).await.unwrap();
    assert!(values_eq(got.values(), &[2.0, 3.5, f64::NAN, f64::NAN, f64::NAN]));
}

#[test]
fn the_registry_builds_datadog_from_toml_and_names_a_missing_key_variable() {
    let registry = ProviderRegistry::with_builtin();
    // PATH is set in every test process and stands in for the key variables (tests cannot set variables:
    // `set_var` is unsafe in edition 2024).
    let cfg: ProviderConfig = toml::from_str(
        r#"
        kind = "datadog"
        site = "datadoghq.eu"
        api_key_env = "PATH"
        app_key_env = "PATH"
        timeout = "10s"
        queries.queue_depth = "max:rabbitmq.queue.messages{service:{service}}.rollup(max, {step_seconds})"
        "#,
    )
    .unwrap();
    let src = registry.build_metric_source(&cfg).unwrap();
    assert_eq!(src.name(), "datadog");
    let debug = format!("{src:?}");
    assert!(debug.contains("https://api.datadoghq.eu"), "{debug}");
    assert!(!debug.contains(&std::env::var("PATH").unwrap()), "{debug}");

    let missing: ProviderConfig = toml::from_str(
        r#"
        kind = "datadog"
        api_key_env = "SHADOW_TEST_SURELY_UNSET_DD_API_KEY"
        "#,
    )
    .unwrap();
    let err = registry.build_metric_source(&missing).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid config at `metrics.api_key_env`: environment variable `SHADOW_TEST_SURELY_UNSET_DD_API_KEY` \
         is unset or empty"
    );
    let typo: ProviderConfig = toml::from_str("kind = \"datadog\"\napi_key = \"abc\"").unwrap();
    let err = registry.build_metric_source(&typo).unwrap_err();
    assert!(
        matches!(&err, Error::Config { field, .. } if field.starts_with("metrics")),
        "{err}"
    );
    assert!(!err.to_string().contains("abc"), "{err}");
    let bad: ProviderConfig = toml::from_str(
        "kind = \"datadog\"\napi_key_env = \"PATH\"\napp_key_env = \"PATH\"\nmax_points_per_request = 5000",
    )
    .unwrap();
    let err = registry.build_metric_source(&bad).unwrap_err();
    assert!(matches!(&err, Error::Config { field, .. } if field == "metrics.max_points_per_request"));
}
