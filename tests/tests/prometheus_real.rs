//! The `prometheus` metric source against the real Prometheus that `./scripts/test.sh` starts, holding the
//! series of `shadow_tests::prometheus_fixtures` (backfilled before the server started).
//!
//! Each test skips with a message when `SHADOW_PROMETHEUS_URL` is unset; the NAB test also skips when the
//! shared data directory is absent. Values and timestamps are asserted exactly (the CPU rate to 1e-12
//! relative, since it is a quotient Prometheus computes).

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, TimeZone, Utc};
use shadow_core::{
    DynMetricSource, Environment, Error, MetricQuery, MetricSource, ResourceKind, ServiceId, TimeRange,
    TimeSeries,
    config::ProviderConfig,
    conformance::{self, SeededSeries},
};
use shadow_providers::{
    ProviderRegistry,
    prometheus::{PrometheusBuilder, PrometheusSource},
};
use shadow_tests::prometheus_fixtures::{
    self as fx, CONF_START, CONF_STEP, CPU_POINTS, CUSTOM_POINTS, GEN_START, GEN_STEP, MEM_GAP, MEM_NAN_AT,
    MEM_POINTS, Series,
};

fn url() -> Option<String> {
    let url = std::env::var("SHADOW_PROMETHEUS_URL").ok();
    if url.is_none() {
        println!("skipping: SHADOW_PROMETHEUS_URL is not set (run ./scripts/test.sh)");
    }
    url
}

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).unwrap()
}

/// Builds the source through the registry, from a `[metrics]` section with `extra` options.
fn from_registry(url: &str, extra: &str) -> Arc<DynMetricSource> {
    let options: toml::Table = toml::from_str(&format!("url = {url:?}\n{extra}")).unwrap();
    let section = ProviderConfig {
        kind: "prometheus".into(),
        options,
    };
    ProviderRegistry::with_builtin()
        .build_metric_source(&section)
        .unwrap()
}

fn query(service: &str, resource: ResourceKind, start: i64, points: usize, step: i64) -> MetricQuery {
    let range = TimeRange::new(t(start), t(start + points as i64 * step)).unwrap();
    MetricQuery::new(
        ServiceId::new(service).unwrap(),
        resource,
        range,
        Duration::from_secs(step as u64),
    )
    .unwrap()
}

/// Asserts the grid and the values: equal, or both `NaN`; `rel` is the relative tolerance.
fn assert_series(context: &str, got: &TimeSeries, q: &MetricQuery, expected: &[f64], rel: f64) {
    assert_eq!(got.start(), q.range.start, "{context}: start");
    assert_eq!(got.step(), q.step, "{context}: step");
    assert_eq!(got.len(), expected.len(), "{context}: length");
    for (i, (at, (g, e))) in got
        .timestamps()
        .zip(got.values().iter().zip(expected))
        .enumerate()
    {
        assert_eq!(
            at,
            q.range.start + chrono::TimeDelta::milliseconds(i as i64 * q.step.as_millis() as i64)
        );
        let ok = if e.is_nan() {
            g.is_nan()
        } else {
            (g - e).abs() <= rel * e.abs()
        };
        assert!(ok, "{context}: point {i} at {at}: got {g}, expected {e}");
    }
}

/// The memory series of `gen-mem` in `environment`, as the default template selects them.
fn memory_series(environment: &str) -> Vec<Series> {
    fx::family("container_memory_working_set_bytes")
        .series
        .into_iter()
        .filter(|s| {
            s.label("service") == Some("gen-mem")
                && s.label("environment") == Some(environment)
                && s.label("container") != Some("")
        })
        .collect()
}

fn expected_sum(series: &[Series], start: i64, points: usize, step: i64) -> Vec<f64> {
    let refs: Vec<&Series> = series.iter().collect();
    (0..points)
        .map(|i| fx::sum_at(&refs, start + i as i64 * step))
        .collect()
}

#[tokio::test]
async fn default_memory_template_answers_the_generated_values() {
    let Some(url) = url() else { return };
    let source = from_registry(&url, "");
    let live = memory_series("live");
    let q = query("gen-mem", ResourceKind::Memory, GEN_START, 3_000, GEN_STEP);
    let got = source.fetch(&q).await.unwrap();
    let expected = expected_sum(&live, GEN_START, 3_000, GEN_STEP);
    assert_series("gen-mem live", &got, &q, &expected, 0.0);
    // Spot checks independent of the model: the sum of both pods, the pod-level series left out.
    assert_eq!(got.values()[0], 100_000_000.0 + 50_000_000.0);
    assert_eq!(
        got.values()[5],
        100_000_000.0 + 500_000.0 + 50_000_000.0 + 50_000.0
    );
    assert!(got.values()[MEM_NAN_AT].is_nan(), "a NaN sample is a gap");

    let shadow = memory_series("shadow");
    let q =
        query("gen-mem", ResourceKind::Memory, GEN_START, 120, GEN_STEP).in_environment(Environment::Shadow);
    let got = source.fetch(&q).await.unwrap();
    assert_series(
        "gen-mem shadow",
        &got,
        &q,
        &expected_sum(&shadow, GEN_START, 120, GEN_STEP),
        0.0,
    );
    assert_eq!(got.values()[99], 42e6 + 99.0);
    assert!(
        got.values()[105].is_nan(),
        "5 minutes after the last sample the shadow series is a gap"
    );
}

#[tokio::test]
async fn long_ranges_are_chunked_and_exact() {
    let Some(url) = url() else { return };
    let live = memory_series("live");
    let q = query("gen-mem", ResourceKind::Memory, GEN_START, MEM_POINTS, GEN_STEP);
    let expected = expected_sum(&live, GEN_START, MEM_POINTS, GEN_STEP);
    // 15,000 points: two requests with the default limit of 11,000, sixteen with 997.
    for extra in ["", "max_points_per_request = 997"] {
        let got = from_registry(&url, extra).fetch(&q).await.unwrap();
        assert_series(&format!("15000 points ({extra:?})"), &got, &q, &expected, 0.0);
    }
    // A range that starts off the sample grid by 30 s: Prometheus answers from the lookback window.
    let q = query("gen-mem", ResourceKind::Memory, GEN_START + 30, 12_000, GEN_STEP);
    let got = from_registry(&url, "").fetch(&q).await.unwrap();
    let expected = expected_sum(&live, GEN_START + 30, 12_000, GEN_STEP);
    assert_series("off-grid start", &got, &q, &expected, 0.0);
}

#[tokio::test]
async fn missing_samples_become_nan_never_zero() {
    let Some(url) = url() else { return };
    let source = from_registry(&url, "");
    let first = MEM_GAP.0 - 5;
    let q = query(
        "gen-mem",
        ResourceKind::Memory,
        GEN_START + first as i64 * GEN_STEP,
        45,
        GEN_STEP,
    );
    let got = source.fetch(&q).await.unwrap();
    let v = got.values();
    let last_before =
        fx::memory_value(0, MEM_GAP.0 - 1).unwrap() + fx::memory_value(1, MEM_GAP.0 - 1).unwrap();
    // Prometheus carries the last sample for its 5-minute lookback, then the gap shows.
    for (i, value) in v.iter().enumerate().take(10).skip(5) {
        assert_eq!(*value, last_before, "point {i} within the lookback");
    }
    for (i, value) in v.iter().enumerate().take(35).skip(10) {
        assert!(value.is_nan(), "point {i} in the gap is {value}, expected NaN");
    }
    assert!(v[35..].iter().all(|x| x.is_finite() && *x > 0.0));

    // Before the first sample and after the last: all NaN, the service being known.
    for start in [
        GEN_START - 600 * 60,
        GEN_START + (MEM_POINTS as i64 + 10) * GEN_STEP,
    ] {
        let q = query("gen-mem", ResourceKind::Memory, start, 100, GEN_STEP);
        let got = source.fetch(&q).await.unwrap();
        assert_eq!(got.len(), 100);
        assert!(
            got.values().iter().all(|x| x.is_nan()),
            "{start}: {:?}",
            got.values()
        );
    }
    // A service the server does not hold.
    let q = query("no-such-service", ResourceKind::Memory, GEN_START, 10, GEN_STEP);
    assert!(matches!(source.fetch(&q).await, Err(Error::NotFound { .. })));
}

#[tokio::test]
async fn default_cpu_template_is_the_counter_rate() {
    let Some(url) = url() else { return };
    let source = from_registry(&url, "");
    // rate(x[5m]) at t covers the samples at t-300 .. t (2.x: both ends included), so no extrapolation:
    // (v(t) - v(t - 300)) / 300. Start at index 5 so the window is full.
    let start = GEN_START + 5 * GEN_STEP;
    let points = CPU_POINTS - 5;
    let q = query("gen-cpu", ResourceKind::Cpu, start, points, GEN_STEP);
    let got = source.fetch(&q).await.unwrap();
    let expected: Vec<f64> = (5..CPU_POINTS)
        .map(|i| (fx::cpu_counter(i) - fx::cpu_counter(i - 5)) / 300.0)
        .collect();
    assert_series("gen-cpu", &got, &q, &expected, 1e-12);
}

#[tokio::test]
async fn custom_query_templates_select_their_own_series() {
    let Some(url) = url() else { return };
    let source = from_registry(
        &url,
        r#"
        service_label = "app"
        [queries]
        requests = 'sum(shadow_gen_requests{app="{service}", env="{environment}"})'
        "#,
    );
    let requests = ResourceKind::custom("requests").unwrap();
    let q = query(
        "gen-custom",
        requests.clone(),
        GEN_START,
        CUSTOM_POINTS + 10,
        GEN_STEP,
    );
    let got = source.fetch(&q).await.unwrap();
    let series = &fx::family("shadow_gen_requests").series;
    assert_series(
        "requests",
        &got,
        &q,
        &expected_sum(series, GEN_START, CUSTOM_POINTS + 10, GEN_STEP),
        0.0,
    );
    assert_eq!(got.values()[3], 9.0);
    assert_eq!(got.values()[40], 600.0);
    // The same kind in an environment without data: gaps, not an error.
    let q = query("gen-custom", requests.clone(), GEN_START, 5, GEN_STEP).in_environment(Environment::Shadow);
    assert!(
        source
            .fetch(&q)
            .await
            .unwrap()
            .values()
            .iter()
            .all(|v| v.is_nan())
    );
    // A kind with no template is unknown to this source.
    let q = query(
        "gen-custom",
        ResourceKind::custom("queue").unwrap(),
        GEN_START,
        5,
        GEN_STEP,
    );
    assert!(matches!(source.fetch(&q).await, Err(Error::NotFound { .. })));
    // A template that does not aggregate answers several series: an error, not a silent sum.
    let source = PrometheusBuilder::new()
        .with_url(&url)
        .with_query(
            requests.clone(),
            r#"shadow_gen_requests or label_replace(shadow_gen_requests, "x", "y", "", "")"#,
        )
        .build()
        .unwrap();
    let q = query("gen-custom", requests, GEN_START, 5, GEN_STEP);
    let err = source.fetch(&q).await.unwrap_err();
    assert_eq!(err.kind(), "invalid_input", "{err}");
    // A template the server cannot parse: bad_data (HTTP 400).
    let source: PrometheusSource = PrometheusBuilder::new()
        .with_url(&url)
        .with_query(ResourceKind::Cpu, "sum(rate(x[5m])")
        .build()
        .unwrap();
    let err = source
        .fetch(&query("gen-cpu", ResourceKind::Cpu, GEN_START, 5, GEN_STEP))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "invalid_input", "{err}");
    assert!(err.to_string().contains("bad_data"), "{err}");
}

#[tokio::test]
async fn passes_the_conformance_suite_against_the_real_server() {
    let Some(url) = url() else { return };
    let source = from_registry(&url, "max_points_per_request = 7");
    let series = TimeSeries::new(
        t(CONF_START),
        Duration::from_secs(CONF_STEP as u64),
        fx::conformance_values(),
    )
    .unwrap();
    let seeded = SeededSeries::new(
        ServiceId::new("gen-conformance").unwrap(),
        Environment::Live,
        ResourceKind::Memory,
        series,
    );
    conformance::metric_source(source.as_ref(), &seeded).await;
}

#[tokio::test]
async fn nab_series_come_back_exactly() {
    let Some(url) = url() else { return };
    let data = fx::data_dir();
    let Some(nab) = fx::nab(&data).unwrap() else {
        println!(
            "skipping the NAB part: {} does not exist (set SHADOW_DATA)",
            data.join("nab").display()
        );
        return;
    };
    let source = from_registry(
        &url,
        r#"
        check_service_exists = false
        queries.nab = 'shadow_nab{series="{service}"}'
        "#,
    );
    let nab_kind = ResourceKind::custom("nab").unwrap();
    for series in &nab.series {
        let name = series.label("series").unwrap();
        let samples = &series.samples;
        let mut steps: Vec<i64> = samples.windows(2).map(|w| w[1].0 - w[0].0).collect();
        steps.sort_unstable();
        let step = steps[steps.len() / 2];
        let start = samples[0].0;
        let points = ((samples.last().unwrap().0 - start) / step + 1) as usize;
        let q = query(name, nab_kind.clone(), start, points, step);
        let got = source.fetch(&q).await.unwrap();
        let expected: Vec<f64> = (0..points)
            .map(|i| fx::lookback(samples, start + i as i64 * step).unwrap_or(f64::NAN))
            .collect();
        assert_series(name, &got, &q, &expected, 0.0);
        // Where a CSV row sits on the grid, the value is the CSV's, bit for bit.
        let mut on_grid = 0;
        for (ts, v) in samples.iter().filter(|(ts, _)| (ts - start) % step == 0) {
            assert_eq!(got.values()[((ts - start) / step) as usize], *v, "{name} at {ts}");
            on_grid += 1;
        }
        assert!(on_grid > 0, "{name}: no row on the grid");
    }
    println!("checked {} NAB series", nab.series.len());
}
