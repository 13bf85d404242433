//! Criterion benchmarks of MSTL at the size of issue 7: four weeks of 5-minute data (n = 8064) with a daily
//! (288) and a weekly (2016) cycle. `decompose` is the MSTL decomposition alone; `fit` is the whole model as
//! the registry builds it (period detection by periodogram, decomposition, AutoETS on the adjusted series).
#![allow(missing_docs)]

use std::time::Duration;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, black_box, criterion_group, criterion_main};
use shadow_core::{Fit, FitInput, TimeSeries};
use shadow_forecast::mstl::Mstl;

/// A deterministic 5-minute series with a daily and a weekly cycle, a slow trend and xorshift noise.
fn five_minute(n: usize) -> Vec<f64> {
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let mut unif = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    (0..n)
        .map(|t| {
            let day = (2.0 * std::f64::consts::PI * t as f64 / 288.0).sin();
            let weekend = if (t / 288) % 7 >= 5 { -15.0 } else { 0.0 };
            100.0 + 0.001 * t as f64 + 20.0 * day + weekend + 3.0 * (unif() - 0.5)
        })
        .collect()
}

fn bench_mstl(c: &mut Criterion) {
    let y = five_minute(8064);
    let series = TimeSeries::new(
        Utc.timestamp_opt(0, 0).unwrap(),
        Duration::from_secs(300),
        y.clone(),
    )
    .unwrap();
    let model = Mstl::new();
    let fitted = model.fit(&FitInput::new(&series)).unwrap();
    assert_eq!(
        fitted.periods(),
        &[288, 2016],
        "the bench series must have both cycles"
    );
    c.bench_function("mstl_decompose_5min_n8064_288_2016", |b| {
        b.iter(|| black_box(model.decompose(black_box(&y), &[288, 2016])))
    });
    c.bench_function("mstl_fit_5min_n8064", |b| {
        b.iter(|| black_box(model.fit(&FitInput::new(black_box(&series))).unwrap()))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = bench_mstl
}
criterion_main!(benches);
