//! Runs `shadow simulate` with its documented defaults on every shared real trace and prints one summary
//! table against the targets of the simulator's issue.
//!
//! ```text
//! cargo run --release -p shadow-examples --example simulate_eval -- [--data ../shared/data] [--sweep]
//!     [--charts DIR] [--json FILE] [--penalty X] [--quantile Q]
//!     [--max-headroom X] [--max-cost-over-oracle X] [--local-share X] [--calibration-days D]
//!     [--model NAME] [--no-after-miss] [--held-out] [--only PREFIX,...]
//! ```
//!
//! Traces: every NAB file (`realAWSCloudwatch`, `realKnownCause`, `realTweets`), the Alibaba 2018 cluster CPU
//! (5-minute file, from row 515 on: the README documents a hidden splice in day 2) and the Google 2019 cell
//! CPU. The Google 2011 per-VM files cover 24 hours each, which the one-day warm-up leaves nothing of: they are
//! skipped, and the binary says so.
//!
//! `--held-out` runs, instead, shared series that played no part in choosing the policy or its defaults: the
//! Alibaba 2018 cluster's memory, network and disk columns (5-minute file, from row 515) and its CPU at a
//! 30-second step (from row 5135, the same clean stretch), the Google 2019 cell's memory columns, and the
//! half-hourly electricity demand of the `pmdarima` example. The targets are printed the same way.

use std::{
    collections::BTreeMap,
    io::Write as _,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use shadow::{
    cli::simulate::write_policy_charts,
    core::TimeSeries,
    sim::{PolicyKind, SimOptions, SimReport, simulate, sweep::sweep, trace::read_trace},
};

struct Args {
    data: PathBuf,
    penalty: Option<f64>,
    quantile: Option<f64>,
    max_headroom: Option<f64>,
    local_share: Option<f64>,
    oracle_budget: Option<f64>,
    calibration_days: Option<f64>,
    only: Vec<String>,
    model: Option<String>,
    no_after_miss: bool,
    held_out: bool,
    sweep: bool,
    charts: Option<PathBuf>,
    json: Option<PathBuf>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        data: PathBuf::from("../shared/data"),
        penalty: None,
        quantile: None,
        max_headroom: None,
        local_share: None,
        oracle_budget: None,
        calibration_days: None,
        only: Vec::new(),
        model: None,
        no_after_miss: false,
        held_out: false,
        sweep: false,
        charts: None,
        json: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--data" => args.data = it.next().context("--data needs a path")?.into(),
            "--sweep" => args.sweep = true,
            "--no-after-miss" => args.no_after_miss = true,
            "--held-out" => args.held_out = true,
            "--model" => args.model = Some(it.next().context("--model needs a forecaster name")?),
            "--penalty" => args.penalty = Some(it.next().context("--penalty needs a number")?.parse()?),
            "--quantile" => args.quantile = Some(it.next().context("--quantile needs a number")?.parse()?),
            "--max-headroom" => {
                args.max_headroom = Some(it.next().context("--max-headroom needs a number")?.parse()?)
            }
            "--local-share" => {
                args.local_share = Some(it.next().context("--local-share needs a number")?.parse()?)
            }
            "--max-cost-over-oracle" => {
                args.oracle_budget = Some(
                    it.next()
                        .context("--max-cost-over-oracle needs a number")?
                        .parse()?,
                )
            }
            "--calibration-days" => {
                args.calibration_days = Some(it.next().context("--calibration-days needs a number")?.parse()?)
            }
            "--only" => {
                args.only = it
                    .next()
                    .context("--only needs comma-separated trace name prefixes")?
                    .split(',')
                    .map(str::to_string)
                    .collect()
            }
            "--charts" => args.charts = Some(it.next().context("--charts needs a directory")?.into()),
            "--json" => args.json = Some(it.next().context("--json needs a file")?.into()),
            other => {
                bail!(
                    "unknown argument `{other}`; known: --data PATH, --sweep, --charts DIR, --json FILE, \
                     --penalty X, --quantile Q, --max-headroom X, --max-cost-over-oracle X, --local-share X, \
                     --calibration-days D, --model NAME, --no-after-miss, --held-out, --only PREFIX,..."
                )
            }
        }
    }
    Ok(args)
}

/// Every shared trace: (name, series).
fn traces(data: &Path) -> anyhow::Result<Vec<(String, TimeSeries)>> {
    let mut out = Vec::new();
    for dir in ["nab/realAWSCloudwatch", "nab/realKnownCause", "nab/realTweets"] {
        let mut files: Vec<_> = std::fs::read_dir(data.join(dir))
            .with_context(|| format!("reading {}", data.join(dir).display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "csv"))
            .collect();
        files.sort();
        for f in files {
            let name = format!("{dir}/{}", f.file_stem().unwrap_or_default().to_string_lossy());
            match read_trace(&f, None, Duration::from_secs(300)) {
                Ok(t) => out.push((name, t)),
                Err(e) => println!("skipped: {name}: {e}"),
            }
        }
    }
    let five = Duration::from_secs(300);
    let ali = data.join("datacenter_traces/alibaba2018/machine_usage_days_1_to_8_grouped_300_seconds.csv");
    let a = read_trace(&ali, Some("cpu_util_percent"), five)?;
    out.push((
        "alibaba2018/cpu_util_percent".into(),
        TimeSeries::new(a.time_at(515), five, a.values()[515..].to_vec())?,
    ));
    let goo = data.join("datacenter_traces/google2019/instance_usage_grouped_300_seconds_month.csv");
    out.push((
        "google2019/avg_cpu".into(),
        read_trace(&goo, Some("avg_cpu"), five)?,
    ));
    Ok(out)
}

/// Shared series that played no part in choosing the policy or its defaults: (name, series).
fn held_out(data: &Path) -> anyhow::Result<Vec<(String, TimeSeries)>> {
    let mut out = Vec::new();
    let five = Duration::from_secs(300);
    let ali = data.join("datacenter_traces/alibaba2018/machine_usage_days_1_to_8_grouped_300_seconds.csv");
    for col in ["mem_util_percent", "net_in", "net_out", "disk_io_percent"] {
        let a = read_trace(&ali, Some(col), five)?;
        out.push((
            format!("alibaba2018/{col}"),
            TimeSeries::new(a.time_at(515), five, a.values()[515..].to_vec())?,
        ));
    }
    let thirty = Duration::from_secs(30);
    let ali30 = data.join("datacenter_traces/alibaba2018/machine_usage_days_1_to_8_grouped_30_seconds.csv");
    let a = read_trace(&ali30, Some("cpu_util_percent"), thirty)?;
    out.push((
        "alibaba2018-30s/cpu_util_percent".into(),
        TimeSeries::new(a.time_at(5135), thirty, a.values()[5135..].to_vec())?,
    ));
    let goo = data.join("datacenter_traces/google2019/instance_usage_grouped_300_seconds_month.csv");
    for col in ["avg_mem", "avg_assigned_mem"] {
        out.push((format!("google2019/{col}"), read_trace(&goo, Some(col), five)?));
    }
    let taylor = data.join("pmdarima/taylor_halfhourly_demand.csv");
    out.push((
        "pmdarima/taylor_halfhourly_demand".into(),
        read_trace(&taylor, None, Duration::from_secs(1800))?,
    ));
    Ok(out)
}

fn progress(done: usize, total: usize, label: &str) {
    let width = 30;
    let filled = done * width / total.max(1);
    eprint!(
        "\r[{}{}] {done}/{total} {:<60}",
        "#".repeat(filled),
        "-".repeat(width - filled),
        label.chars().take(60).collect::<String>()
    );
    let _ = std::io::stderr().flush();
}

fn geomean(v: &[f64]) -> f64 {
    (v.iter().map(|x| x.ln()).sum::<f64>() / v.len().max(1) as f64).exp()
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt::init();
    let args = parse_args()?;
    if !args.data.exists() {
        println!("skipped: no data at {} (pass --data PATH)", args.data.display());
        return Ok(());
    }
    let mut traces = if args.held_out {
        held_out(&args.data)?
    } else {
        traces(&args.data)?
    };
    if !args.only.is_empty() {
        traces.retain(|(name, _)| args.only.iter().any(|p| name.starts_with(p.as_str())));
    }
    println!(
        "skipped: google_cluster_2011_vms (each file covers 24 hours; the one-day warm-up leaves nothing to score)"
    );
    let mut opts = SimOptions::default();
    if let Some(p) = args.penalty {
        opts.prices.shortfall_penalty = p;
    }
    opts.proactive.level = args.quantile;
    if let Some(m) = args.max_headroom {
        opts.proactive.online.max_headroom = m;
    }
    if let Some(b) = args.oracle_budget {
        opts.proactive.online.max_cost_over_oracle = b;
    }
    if let Some(d) = args.calibration_days {
        opts.proactive.online.calibration_window = Duration::from_secs_f64(d * 86_400.0);
    }
    if let Some(l) = args.local_share {
        opts.proactive.online.local_share = l;
    }
    if let Some(m) = &args.model {
        opts.model.clone_from(m);
    }
    opts.proactive.online.after_miss = !args.no_after_miss;
    opts.validate()?;
    let started = Instant::now();
    let mut reports: Vec<(String, SimReport)> = Vec::new();
    let mut dominated = 0;
    let mut swept = 0;
    for (k, (name, series)) in traces.iter().enumerate() {
        progress(k, traces.len(), name);
        match simulate(series, &opts) {
            Ok(r) => {
                if let Some(dir) = &args.charts {
                    write_policy_charts(&dir.join(name.replace('/', "__")), name, &r)?;
                }
                reports.push((name.clone(), r));
            }
            Err(e) => {
                eprintln!("\n{name}: skipped: {e}");
                continue;
            }
        }
        if args.sweep {
            progress(k, traces.len(), &format!("{name} (sweep)"));
            let s = sweep(series, &opts)?;
            swept += 1;
            if s.dominates {
                dominated += 1;
            }
        }
    }
    progress(traces.len(), traces.len(), "done");
    eprintln!();
    let elapsed = started.elapsed();

    let get = |r: &SimReport, k: PolicyKind| r.policy(k).map(|p| (p.under_provisioned_minutes, p.cost));
    println!(
        "\n{:<44} {:>5} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7} {:>7}  notes",
        "trace",
        "days",
        "hpa min",
        "aws min",
        "pro min",
        "cst min",
        "orc min",
        "aws/h$",
        "pro/h$",
        "cst/h$",
        "orc/h$",
        "pro/o$"
    );
    let mut totals: BTreeMap<PolicyKind, f64> = BTreeMap::new();
    let mut ratios: BTreeMap<PolicyKind, Vec<f64>> = BTreeMap::new();
    let mut misses = Vec::new();
    let mut json_rows = Vec::new();
    for (name, r) in &reports {
        let (hpa_min, hpa_cost) = get(r, PolicyKind::Hpa).context("hpa ran")?;
        let (_, oracle_cost) = get(r, PolicyKind::Oracle).context("oracle ran")?;
        let mut row = BTreeMap::new();
        for k in PolicyKind::ALL {
            let (m, c) = get(r, k).context("every policy ran")?;
            *totals.entry(k).or_default() += m;
            ratios.entry(k).or_default().push(c / hpa_cost);
            row.insert(k, (m, c));
        }
        let (pro_min, pro_cost) = row[&PolicyKind::Proactive];
        let mut notes = Vec::new();
        if pro_cost > 2.0 * oracle_cost {
            notes.push(format!("cost {:.2}x oracle", pro_cost / oracle_cost));
        }
        let allowance = hpa_min + 5.0 * r.scored_days;
        if pro_min > allowance {
            notes.push(format!("shortfall {pro_min:.0} > hpa {hpa_min:.0} + 5/day"));
        }
        if !notes.is_empty() {
            misses.push(format!("{name}: {}", notes.join("; ")));
        }
        let m = |k| row[&k].0;
        let c = |k: PolicyKind| row[&k].1 / hpa_cost;
        println!(
            "{:<44} {:>5.1} {:>8.0} {:>8.0} {:>8.0} {:>8.0} {:>8.0} {:>7.2} {:>7.2} {:>7.2} {:>7.2} {:>7.2}  {}",
            name,
            r.scored_days,
            hpa_min,
            m(PolicyKind::AwsPredictive),
            pro_min,
            m(PolicyKind::CostOptimised),
            m(PolicyKind::Oracle),
            c(PolicyKind::AwsPredictive),
            c(PolicyKind::Proactive),
            c(PolicyKind::CostOptimised),
            c(PolicyKind::Oracle),
            pro_cost / oracle_cost,
            notes.join("; ")
        );
        json_rows
            .push(serde_json::json!({ "trace": name, "report": shadow::cli::simulate::to_json(name, r) }));
    }
    let hpa_total = totals[&PolicyKind::Hpa];
    println!(
        "\n{} traces simulated in {:.1} s\n",
        reports.len(),
        elapsed.as_secs_f64()
    );
    println!(
        "{:<16} {:>14} {:>10} {:>14} {:>12}",
        "policy", "under min", "x hpa", "cost geomean", "cost median"
    );
    for k in PolicyKind::ALL {
        println!(
            "{:<16} {:>14.0} {:>10.3} {:>13.3}x {:>11.3}x",
            k.name(),
            totals[&k],
            totals[&k] / hpa_total,
            geomean(&ratios[&k]),
            median(&ratios[&k])
        );
    }
    let pro = PolicyKind::Proactive;
    let aws = PolicyKind::AwsPredictive;
    let check = |ok: bool| if ok { "met" } else { "MISSED" };
    println!("\ntargets (proactive):");
    let short = totals[&pro] / hpa_total;
    println!(
        "  aggregate shortfall <= 0.15x HPA: {short:.3}x  {}",
        check(short <= 0.15)
    );
    let (g, md) = (geomean(&ratios[&pro]), median(&ratios[&pro]));
    println!("  cost geomean <= 1.10x HPA: {g:.3}x  {}", check(g <= 1.10));
    println!("  cost median <= 1.0x HPA: {md:.3}x  {}", check(md <= 1.0));
    println!(
        "  per trace (cost <= 2x oracle, shortfall <= HPA + 5 min/day): {} of {} traces miss  {}",
        misses.len(),
        reports.len(),
        check(misses.is_empty())
    );
    for m in &misses {
        println!("    {m}");
    }
    let beats = totals[&pro] < totals[&aws] && geomean(&ratios[&pro]) < geomean(&ratios[&aws]);
    println!(
        "  beats aws-predictive on shortfall ({:.0} < {:.0}) and cost geomean ({:.3} < {:.3}): {}",
        totals[&pro],
        totals[&aws],
        geomean(&ratios[&pro]),
        geomean(&ratios[&aws]),
        check(beats)
    );
    if args.sweep {
        println!("  frontier: ours dominates HPA's on {dominated} of {swept} traces");
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&json_rows)?)?;
    }
    Ok(())
}
