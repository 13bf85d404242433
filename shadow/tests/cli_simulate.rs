//! `shadow simulate` end to end: the real binary on real files.

mod support;

use std::{fmt::Write as _, fs, path::PathBuf};

use support::{assert_clean_error, noise, shadow, temp_dir};

/// Four days of 5-minute demand with a working-day step and noise, as a `timestamp,value` CSV.
fn trace_csv() -> String {
    let mut csv = String::from("timestamp,value\n");
    for i in 0..4 * 288 {
        let v = if (108..204).contains(&(i % 288)) {
            90.0
        } else {
            30.0
        } + noise(i, 3.0);
        writeln!(csv, "{},{v}", 1_700_006_400 + 300 * i).unwrap();
    }
    csv
}

#[test]
fn defaults_table_json_charts_and_sweep() {
    let dir = temp_dir("shadow-simulate");
    let trace = dir.join("trace.csv");
    fs::write(&trace, trace_csv()).unwrap();
    let path = trace.to_str().unwrap();

    let run = shadow(&["simulate", "--trace", path]);
    assert_eq!(run.code, Some(0), "{run:?}");
    for name in ["hpa", "aws-predictive", "proactive", "cost-optimised", "oracle"] {
        assert!(
            run.stdout.lines().any(|l| l.starts_with(&format!("{name} "))),
            "{}",
            run.stdout
        );
    }
    assert!(
        run.stdout.contains("5m boot") && run.stdout.contains("1day warm-up"),
        "{}",
        run.stdout
    );

    let charts = dir.join("charts");
    let run = shadow(&[
        "simulate",
        "--trace",
        path,
        "--format",
        "json",
        "--chart-dir",
        charts.to_str().unwrap(),
    ]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["trace"]["path"], path);
    let policies = v["policies"].as_array().unwrap();
    assert_eq!(policies.len(), 5);
    for p in policies {
        for key in [
            "under_provisioned_minutes",
            "under_provisioned_area",
            "slack",
            "cost",
            "actions",
            "reversals",
        ] {
            assert!(p[key].is_number(), "{key} in {p}");
        }
        let svg = fs::read_to_string(charts.join(format!("{}.svg", p["name"].as_str().unwrap()))).unwrap();
        assert!(svg.starts_with("<svg"));
    }
    // The oracle is never short; the HPA pays for its 30 % headroom.
    let by = |n: &str| policies.iter().find(|p| p["name"] == n).unwrap().clone();
    assert_eq!(by("oracle")["under_provisioned_minutes"], 0.0);
    assert!(by("oracle")["cost"].as_f64().unwrap() < by("hpa")["cost"].as_f64().unwrap());

    let chart = dir.join("frontier.svg");
    let run = shadow(&[
        "simulate",
        "--trace",
        path,
        "--sweep",
        "--sweep-chart",
        chart.to_str().unwrap(),
    ]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stdout.contains("target=0.5") && run.stdout.contains("our frontier"),
        "{}",
        run.stdout
    );
    assert!(fs::read_to_string(&chart).unwrap().contains("hpa frontier"));
    fs::remove_dir_all(dir).ok();
}

#[test]
fn bad_input_is_a_one_line_error() {
    let dir = temp_dir("shadow-simulate-bad");
    let short = dir.join("short.csv");
    fs::write(
        &short,
        "timestamp,value\n1700000000,1\n1700000300,2\n1700000600,3\n",
    )
    .unwrap();
    assert_clean_error(
        &shadow(&["simulate", "--trace", short.to_str().unwrap()]),
        "not enough data",
    );
    let negative = dir.join("negative.csv");
    let mut csv = trace_csv();
    csv = csv.replacen(",3", ",-3", 1);
    csv.push_str(&format!("{},-5\n", 1_700_006_400 + 300 * 4 * 288));
    fs::write(&negative, csv).unwrap();
    assert_clean_error(
        &shadow(&["simulate", "--trace", negative.to_str().unwrap()]),
        "not a finite number >= 0",
    );
    let trace = dir.join("trace.csv");
    fs::write(&trace, trace_csv()).unwrap();
    let t = trace.to_str().unwrap();
    assert_clean_error(
        &shadow(&["simulate", "--trace", t, "--mean-instances", "0"]),
        "mean instances",
    );
    assert_clean_error(
        &shadow(&["simulate", "--trace", t, "--policies", "hpa,magic"]),
        "unknown policy `magic`",
    );
    let prices = dir.join("prices.toml");
    fs::write(&prices, "spot = -1\n").unwrap();
    assert_clean_error(
        &shadow(&["simulate", "--trace", t, "--prices", prices.to_str().unwrap()]),
        "prices.spot",
    );
    fs::remove_dir_all(dir).ok();
}

#[test]
fn a_shared_real_trace_when_present() {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    let file = data.join("nab/realKnownCause/nyc_taxi.csv");
    if !file.exists() {
        println!("skipped: {} is absent", file.display());
        return;
    }
    let run = shadow(&["simulate", "--trace", file.to_str().unwrap(), "--format", "json"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let p = v["policies"].as_array().unwrap();
    let get = |n: &str, k: &str| p.iter().find(|x| x["name"] == n).unwrap()[k].as_f64().unwrap();
    // On seven months of taxi demand, ours is short far less than the HPA and costs less.
    assert!(get("proactive", "under_provisioned_minutes") < 0.5 * get("hpa", "under_provisioned_minutes"));
    assert!(get("proactive", "cost") < get("hpa", "cost"));
    assert_eq!(get("oracle", "under_provisioned_minutes"), 0.0);
}
