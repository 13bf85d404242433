//! `shadow forecast --model arima|auto` (issue 3) end to end: the real binary on generated series.

mod support;

use std::{
    fmt::Write as _,
    fs,
    path::{Path, PathBuf},
};

use chrono::{DateTime, TimeDelta, Utc};
use support::{Run, assert_clean_error, shadow, temp_dir};

fn t0() -> DateTime<Utc> {
    "2024-01-01T00:00:00Z".parse().unwrap()
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Standard normal draws from a fixed xorshift generator and Box–Muller, so the series are reproducible.
fn normals(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed.max(1);
    let mut unif = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| (-2.0 * unif().ln()).sqrt() * (std::f64::consts::TAU * unif()).cos())
        .collect()
}

/// AR(1) around 10 with φ = 0.6: `y_t − 10 = 0.6 (y_{t−1} − 10) + e_t`.
fn ar1(n: usize) -> Vec<f64> {
    let e = normals(n + 50, 11);
    let mut y = Vec::with_capacity(n);
    let mut x = 0.0;
    for (t, e) in e.iter().enumerate() {
        x = 0.6 * x + e;
        if t >= 50 {
            y.push(10.0 + x);
        }
    }
    y
}

/// Hourly with a daily cycle of amplitude 5 around 50, plus AR(1) noise.
fn seasonal(n: usize) -> Vec<f64> {
    let e = normals(n, 5);
    let mut x = 0.0;
    (0..n)
        .map(|t| {
            x = 0.5 * x + e[t];
            50.0 + 5.0 * (std::f64::consts::TAU * (t % 24) as f64 / 24.0).sin() + x
        })
        .collect()
}

/// The step of the generated series: hourly, so `auto` looks for a daily season of 24 steps.
const HOURLY: i64 = 60;

/// A `timestamp,value` CSV at steps of `step_min` minutes; the indices in `empty` are written as empty fields,
/// those in `nan` as `NaN`.
fn write_csv(dir: &Path, name: &str, step_min: i64, y: &[f64], empty: &[usize], nan: &[usize]) -> PathBuf {
    let mut csv = String::from("timestamp,value\n");
    for (i, v) in y.iter().enumerate() {
        let at = rfc3339(t0() + TimeDelta::minutes(step_min * i as i64));
        if empty.contains(&i) {
            writeln!(csv, "{at},").unwrap();
        } else if nan.contains(&i) {
            writeln!(csv, "{at},NaN").unwrap();
        } else {
            writeln!(csv, "{at},{v}").unwrap();
        }
    }
    let path = dir.join(name);
    fs::write(&path, csv).unwrap();
    path
}

/// Checks the output contract for `n` input points at steps of `step_min` minutes and horizon `h` with the
/// default quantiles, and returns the rows as `[p50, p90, p99]`.
fn check_forecast(run: &Run, step_min: i64, n: usize, h: usize) -> Vec<[f64; 3]> {
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stderr.is_empty(), "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "timestamp,p50,p90,p99");
    assert_eq!(lines.len(), h + 1, "{}", run.stdout);
    assert!(run.stdout.ends_with('\n') && !run.stdout.ends_with("\n\n"));
    lines[1..]
        .iter()
        .enumerate()
        .map(|(k, line)| {
            let fields: Vec<&str> = line.split(',').collect();
            assert_eq!(fields.len(), 4, "{line}");
            assert_eq!(
                fields[0],
                rfc3339(t0() + TimeDelta::minutes(step_min * (n + k) as i64))
            );
            let v: Vec<f64> = fields[1..].iter().map(|f| f.parse().unwrap()).collect();
            assert!(v.iter().all(|x| x.is_finite()), "{line}");
            assert!(v[0] <= v[1] && v[1] <= v[2], "{line}");
            [v[0], v[1], v[2]]
        })
        .collect()
}

fn forecast(input: &Path, h: usize, extra: &[&str]) -> Run {
    let h = h.to_string();
    let mut args = vec!["forecast", "--input", input.to_str().unwrap(), "--horizon", &h];
    args.extend_from_slice(extra);
    shadow(&args)
}

#[test]
fn arima_with_an_order_fits_that_model() {
    let dir = temp_dir("shadow-cli-arima");
    let y = ar1(300);
    let input = write_csv(&dir, "ar1.csv", HOURLY, &y, &[], &[]);
    let args = ["--model", "arima", "--order", "1,0,0", "--trend", "constant"];
    let rows = check_forecast(&forecast(&input, 48, &args), HOURLY, y.len(), 48);
    // The forecast of a stationary AR(1) with a mean decays to the mean, and its interval widens.
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    assert!((rows[47][0] - mean).abs() < 0.5, "{:?} vs {mean}", rows[47]);
    assert!(rows[47][2] - rows[47][0] > rows[0][2] - rows[0][0]);
    assert!(rows[0][1] > rows[0][0]);

    // The same with the long flag forms and a seasonal order.
    let sy = seasonal(14 * 24);
    let sinput = write_csv(&dir, "seasonal.csv", HOURLY, &sy, &[], &[]);
    let args = [
        "--model=arima",
        "--order=1,0,0",
        "--seasonal-order=0,1,1,24",
        "--trend=none",
    ];
    check_forecast(&forecast(&sinput, 30, &args), HOURLY, sy.len(), 30);
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn auto_is_the_default_and_follows_the_daily_cycle() {
    let dir = temp_dir("shadow-cli-arima");
    let y = seasonal(14 * 24);
    let input = write_csv(&dir, "seasonal.csv", HOURLY, &y, &[], &[]);
    let default = forecast(&input, 24, &[]);
    let rows = check_forecast(&default, HOURLY, y.len(), 24);
    assert_eq!(forecast(&input, 24, &["--model", "auto"]).stdout, default.stdout);
    let arima = forecast(&input, 24, &["--model", "auto-arima"]);
    check_forecast(&arima, HOURLY, y.len(), 24);
    // The point forecast follows the sine: the peak hour (6) is well above the trough hour (18).
    assert!(rows[6][0] - rows[18][0] > 5.0, "{rows:?}");
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn missing_values_are_accepted() {
    let dir = temp_dir("shadow-cli-arima");
    // A 7-minute step does not divide a day, so `auto` searches non-seasonal models. (Seasonal fits with gaps
    // leave the fast filter for the exact one and take seconds each in debug builds.)
    let step = 7;
    let y = ar1(240);
    let (empty, nan) = ([3, 40, 41, 42, 100], [7, 8, 150, 200]);
    let input = write_csv(&dir, "gaps.csv", step, &y, &empty, &nan);
    check_forecast(&forecast(&input, 12, &[]), step, y.len(), 12);
    let args = ["--model", "arima", "--order", "1,0,1", "--trend", "constant"];
    check_forecast(&forecast(&input, 12, &args), step, y.len(), 12);
    let args = ["--model", "arima", "--order", "0,1,1", "--trend", "drift"];
    check_forecast(&forecast(&input, 12, &args), step, y.len(), 12);
    // A seasonal order on an hourly series with gaps.
    let sy = seasonal(8 * 24);
    let sinput = write_csv(&dir, "seasonal-gaps.csv", HOURLY, &sy, &[5, 6, 100], &[50]);
    let args = [
        "--model",
        "arima",
        "--order",
        "1,0,0",
        "--seasonal-order",
        "0,1,1,24",
    ];
    check_forecast(&forecast(&sinput, 12, &args), HOURLY, sy.len(), 12);
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_orders_and_flags_give_one_clean_line() {
    let dir = temp_dir("shadow-cli-arima");
    let input = write_csv(&dir, "ar1.csv", HOURLY, &ar1(200), &[], &[]);
    let cases: &[(&[&str], &str)] = &[
        (
            &["--model", "arima", "--order", "1,x,0"],
            "--order: `1,x,0` is not 3",
        ),
        (&["--model", "arima", "--order", "1,0,0,0"], "--order: "),
        (&["--model", "arima", "--order", "-1,0,0"], "--order: "),
        (&["--model", "arima", "--order", "500,0,0"], "--order: "),
        (&["--model", "arima", "--order", "0,3,0"], "--order: "),
        (&["--model", "arima"], "--order: the `arima` model needs an order"),
        (
            &[
                "--model",
                "arima",
                "--order",
                "1,0,0",
                "--seasonal-order",
                "1,1,1",
            ],
            "--seasonal-order: `1,1,1` is not 4",
        ),
        (
            &[
                "--model",
                "arima",
                "--order",
                "1,0,0",
                "--seasonal-order",
                "1,0,0,1",
            ],
            "--seasonal-order: ",
        ),
        (
            &["--model", "arima", "--order", "1,0,0", "--trend", "linear"],
            "--trend: unknown trend `linear`",
        ),
        (
            &["--model", "arima", "--order", "1,0,0", "--season", "1d"],
            "--season: ",
        ),
        (
            &["--model", "auto", "--trend", "drift"],
            "--model: `trend` applies only",
        ),
        (
            &["--model", "seasonal-naive", "--order", "1,0,0"],
            "--model: `order` applies only",
        ),
    ];
    for (extra, needle) in cases {
        let run = forecast(&input, 4, extra);
        assert_clean_error(&run, needle);
        assert!(run.stdout.is_empty(), "{run:?}");
    }
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn backtest_accepts_the_model_flags() {
    let dir = temp_dir("shadow-cli-arima");
    let input = write_csv(&dir, "ar1.csv", 7, &ar1(200), &[], &[]);
    let path = input.to_str().unwrap();
    let base = ["backtest", "--input", path, "--horizon", "6", "--folds", "2"];
    for extra in [
        &["--model", "arima", "--order", "1,0,0", "--trend", "constant"][..],
        &["--model", "auto"],
    ] {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let run = shadow(&args);
        assert_eq!(run.code, Some(0), "{run:?}");
        let model = extra[1];
        assert!(
            run.stdout.lines().any(|l| l.starts_with(&format!("{model} "))),
            "{}",
            run.stdout
        );
    }
    let mut args = base.to_vec();
    args.extend(["--model", "arima", "--order", "9"]);
    assert_clean_error(&shadow(&args), "--order: `9` is not 3");
    fs::remove_dir_all(dir).unwrap();
}
