//! Times our fits on the series written by `shadow-forecast/scripts/compare.py` and prints one JSON line of
//! medians (ms).
//!
//! `cargo run --release -p shadow-forecast --example timing -- <series.json> <repeats>`

use std::time::Instant;

use serde_json::Value;
use shadow_forecast::arima::{
    Arima, AutoArima, Order, SeasonalOrder,
    chandrasekhar::{ArmaWorkspace, filter_arma},
};

fn median_ms(mut f: impl FnMut(), repeats: usize) -> f64 {
    let mut t: Vec<f64> = (0..repeats)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).expect("usage: timing <series.json> [repeats]");
    let repeats: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(5);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");
    let get = |k: &str| -> Vec<f64> {
        v[k].as_array()
            .expect(k)
            .iter()
            .map(|x| x.as_f64().unwrap_or(f64::NAN))
            .collect()
    };
    let y211 = get("arima211");
    let y24 = get("sarima24");
    let m211 = Arima::builder().order(Order::new(2, 1, 1)).build().expect("spec");
    let fit211 = median_ms(|| drop(m211.fit_values(&y211, &[], &[]).expect("fit")), repeats);
    let auto = AutoArima::builder().build().expect("spec");
    let auto_ms = median_ms(|| drop(auto.fit_values(&y211).expect("auto")), repeats.min(3));
    let auto_fit = auto.fit_values(&y211).expect("auto");
    let m24 = Arima::builder()
        .order(Order::new(1, 0, 1))
        .seasonal(SeasonalOrder::new(1, 1, 1, 24))
        .build()
        .expect("spec");
    let fit24 = median_ms(
        || drop(m24.fit_values(&y24, &[], &[]).expect("fit")),
        repeats.min(3),
    );
    // One likelihood evaluation of ARIMA(2,1,1) at the fitted parameters, per observation.
    let f = m211.fit_values(&y211, &[], &[]).expect("fit");
    let (phi, theta) = f.params().arma.expand(1);
    let w: Vec<f64> = y211.windows(2).map(|p| p[1] - p[0]).collect();
    let mut ws = ArmaWorkspace::default();
    let reps = 2000;
    let s = Instant::now();
    for _ in 0..reps {
        std::hint::black_box(filter_arma(&phi, &theta, std::hint::black_box(&w), &mut ws));
    }
    let ns_per_obs = s.elapsed().as_secs_f64() * 1e9 / (reps * w.len()) as f64;
    let o = auto_fit.spec();
    println!(
        "{{\"fit211_ms\": {fit211:.3}, \"auto_ms\": {auto_ms:.3}, \"fit24_ms\": {fit24:.3}, \"ns_per_obs\": {ns_per_obs:.3}, \
         \"llf211\": {:.6}, \"llf24\": {:.6}, \"auto_order\": \"({},{},{}) {:?}\"}}",
        f.log_likelihood(),
        m24.fit_values(&y24, &[], &[]).expect("fit").log_likelihood(),
        o.order.p,
        o.order.d,
        o.order.q,
        o.trend
    );
}
