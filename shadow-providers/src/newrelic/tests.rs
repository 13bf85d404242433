//! Tests of the New Relic source against a local server answering in NerdGraph's documented format (see
//! `fixtures/README.md`).

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use shadow_core::{
    Environment, Error, MetricQuery, MetricSource, ResourceKind, ServiceId, TimeRange, TimeSeries,
    config::ProviderConfig,
    conformance::{self, SeededSeries},
};

use super::{NewRelicBuilder, NewRelicSource, nrql_escape};
use crate::{
    ProviderRegistry,
    http::{
        config::{RetryOptions, Secret},
        mock_server::{MockServer, Recorded, Reply},
    },
};

const API_KEY: &str = "NRAK-SECRET0123456789ABCDEFGHIJ";
/// 2023-11-14T22:14:00Z, a multiple of 60 s.
const T0: i64 = 1_700_000_040;

fn t(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(s, 0).unwrap()
}

fn builder(server: &MockServer) -> NewRelicBuilder {
    NewRelicBuilder::new()
        .with_url(server.url("/graphql"))
        .with_account_id(42)
        .with_api_key(Secret::new(API_KEY))
        .with_retry(RetryOptions {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_secs(5),
        })
}

fn source(server: &MockServer) -> NewRelicSource {
    builder(server).build().unwrap()
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

/// The NRQL of a recorded NerdGraph request.
fn nrql_of(r: &Recorded) -> String {
    let body: Value = serde_json::from_str(&r.body).unwrap();
    body["variables"]["nrql"].as_str().unwrap().to_string()
}

/// `(SINCE ms, UNTIL ms, TIMESERIES seconds)` of an NRQL query.
fn nrql_times(nrql: &str) -> (i64, i64, i64) {
    let words: Vec<&str> = nrql.split_whitespace().collect();
    let after = |kw: &str| -> i64 {
        let i = words.iter().position(|w| *w == kw).unwrap();
        words[i + 1].parse().unwrap()
    };
    (after("SINCE"), after("UNTIL"), after("TIMESERIES"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maps_results_onto_the_grid_and_sends_the_documented_request() {
    let server = MockServer::start(vec![Reply::json(200, include_str!("fixtures/nrql_ok.json"))]).await;
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
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/graphql"));
    assert_eq!(r.header("api-key"), Some(API_KEY));
    let body: Value = serde_json::from_str(&r.body).unwrap();
    assert!(
        body["query"]
            .as_str()
            .unwrap()
            .contains("actor { account(id: $accountId) { nrql(query: $nrql) { results } } }")
    );
    assert_eq!(body["variables"]["accountId"], 42);
    assert_eq!(
        nrql_of(r),
        "SELECT average(cpuUsedCores) FROM ContainerSample WHERE service = 'checkout' AND environment = 'live' \
         SINCE 1700000040000 UNTIL 1700000280000 TIMESERIES 60 SECONDS"
    );
}

/// Answers each query with buckets laid back from UNTIL, value = minutes since T0.
fn counting_handler(r: &Recorded) -> Reply {
    let (since, until, step) = nrql_times(&nrql_of(r));
    let (since, until) = (since / 1000, until / 1000);
    let n = (until - since) / step;
    let results: Vec<String> = (0..n)
        .map(|k| until - (n - k) * step)
        .map(|b| {
            format!(
                r#"{{"beginTimeSeconds":{b},"endTimeSeconds":{},"average.cpuUsedCores":{}}}"#,
                b + step,
                (b - T0) / 60
            )
        })
        .collect();
    Reply::json(
        200,
        format!(
            r#"{{"data":{{"actor":{{"account":{{"nrql":{{"results":[{}]}}}}}}}}}}"#,
            results.join(",")
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn splits_ranges_into_windows_of_at_most_366_buckets() {
    let server = MockServer::with_handler(counting_handler).await;
    // 800 points, the end 1 s past the last one: windows of 366, 366 and 68 buckets.
    let got = source(&server)
        .fetch(&cpu_query(T0, T0 + 799 * 60 + 1))
        .await
        .unwrap();
    let expected: Vec<f64> = (0..800).map(f64::from).collect();
    assert_eq!(got.values(), expected.as_slice());
    let mut windows: Vec<(i64, i64, i64)> = server
        .requests()
        .iter()
        .map(|r| nrql_times(&nrql_of(r)))
        .collect();
    windows.sort_unstable();
    let ms = |minutes: i64| (T0 + minutes * 60) * 1000;
    assert_eq!(
        windows,
        [
            (ms(0), ms(366), 60),
            (ms(366), ms(732), 60),
            (ms(732), ms(800), 60)
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_graphql_timeouts_but_not_invalid_input() {
    let q = cpu_query(T0, T0 + 240);
    let server = MockServer::start(vec![
        Reply::json(200, include_str!("fixtures/graphql_timeout.json")),
        Reply::json(200, include_str!("fixtures/nrql_ok.json")),
    ])
    .await;
    assert_eq!(source(&server).fetch(&q).await.unwrap().values()[0], 0.25);
    assert_eq!(server.requests().len(), 2);

    let server = MockServer::start(vec![Reply::json(
        200,
        include_str!("fixtures/graphql_invalid_input.json"),
    )])
    .await;
    let err = source(&server).fetch(&q).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    assert!(err.to_string().contains("NRQL Syntax Error"), "{err}");
    assert_eq!(server.requests().len(), 1);

    let server = MockServer::start(vec![Reply::json(
        200,
        include_str!("fixtures/graphql_server_error.json"),
    )])
    .await;
    let err = source(&server).fetch(&q).await.unwrap_err();
    assert!(
        matches!(err, Error::RetriesExhausted { attempts: 3, .. }),
        "{err}"
    );
    assert!(!err.is_retryable());
    assert_eq!(server.requests().len(), 3);

    let server = MockServer::start(vec![Reply::json(403, include_str!("fixtures/http_403.json"))]).await;
    let err = source(&server).fetch(&q).await.unwrap_err();
    assert!(matches!(err, Error::PermissionDenied { .. }), "{err}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waits_for_retry_after_on_429_then_succeeds() {
    let server = MockServer::start(vec![
        Reply::json(429, r#"{"errors":[{"message":"Too many requests"}]}"#).with_header("Retry-After", "1"),
        Reply::json(200, include_str!("fixtures/nrql_ok.json")),
    ])
    .await;
    let started = Instant::now();
    let got = source(&server).fetch(&cpu_query(T0, T0 + 240)).await.unwrap();
    let waited = started.elapsed();
    assert_eq!(got.values()[3], 1.75);
    assert_eq!(server.requests().len(), 2);
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_secs(4),
        "{waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_answers_probe_once_then_report_not_found() {
    let server = MockServer::start(vec![Reply::json(200, include_str!("fixtures/nrql_empty.json"))]).await;
    let err = source(&server).fetch(&cpu_query(T0, T0 + 120)).await.unwrap_err();
    assert_eq!(err.kind(), "not_found", "{err}");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let week_ms = 7 * 24 * 3600 * 1000;
    let (since, until, step) = nrql_times(&nrql_of(&requests[1]));
    assert_eq!((since, until), (T0 * 1000 - week_ms, (T0 + 120) * 1000 + week_ms));
    assert!(step as u64 * 366 >= (until - since) as u64 / 1000, "{step}");

    let server = MockServer::start(vec![
        Reply::json(200, include_str!("fixtures/nrql_empty.json")),
        Reply::json(200, include_str!("fixtures/nrql_ok.json")),
    ])
    .await;
    let got = source(&server)
        .fetch(&cpu_query(T0 + 3600, T0 + 3720))
        .await
        .unwrap();
    assert!(got.values().iter().all(|v| v.is_nan()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_the_value_key_and_escapes_string_literals() {
    let server = MockServer::start(vec![Reply::json(
        200,
        include_str!("fixtures/nrql_two_values.json"),
    )])
    .await;
    let q = cpu_query(T0, T0 + 60);
    let err = source(&server).fetch(&q).await.unwrap_err();
    assert!(err.to_string().contains("set `value_key`"), "{err}");
    let src = builder(&server).with_value_key("max.cpuPercent").build().unwrap();
    assert_eq!(src.fetch(&q).await.unwrap().values(), &[40.0]);

    assert_eq!(nrql_escape(r"o'brien\x"), r"o\'brien\\x");
    let mut cfg = super::NewRelicConfig {
        account_id: Some(1),
        ..Default::default()
    };
    cfg.environments
        .insert(Environment::Live, r"it's\prod".to_string());
    let src = NewRelicBuilder::from_config(cfg)
        .with_api_key(Secret::new(API_KEY))
        .build()
        .unwrap();
    let nrql = src.render_query(&q, t(T0), t(T0 + 60), 60).unwrap();
    assert!(nrql.contains(r"environment = 'it\'s\\prod'"), "{nrql}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_never_shows_in_debug_or_errors() {
    let server = MockServer::start(vec![Reply::json(403, include_str!("fixtures/http_403.json"))]).await;
    let src = source(&server);
    let err = src.fetch(&cpu_query(T0, T0 + 60)).await.unwrap_err();
    let b = builder(&server);
    for text in [
        format!("{src:?}"),
        format!("{err:?}"),
        format!("{err}"),
        format!("{b:?}"),
    ] {
        assert!(!text.contains(API_KEY), "{text}");
    }
}

/// A New Relic that holds `seeded` for service `checkout`: each bucket (laid back from UNTIL) averages its
/// samples, `null` when it has none.
fn seeded_handler(seeded: TimeSeries) -> impl Fn(&Recorded) -> Reply + Send + Sync + 'static {
    move |r| {
        let nrql = nrql_of(r);
        let known = nrql.contains("service = 'checkout' AND environment = 'live'");
        let (since, until, step) = nrql_times(&nrql);
        let (since, until) = (since / 1000, until / 1000);
        let n = (until - since) / step;
        let results: Vec<String> = (0..n)
            .map(|k| until - (n - k) * step)
            .map(|b| {
                let inside: Vec<f64> = seeded
                    .samples()
                    .filter(|s| known && (b..b + step).contains(&s.at.timestamp()))
                    .map(|s| s.value)
                    .collect();
                let value = if inside.is_empty() {
                    "null".to_string()
                } else {
                    format!("{:?}", inside.iter().sum::<f64>() / inside.len() as f64)
                };
                format!(
                    r#"{{"beginTimeSeconds":{b},"endTimeSeconds":{},"average.cpuUsedCores":{value}}}"#,
                    b + step
                )
            })
            .collect();
        Reply::json(
            200,
            format!(
                r#"{{"data":{{"actor":{{"account":{{"nrql":{{"results":[{}]}}}}}}}}}}"#,
                results.join(",")
            ),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_the_metric_source_conformance_suite() {
    let nan = f64::NAN;
    let series = TimeSeries::new(
        t(T0),
        Duration::from_secs(60),
        vec![1.5, 2.0, nan, 4.25, 0.0, 3.0, nan, nan, 7.5, 1.0, 2.0, 3.5],
    )
    .unwrap();
    let server = MockServer::with_handler(seeded_handler(series.clone())).await;
    let seeded = SeededSeries::new(
        ServiceId::new("checkout").unwrap(),
        Environment::Live,
        ResourceKind::Cpu,
        series,
    );
    conformance::metric_source(&source(&server), &seeded).await;
}

#[test]
fn the_registry_builds_newrelic_from_toml_and_names_missing_fields() {
    let registry = ProviderRegistry::with_builtin();
    // PATH is set in every test process and stands in for the key variable (tests cannot set variables:
    // `set_var` is unsafe in edition 2024).
    let cfg: ProviderConfig = toml::from_str(
        r#"
        kind = "newrelic"
        account_id = 1234567
        region = "eu"
        api_key_env = "PATH"
        "#,
    )
    .unwrap();
    let src = registry.build_metric_source(&cfg).unwrap();
    assert_eq!(src.name(), "newrelic");
    let debug = format!("{src:?}");
    assert!(debug.contains("https://api.eu.newrelic.com/graphql"), "{debug}");
    assert!(!debug.contains(&std::env::var("PATH").unwrap()), "{debug}");

    let missing_key: ProviderConfig = toml::from_str(
        "kind = \"newrelic\"\naccount_id = 1\napi_key_env = \"SHADOW_TEST_SURELY_UNSET_NR_KEY\"",
    )
    .unwrap();
    let err = registry.build_metric_source(&missing_key).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid config at `metrics.api_key_env`: environment variable `SHADOW_TEST_SURELY_UNSET_NR_KEY` is \
         unset or empty"
    );
    let no_account: ProviderConfig = toml::from_str("kind = \"newrelic\"\napi_key_env = \"PATH\"").unwrap();
    let err = registry.build_metric_source(&no_account).unwrap_err();
    assert!(
        matches!(&err, Error::Config { field, .. } if field == "metrics.account_id"),
        "{err}"
    );
    let bad_template: ProviderConfig = toml::from_str(
        "kind = \"newrelic\"\naccount_id = 1\napi_key_env = \"PATH\"\n\
         queries.cpu = \"SELECT average(x) FROM Y WHERE service = '{service}'\"",
    )
    .unwrap();
    let err = registry.build_metric_source(&bad_template).unwrap_err();
    assert!(
        matches!(&err, Error::Config { field, .. } if field == "metrics.queries.cpu"),
        "{err}"
    );
}
