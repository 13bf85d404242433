//! The demo's report (plain text) and chart (SVG).

use std::fmt::Write as _;

use chrono::{DateTime, TimeDelta, Utc};

use super::pipeline::{HORIZON, Outcome};
use crate::chart::{Band, Chart, Series};

fn hm(t: DateTime<Utc>) -> String {
    t.format("%a %H:%M").to_string()
}

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

fn human(d: std::time::Duration) -> String {
    match d.as_secs() {
        s if s >= 86_400 && s % 86_400 == 0 => format!("{} days", s / 86_400),
        s if s >= 3600 && s % 3600 == 0 => format!("{} h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{} min", s / 60),
        _ => humantime::format_duration(d).to_string(),
    }
}

/// Renders the report a person reads after `shadow demo`.
pub(crate) fn text(o: &Outcome) -> String {
    let mut s = String::new();
    let w = &o.workload;
    let f = &o.forecast.forecast;
    let usable = o.usable_per_instance();
    let _ = writeln!(s, "Shadow demo: service `{}`, CPU demand in cores\n", o.service);

    let present: Vec<f64> = o
        .fetched
        .values()
        .iter()
        .copied()
        .filter(|v| !v.is_nan())
        .collect();
    let mean = present.iter().sum::<f64>() / present.len().max(1) as f64;
    let max = present.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = present.iter().copied().fold(f64::INFINITY, f64::min);
    let _ = writeln!(
        s,
        "1. Workload (generated, then read back through the `{}` MetricSource)",
        o.metric_source
    );
    let _ = writeln!(
        s,
        "   span      {} -> {} UTC ({} days), step {}, {} points ({} missing)",
        day(o.fetched.start()),
        day(o.fetched.end()),
        (o.fetched.end() - o.fetched.start()).num_days(),
        human(o.fetched.step()),
        o.fetched.len(),
        o.fetched.missing()
    );
    let _ = writeln!(s, "   demand    min {min:.1}, mean {mean:.1}, max {max:.1} cores");
    for (e, when) in [(&w.past_campaign, "past"), (&w.future_campaign, "announced")] {
        let _ = writeln!(
            s,
            "   event     {} {} -> {} ({when})",
            e.label,
            day(e.window.start),
            e.window.end.format("%H:%M")
        );
    }

    let _ = writeln!(s, "\n2. Forecast ({} steps = 24 h ahead)", HORIZON);
    let season_steps = o.forecast.season.as_secs() / o.fetched.step().as_secs().max(1);
    let _ = writeln!(
        s,
        "   model     {}, season {} ({season_steps} steps, chosen automatically)",
        o.forecast.model,
        human(o.forecast.season)
    );
    for (label, effect) in &o.forecast.effects {
        let _ = writeln!(
            s,
            "   effect    {label}: {effect:+.1} cores while the event runs (learned from the past one)"
        );
    }
    for (k, level) in f.levels().iter().enumerate() {
        let path = &f.quantile_paths()[k];
        let (h, v) =
            path.iter().enumerate().fold(
                (0, f64::NEG_INFINITY),
                |acc, (h, v)| if *v > acc.1 { (h, *v) } else { acc },
            );
        let _ = writeln!(
            s,
            "   {:<9} peak {v:.1} cores at {}",
            level.label(),
            hm(f.time_at(h))
        );
    }

    let p = &o.policy;
    let cap = p.capacity.values().next();
    let _ = writeln!(
        s,
        "\n3. Plan for the shadow environment ({} cores/instance at {:.0} % = {usable:.1} usable, lead {}, {}..{} instances, {} quantile; shadow starts at {})",
        cap.map_or(0.0, |c| c.per_instance),
        cap.map_or(0.0, |c| c.target_utilisation * 100.0),
        human(p.lead_time),
        p.min_replicas,
        p.max_replicas,
        p.quantile.label(),
        o.shadow_start
    );
    let _ = writeln!(s, "   issue at    deadline    replicas   reason");
    let mut from = o.shadow_start;
    for r in &o.plan.requests {
        let verb = if r.target > from { "scale out" } else { "scale in" };
        let why = match o.plan.steps.iter().find(|st| st.at == r.deadline) {
            Some(st) => format!(
                "{verb}: {} {} demand {:.1} cores at the deadline needs {}{}",
                p.quantile.label(),
                st.binding,
                st.demand,
                st.required,
                match (st.required == r.target, r.target > from) {
                    (true, _) => "",
                    (false, true) => " (target: the largest need within one lead time)",
                    (false, false) => " (target: the largest need over the scale-in window)",
                }
            ),
            None => r.reason.clone(),
        };
        let _ = writeln!(
            s,
            "   {:<11} {:<11} {:>3} -> {:<4} {why}",
            hm(r.issue_at),
            hm(r.deadline),
            from.0,
            r.target.0
        );
        from = r.target;
    }
    if o.plan.requests.is_empty() {
        let _ = writeln!(s, "   (no change needed)");
    }

    let wu = &o.warm;
    let _ = writeln!(
        s,
        "\n4. Pre-deployment warm-up (deployment at {})",
        hm(wu.deploy_at)
    );
    let _ = writeln!(
        s,
        "   need      peak p90 need over the switch window {} -> {}: {} instances ({:.1} cores at {})",
        hm(wu.deploy_at),
        hm(wu.window_end),
        wu.target,
        wu.peak_demand,
        hm(wu.peak_at)
    );
    let _ = writeln!(
        s,
        "   applied   {} shadow {} -> {}; ready {} ({} of {} ready before the switch; live runs {})",
        hm(wu.issued_at),
        wu.shadow_before,
        wu.target,
        hm(wu.ready_at),
        wu.ready_before_switch,
        wu.target,
        wu.live
    );

    let sc = &o.score;
    let headroom = (sc.capacity_at_peak - sc.peak_p90) / sc.capacity_at_peak.max(f64::MIN_POSITIVE) * 100.0;
    let _ = writeln!(
        s,
        "\n5. Capacity against demand, next 24 h (capacity = plan, raised to the warm-up target over the window)"
    );
    let _ = writeln!(
        s,
        "   forecast  peak p90 {:.1} cores at {}; planned usable capacity then {:.1} cores: headroom {headroom:.1} % \
         (to full capacity {:.1} cores: {:.1} %)",
        sc.peak_p90,
        hm(sc.peak_p90_at),
        sc.capacity_at_peak,
        sc.capacity_at_peak / o.policy_utilisation(),
        (1.0 - sc.peak_p90 * o.policy_utilisation() / sc.capacity_at_peak.max(f64::MIN_POSITIVE)) * 100.0
    );
    let _ = writeln!(
        s,
        "   actual    generated future peaks at {:.1} cores at {}; p90 covered {:.0} % of points; p50 mean abs error {:.2} cores",
        sc.truth_peak,
        hm(sc.truth_peak_at),
        sc.p90_coverage * 100.0,
        sc.p50_mae
    );
    let _ = writeln!(
        s,
        "   short     {} minutes above usable capacity ({:.0} % target), {} minutes above full capacity, of {} minutes",
        sc.minutes_short,
        o.policy_utilisation() * 100.0,
        sc.minutes_saturated,
        HORIZON * 5
    );

    let steps: Vec<String> = crate::demo::pipeline_steps()
        .iter()
        .map(|p| format!("{p}"))
        .collect();
    let _ = writeln!(
        s,
        "\n6. Switchover (steps {} %, health-gated, on a manual clock)",
        steps.join(", ")
    );
    for e in &o.switch.events {
        let _ = writeln!(s, "   {e}");
    }
    let _ = writeln!(s, "   final phase: {}", o.switch.phase);
    s
}

/// Draws the last 3 days of history and the 24 h horizon.
pub(crate) fn chart(o: &Outcome) -> Chart {
    let f = &o.forecast.forecast;
    let now = o.fetched.end();
    let from = now - TimeDelta::days(3);
    let recent = o.workload.history.slice_time(from, now);
    let actual: Vec<_> = recent.timestamps().zip(recent.values().iter().copied()).collect();
    let truth = &o.workload.truth;
    // The future starts where the history ends, so the two lines join.
    let future: Vec<_> = actual
        .last()
        .copied()
        .into_iter()
        .chain(truth.timestamps().zip(truth.values().iter().copied()))
        .collect();
    let times: Vec<_> = f.timestamps().collect();
    let path = |level: f64| f.nearest_quantile(level).to_vec();
    let (p50, p90, p99) = (path(0.5), path(0.9), path(0.99));
    let usable = o.usable_per_instance();
    let mut c = Chart::new(
        format!("{}: CPU demand, forecast and planned capacity", o.service),
        1100,
        520,
    );
    c.set_y_label("CPU cores");
    let band = |hi: &[f64], label: &str, opacity| {
        Band::new(
            label,
            "#1f77b4",
            opacity,
            times
                .iter()
                .zip(&p50)
                .zip(hi)
                .map(|((t, lo), hi)| (*t, *lo, *hi))
                .collect(),
        )
    };
    for e in [&o.workload.past_campaign, &o.workload.future_campaign] {
        let label = if e.window.start < now {
            format!("{} (past)", e.label)
        } else {
            format!("{} (announced)", e.label)
        };
        c.add_span(label, e.window.start, e.window.end, "#ff7f0e");
    }
    c.add_span("switch window", o.warm.deploy_at, o.warm.window_end, "#2ca02c");
    c.add_band(band(&p99, "forecast p50-p99", 0.15));
    c.add_band(band(&p90, "forecast p50-p90", 0.3));
    c.add_series(Series::new("actual demand", "#222222", actual).width(1.2));
    c.add_series(
        Series::new(
            "forecast p50",
            "#1f77b4",
            times.iter().copied().zip(p50.iter().copied()).collect(),
        )
        .dashed(),
    );
    c.add_series(Series::new("actual, next 24 h (generated, scored)", "#6b6b6b", future).width(1.0));
    let capacity: Vec<_> = times
        .iter()
        .zip(&o.capacity)
        .map(|(t, r)| (*t, f64::from(r.0) * usable))
        .collect();
    c.add_series(
        Series::new(
            format!("planned capacity (replicas x {usable:.1} cores)"),
            "#d62728",
            capacity,
        )
        .step()
        .width(2.0),
    );
    c.add_marker("forecast origin", now, "#555555");
    c.add_marker(
        format!("deploy + switch {}", o.warm.deploy_at.format("%H:%M")),
        o.warm.deploy_at,
        "#2ca02c",
    );
    c
}
