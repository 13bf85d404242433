//! The embedded demo, through the library and through the binary.

use std::{path::PathBuf, process::Command};

use shadow::{
    chart::check_well_formed,
    demo::{self, DemoOptions},
    switch::Phase,
};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("shadow-demo-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test]
async fn demo_runs_the_whole_pipeline() {
    let dir = temp_dir("lib");
    let report = demo::run(&DemoOptions::new(&dir, 7)).await.unwrap();

    for stage in [
        "1. Workload",
        "2. Forecast",
        "3. Plan",
        "4. Pre-deployment warm-up",
        "5. Capacity against demand",
        "6. Switchover",
        "campaign",
        "seasonal-naive",
        "season 7 days",
    ] {
        assert!(
            report.text.contains(stage),
            "report lacks {stage:?}:\n{}",
            report.text
        );
    }
    assert_eq!(std::fs::read_to_string(&report.report_path).unwrap(), report.text);

    let svg = std::fs::read_to_string(&report.chart_path).unwrap();
    let elements = check_well_formed(&svg).unwrap();
    assert!(
        elements.iter().filter(|e| *e == "path").count() >= 5,
        "bands and lines"
    );
    for label in [
        "actual demand",
        "forecast p50",
        "planned capacity",
        "campaign (past)",
        "campaign (announced)",
        "deploy + switch",
    ] {
        assert!(svg.contains(label), "chart lacks {label:?}");
    }

    assert!(report.peak_p90_need.0 >= 2);
    assert!(report.shadow_ready_before_switch >= report.peak_p90_need);
    assert_eq!(report.final_phase, Phase::Promoted);
    assert!(report.text.contains("final phase: promoted"));
    // Minutes short is scored against the generated truth and reported as a number.
    let short = format!(
        "   short     {} minutes above usable capacity",
        report.minutes_short
    );
    assert!(report.text.contains(&short), "{}", report.text);
    assert!(report.minutes_short <= 24 * 60 && report.minutes_saturated <= report.minutes_short);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn demo_is_deterministic_per_seed() {
    let (a, b) = (temp_dir("seed-a"), temp_dir("seed-b"));
    let first = demo::run(&DemoOptions::new(&a, 11)).await.unwrap();
    let second = demo::run(&DemoOptions::new(&b, 11)).await.unwrap();
    assert_eq!(first.text, second.text);
    let _ = (std::fs::remove_dir_all(&a), std::fs::remove_dir_all(&b));
}

#[test]
fn demo_binary_exits_zero() {
    let dir = temp_dir("bin");
    let out = Command::new(env!("CARGO_BIN_EXE_shadow"))
        .args(["demo", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("final phase: promoted"), "{stdout}");
    assert!(dir.join("demo.svg").exists() && dir.join("report.txt").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
