//! `shadow forecast` end to end: the real binary on real files.

mod support;

use std::{
    fmt::Write as _,
    fs,
    path::{Path, PathBuf},
};

use support::temp_dir;
use support::{Run, shadow};

use chrono::{DateTime, TimeDelta, Utc};

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, content).unwrap();
    path
}

fn t0() -> DateTime<Utc> {
    "2024-01-01T00:00:00Z".parse().unwrap()
}

/// 14 days hourly from 2024-01-01 with a daily cycle `base + hour`, plus `noise(i)`.
fn hourly_csv(base: f64, noise: impl Fn(usize) -> f64) -> String {
    let mut csv = String::from("timestamp,value\n");
    for i in 0..14 * 24 {
        let at = t0() + TimeDelta::hours(i as i64);
        let v = base + (i % 24) as f64 + noise(i);
        writeln!(
            csv,
            "{},{v}",
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )
        .unwrap();
    }
    csv
}

fn noise(i: usize) -> f64 {
    support::noise(i, 2.0)
}

fn assert_clean_error(run: &Run, needle: &str) {
    support::assert_clean_error(run, needle);
    assert!(run.stdout.is_empty(), "{run:?}");
}

#[test]
fn forecast_csv_contract_is_exact() {
    let dir = temp_dir("shadow-cli-forecast");
    let input = write(&dir, "daily.csv", &hourly_csv(100.5, |_| 0.0));
    let mut want = String::from("timestamp,p50,p90,p99\n");
    for h in 0..6 {
        let v = 100.5 + h as f64;
        writeln!(want, "2024-01-15T{h:02}:00:00Z,{v},{v},{v}").unwrap();
    }
    // Default quantiles, with and without an explicit season. (The default model, `auto`, has its own tests
    // in `cli_arima.rs`; this pins the exact values of the seasonal naive model.)
    for extra in [
        &["--model", "seasonal-naive"][..],
        &["--model", "seasonal-naive", "--season", "1d"],
        &["--model", "snaive", "--season", "24h"],
    ] {
        let mut args = vec!["forecast", "--input", input.to_str().unwrap(), "--horizon", "6"];
        args.extend_from_slice(extra);
        let run = shadow(&args);
        assert_eq!(run.code, Some(0), "{run:?}");
        assert_eq!(run.stdout, want, "{extra:?}");
    }
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn quantile_columns_are_sorted_and_labelled() {
    let dir = temp_dir("shadow-cli-forecast");
    let input = write(&dir, "noisy.csv", &hourly_csv(50.0, noise));
    let run = shadow(&[
        "forecast",
        "--input",
        input.to_str().unwrap(),
        "--horizon",
        "48",
        "--quantiles",
        "0.999,0.5,0.9",
    ]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "timestamp,p50,p90,p99.9");
    assert_eq!(lines.len(), 49);
    for (h, line) in lines[1..].iter().enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), 4, "{line}");
        let at = t0() + TimeDelta::hours(14 * 24 + h as i64);
        assert_eq!(fields[0], at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        let v: Vec<f64> = fields[1..].iter().map(|f| f.parse().unwrap()).collect();
        assert!(v.iter().all(|x| x.is_finite()), "{line}");
        assert!(v[0] <= v[1] && v[1] <= v[2], "{line}");
    }
    // The interval widens with the forecast distance in seasons, so p99.9 is above p50 somewhere.
    assert!(run.stdout.lines().skip(1).any(|l| {
        let v: Vec<f64> = l.split(',').skip(1).map(|f| f.parse().unwrap()).collect();
        v[2] > v[0]
    }));
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn output_file_is_written_atomically_and_matches_stdout() {
    let dir = temp_dir("shadow-cli-forecast");
    let input = write(&dir, "in.csv", &hourly_csv(10.0, noise));
    let out = dir.join("out.csv");
    let base = ["forecast", "--input", input.to_str().unwrap(), "--horizon", "24"];
    let to_stdout = shadow(&base);
    let mut args = base.to_vec();
    args.extend(["--output", out.to_str().unwrap()]);
    let to_file = shadow(&args);
    assert_eq!(to_file.code, Some(0), "{to_file:?}");
    assert!(to_file.stdout.is_empty());
    assert_eq!(fs::read_to_string(&out).unwrap(), to_stdout.stdout);
    // Overwriting works, and no temporary file is left behind.
    assert_eq!(shadow(&args).code, Some(0));
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["in.csv", "out.csv"]);
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn missing_values_line_endings_and_timestamp_forms_are_accepted() {
    let dir = temp_dir("shadow-cli-forecast");
    // CRLF, surrounding whitespace, empty and NaN values, a gap with no row, a trailing empty line.
    let mut csv = String::from("time , demand\r\n");
    for i in 0..96 {
        let at = t0() + TimeDelta::hours(i);
        let ts = at.format("%Y-%m-%d %H:%M:%S");
        match i {
            5 => csv.push_str(&format!("{ts},\r\n")),
            6 => csv.push_str(&format!(" {ts} , NaN \r\n")),
            7 => csv.push_str(&format!("{ts},nan\r\n")),
            8 => {}
            _ => csv.push_str(&format!("{ts},{}\r\n", 20 + i % 24)),
        }
    }
    csv.push_str("\r\n");
    let input = write(&dir, "gaps.csv", &csv);
    let run = shadow(&[
        "forecast",
        "--input",
        input.to_str().unwrap(),
        "--horizon",
        "3",
        "--model",
        "seasonal-naive",
        "--season",
        "1d",
    ]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.stdout,
        "timestamp,p50,p90,p99\n\
         2024-01-05T00:00:00Z,20,20,20\n\
         2024-01-05T01:00:00Z,21,21,21\n\
         2024-01-05T02:00:00Z,22,22,22\n"
    );

    // Unix seconds (integer and fractional) with bare-CR line endings and no header.
    let csv = "1704067200,1\r1704070800.0,2\r1704074400,3\r1704078000,\r";
    let input = write(&dir, "unix.csv", csv);
    let run = shadow(&[
        "forecast",
        "--input",
        input.to_str().unwrap(),
        "--horizon",
        "1",
        "--quantiles",
        "0.5",
        "--model",
        "seasonal-naive",
    ]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout, "timestamp,p50\n2024-01-01T04:00:00Z,3\n");
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_input_files_give_one_clean_line() {
    let dir = temp_dir("shadow-cli-forecast");
    let cases: &[(&str, &str, &str)] = &[
        ("empty", "", "no data rows"),
        ("header-only", "timestamp,value\n", "no data rows"),
        ("one-row", "timestamp,value\n0,1\n", ":2: only one data row"),
        (
            "columns",
            "timestamp,value\n0,1\n3600,2,3\n",
            ":3: expected 2 columns",
        ),
        (
            "timestamp",
            "timestamp,value\n0,1\n01/02/2024,2\n",
            ":3: bad timestamp `01/02/2024`",
        ),
        (
            "value",
            "timestamp,value\n0,1\n3600,lots\n",
            ":3: value `lots` is not a finite number",
        ),
        (
            "inf",
            "timestamp,value\n0,1\n3600,inf\n",
            ":3: value `inf` is not a finite number",
        ),
        (
            "unsorted",
            "t,v\n0,1\n7200,2\n3600,3\n",
            ":4: timestamp 1970-01-01T01:00:00Z is before 1970-01-01T02:00:00Z on line 3",
        ),
        (
            "duplicate",
            "t,v\n0,1\n3600,2\n3600,3\n",
            ":4: duplicate timestamp 1970-01-01T01:00:00Z (also on line 3)",
        ),
        (
            "all-missing",
            "t,v\n0,\n3600,NaN\n7200,nan\n",
            "all 3 values are missing",
        ),
        (
            "off-grid",
            "t,v\n0,1\n3600,2\n9000,3\n",
            ":4: timestamp 1970-01-01T02:30:00Z is not on the 1h grid",
        ),
        ("one-present", "t,v\n0,1\n3600,\n7200,\n", "not enough data"),
    ];
    for (name, content, needle) in cases {
        let input = write(&dir, &format!("{name}.csv"), content);
        let run = shadow(&["forecast", "--input", input.to_str().unwrap(), "--horizon", "2"]);
        assert_clean_error(&run, needle);
        if *name != "one-present" {
            assert!(
                run.stderr.contains(&format!("{name}.csv")),
                "names the file: {run:?}"
            );
        }
    }
    let missing = dir.join("nope.csv");
    assert_clean_error(
        &shadow(&["forecast", "--input", missing.to_str().unwrap(), "--horizon", "2"]),
        "nope.csv: ",
    );
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_arguments_give_one_clean_line() {
    let dir = temp_dir("shadow-cli-forecast");
    let input = write(&dir, "ok.csv", &hourly_csv(10.0, noise));
    let path = input.to_str().unwrap();
    let nowhere = dir.join("no-such-dir").join("out.csv");
    let cases: &[(&[&str], &str)] = &[
        (&["--horizon", "0"], "--horizon must be between 1 and"),
        (
            &["--horizon", "2", "--quantiles", "0.5,1.5"],
            "--quantiles: invalid quantile: 1.5 is not",
        ),
        (
            &["--horizon", "2", "--quantiles", "0.9,0.5,0.9"],
            "--quantiles: 0.9 appears twice",
        ),
        (
            &["--horizon", "2", "--model", "prophet"],
            "--model: unknown model `prophet`; known: ",
        ),
        (
            &["--horizon", "2", "--model", "arima"],
            "--order: the `arima` model needs an order",
        ),
        (
            &["--horizon", "2", "--model", "arima", "--order", "1,0"],
            "--order: `1,0` is not 3 comma-separated integers",
        ),
        (
            &["--horizon", "2", "--order", "1,0,0"],
            "--model: `order` applies only to the `arima` model, not to `auto`",
        ),
        (&["--horizon", "2", "--season", "90m"], "season"),
        (
            &["--horizon", "2", "--output", nowhere.to_str().unwrap()],
            "no-such-dir",
        ),
    ];
    for (extra, needle) in cases {
        let mut args = vec!["forecast", "--input", path];
        args.extend_from_slice(extra);
        assert_clean_error(&shadow(&args), needle);
    }
    assert!(!nowhere.exists());
    fs::remove_dir_all(dir).unwrap();
}
