//! `shadow simulate`: replay a demand trace under HPA, AWS-style predictive, our proactive and cost-optimised
//! policies and a perfect-foresight oracle, side by side; or, with `--sweep`, trace each policy's
//! cost-against-shortfall frontier.
//!
//! The JSON output (`--format json`) is stable: `{"trace": {...}, "policies": [{"name", ...}]}` with at least
//! `name`, `under_provisioned_minutes`, `under_provisioned_area`, `slack`, `cost`, `actions` and `reversals`
//! per policy. With `--sweep` it is `{"trace": {...}, "sweep": {"hpa": [...], "proactive": [...],
//! "dominates": bool}}`.

use std::{fmt::Write as _, path::Path};

use serde_json::json;
use shadow_core::{PriceTable, TimeSeries, planner::online::OnlineOptions};

use super::{CliError, args::SimulateArgs};
use crate::{
    chart::{Band, Chart, PointSet, Scatter, Series},
    sim::{
        PolicyKind, ProactiveOptions, SimOptions, SimReport, simulate,
        sweep::{Sweep, frontier, sweep},
        trace::read_trace,
    },
};

/// Runs `shadow simulate`.
///
/// # Errors
/// A one-line [`CliError`]: unreadable or malformed trace or price table, bad options, a trace too short to
/// score, an unwritable chart.
pub async fn main(args: SimulateArgs) -> Result<(), CliError> {
    let trace = read_trace(&args.trace, args.column.as_deref(), args.step)?;
    let opts = options(&args)?;
    let name = args.trace.display().to_string();
    if args.sweep {
        let s = sweep(&trace, &opts)?;
        if let Some(path) = &args.sweep_chart {
            sweep_chart(&name, &s)
                .write(path)
                .map_err(|e| CliError::io(path.display(), e))?;
        }
        let out = match args.format.as_str() {
            "json" => {
                let v = json!({ "trace": { "path": name, "points": trace.len() }, "sweep": s });
                serde_json::to_string_pretty(&v).map_err(|e| CliError::Input(e.to_string()))? + "\n"
            }
            _ => sweep_table(&name, &s),
        };
        print!("{out}");
        return Ok(());
    }
    let report = simulate(&trace, &opts)?;
    if let Some(dir) = &args.chart_dir {
        std::fs::create_dir_all(dir).map_err(|e| CliError::io(dir.display(), e))?;
        for p in &report.policies {
            let path = dir.join(format!("{}.svg", p.name));
            policy_chart(&name, &report, &p.name)
                .write(&path)
                .map_err(|e| CliError::io(path.display(), e))?;
        }
    }
    if let Some(path) = &args.chart {
        overview_chart(&name, &report)
            .write(path)
            .map_err(|e| CliError::io(path.display(), e))?;
    }
    let out = match args.format.as_str() {
        "json" => {
            serde_json::to_string_pretty(&to_json(&name, &report))
                .map_err(|e| CliError::Input(e.to_string()))?
                + "\n"
        }
        _ => table(&name, &report, &opts),
    };
    print!("{out}");
    Ok(())
}

/// The simulator options the arguments ask for.
fn options(args: &SimulateArgs) -> Result<SimOptions, CliError> {
    let prices = match &args.prices {
        None => PriceTable::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| CliError::io(path.display(), e))?;
            let table: PriceTable = toml::from_str(&text)
                .map_err(|e| CliError::Input(format!("{}: {}", path.display(), e.message())))?;
            table
                .validate("prices")
                .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?;
            table
        }
    };
    let policies = args
        .policies
        .iter()
        .map(|p| p.trim().parse::<PolicyKind>())
        .collect::<Result<Vec<_>, _>>()?;
    let opts = SimOptions {
        mean_instances: args.mean_instances,
        hpa_target: args.hpa_target,
        boot_delay: args.boot,
        warm_up: args.warm_up,
        model: args.model.clone(),
        season: args.season,
        prices,
        seed: args.seed,
        policies,
        proactive: ProactiveOptions {
            level: args.quantile,
            online: OnlineOptions {
                headroom: args.headroom,
                max_headroom: args.max_headroom,
                max_cost_over_oracle: args.max_cost_over_oracle,
                after_miss: !args.no_after_miss,
                ..OnlineOptions::default()
            },
            ..ProactiveOptions::default()
        },
        ..SimOptions::default()
    };
    opts.validate()?;
    Ok(opts)
}

/// The stable JSON document of a report.
#[must_use]
pub fn to_json(path: &str, r: &SimReport) -> serde_json::Value {
    json!({
        "trace": {
            "path": path,
            "points": r.points,
            "step_seconds": r.step_seconds,
            "capacity_per_instance": r.capacity_per_instance,
            "missing": r.missing,
            "scored_from": r.scored_from,
            "scored_minutes": r.scored_minutes,
            "objective": r.objective,
            "refits": r.refits,
            "refit_failures": r.refit_failures,
        },
        "policies": r.policies,
    })
}

/// The side-by-side table of a report.
#[must_use]
pub fn table(path: &str, r: &SimReport, opts: &SimOptions) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "trace {path}: {} points at {}s ({} missing); one instance serves {:.4} units, so the mean needs {} \
         instances at {:.0} %",
        r.points,
        r.step_seconds,
        r.missing,
        r.capacity_per_instance,
        opts.mean_instances,
        opts.hpa_target * 100.0
    );
    let _ = writeln!(
        s,
        "scored {:.0} minutes from {} after a {} warm-up; {} boot; forecaster `{}` refitted {} times ({} \
         failed); headroom by {}\n",
        r.scored_minutes,
        r.scored_from.format("%Y-%m-%d %H:%M"),
        humantime::format_duration(opts.warm_up),
        humantime::format_duration(opts.boot_delay),
        opts.model,
        r.refits,
        r.refit_failures,
        r.objective
    );
    let _ = writeln!(
        s,
        "{:<15} {:>10} {:>12} {:>7} {:>10} {:>8} {:>9} {:>12}",
        "policy", "under min", "under area", "slack", "cost", "actions", "reversals", "ramps ready"
    );
    for p in &r.policies {
        let _ = writeln!(
            s,
            "{:<15} {:>10.1} {:>12.1} {:>6.1}% {:>10.1} {:>8} {:>9} {:>12}",
            p.name,
            p.under_provisioned_minutes,
            p.under_provisioned_area,
            p.slack * 100.0,
            p.cost,
            p.actions,
            p.reversals,
            format!("{}/{}", p.ramps_ready, p.ramps)
        );
    }
    s
}

const COLORS: [(&str, &str); 5] = [
    ("hpa", "#ff7f0e"),
    ("aws-predictive", "#9467bd"),
    ("proactive", "#1f77b4"),
    ("cost-optimised", "#2ca02c"),
    ("oracle", "#7f7f7f"),
];

fn color(name: &str) -> &'static str {
    COLORS.iter().find(|c| c.0 == name).map_or("#d62728", |c| c.1)
}

fn demand_series(d: &TimeSeries) -> Series {
    Series::new(
        "demand (instances)",
        "#222222",
        d.timestamps().zip(d.values().iter().copied()).collect(),
    )
    .width(1.0)
}

/// One policy's chart: demand, the forecast and our calibrated bound as a band, and the ready capacity.
fn policy_chart(path: &str, r: &SimReport, name: &str) -> Chart {
    let mut c = Chart::new(format!("simulate {path}: {name}"), 1200, 480);
    c.set_y_label("instances");
    let d = &r.demand;
    let band: Vec<_> = d
        .timestamps()
        .zip(r.forecast.iter().zip(&r.bound))
        .map(|(t, (f, b))| {
            let lo = f.unwrap_or(f64::NAN);
            let hi = b.unwrap_or(f64::NAN);
            (t, lo.min(hi), lo.max(hi))
        })
        .collect();
    c.add_band(Band::new("forecast to calibrated bound", "#1f77b4", 0.18, band));
    c.add_series(demand_series(d));
    if let Some(p) = r.policies.iter().find(|p| p.name == name) {
        c.add_series(
            Series::new(
                format!("{name} ready capacity"),
                color(name),
                d.timestamps().zip(p.capacity.iter().copied()).collect(),
            )
            .step()
            .width(1.4),
        );
    }
    c.add_marker("scoring starts", r.scored_from, "#555555");
    c
}

/// Demand and every policy's capacity in one chart.
fn overview_chart(path: &str, r: &SimReport) -> Chart {
    let mut c = Chart::new(format!("simulate {path}: demand and ready capacity"), 1200, 480);
    c.set_y_label("instances");
    let d = &r.demand;
    c.add_series(demand_series(d));
    for p in &r.policies {
        c.add_series(
            Series::new(
                format!("{} capacity", p.name),
                color(&p.name),
                d.timestamps().zip(p.capacity.iter().copied()).collect(),
            )
            .step()
            .width(1.2),
        );
    }
    c.add_marker("scoring starts", r.scored_from, "#555555");
    c
}

/// The frontier chart of a sweep.
#[must_use]
pub fn sweep_chart(path: &str, s: &Sweep) -> Scatter {
    let mut c = Scatter::new(
        format!("cost against shortfall: {path}"),
        "cost",
        "under-provisioned minutes",
    );
    for (label, pts, col) in [
        ("hpa", &s.hpa, color("hpa")),
        ("proactive", &s.proactive, color("proactive")),
    ] {
        c.add(PointSet::new(
            format!("{label} runs"),
            col,
            pts.iter()
                .map(|p| (p.cost, p.under_provisioned_minutes))
                .collect(),
        ));
        c.add(
            PointSet::new(
                format!("{label} frontier"),
                col,
                frontier(pts)
                    .iter()
                    .map(|p| (p.cost, p.under_provisioned_minutes))
                    .collect(),
            )
            .connected(),
        );
    }
    c
}

fn sweep_table(path: &str, s: &Sweep) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "sweep of {path}\n");
    let _ = writeln!(
        out,
        "{:<10} {:<28} {:>10} {:>10}",
        "policy", "setting", "cost", "under min"
    );
    for p in s.hpa.iter().chain(&s.proactive) {
        let _ = writeln!(
            out,
            "{:<10} {:<28} {:>10.1} {:>10.1}",
            p.policy, p.setting, p.cost, p.under_provisioned_minutes
        );
    }
    let _ = writeln!(
        out,
        "\nour frontier {} HPA's",
        if s.dominates {
            "dominates"
        } else {
            "does not dominate"
        }
    );
    out
}

/// Writes `chart` to `path` (used by the evaluation binary).
///
/// # Errors
/// The I/O error.
pub fn write_policy_charts(dir: &Path, name: &str, r: &SimReport) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for p in &r.policies {
        policy_chart(name, r, &p.name).write(&dir.join(format!("{}.svg", p.name)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::{TimeZone, Utc};

    use super::*;

    fn trace() -> TimeSeries {
        let values = (0..4 * 288)
            .map(|i| if (108..204).contains(&(i % 288)) { 9.0 } else { 3.0 })
            .collect();
        TimeSeries::new(Utc.timestamp_opt(0, 0).unwrap(), Duration::from_secs(300), values).unwrap()
    }

    #[test]
    fn table_json_and_charts_show_every_policy() {
        let opts = SimOptions::default();
        let report = simulate(&trace(), &opts).unwrap();
        let text = table("t.csv", &report, &opts);
        for p in PolicyKind::ALL {
            assert!(
                text.lines().any(|l| l.starts_with(&format!("{} ", p.name()))),
                "{text}"
            );
        }
        let v = to_json("t.csv", &report);
        let policies = v["policies"].as_array().unwrap();
        assert_eq!(policies.len(), 5);
        for key in [
            "name",
            "under_provisioned_minutes",
            "under_provisioned_area",
            "slack",
            "cost",
            "actions",
            "reversals",
        ] {
            assert!(policies.iter().all(|p| !p[key].is_null()), "{key}");
        }
        assert_eq!(policies[0]["name"], "hpa");
        assert_eq!(v["trace"]["path"], "t.csv");
        let svg = policy_chart("t.csv", &report, "proactive").to_svg();
        assert!(crate::chart::check_well_formed(&svg).is_ok());
        assert!(svg.contains("proactive ready capacity") && svg.contains("forecast to calibrated bound"));
        let svg = overview_chart("t.csv", &report).to_svg();
        assert!(svg.contains("oracle capacity"));
    }

    #[test]
    fn sweep_reports_both_frontiers() {
        let s = sweep(&trace(), &SimOptions::default()).unwrap();
        assert_eq!(s.hpa.len(), 5);
        // Our default decision, then every quantile with every extra headroom.
        assert_eq!(
            s.proactive.len(),
            1 + crate::sim::sweep::LEVELS.len() * crate::sim::sweep::HEADROOMS.len()
        );
        assert!(s.proactive[0].setting.starts_with("expected-cost"));
        // A lower HPA target keeps more headroom: it costs more.
        assert!(s.hpa[0].cost > s.hpa[4].cost);
        let svg = sweep_chart("t.csv", &s).to_svg();
        assert!(crate::chart::check_well_formed(&svg).is_ok());
        assert!(sweep_table("t.csv", &s).contains("our frontier"));
    }
}
