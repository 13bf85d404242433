//! `shadow backtest` end to end: the real binary on real files.

mod support;

use std::{
    fmt::Write as _,
    fs,
    path::{Path, PathBuf},
};

use support::temp_dir;
use support::{assert_clean_error, shadow};

/// Writes `days` of hourly data (unix seconds from 2024-01-01) with a daily cycle, plus `noise(i)`;
/// `NaN` from `noise` leaves the value empty.
fn hourly(dir: &Path, name: &str, days: usize, noise: impl Fn(usize) -> f64) -> PathBuf {
    let mut csv = String::from("timestamp,value\n");
    for i in 0..days * 24 {
        let n = noise(i);
        let value = if n.is_nan() {
            String::new()
        } else {
            (100.0 + 3.0 * (i % 24) as f64 + n).to_string()
        };
        writeln!(csv, "{},{value}", 1_704_067_200 + 3600 * i).unwrap();
    }
    let path = dir.join(name);
    fs::write(&path, csv).unwrap();
    path
}

fn noise(i: usize) -> f64 {
    support::noise(i, 5.0)
}

/// The cells of the table row of `model`.
fn row<'a>(stdout: &'a str, model: &str) -> Vec<&'a str> {
    let header = stdout
        .lines()
        .find(|l| l.starts_with("model "))
        .expect("a table header");
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        [
            "model", "series", "failed", "sMAPE", "MASE", "OWA", "sPinball", "cov80", "cov95", "time"
        ]
    );
    let line = stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(model))
        .expect("a row for the model");
    assert_eq!(line.len(), header.len(), "aligned:\n{stdout}");
    line.split_whitespace().collect()
}

#[test]
fn prints_the_metric_table_with_coverage() {
    let dir = temp_dir("shadow-cli-backtest");
    let input = hourly(&dir, "noisy.csv", 14, noise);
    let run = shadow(&[
        "backtest",
        "--input",
        input.to_str().unwrap(),
        "--horizon",
        "24",
        "--folds",
        "3",
        "--season",
        "1d",
        "--calibrate",
    ]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stderr.is_empty(), "{run:?}");
    assert!(
        run.stdout.contains("1 series, 336 points; 3 fold(s)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("horizon 24 steps"), "{}", run.stdout);
    assert!(
        run.stdout.contains("MASE lag 24 step(s) (--season)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("central 80%, 95%"), "{}", run.stdout);
    for model in ["seasonal-naive", "seasonal-naive+conformal"] {
        let cells = row(&run.stdout, model);
        assert_eq!(cells.len(), 10, "{cells:?}");
        assert_eq!(cells[1..3], ["1", "0"]);
        let smape: f64 = cells[3].parse().unwrap();
        let mase: f64 = cells[4].parse().unwrap();
        let owa: f64 = cells[5].parse().unwrap();
        let pinball: f64 = cells[6].parse().unwrap();
        let cov80: f64 = cells[7].trim_end_matches('%').parse().unwrap();
        let cov95: f64 = cells[8].trim_end_matches('%').parse().unwrap();
        // Seasonal naive on a noisy daily cycle is about as good as its own in-sample benchmark, and far
        // better than Naive2 (which cannot see the cycle when the test says the series is seasonal... or can).
        assert!(mase > 0.3 && mase < 3.0, "{mase}");
        assert!(smape > 0.0 && smape < 20.0, "{smape}");
        assert!(owa > 0.0 && owa < 2.0, "{owa}");
        assert!(pinball > 0.0, "{pinball}");
        assert!(
            cov80 > 30.0 && cov80 <= cov95 && cov95 <= 100.0,
            "{cov80} {cov95}"
        );
    }
    assert_eq!(row(&run.stdout, "naive2")[5], "1.000");
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_perfect_forecast_scores_zero_and_full_coverage() {
    let dir = temp_dir("shadow-cli-backtest");
    let input = hourly(&dir, "clean.csv", 6, |_| 0.0);
    let run = shadow(&[
        "backtest",
        "--input",
        input.to_str().unwrap(),
        "--horizon",
        "12",
        "--folds",
        "4",
    ]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains("MASE lag 24 step(s),"), "{}", run.stdout);
    // The history repeats exactly, so the MASE scale is 0 and MASE (and OWA) are undefined.
    let cells = row(&run.stdout, "seasonal-naive");
    assert_eq!(
        cells[..8],
        ["seasonal-naive", "1", "0", "0.000", "n/a", "n/a", "n/a", "100%"]
    );
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn missing_actuals_are_skipped() {
    let dir = temp_dir("shadow-cli-backtest");
    // Hours 330..336 (the end of the last fold) are missing.
    let input = hourly(
        &dir,
        "gaps.csv",
        14,
        |i| if i >= 330 { f64::NAN } else { noise(i) },
    );
    let run = shadow(&[
        "backtest",
        "--input",
        input.to_str().unwrap(),
        "--horizon",
        "24",
        "--folds",
        "2",
    ]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stdout.contains("missing actuals skipped: 6"),
        "{}",
        run.stdout
    );
    assert_eq!(row(&run.stdout, "seasonal-naive")[2], "0");
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_folder_and_the_m4_layout_run_every_series() {
    let dir = temp_dir("shadow-cli-backtest");
    hourly(&dir, "a.csv", 8, noise);
    hourly(&dir, "b.csv", 8, |i| noise(i + 7));
    hourly(&dir, "short.csv", 1, noise);
    let run = shadow(&[
        "backtest",
        "--data",
        dir.to_str().unwrap(),
        "--horizon",
        "1d",
        "--folds",
        "2",
        "--model",
        "seasonal-naive,auto",
    ]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains("3 series"), "{}", run.stdout);
    for model in ["seasonal-naive", "auto"] {
        assert_eq!(row(&run.stdout, model)[1..3], ["2", "1"], "{}", run.stdout);
    }
    assert!(
        run.stdout.contains("short.csv: the series has 24 points"),
        "{}",
        run.stdout
    );

    // The M4 wide layout: the last 48 points held out, one origin.
    let mut m4 = String::from("\"V1\",\"V2\"\n");
    for id in 1..=3 {
        m4.push_str(&format!("\"H{id}\""));
        for i in 0..24 * 10 {
            m4.push_str(&format!(",\"{}\"", 100.0 + 3.0 * (i % 24) as f64 + noise(i * id)));
        }
        m4.push('\n');
    }
    let path = dir.join("m4.csv");
    fs::write(&path, m4).unwrap();
    let run = shadow(&["backtest", "--data", path.to_str().unwrap(), "--season", "1d"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stdout.contains("3 series, 720 points; 1 fold(s)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("horizon 48 steps"), "{}", run.stdout);
    let owa: f64 = row(&run.stdout, "seasonal-naive")[5].parse().unwrap();
    assert!(owa > 0.0 && owa < 1.5, "{owa}");
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn too_short_series_and_bad_arguments_give_one_clean_line() {
    let dir = temp_dir("shadow-cli-backtest");
    let short = hourly(&dir, "short.csv", 2, noise);
    let path = short.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--horizon", "24", "--folds", "2"],
            "the series has 48 points but 2 fold(s) of horizon 24 need at least 50",
        ),
        (
            &["--horizon", "12", "--folds", "3", "--season", "1d"],
            "need at least 61",
        ),
        (&["--horizon", "0"], "--horizon must be between 1 and"),
        (&["--horizon", "4", "--folds", "0"], "--folds must be at least 1"),
        (
            &["--folds", "2"],
            "--horizon is required unless --data is an M4 file",
        ),
        (
            &["--horizon", "90m"],
            "--horizon 1h 30m is not a whole number of 1h steps",
        ),
        (
            &["--horizon", "4", "--level", "1.5"],
            "--level: invalid confidence level: 1.5",
        ),
        (
            &["--horizon", "4", "--season", "90m"],
            "--season 1h 30m is not a whole number of 1h steps",
        ),
        (
            &["--horizon", "4", "--model", "prophet"],
            "unknown model `prophet`",
        ),
    ];
    for (extra, needle) in cases {
        let mut args = vec!["backtest", "--input", path];
        args.extend_from_slice(extra);
        let run = shadow(&args);
        assert_clean_error(&run, needle);
        assert!(run.stdout.is_empty(), "{run:?}");
    }
    let bad = dir.join("bad.csv");
    fs::write(&bad, "t,v\n0,1\n3600,x\n").unwrap();
    assert_clean_error(
        &shadow(&["backtest", "--input", bad.to_str().unwrap(), "--horizon", "1"]),
        "bad.csv:3: value `x`",
    );
    fs::remove_dir_all(dir).unwrap();
}
