//! `shadow backtest`: rolling-origin evaluation of one or more models on one series, a folder of series, or
//! the M4 layout.
//!
//! ```text
//! shadow backtest --data PATH [--horizon 48|1h] [--folds N] [--stride S] [--level 0.8,0.95]
//!                 [--model M]... [--season 1d] [--step 1h] [--max-series N] [--calibrate]
//!                 [--order p,d,q] [--seasonal-order P,D,Q,m] [--trend none|constant|drift]
//! ```
//!
//! `--data` is read by [`super::datasets`]. Every model name of [`shadow_forecast::MODELS`] works with
//! `--model`, which may repeat. Series run in parallel (rayon, one task per series); a progress bar goes to
//! stderr when it is a terminal.
//!
//! # Method
//!
//! For each series, the `N` origins are `stride` steps apart and the last is `H` steps before the end
//! ([`shadow_forecast::backtest::origins`]). At each, the model is fitted on everything before the origin and
//! forecasts `H` steps with the median and the bounds of every central interval of `--level` (0.8 → 0.1 and
//! 0.9). An M4 file defaults to `H = 48` and one origin: the last 48 points of each series are held out, as in
//! the competition's own split.
//!
//! # Metrics
//!
//! Per series, each figure is the mean over folds; the table shows the mean over series (as M4 does).
//!
//! - **sMAPE** (percent) and **MASE** at the lag `m` below ([`shadow_forecast::metrics`]).
//! - **OWA**: `½ (sMAPE / sMAPE_Naive2 + MASE / MASE_Naive2)`, with Naive2 run on the same folds; the
//!   table has a `naive2` row for reference.
//! - **sPinball**: the pinball loss averaged over the quantiles, divided by the series' MASE scale.
//! - **covNN**: the share of actuals inside the central NN% interval, next to the nominal level in the header.
//! - **time**: the wall time of the model over every series, in seconds (the fits run in parallel).
//!
//! `auto` calibrates its quantiles on its own selection backtest
//! ([`shadow_forecast::calibration::FoldCalibration`]); `--calibrate` adds a `<model>+conformal` row that
//! wraps any model in [`Conformal`] instead (ten extra fits per series and origin).
//!
//! The lag `m` is `--season` in steps; without it, a day in steps when the step divides a day into at least
//! two steps and the history before the first origin covers two days, else 1. A series too short for its
//! folds, or on which a model fails, is counted under `failed` and left out of that model's means; with a
//! single series this is an error instead.

use std::{
    io::{IsTerminal, Write},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use rayon::prelude::*;
use shadow_core::{ConfidenceLevel, Forecaster, Quantile, Regressors};
use shadow_forecast::{
    backtest::{self, SeriesScore, Summary},
    conformal::{Conformal, ConformalOptions},
};

use super::{
    CliError,
    args::BacktestArgs,
    datasets::{self, DatasetKind, NamedSeries},
    forecast::{MAX_HORIZON, build_model, model_options},
    one_line,
};

/// The M4 hourly horizon, the default for an M4 file.
pub const M4_HORIZON: usize = 48;

/// A length in steps, or a duration to divide by each series' step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// A number of steps.
    Steps(usize),
    /// A duration.
    Duration(Duration),
}

impl Span {
    /// Parses `48` or `1h`; `flag` names the flag in errors.
    ///
    /// # Errors
    /// [`CliError::Input`] naming the flag when the value is neither a positive integer nor a duration.
    pub fn parse(flag: &str, text: &str) -> Result<Self, CliError> {
        if let Ok(n) = text.trim().parse::<usize>() {
            if n == 0 || n > MAX_HORIZON {
                return Err(CliError::Input(format!(
                    "{flag} must be between 1 and {MAX_HORIZON} steps, got {n}"
                )));
            }
            return Ok(Span::Steps(n));
        }
        match humantime::parse_duration(text.trim()) {
            Ok(d) if !d.is_zero() => Ok(Span::Duration(d)),
            _ => Err(CliError::Input(format!(
                "{flag}: `{text}` is neither a number of steps nor a duration such as 1h"
            ))),
        }
    }

    /// The number of steps at `step`.
    ///
    /// # Errors
    /// [`CliError::Input`] naming the flag when the duration is not a whole number of steps.
    pub fn steps(self, flag: &str, step: Duration) -> Result<usize, CliError> {
        match self {
            Span::Steps(n) => Ok(n),
            Span::Duration(d) => {
                let (a, b) = (d.as_millis(), step.as_millis().max(1));
                if a < b || a % b != 0 {
                    return Err(CliError::Input(format!(
                        "{flag} {} is not a whole number of {} steps",
                        humantime::format_duration(d),
                        humantime::format_duration(step)
                    )));
                }
                usize::try_from(a / b)
                    .ok()
                    .filter(|n| *n <= MAX_HORIZON)
                    .ok_or_else(|| CliError::Input(format!("{flag} is more than {MAX_HORIZON} steps")))
            }
        }
    }
}

/// What to run on every series.
#[derive(Debug, Clone)]
struct Plan {
    horizon: Span,
    stride: Option<Span>,
    folds: usize,
    season: Option<Duration>,
    levels: Vec<Quantile>,
}

/// Runs `shadow backtest` and prints the table to stdout.
///
/// # Errors
/// A one-line [`CliError`]: bad arguments, unreadable data, or (with a single series) a series too short for
/// the folds or a model that fails.
pub fn main(args: BacktestArgs) -> Result<(), CliError> {
    let (nominals, levels) = interval_levels(&args.levels)?;
    if args.folds == Some(0) {
        return Err(CliError::Input("--folds must be at least 1".into()));
    }
    let horizon_flag = args
        .horizon
        .as_deref()
        .map(|h| Span::parse("--horizon", h))
        .transpose()?;
    let stride = args
        .stride
        .as_deref()
        .map(|s| Span::parse("--stride", s))
        .transpose()?;
    // Each model once, and once more wrapped in conformal calibration with `--calibrate`.
    let mut variants: Vec<(String, Arc<dyn Forecaster>, bool)> = Vec::new();
    for name in &args.models {
        // `arima` takes its season from `--seasonal-order`; `--season` is then only the MASE lag.
        let season = if name == "arima" { None } else { args.season };
        let model: Arc<dyn Forecaster> = build_model(name, &model_options(season, &args.arima)?)?.into();
        variants.push((name.clone(), model.clone(), false));
        if args.calibrate {
            variants.push((format!("{name}+conformal"), model, true));
        }
    }
    if variants.is_empty() {
        return Err(CliError::Input("--model: give at least one model".into()));
    }
    if let Some(season) = args.season {
        if season.is_zero() {
            return Err(CliError::Input("--season must be positive".into()));
        }
    }
    let dataset = datasets::load(&args.data, args.step)?;
    let m4 = dataset.kind == DatasetKind::M4;
    let horizon = match horizon_flag {
        Some(h) => h,
        None if m4 => Span::Steps(M4_HORIZON),
        None => {
            return Err(CliError::Input(
                "--horizon is required unless --data is an M4 file".into(),
            ));
        }
    };
    let plan = Plan {
        horizon,
        stride,
        folds: args.folds.unwrap_or(if m4 { 1 } else { 5 }),
        season: args.season,
        levels,
    };
    let mut series = dataset.series;
    if let Some(max) = args.max_series {
        series.truncate(max.max(1));
    }
    let single = series.len() == 1;
    if single {
        // Fail early, with the reason, when the only series cannot be evaluated.
        let s = &series[0];
        shape(s, &plan).map_err(|e| CliError::Input(format!("{}: {e}", s.name)))?;
    }

    print_header(&args, &series, &dataset.skipped, &plan, &nominals)?;
    for (file, what) in &dataset.cleaned {
        println!("cleaned {file}: {what}");
    }
    let mut rows: Vec<(String, Summary, Duration, Vec<String>)> = Vec::new();
    let mut naive2: Option<Summary> = None;
    for (label, model, calibrate) in variants {
        let started = Instant::now();
        let progress = Progress::new(&label, series.len());
        let results: Vec<Result<SeriesScore, String>> = series
            .par_iter()
            .map(|s| {
                let r = evaluate(&model, calibrate, s, &plan);
                progress.tick();
                r
            })
            .collect();
        progress.finish();
        let wall = started.elapsed();
        let mut errors = Vec::new();
        let mut scores = Vec::new();
        for (s, r) in series.iter().zip(results) {
            match r {
                Ok(score) => scores.push(score),
                Err(e) if single => {
                    return Err(CliError::Input(format!("{label} on {}: {e}", s.name)));
                }
                Err(e) => errors.push(format!("{}: {e}", s.name)),
            }
        }
        let summary = Summary::from_scores(&scores, errors.len());
        if naive2.is_none() && summary.naive2_smape.is_some() {
            naive2 = Some(naive2_row(&summary));
        }
        rows.push((label, summary, wall, errors));
    }
    println!();
    let mut table: Vec<(String, Summary, Option<Duration>)> = rows
        .iter()
        .map(|(l, s, w, _)| (l.clone(), s.clone(), Some(*w)))
        .collect();
    if let Some(n2) = naive2 {
        table.push(("naive2".into(), n2, None));
    }
    print!("{}", render_table(&table, &nominals));
    for (label, _, _, errors) in &rows {
        if !errors.is_empty() {
            println!();
            println!("{label}: {} series failed, first: {}", errors.len(), errors[0]);
        }
    }
    std::io::stdout().flush().map_err(|e| CliError::io("stdout", e))
}

/// The Naive2 figures of a summary as a row of their own (OWA 1 by definition).
fn naive2_row(s: &Summary) -> Summary {
    Summary {
        series: s.series,
        failed: 0,
        smape: s.naive2_smape,
        mase: s.naive2_mase,
        scaled_pinball: None,
        coverage: Vec::new(),
        owa: s.naive2_smape.zip(s.naive2_mase).map(|_| 1.0),
        naive2_smape: s.naive2_smape,
        naive2_mase: s.naive2_mase,
    }
}

/// The validated nominal levels and the quantiles they need (bounds plus the median), increasing.
fn interval_levels(raw: &[f64]) -> Result<(Vec<f64>, Vec<Quantile>), CliError> {
    if raw.is_empty() {
        return Err(CliError::Input(
            "--level: give at least one level, such as 0.8".into(),
        ));
    }
    let mut quantiles = vec![Quantile::MEDIAN];
    let mut nominals = Vec::new();
    for &l in raw {
        let level = ConfidenceLevel::try_new(l).map_err(|e| CliError::Input(format!("--level: {e}")))?;
        let (lo, hi) = level.bounds();
        if lo >= Quantile::MEDIAN {
            return Err(CliError::Input(format!(
                "--level {l} is too small to give an interval around the median"
            )));
        }
        quantiles.extend([lo, hi]);
        nominals.push(level.get());
    }
    quantiles.sort();
    quantiles.dedup();
    nominals.sort_by(f64::total_cmp);
    nominals.dedup();
    Ok((nominals, quantiles))
}

/// The horizon, origins and MASE lag of one series.
fn shape(s: &NamedSeries, plan: &Plan) -> Result<(usize, Vec<usize>, usize), String> {
    let step = s.series.step();
    let h = plan.horizon.steps("--horizon", step).map_err(|e| e.to_string())?;
    let stride = match plan.stride {
        Some(sp) => sp.steps("--stride", step).map_err(|e| e.to_string())?,
        None => h,
    };
    let n = s.series.len();
    let lag = match plan.season {
        Some(season) => Span::Duration(season)
            .steps("--season", step)
            .map_err(|e| e.to_string())?,
        None => {
            let day = Span::Duration(Duration::from_secs(86_400))
                .steps("", step)
                .unwrap_or(1);
            let first_origin = n.saturating_sub(h + (plan.folds - 1) * stride);
            if day >= 2 && first_origin >= 2 * day {
                day
            } else {
                1
            }
        }
    };
    let min_train = lag.saturating_add(1).max(2);
    let origins = backtest::origins(n, h, plan.folds, stride, min_train).map_err(|_| {
        let need = (plan.folds - 1)
            .checked_mul(stride)
            .and_then(|v| v.checked_add(h))
            .and_then(|v| v.checked_add(min_train));
        format!(
            "the series has {n} points but {} fold(s) of horizon {h} need at least {}: \
             the forecast windows plus {min_train} of history",
            plan.folds,
            need.map_or_else(|| "more than can be counted".to_string(), |v| v.to_string())
        )
    })?;
    Ok((h, origins, lag))
}

/// Backtests one model on one series; `calibrate` wraps it in [`Conformal`] calibrated at the horizon.
fn evaluate(
    model: &Arc<dyn Forecaster>,
    calibrate: bool,
    s: &NamedSeries,
    plan: &Plan,
) -> Result<SeriesScore, String> {
    let (h, origins, lag) = shape(s, plan)?;
    let wrapped: Arc<dyn Forecaster> = if calibrate {
        Arc::new(Conformal::with_options(
            model.clone(),
            ConformalOptions::default().with_horizon(h),
        ))
    } else {
        model.clone()
    };
    let folds = backtest::rolling_origin(
        wrapped.as_ref(),
        &s.series,
        &Regressors::empty(),
        &origins,
        h,
        &plan.levels,
    )
    .map_err(|e| one_line(&e))?;
    Ok(backtest::score(&s.series, &folds, lag))
}

fn print_header(
    args: &BacktestArgs,
    series: &[NamedSeries],
    skipped: &[(String, String)],
    plan: &Plan,
    nominals: &[f64],
) -> Result<(), CliError> {
    let points: usize = series.iter().map(|s| s.series.len()).sum();
    println!(
        "backtest of {}: {} series, {points} points; {} fold(s) per series",
        args.data.display(),
        series.len(),
        plan.folds
    );
    if let [s] = series {
        let (h, origins, lag) = shape(s, plan).map_err(CliError::Input)?;
        let missing: usize = origins
            .iter()
            .map(|&o| s.series.values()[o..o + h].iter().filter(|v| v.is_nan()).count())
            .sum();
        println!(
            "step {}, horizon {h} steps, origins {} .. {}, MASE lag {lag} step(s){}, missing actuals skipped: {missing}",
            humantime::format_duration(s.series.step()),
            super::csv::rfc3339(s.series.time_at(origins[0])),
            super::csv::rfc3339(s.series.time_at(origins[origins.len() - 1])),
            if plan.season.is_some() { " (--season)" } else { "" },
        );
    } else {
        let horizon = match plan.horizon {
            Span::Steps(n) => format!("{n} steps"),
            Span::Duration(d) => humantime::format_duration(d).to_string(),
        };
        println!(
            "horizon {horizon}; MASE lag {}",
            plan.season.map_or_else(
                || "a day where the history covers two days, else 1 step".to_string(),
                |d| humantime::format_duration(d).to_string()
            )
        );
    }
    let labels: Vec<String> = nominals.iter().map(|n| percent(*n)).collect();
    println!(
        "intervals: central {}; quantiles {}",
        labels.join(", "),
        plan.levels
            .iter()
            .map(|q| q.label())
            .collect::<Vec<_>>()
            .join(",")
    );
    for (file, reason) in skipped {
        println!("skipped {file}: {reason}");
    }
    Ok(())
}

/// Renders one row per model: text left-aligned, numbers right-aligned.
fn render_table(rows: &[(String, Summary, Option<Duration>)], nominals: &[f64]) -> String {
    let mut header: Vec<String> = ["model", "series", "failed", "sMAPE", "MASE", "OWA", "sPinball"]
        .map(String::from)
        .to_vec();
    header.extend(
        nominals
            .iter()
            .map(|n| format!("cov{}", percent(*n).trim_end_matches('%'))),
    );
    header.push("time".into());
    let na = || "n/a".to_string();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|(model, s, wall)| {
            let mut row = vec![
                model.clone(),
                s.series.to_string(),
                s.failed.to_string(),
                s.smape.map_or_else(na, |v| format!("{v:.3}")),
                s.mase.map_or_else(na, |v| format!("{v:.3}")),
                s.owa.map_or_else(na, |v| format!("{v:.3}")),
                s.scaled_pinball.map_or_else(na, |v| format!("{v:.4}")),
            ];
            row.extend(
                nominals
                    .iter()
                    .map(|n| s.coverage_at(*n).map_or_else(na, percent)),
            );
            row.push(wall.map_or_else(|| "-".into(), |w| format!("{:.1}s", w.as_secs_f64())));
            row
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|c| cells.iter().map(|r| r[c].len()).fold(header[c].len(), usize::max))
        .collect();
    let line = |fields: &[String]| {
        let mut out = String::new();
        for (c, (field, width)) in fields.iter().zip(&widths).enumerate() {
            if c == 0 {
                out.push_str(&format!("{field:<width$}"));
            } else {
                out.push_str(&format!("  {field:>width$}"));
            }
        }
        out.push('\n');
        out
    };
    let mut out = line(&header);
    for row in &cells {
        out.push_str(&line(row));
    }
    out
}

/// Formats a share as a percentage with one decimal, dropping a zero fraction (`0.8` → `80%`).
fn percent(share: f64) -> String {
    let text = format!("{:.1}", share * 100.0);
    let text = text.strip_suffix(".0").unwrap_or(&text);
    format!("{text}%")
}

/// A progress bar on stderr, drawn only when stderr is a terminal.
#[derive(Debug)]
struct Progress {
    label: String,
    total: usize,
    done: AtomicUsize,
    enabled: bool,
}

impl Progress {
    fn new(label: &str, total: usize) -> Self {
        let p = Self {
            label: label.to_string(),
            total,
            done: AtomicUsize::new(0),
            enabled: std::io::stderr().is_terminal() && total > 1,
        };
        p.draw(0);
        p
    }

    fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let width = self.total.div_ceil(40).max(1);
        if done % width == 0 || done == self.total {
            self.draw(done);
        }
    }

    fn draw(&self, done: usize) {
        if !self.enabled {
            return;
        }
        let filled = 30 * done / self.total.max(1);
        let bar: String = "#".repeat(filled) + &" ".repeat(30 - filled);
        let mut err = std::io::stderr().lock();
        // Best effort: a closed stderr must not stop the run.
        let _ = write!(err, "\r{:<24} [{bar}] {done}/{}", self.label, self.total);
        let _ = err.flush();
    }

    fn finish(&self) {
        if self.enabled {
            let _ = writeln!(std::io::stderr());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_parse_as_steps_or_durations() {
        let h = Duration::from_secs(3600);
        assert_eq!(Span::parse("--horizon", "48").unwrap(), Span::Steps(48));
        let d = Span::parse("--horizon", "1d").unwrap();
        assert_eq!(d.steps("--horizon", h).unwrap(), 24);
        assert_eq!(
            Span::parse("--horizon", "1h")
                .unwrap()
                .steps("--horizon", Duration::from_secs(300))
                .unwrap(),
            12
        );
        let e = d
            .steps("--horizon", Duration::from_secs(7 * 3600))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "--horizon 1day is not a whole number of 7h steps");
        assert!(
            Span::parse("--horizon", "0")
                .unwrap_err()
                .to_string()
                .contains("between 1 and")
        );
        assert!(Span::parse("--horizon", "soon").is_err());
    }

    #[test]
    fn interval_levels_add_the_median_and_bounds() {
        let (n, q) = interval_levels(&[0.95, 0.8]).unwrap();
        assert_eq!(n, [0.8, 0.95]);
        let labels: Vec<String> = q.iter().map(|q| q.label()).collect();
        assert_eq!(labels, ["p2.5", "p10", "p50", "p90", "p97.5"]);
        assert!(interval_levels(&[1.5]).is_err());
    }

    #[test]
    fn table_is_aligned() {
        let s = Summary {
            series: 414,
            failed: 0,
            smape: Some(12.3456),
            mase: Some(0.9),
            scaled_pinball: Some(0.31),
            coverage: vec![(0.8, 0.777), (0.95, 0.93)],
            owa: Some(0.5),
            naive2_smape: Some(18.0),
            naive2_mase: Some(2.3),
        };
        let t = render_table(
            &[
                (
                    "seasonal-naive".into(),
                    s.clone(),
                    Some(Duration::from_millis(1234)),
                ),
                ("naive2".into(), naive2_row(&s), None),
            ],
            &[0.8, 0.95],
        );
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            lines[0],
            "model           series  failed   sMAPE   MASE    OWA  sPinball  cov80  cov95  time"
        );
        assert_eq!(
            lines[1],
            "seasonal-naive     414       0  12.346  0.900  0.500    0.3100  77.7%    93%  1.2s"
        );
        assert!(lines[2].starts_with("naive2 ") && lines[2].contains("1.000"));
        assert!(lines.iter().all(|l| l.len() == lines[0].len()));
    }
}
