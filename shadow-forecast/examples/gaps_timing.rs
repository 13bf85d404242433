//! Timings of the missing-value paths (no assertions): one exact log-likelihood of ARIMA(2,1,1) on n = 2000 with
//! 2 % missing, a SARIMA(1,0,1)(1,1,1)24 fit on 240 hourly points with 9 gaps, and AutoARIMA on 336 hourly
//! points with 4 gaps.
//!
//! `cargo run --release -p shadow-forecast --example gaps_timing`

use std::time::Instant;

use shadow_forecast::arima::{
    Arima, AutoArima, Order, SeasonalOrder,
    kalman::{StateSpace, filter_full},
};

/// Deterministic ARMA(1,1) noise (xorshift + Box–Muller).
fn noise(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed;
    let mut unif = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let e: Vec<f64> = (0..n + 1)
        .map(|_| (-2.0 * unif().ln()).sqrt() * (2.0 * std::f64::consts::PI * unif()).cos())
        .collect();
    let mut w = vec![0.0; n + 1];
    for t in 1..=n {
        w[t] = 0.6 * w[t - 1] + e[t] + 0.2 * e[t - 1];
    }
    w[1..].to_vec()
}

fn hourly(n: usize, gaps: &[usize], seed: u64) -> Vec<f64> {
    let base = noise(n, seed);
    let mut y: Vec<f64> = (0..n)
        .map(|t| base[t] + 5.0 * ((t % 24) as f64 / 24.0 * std::f64::consts::TAU).sin() + 0.001 * t as f64)
        .collect();
    gaps.iter().for_each(|&g| y[g] = f64::NAN);
    y
}

fn time<T>(f: impl Fn() -> T) -> (f64, T) {
    let s = Instant::now();
    let out = f();
    (s.elapsed().as_secs_f64(), out)
}

fn main() {
    // One likelihood evaluation, as the criterion bench `missing`.
    let mut y: Vec<f64> = noise(2000, 42);
    let mut acc = 0.0;
    y.iter_mut().for_each(|v| {
        acc += *v;
        *v = acc;
    });
    for i in (5..2000).step_by(50) {
        y[i] = f64::NAN;
    }
    let ss = StateSpace::new(&[1.0], &[0.4, 0.2], &[-0.5]).expect("stationary");
    let reps = 2000;
    let (secs, _) = time(|| {
        (0..reps)
            .map(|_| {
                std::hint::black_box(filter_full(&ss, std::hint::black_box(&y), false))
                    .0
                    .ssq
            })
            .sum::<f64>()
    });
    println!(
        "loglike arima(2,1,1) n=2000 2% missing: {:.2} us",
        secs * 1e6 / f64::from(reps)
    );

    let y24 = hourly(240, &[17, 40, 41, 90, 120, 150, 181, 200, 222], 7);
    let (phi, theta) = shadow_forecast::arima::ArmaCoefs {
        ar: vec![0.6],
        ma: vec![0.2],
        sar: vec![0.3],
        sma: vec![-0.5],
    }
    .expand(24);
    let mut delta = vec![0.0; 24];
    delta[23] = 1.0;
    let ss24 = StateSpace::new(&delta, &phi, &theta).expect("stationary");
    let (secs, _) = time(|| {
        (0..200)
            .map(|_| {
                std::hint::black_box(filter_full(&ss24, std::hint::black_box(&y24), false))
                    .0
                    .ssq
            })
            .sum::<f64>()
    });
    println!(
        "loglike sarima(1,0,1)(1,1,1)24 n=240 9 missing: {:.2} us",
        secs * 1e6 / 200.0
    );
    let m24 = Arima::builder()
        .order(Order::new(1, 0, 1))
        .seasonal(SeasonalOrder::new(1, 1, 1, 24))
        .build()
        .expect("spec");
    let (secs, f) = time(|| m24.fit_values(&y24, &[], &[]).expect("fit"));
    println!(
        "fit sarima(1,0,1)(1,1,1)24 n=240, 9 missing: {:.3} s (llf {:.6})",
        secs,
        f.log_likelihood()
    );

    let y336 = hourly(336, &[30, 100, 101, 250], 11);
    let auto = AutoArima::builder().period(24).build().expect("spec");
    let (secs, f) = time(|| auto.fit_values(&y336).expect("auto"));
    let s = f.spec();
    println!(
        "auto arima m=24 n=336, 4 missing: {:.3} s -> ({},{},{})({},{},{})24, aicc {:.4}",
        secs,
        s.order.p,
        s.order.d,
        s.order.q,
        s.seasonal.p,
        s.seasonal.d,
        s.seasonal.q,
        f.aicc()
    );
}
