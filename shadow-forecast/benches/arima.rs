//! Criterion benchmarks of the ARIMA engine: one exact log-likelihood evaluation (per observation) and full fits
//! at the sizes of issue 3.
#![allow(missing_docs)]

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use shadow_forecast::arima::{
    Arima, ArmaCoefs, AutoArima, Order, SeasonalOrder,
    batch::{fit_batch, refit_batch},
    chandrasekhar::{ArmaWorkspace, filter_arma},
    kalman::{StateSpace, filter_full},
};

/// A deterministic ARIMA simulation (xorshift + Box–Muller), so the bench needs no data files.
fn simulate(n: usize, ar: &[f64], ma: &[f64], d: usize, seed: u64) -> Vec<f64> {
    let mut s = seed;
    let mut unif = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let burn = 200;
    let e: Vec<f64> = (0..n + burn)
        .map(|_| (-2.0 * unif().ln()).sqrt() * (2.0 * std::f64::consts::PI * unif()).cos())
        .collect();
    let mut w = vec![0.0; n + burn];
    for t in 0..n + burn {
        let mut v = e[t];
        for (i, a) in ar.iter().enumerate() {
            if t > i {
                v += a * w[t - 1 - i];
            }
        }
        for (j, m) in ma.iter().enumerate() {
            if t > j {
                v += m * e[t - 1 - j];
            }
        }
        w[t] = v;
    }
    let mut y = w[burn..].to_vec();
    for _ in 0..d {
        let mut acc = 0.0;
        y.iter_mut().for_each(|v| {
            acc += *v;
            *v = acc;
        });
    }
    y
}

fn seasonal_series(n: usize) -> Vec<f64> {
    let base = simulate(n, &[0.6], &[0.2], 0, 7);
    (0..n)
        .map(|t| base[t] + 5.0 * ((t % 24) as f64 / 24.0 * std::f64::consts::TAU).sin() + 0.001 * t as f64)
        .collect()
}

/// Ten days of hourly data with 9 missing values (two of them adjacent).
fn seasonal_gaps(n: usize) -> Vec<f64> {
    let mut y = seasonal_series(n);
    for g in [17, 40, 41, 90, 120, 150, 181, 200, 222] {
        if g < n {
            y[g] = f64::NAN;
        }
    }
    y
}

fn bench_loglike(c: &mut Criterion) {
    let y = simulate(2000, &[0.4, 0.2], &[-0.5], 1, 42);
    let w: Vec<f64> = y.windows(2).map(|p| p[1] - p[0]).collect();
    let (phi, theta) = (vec![0.4, 0.2], vec![-0.5]);
    let mut ws = ArmaWorkspace::default();
    c.bench_function("loglike arima(2,1,1) n=2000 (complete data)", |b| {
        b.iter(|| filter_arma(black_box(&phi), black_box(&theta), black_box(&w), &mut ws).unwrap())
    });
    let mut yn = y.clone();
    for i in (5..2000).step_by(50) {
        yn[i] = f64::NAN;
    }
    let ss = StateSpace::new(&[1.0], &phi, &theta).unwrap();
    c.bench_function(
        "loglike arima(2,1,1) n=2000 (2% missing, full diffuse filter)",
        |b| b.iter(|| filter_full(black_box(&ss), black_box(&yn), false)),
    );
    let ys = seasonal_series(1344);
    let coefs = ArmaCoefs {
        ar: vec![0.6],
        ma: vec![0.2],
        sar: vec![0.3],
        sma: vec![-0.5],
    };
    let (phi, theta) = coefs.expand(24);
    let ws24: Vec<f64> = (24..ys.len()).map(|t| ys[t] - ys[t - 24]).collect();
    c.bench_function("loglike sarima(1,0,1)(1,1,1)24 n=1344 (complete data)", |b| {
        b.iter(|| filter_arma(black_box(&phi), black_box(&theta), black_box(&ws24), &mut ws).unwrap())
    });
    let mut delta = vec![0.0; 24];
    delta[23] = 1.0;
    let ss24 = StateSpace::new(&delta, &phi, &theta).unwrap();
    let yg = seasonal_gaps(240);
    c.bench_function(
        "loglike sarima(1,0,1)(1,1,1)24 n=240 (9 missing, full diffuse filter)",
        |b| b.iter(|| filter_full(black_box(&ss24), black_box(&yg), false)),
    );
}

fn bench_fit(c: &mut Criterion) {
    let y = simulate(2000, &[0.4, 0.2], &[-0.5], 1, 42);
    let m = Arima::builder().order(Order::new(2, 1, 1)).build().unwrap();
    c.bench_function("fit arima(2,1,1) n=2000", |b| {
        b.iter(|| m.fit_values(black_box(&y), &[], &[]).unwrap())
    });
    let auto = AutoArima::builder().build().unwrap();
    let mut g = c.benchmark_group("slow");
    g.sample_size(10);
    g.bench_function("auto arima non-seasonal n=2000", |b| {
        b.iter(|| auto.fit_values(black_box(&y)).unwrap())
    });
    let ys = seasonal_series(1344);
    let s = Arima::builder()
        .order(Order::new(1, 0, 1))
        .seasonal(SeasonalOrder::new(1, 1, 1, 24))
        .build()
        .unwrap();
    g.bench_function("fit sarima(1,0,1)(1,1,1)24 n=1344", |b| {
        b.iter(|| s.fit_values(black_box(&ys), &[], &[]).unwrap())
    });
    let yg = seasonal_gaps(240);
    g.bench_function("fit sarima(1,0,1)(1,1,1)24 n=240, 9 missing", |b| {
        b.iter(|| s.fit_values(black_box(&yg), &[], &[]).unwrap())
    });
    let inputs_data: Vec<shadow_core::TimeSeries> = (0..8)
        .map(|k| {
            let start = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
            let v = simulate(2000, &[0.4, 0.2], &[-0.5], 1, 100 + k);
            shadow_core::TimeSeries::new(start, std::time::Duration::from_secs(60), v).unwrap()
        })
        .collect();
    let inputs: Vec<shadow_core::FitInput<'_>> = inputs_data.iter().map(shadow_core::FitInput::new).collect();
    g.bench_function("8 x fit arima(2,1,1) n=2000, sequential", |b| {
        b.iter(|| {
            inputs
                .iter()
                .map(|i| shadow_core::Fit::fit(&m, i).unwrap())
                .collect::<Vec<_>>()
        })
    });
    g.bench_function("8 x fit arima(2,1,1) n=2000, fit_batch (rayon)", |b| {
        b.iter(|| fit_batch(&m, &inputs).len())
    });
    let first: Vec<_> = fit_batch(&m, &inputs).into_iter().map(Result::unwrap).collect();
    g.bench_function("8 x warm-start refit arima(2,1,1) n=2000, refit_batch", |b| {
        b.iter(|| refit_batch(&first, &inputs).unwrap().len())
    });
    g.finish();
}

criterion_group!(benches, bench_loglike, bench_fit);
criterion_main!(benches);
