//! `shadow simulate`: replay a demand trace under the proactive policy and a reactive (HPA) baseline.

use std::fmt::Write as _;

use serde_json::json;

use super::{CliError, args::SimulateArgs, csv::read_series};
use crate::{
    chart::{Chart, Series},
    sim::{SimOptions, SimReport, simulate},
};

/// Runs `shadow simulate`.
///
/// # Errors
/// A one-line [`CliError`]: unreadable or malformed trace, a trace too short to score, an unwritable chart.
pub async fn main(args: SimulateArgs) -> Result<(), CliError> {
    let trace = read_series(&args.trace)?;
    let report = simulate(&trace, &SimOptions::default())?;
    if let Some(path) = &args.chart {
        chart(&args.trace.display().to_string(), &report)
            .write(path)
            .map_err(|e| CliError::io(path.display(), e))?;
    }
    let out = match args.format.as_str() {
        "json" => {
            let value = json!({
                "trace": {
                    "path": args.trace.display().to_string(),
                    "points": report.points,
                    "step_seconds": report.step_seconds,
                    "scale": report.scale,
                    "scored_from": report.scored_from,
                    "scored_minutes": report.scored_minutes,
                },
                "policies": report.policies,
            });
            serde_json::to_string_pretty(&value).map_err(|e| CliError::Input(e.to_string()))? + "\n"
        }
        _ => table(&args.trace.display().to_string(), &report),
    };
    print!("{out}");
    Ok(())
}

fn table(path: &str, r: &SimReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "trace {path}: {} points at {}s, demand x{:.4} so the mean needs 10 instances at 70 %",
        r.points, r.step_seconds, r.scale
    );
    let _ = writeln!(
        s,
        "scored {:.0} minutes from {} (the first day is warm-up); 5-minute boot delay\n",
        r.scored_minutes,
        r.scored_from.format("%Y-%m-%d %H:%M")
    );
    let _ = writeln!(
        s,
        "{:<10} {:>14} {:>14} {:>8} {:>15} {:>8}",
        "policy", "under-prov min", "above-70% min", "slack", "instance-hours", "actions"
    );
    for p in &r.policies {
        let _ = writeln!(
            s,
            "{:<10} {:>14.0} {:>14.0} {:>7.1}% {:>15.1} {:>8}",
            p.name,
            p.under_provisioned_minutes,
            p.above_target_minutes,
            p.slack * 100.0,
            p.cost,
            p.actions
        );
    }
    s
}

fn chart(path: &str, r: &SimReport) -> Chart {
    let mut c = Chart::new(format!("simulate {path}: demand and capacity"), 1100, 480);
    c.set_y_label("demand (scaled units)");
    let d = &r.demand;
    c.add_series(
        Series::new(
            "demand",
            "#222222",
            d.timestamps().zip(d.values().iter().copied()).collect(),
        )
        .width(1.0),
    );
    for (p, color) in r.policies.iter().zip(["#ff7f0e", "#d62728"]) {
        let pts = d.timestamps().zip(p.capacity.iter().copied()).collect();
        c.add_series(
            Series::new(format!("{} capacity", p.name), color, pts)
                .step()
                .width(1.6),
        );
    }
    c.add_marker("scoring starts", r.scored_from, "#555555");
    c
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::{TimeZone, Utc};
    use shadow_core::TimeSeries;

    use super::*;

    #[test]
    fn table_and_chart_show_both_policies() {
        let values = (0..3 * 288)
            .map(|i| if (108..204).contains(&(i % 288)) { 9.0 } else { 3.0 })
            .collect();
        let trace =
            TimeSeries::new(Utc.timestamp_opt(0, 0).unwrap(), Duration::from_secs(300), values).unwrap();
        let report = simulate(&trace, &SimOptions::default()).unwrap();
        let text = table("t.csv", &report);
        assert!(text.lines().any(|l| l.starts_with("hpa ")), "{text}");
        assert!(text.lines().any(|l| l.starts_with("proactive ")), "{text}");
        let svg = chart("t.csv", &report).to_svg();
        assert!(crate::chart::check_well_formed(&svg).is_ok());
        assert!(svg.contains("proactive capacity") && svg.contains("hpa capacity"));
    }
}
