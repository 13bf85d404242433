//! `shadow forecast --events --plot --calibrate` end to end: the real binary on real files.

mod support;

use std::{fmt::Write as _, fs};

use chrono::{DateTime, TimeDelta, Utc};
use shadow::chart::check_well_formed;
use support::{assert_clean_error, shadow, temp_dir};

fn t(i: usize) -> String {
    let t0: DateTime<Utc> = "2024-01-01T00:00:00Z".parse().unwrap();
    (t0 + TimeDelta::hours(i as i64)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// 21 days hourly with a daily cycle and a `promo` worth +50 for 4 hours every 3 days; one more promo is
/// announced 30 hours after the end.
fn write_inputs(dir: &std::path::Path) -> (String, String, usize) {
    let n = 21 * 24;
    let mut promo = vec![false; n + 48];
    let mut events = String::from("start,end,label\n");
    let mut start = 34;
    while start + 4 <= n {
        promo[start..start + 4].iter_mut().for_each(|p| *p = true);
        writeln!(events, "{},{},promo", t(start), t(start + 4)).unwrap();
        start += 72;
    }
    let future = n + 30;
    writeln!(events, "{},{},promo", t(future), t(future + 4)).unwrap();
    let mut csv = String::from("timestamp,value\n");
    for (i, &in_promo) in promo.iter().enumerate().take(n) {
        let v = 200.0
            + 20.0 * ((i % 24) as f64 * std::f64::consts::PI / 12.0).sin()
            + support::noise(i, 4.0)
            + if in_promo { 50.0 } else { 0.0 };
        writeln!(csv, "{},{v}", t(i)).unwrap();
    }
    let input = dir.join("demand.csv");
    let ev = dir.join("events.csv");
    fs::write(&input, csv).unwrap();
    fs::write(&ev, events).unwrap();
    (
        input.to_str().unwrap().to_string(),
        ev.to_str().unwrap().to_string(),
        future - n,
    )
}

fn rows(stdout: &str) -> Vec<Vec<f64>> {
    stdout
        .lines()
        .skip(1)
        .map(|l| l.split(',').skip(1).map(|v| v.parse().unwrap()).collect())
        .collect()
}

#[test]
fn announced_events_lift_the_forecast_and_the_plot_shows_them() {
    let dir = temp_dir("shadow-cli-events");
    let (input, events, at) = write_inputs(&dir);
    let plot = dir.join("fan.svg");
    let run = shadow(&[
        "forecast",
        "--input",
        &input,
        "--horizon",
        "48",
        "--model",
        "arima",
        "--order",
        "1,0,0",
        "--seasonal-order",
        "0,1,1,24",
        "--events",
        &events,
        "--plot",
        plot.to_str().unwrap(),
        "--calibrate",
    ]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stdout.starts_with("timestamp,p50,p90,p99\n"),
        "{}",
        run.stdout
    );
    let r = rows(&run.stdout);
    assert_eq!(r.len(), 48);
    // The announced promo hours against the same hours one day earlier: about +50, in every quantile.
    for (k, column) in ["p50", "p90", "p99"].into_iter().enumerate() {
        let lift = (at..at + 4).map(|h| r[h][k] - r[h - 24][k]).sum::<f64>() / 4.0;
        assert!((lift - 50.0).abs() < 10.0, "{column}: lift {lift}");
    }
    let svg = fs::read_to_string(&plot).unwrap();
    check_well_formed(&svg).unwrap();
    for needle in [
        ">promo<",
        ">history<",
        ">forecast<",
        "p10–p90",
        "p2.5–p97.5",
        "arima+conformal",
    ] {
        assert!(svg.contains(needle), "{needle} missing from the plot");
    }
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_event_files_name_the_line() {
    let dir = temp_dir("shadow-cli-events");
    let (input, _, _) = write_inputs(&dir);
    let cases = [
        (
            "bad.csv",
            "start,end,label\n2024-01-02,2024-01-03,promo\n2024-01-05,tomorrow,promo\n",
            "bad.csv:3: bad end time `tomorrow`",
        ),
        (
            "overlap.csv",
            "start,end,label\n2024-01-02,2024-01-03,promo\n2024-01-03 12:00:00,2024-01-05,promo\n",
            "overlap.csv:3: this `promo` event overlaps the one on line 2",
        ),
        (
            "labels.toml",
            "labels = [\"promo\"]\n[[event]]\nstart = \"2024-01-02\"\nend = \"2024-01-02\"\nlabel = \"launch\"\n",
            "labels.toml:5: unknown label `launch`",
        ),
        (
            "future.csv",
            "start,end,label\n2024-01-02,2024-01-02,promo\n2024-01-22,2024-01-22,launch\n",
            "future.csv:3: unknown label `launch`: no `launch` event falls in the history",
        ),
    ];
    for (name, text, want) in cases {
        let path = dir.join(name);
        fs::write(&path, text).unwrap();
        let run = shadow(&[
            "forecast",
            "--input",
            &input,
            "--horizon",
            "24",
            "--model",
            "seasonal-naive",
            "--events",
            path.to_str().unwrap(),
        ]);
        assert_clean_error(&run, want);
        assert!(run.stdout.is_empty());
    }
    fs::remove_dir_all(dir).unwrap();
}
