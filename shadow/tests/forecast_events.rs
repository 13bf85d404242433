//! Learned event effects: a planted effect on a synthetic series, and the Peyton Manning page views with his
//! playoff games (dates from `../shared/data/README.md`, section 2).

mod support;

use std::{path::PathBuf, time::Duration};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use shadow::cli::csv::read_series;
use shadow_core::{
    FitInput, Forecast, Forecaster, PredictRequest, Quantile, Regressors, TimeSeries, events::EventSet,
};
use shadow_forecast::{ModelOptions, Order, SeasonalOrder, by_name_with};

fn levels() -> Vec<Quantile> {
    [0.1, 0.5, 0.9].map(|v| Quantile::try_new(v).unwrap()).to_vec()
}

/// Fits `model` on `series` with the events (or none) and forecasts `horizon` steps.
fn forecast(
    model: &dyn Forecaster,
    series: &TimeSeries,
    events: Option<&EventSet>,
    horizon: usize,
) -> Forecast {
    let (past, future) = match events {
        Some(set) => set
            .regressors(series.start(), series.step(), series.len(), horizon)
            .unwrap(),
        None => (Regressors::empty(), Regressors::empty()),
    };
    let lv = levels();
    let fitted = model
        .fit_boxed(&FitInput::new(series).with_regressors(&past).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", model.name()));
    fitted
        .predict_boxed(&PredictRequest::new(horizon, &lv).with_regressors(&future))
        .unwrap()
}

/// 60 days of hourly demand with a daily cycle, noise, and a `sale` that adds exactly `LIFT` for 6 hours
/// every 4 days (at varying hours).
const LIFT: f64 = 40.0;

fn planted() -> (TimeSeries, EventSet, usize) {
    let t0 = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let n = 24 * 60;
    let mut csv = String::from("start,end,label\n");
    let mut in_sale = vec![false; n + 48];
    let mut day = 1;
    while day * 24 < n + 48 {
        let start = day * 24 + 8 + (day * 5) % 9;
        for flag in &mut in_sale[start..(start + 6).min(n + 48)] {
            *flag = true;
        }
        let t = |i: usize| (t0 + TimeDelta::hours(i as i64)).to_rfc3339();
        csv.push_str(&format!("{},{},sale\n", t(start), t(start + 6)));
        day += 4;
    }
    let values: Vec<f64> = (0..n)
        .map(|i| {
            let daily = 100.0 + 30.0 * ((i % 24) as f64 * std::f64::consts::PI / 12.0).sin();
            daily + support::noise(i, 6.0) + if in_sale[i] { LIFT } else { 0.0 }
        })
        .collect();
    let series = TimeSeries::new(t0, Duration::from_secs(3600), values).unwrap();
    let events = EventSet::parse_csv(&csv, "planted.csv").unwrap();
    // The next sale starts on day 61 (inside a 48-hour horizon from day 60).
    let first_future = in_sale[n..]
        .iter()
        .position(|&s| s)
        .expect("a sale in the horizon");
    (series, events, first_future)
}

#[test]
fn a_planted_event_effect_lifts_the_forecast_and_its_quantiles() {
    let (series, events, at) = planted();
    let arima = ModelOptions::new()
        .with_order(Order::new(1, 0, 0))
        .with_seasonal_order(SeasonalOrder::new(0, 1, 1, 24));
    let mut report = String::new();
    for (name, options) in [("arima", arima), ("auto", ModelOptions::new())] {
        let model = by_name_with(name, &options).unwrap();
        let f = forecast(model.as_ref(), &series, Some(&events), 48);
        let value = |k: Option<usize>, h: usize| match k {
            Some(k) => f.quantile_paths()[k][h],
            None => f.point()[h],
        };
        assert!(
            at >= 24 + 6,
            "the sale must start a day into the horizon, at {at}"
        );
        for k in [None, Some(0), Some(1), Some(2)] {
            // The sale hours against the same hours one day earlier (the cycle is daily): about LIFT.
            let inside: f64 = (at..at + 6).map(|h| value(k, h) - value(k, h - 24)).sum::<f64>() / 6.0;
            // Hours without a sale against the day before: about 0.
            let outside: f64 = (24..at)
                .map(|h| (value(k, h) - value(k, h - 24)).abs())
                .sum::<f64>()
                / (at - 24) as f64;
            report.push_str(&format!(
                "{name} {k:?}: inside {inside:.2}, outside {outside:.2}\n"
            ));
            assert!(
                (inside - LIFT).abs() < 0.2 * LIFT,
                "{name} level {k:?}: lift {inside:.2} instead of about {LIFT}\n{report}"
            );
            assert!(
                outside < 0.15 * LIFT,
                "{name} level {k:?}: {outside:.2} off-event\n{report}"
            );
        }
    }
    println!("{report}");
}

fn data_dir() -> PathBuf {
    std::env::var_os("SHADOW_DATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
        PathBuf::from,
    )
}

/// Peyton Manning's playoff games and Super Bowls as listed in `../shared/data/README.md` (from Prophet's
/// docs); each event covers the game day and the day after, when the page views peak.
fn playoffs() -> EventSet {
    let playoffs = [
        "2008-01-13",
        "2009-01-03",
        "2010-01-16",
        "2010-01-24",
        "2010-02-07",
        "2011-01-08",
        "2013-01-12",
        "2014-01-12",
        "2014-01-19",
        "2014-02-02",
        "2015-01-11",
        "2016-01-17",
        "2016-01-24",
        "2016-02-07",
    ];
    let superbowls = ["2010-02-07", "2014-02-02", "2016-02-07"];
    let mut csv = String::from("start,end,label\n");
    for (label, dates) in [("playoff", &playoffs[..]), ("superbowl", &superbowls[..])] {
        for d in dates {
            let day: DateTime<Utc> = format!("{d}T00:00:00Z").parse().unwrap();
            let next = (day + TimeDelta::days(1)).format("%Y-%m-%d");
            csv.push_str(&format!("{d},{next},{label}\n"));
        }
    }
    EventSet::parse_csv(&csv, "playoffs.csv").unwrap()
}

#[test]
fn peyton_manning_playoffs_are_learned() {
    let path = data_dir().join("prophet/example_wp_log_peyton_manning.csv");
    if !path.exists() {
        println!(
            "skipped: {} is absent (set SHADOW_DATA to the shared data folder)",
            path.display()
        );
        return;
    }
    let full = read_series(&path).unwrap();
    // Fit on everything up to 2016-01-10; forecast the last 10 days, which hold the 2016-01-17 playoff.
    let cutoff: DateTime<Utc> = "2016-01-11T00:00:00Z".parse().unwrap();
    let n = full
        .values()
        .iter()
        .enumerate()
        .take_while(|(i, _)| full.time_at(*i) < cutoff)
        .count();
    let horizon = full.len() - n;
    let train = TimeSeries::new(full.start(), full.step(), full.values()[..n].to_vec()).unwrap();
    let actual = &full.values()[n..];
    let game = (0..horizon)
        .find(|&h| full.time_at(n + h) == "2016-01-17T00:00:00Z".parse::<DateTime<Utc>>().unwrap())
        .unwrap();
    let events = playoffs();
    let arima = ModelOptions::new()
        .with_order(Order::new(1, 1, 1))
        .with_seasonal_order(SeasonalOrder::new(1, 0, 1, 7));
    for (name, options) in [("arima", arima), ("auto", ModelOptions::new())] {
        let model = by_name_with(name, &options).unwrap();
        let with = forecast(model.as_ref(), &train, Some(&events), horizon);
        let without = forecast(model.as_ref(), &train, None, horizon);
        let err = |f: &Forecast| {
            (game..game + 2)
                .map(|h| (actual[h] - f.point()[h]).abs())
                .sum::<f64>()
                / 2.0
        };
        let lift = |k: Option<usize>| {
            (game..game + 2)
                .map(|h| match k {
                    Some(k) => with.quantile_paths()[k][h] - without.quantile_paths()[k][h],
                    None => with.point()[h] - without.point()[h],
                })
                .sum::<f64>()
                / 2.0
        };
        println!(
            "{name}: playoff lift (log views) point {:.2}, p10 {:.2}, p90 {:.2}; abs error on the game days \
             {:.2} with events, {:.2} without",
            lift(None),
            lift(Some(0)),
            lift(Some(2)),
            err(&with),
            err(&without)
        );
        // The playoff effect is large (the views roughly double to quadruple): the learned lift must be
        // clearly positive in the point forecast and in the quantiles, and must cut the error.
        for k in [None, Some(0), Some(1), Some(2)] {
            assert!(lift(k) > 0.4, "{name} {k:?}: lift {:.2}", lift(k));
        }
        if name == "arima" {
            // ARIMA's regression on the indicators recovers the playoff effect closely.
            assert!(
                err(&with) < 0.5 * err(&without),
                "{name}: {:.2} vs {:.2}",
                err(&with),
                err(&without)
            );
        }
    }
}
