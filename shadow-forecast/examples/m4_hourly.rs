//! Accuracy and run time of the forecasting models on M4 hourly, holding out the last 48 points of each
//! training series (the split of issue 7), with OWA against Naive2 on the same split.
//!
//! ```text
//! cargo run --release -p shadow-forecast --example m4_hourly -- [--data DIR] [--limit N] [MODEL ...]
//! ```
//!
//! `--data` is the shared data directory (default `../shared/data`, relative to the workspace root); the file
//! read is `m4/Hourly-train.csv`. Models are registry names (`auto`, `mstl`, `ets`, `theta`, ...; default
//! `auto`). Series run in parallel on every core; the time printed is the wall time of all series.

use std::{path::PathBuf, time::Instant};

use chrono::{TimeZone, Utc};
use rayon::prelude::*;
use shadow_core::{Fit, FitInput, Predict, PredictRequest, Quantile, TimeSeries};
use shadow_forecast::{
    Season, SeasonalNaive,
    auto::Auto,
    backtest::{Fold, SeriesScore, Summary, score},
    by_name,
    mstl::{AdjustedKind, Mstl, Transform},
};

/// User plus system CPU time of this process, from `/proc/self/stat` (0 where that file does not exist).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses): utime and stime are the 12th and 13th.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

/// Registry names plus a few fixed variants for comparison.
fn build(name: &str) -> shadow_core::Result<Box<dyn shadow_core::Forecaster>> {
    Ok(match name {
        "mstl-log" => Box::new(Mstl::new().with_transform(Transform::Log)),
        "theta-log" => Box::new(Mstl::new().with_theta().with_transform(Transform::Log)),
        "theta" => Box::new(Mstl::new().with_theta()),
        "arima-log-24-168" => Box::new(
            Mstl::new()
                .with_periods(vec![24, 168])
                .with_adjusted(AdjustedKind::Arima)
                .with_transform(Transform::Log),
        ),
        "arima-log-24" => Box::new(
            Mstl::new()
                .with_periods(vec![24])
                .with_adjusted(AdjustedKind::Arima)
                .with_transform(Transform::Log),
        ),
        "arima-log" => Box::new(
            Mstl::new()
                .with_adjusted(AdjustedKind::Arima)
                .with_transform(Transform::Log),
        ),
        "mstl-24" => Box::new(Mstl::new().with_periods(vec![24])),
        "mstl-24-168" => Box::new(Mstl::new().with_periods(vec![24, 168])),
        "mstl-log-24-168" => Box::new(
            Mstl::new()
                .with_periods(vec![24, 168])
                .with_transform(Transform::Log),
        ),
        "snaive-168" => Box::new(SeasonalNaive::new(Season::Steps(168))),
        other => return by_name(other, None),
    })
}

const HORIZON: usize = 48;
const PERIOD: usize = 24;

fn main() {
    let mut data = PathBuf::from("../shared/data");
    let mut limit = usize::MAX;
    let mut models = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--data" => data = PathBuf::from(args.next().expect("--data needs a path")),
            "--limit" => {
                limit = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--limit needs a number")
            }
            _ => models.push(a),
        }
    }
    if models.is_empty() {
        models.push("auto".into());
    }
    let path = data.join("m4/Hourly-train.csv");
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("skipping: {} not found (give --data DIR)", path.display());
        return;
    };
    let series: Vec<Vec<f64>> = text
        .lines()
        .skip(1)
        .take(limit)
        .map(|line| {
            line.split(',')
                .skip(1)
                .map(|v| v.trim_matches('"'))
                .filter(|v| !v.is_empty())
                .map(|v| v.parse::<f64>().expect("a number"))
                .collect()
        })
        .collect();
    println!(
        "M4 hourly: {} series, last {HORIZON} held out, MASE lag {PERIOD}, {} threads",
        series.len(),
        rayon::current_num_threads()
    );
    let levels: Vec<Quantile> = [0.025, 0.1, 0.5, 0.9, 0.975]
        .into_iter()
        .map(|q| Quantile::try_new(q).expect("valid level"))
        .collect();
    println!(
        "{:<16} {:>8} {:>8} {:>8} {:>7} {:>7} {:>8} {:>7}",
        "model", "sMAPE", "MASE", "OWA", "cov80", "cov95", "time s", "failed"
    );
    for name in &models {
        let model = match build(name) {
            Ok(m) => m,
            Err(e) => {
                println!("{name}: {e}");
                continue;
            }
        };
        let t0 = Instant::now();
        let cpu0 = cpu_seconds();
        let winners = std::sync::Mutex::new(std::collections::BTreeMap::<String, (usize, f64)>::new());
        let results: Vec<Option<SeriesScore>> = series
            .par_iter()
            .map(|values| {
                let n = values.len() - HORIZON;
                let full = TimeSeries::new(
                    Utc.timestamp_opt(0, 0).unwrap(),
                    std::time::Duration::from_secs(3600),
                    values.clone(),
                )
                .ok()?;
                let train = TimeSeries::new(full.start(), full.step(), values[..n].to_vec()).ok()?;
                let request = PredictRequest::new(HORIZON, &levels);
                let forecast = if name == "auto" {
                    // The typed model, to tally what the selection chose.
                    let fitted = Auto::new().fit(&FitInput::new(&train)).ok()?;
                    let mut w = winners.lock().ok()?;
                    for c in &fitted.report().candidates {
                        let e = w.entry(c.name.to_string()).or_default();
                        e.1 += c.weight;
                        if c.name == fitted.report().winner() {
                            e.0 += 1;
                        }
                    }
                    drop(w);
                    fitted.predict(&request).ok()?
                } else {
                    let fitted = model.fit_boxed(&FitInput::new(&train)).ok()?;
                    fitted.predict_boxed(&request).ok()?
                };
                let fold = Fold {
                    origin: n,
                    actual: values[n..].to_vec(),
                    forecast,
                };
                Some(score(&full, &[fold], PERIOD))
            })
            .collect();
        let secs = t0.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu0;
        let failed = results.iter().filter(|r| r.is_none()).count();
        let scores: Vec<SeriesScore> = results.into_iter().flatten().collect();
        let s = Summary::from_scores(&scores, failed);
        let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
        println!(
            "{:<16} {:>8} {:>8} {:>8} {:>7} {:>7} {:>8.1} {:>7}",
            name,
            f(s.smape),
            f(s.mase),
            f(s.owa),
            f(s.coverage_at(0.8)),
            f(s.coverage_at(0.95)),
            secs,
            failed
        );
        println!(
            "{:<16} CPU {cpu:.1} s over {} threads (wall on an idle machine is about CPU / threads)",
            "",
            rayon::current_num_threads()
        );
        let winners = winners.into_inner().unwrap_or_default();
        if !winners.is_empty() {
            let total: usize = winners.values().map(|v| v.0).sum();
            let text: Vec<String> = winners
                .iter()
                .map(|(k, (won, w))| format!("{k} won {won}/{total}, mean weight {:.2}", w / total as f64))
                .collect();
            println!("{:<16} selection: {}", "", text.join("; "));
        }
        if name == &models[0] {
            println!(
                "{:<16} {:>8} {:>8} {:>8}   (same split)",
                "naive2",
                f(s.naive2_smape),
                f(s.naive2_mase),
                "1.000"
            );
        }
    }
}
