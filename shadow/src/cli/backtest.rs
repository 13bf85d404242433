//! `shadow backtest`: rolling-origin evaluation of a model on a `timestamp,value` CSV.
//!
//! ```text
//! shadow backtest --input FILE.csv --horizon H [--folds N] [--level 0.8] [--model M] [--season D]
//!                  [--order p,d,q] [--seasonal-order P,D,Q,m] [--trend none|constant|drift]
//! ```
//!
//! The model flags mean what they mean for `shadow forecast` ([`super::forecast`]), except that `--season`
//! with `--model arima` only sets the MASE lag: that model takes its season from `--seasonal-order`.
//!
//! # Method
//!
//! With `n` grid points, the `N` forecast origins are `n − N·H, n − (N−1)·H, …, n − H`: the folds'
//! forecast windows of `H` steps do not overlap and the last one ends at the end of the series. For each
//! fold the model is fitted on every point before the origin and forecasts `H` steps with the quantiles
//! `lower`, `0.5` and `upper` of the central interval of `--level` ([`ConfidenceLevel::bounds`]; `0.8` →
//! `0.1` and `0.9`). The series needs at least `N·H + max(2, m + 1)` points, where `m` is the MASE lag below.
//!
//! # Metrics
//!
//! Every metric skips missing actuals and pools the scored points of all folds.
//!
//! - **MASE**: `|y − ŷ| / s`, averaged, where `ŷ` is the point forecast and `s` is the in-sample MAE of the
//!   seasonal naive forecast `y(t) − y(t − m)` on the fold's training part (pairs with a gap are skipped).
//!   The lag `m` is the `--season` in steps; when the model chooses its own season (no `--season`), the
//!   season is not visible through the model trait and `m = 1`. (A seasonal-naive model that falls back to
//!   the naive forecast on a training part shorter than two seasons is still scaled at `m`.) It is `n/a`
//!   when a fold's training part has no such pair or a zero MAE (a flat series).
//! - **sMAPE** (M4): `200 · |y − ŷ| / (|y| + |ŷ|)`, averaged, in percent; a term with `y = ŷ = 0` is 0.
//! - **pinball**: the pinball loss `τ·(y − q)` if `y ≥ q`, else `(1 − τ)·(q − y)`, averaged over every
//!   scored point and the three quantiles.
//! - **coverage**: the share of actuals inside `[lower, upper]`, printed next to the nominal level.

use std::time::Duration;

use shadow_core::{ConfidenceLevel, Quantile, TimeSeries};
use shadow_forecast::ModelOptions;

use self::metrics::{Scores, Summary, seasonal_naive_mae};
use super::{
    CliError,
    args::BacktestArgs,
    csv::{read_series, rfc3339},
    forecast::{check_horizon, fit_predict, model_options},
    one_line,
};

/// Runs `shadow backtest` and prints the table to stdout.
///
/// # Errors
/// A one-line [`CliError`]: bad arguments, a bad input file, a series too short for the folds, or a model
/// that fails on a fold.
pub fn main(args: BacktestArgs) -> Result<(), CliError> {
    check_horizon(args.horizon)?;
    if args.folds == 0 {
        return Err(CliError::Input("--folds must be at least 1".into()));
    }
    let level = ConfidenceLevel::try_new(args.level).map_err(|e| CliError::Input(format!("--level: {e}")))?;
    let (lower, upper) = level.bounds();
    if lower >= Quantile::MEDIAN {
        return Err(CliError::Input(format!(
            "--level {} is too small to give an interval around the median",
            args.level
        )));
    }
    // `arima` takes its season from `--seasonal-order`; `--season` is then only the MASE lag.
    let model_season = if args.model == "arima" { None } else { args.season };
    let options = model_options(model_season, &args.arima)?;
    let series = read_series(&args.input)?;
    let lag = mase_lag(&series, args.season)?;
    let origins = origins(series.len(), args.horizon, args.folds, lag)?;
    let levels = [lower, Quantile::MEDIAN, upper];
    let summary = evaluate(&series, &args, &options, &origins, &levels, lag)?;

    let h = args.horizon;
    println!(
        "backtest of {}: {} points at a {} step, {} fold(s) of {h} steps, origins {} .. {}",
        args.input.display(),
        series.len(),
        humantime::format_duration(series.step()),
        args.folds,
        rfc3339(series.time_at(origins[0])),
        rfc3339(series.time_at(origins[origins.len() - 1])),
    );
    let missing = args.folds * h - summary.actuals;
    println!(
        "interval: central {} ({}..{}); MASE lag: {lag} step(s){}; missing actuals skipped: {missing}",
        percent(level.get()),
        lower.label(),
        upper.label(),
        if args.season.is_some() {
            " (--season)"
        } else {
            " (model chooses its season)"
        },
    );
    println!();
    print!("{}", render_table(&[(args.model.clone(), summary)], level.get()));
    Ok(())
}

/// The MASE lag in steps: `--season` divided by the step, or 1 without `--season`.
fn mase_lag(series: &TimeSeries, season: Option<Duration>) -> Result<usize, CliError> {
    let Some(season) = season else { return Ok(1) };
    let (s, step) = (season.as_millis(), series.step().as_millis());
    if s < step || s % step != 0 {
        return Err(CliError::Input(format!(
            "--season {} is not a whole number of {} steps",
            humantime::format_duration(season),
            humantime::format_duration(series.step())
        )));
    }
    usize::try_from(s / step).map_err(|_| CliError::Input("--season is too long".into()))
}

/// The fold origins (grid indices), oldest first; an error when the series is too short.
fn origins(n: usize, horizon: usize, folds: usize, lag: usize) -> Result<Vec<usize>, CliError> {
    let min_train = lag.saturating_add(1).max(2);
    let need = folds.checked_mul(horizon).and_then(|w| w.checked_add(min_train));
    match need {
        Some(need) if n >= need => Ok((0..folds).map(|f| n - (folds - f) * horizon).collect()),
        _ => Err(CliError::Input(format!(
            "the series has {n} points but {folds} fold(s) of horizon {horizon} need at least {}: \
             {folds}×{horizon} to forecast plus {min_train} of history",
            need.map_or_else(|| "more than can be counted".to_string(), |v| v.to_string())
        ))),
    }
}

/// Fits and scores every fold.
fn evaluate(
    series: &TimeSeries,
    args: &BacktestArgs,
    options: &ModelOptions,
    origins: &[usize],
    levels: &[Quantile; 3],
    lag: usize,
) -> Result<Summary, CliError> {
    let values = series.values();
    let taus = levels.map(Quantile::get);
    let mut scores = Scores::default();
    for (f, &origin) in origins.iter().enumerate() {
        let train = TimeSeries::new(series.start(), series.step(), values[..origin].to_vec())?;
        let forecast = fit_predict(&train, &args.model, options, args.horizon, levels).map_err(|e| {
            CliError::Input(format!(
                "fold {}/{} (origin {}): {}",
                f + 1,
                origins.len(),
                rfc3339(series.time_at(origin)),
                one_line(&e)
            ))
        })?;
        let actual = &values[origin..origin + args.horizon];
        let scale = seasonal_naive_mae(&values[..origin], lag);
        scores.add_fold(actual, forecast.point(), &taus, forecast.quantile_paths(), scale);
    }
    Ok(scores.summary())
}

/// Renders one row per model as an aligned table: text left-aligned, numbers right-aligned.
fn render_table(rows: &[(String, Summary)], nominal: f64) -> String {
    let header = [
        "model", "MASE", "sMAPE", "pinball", "coverage", "nominal", "actuals",
    ];
    let na = || "n/a".to_string();
    let cells: Vec<[String; 7]> = rows
        .iter()
        .map(|(model, s)| {
            [
                model.clone(),
                s.mase.map_or_else(na, |v| format!("{v:.3}")),
                s.smape.map_or_else(na, |v| format!("{v:.2}%")),
                s.pinball.map_or_else(na, |v| format!("{v:.4}")),
                s.coverage.map_or_else(na, percent),
                percent(nominal),
                s.actuals.to_string(),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|c| cells.iter().map(|r| r[c].len()).fold(header[c].len(), usize::max))
        .collect();
    let line = |fields: &[&str]| {
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
        out.push_str(&line(&row.each_ref().map(String::as_str)));
    }
    out
}

/// Formats a share as a percentage with one decimal, dropping a zero fraction (`0.8` → `80%`).
fn percent(share: f64) -> String {
    let text = format!("{:.1}", share * 100.0);
    let text = text.strip_suffix(".0").unwrap_or(&text);
    format!("{text}%")
}

/// The metric functions: pure, no I/O.
mod metrics {
    /// The pinball (quantile) loss of quantile `q` at level `tau` for the actual `y`.
    pub(super) fn pinball(y: f64, q: f64, tau: f64) -> f64 {
        if y >= q {
            tau * (y - q)
        } else {
            (1.0 - tau) * (q - y)
        }
    }

    /// One sMAPE term in percent (M4): `200·|y − ŷ|/(|y| + |ŷ|)`, 0 when both are 0.
    pub(super) fn smape(y: f64, yhat: f64) -> f64 {
        let denom = y.abs() + yhat.abs();
        if denom == 0.0 {
            0.0
        } else {
            200.0 * (y - yhat).abs() / denom
        }
    }

    /// The in-sample MAE of the seasonal naive forecast at `lag`, over pairs with both values present.
    /// `None` when there is no pair or the MAE is zero, so that it cannot scale anything.
    pub(super) fn seasonal_naive_mae(y: &[f64], lag: usize) -> Option<f64> {
        let diffs: Vec<f64> = (lag..y.len())
            .map(|t| (y[t] - y[t - lag]).abs())
            .filter(|d| !d.is_nan())
            .collect();
        let mae = diffs.iter().sum::<f64>() / diffs.len() as f64;
        (!diffs.is_empty() && mae > 0.0).then_some(mae)
    }

    /// The pooled metrics of every fold.
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub(super) struct Summary {
        /// Scored (present) actuals.
        pub(super) actuals: usize,
        /// Mean absolute scaled error, `None` when undefined.
        pub(super) mase: Option<f64>,
        /// Mean sMAPE, percent.
        pub(super) smape: Option<f64>,
        /// Mean pinball loss over actuals and quantiles.
        pub(super) pinball: Option<f64>,
        /// Share of actuals inside the interval.
        pub(super) coverage: Option<f64>,
    }

    /// Running sums over the folds.
    #[derive(Debug, Default)]
    pub(super) struct Scores {
        actuals: usize,
        scaled: f64,
        mase_undefined: bool,
        smape: f64,
        pinball: f64,
        pinball_terms: usize,
        inside: usize,
    }

    impl Scores {
        /// Adds one fold: the actuals (`NaN` = missing), the point forecast, and the quantile paths at
        /// levels `taus` (increasing); the interval is the first to the last path. `scale` is the MASE
        /// denominator of the fold.
        pub(super) fn add_fold(
            &mut self,
            actual: &[f64],
            point: &[f64],
            taus: &[f64],
            paths: &[Vec<f64>],
            scale: Option<f64>,
        ) {
            let present = actual.iter().filter(|y| !y.is_nan()).count();
            if present > 0 && scale.is_none() {
                self.mase_undefined = true;
            }
            for (h, &y) in actual.iter().enumerate().filter(|(_, y)| !y.is_nan()) {
                self.actuals += 1;
                let err = (y - point[h]).abs();
                self.scaled += scale.map_or(0.0, |s| err / s);
                self.smape += smape(y, point[h]);
                for (tau, path) in taus.iter().zip(paths) {
                    self.pinball += pinball(y, path[h], *tau);
                    self.pinball_terms += 1;
                }
                if let (Some(lo), Some(hi)) = (paths.first(), paths.last()) {
                    self.inside += usize::from(lo[h] <= y && y <= hi[h]);
                }
            }
        }

        /// The means; every metric is `None` when no actual was scored.
        pub(super) fn summary(&self) -> Summary {
            let n = self.actuals as f64;
            let mean = |sum: f64, count: f64| (count > 0.0).then(|| sum / count);
            Summary {
                actuals: self.actuals,
                mase: if self.mase_undefined {
                    None
                } else {
                    mean(self.scaled, n)
                },
                smape: mean(self.smape, n),
                pinball: mean(self.pinball, self.pinball_terms as f64),
                coverage: mean(self.inside as f64, n),
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn close(a: f64, b: f64) -> bool {
            (a - b).abs() < 1e-9
        }

        #[test]
        fn pinball_and_smape_by_hand() {
            // Under-forecast: 0.9·(10 − 8); over-forecast: 0.1·(12 − 10).
            assert!(close(pinball(10.0, 8.0, 0.9), 1.8));
            assert!(close(pinball(10.0, 12.0, 0.9), 0.2));
            assert_eq!(pinball(5.0, 5.0, 0.3), 0.0);
            // 200·10/210
            assert!(close(smape(100.0, 110.0), 2000.0 / 210.0));
            assert_eq!(smape(0.0, 0.0), 0.0);
            assert!(close(smape(0.0, 3.0), 200.0));
        }

        #[test]
        fn seasonal_naive_scale_by_hand() {
            let y = [1.0, 2.0, 4.0, 7.0];
            assert_eq!(seasonal_naive_mae(&y, 1), Some(2.0)); // |1|,|2|,|3|
            assert_eq!(seasonal_naive_mae(&y, 2), Some(4.0)); // |4−1|,|7−2|
            assert_eq!(seasonal_naive_mae(&[1.0, f64::NAN, 4.0, 7.0], 1), Some(3.0)); // only 4→7
            assert_eq!(seasonal_naive_mae(&y, 4), None);
            assert_eq!(seasonal_naive_mae(&[3.0, 3.0, 3.0], 1), None);
        }

        #[test]
        fn pooled_fold_scores_by_hand() {
            let mut s = Scores::default();
            let actual = [10.0, f64::NAN, 20.0];
            let point = [12.0, 5.0, 15.0];
            let paths = vec![vec![9.0, 0.0, 16.0], point.to_vec(), vec![13.0, 9.0, 25.0]];
            s.add_fold(&actual, &point, &[0.1, 0.5, 0.9], &paths, Some(2.0));
            let got = s.summary();
            assert_eq!(got.actuals, 2);
            // |10−12|/2 = 1, |20−15|/2 = 2.5
            assert!(close(got.mase.unwrap(), 1.75));
            // 200·2/22 and 200·5/35
            assert!(close(got.smape.unwrap(), (400.0 / 22.0 + 1000.0 / 35.0) / 2.0));
            // y=10: 0.1·1 + 0.5·2 + 0.1·3; y=20: 0.1·4 + 0.5·5 + 0.1·5; 4.8 over 6 terms
            assert!(close(got.pinball.unwrap(), 0.8));
            // 10 ∈ [9, 13] and 20 ∈ [16, 25]
            assert_eq!(got.coverage, Some(1.0));

            // A second fold: 30 is outside [31, 40], and the flat history makes MASE undefined.
            s.add_fold(
                &[30.0],
                &[35.0],
                &[0.1, 0.5, 0.9],
                &[vec![31.0], vec![35.0], vec![40.0]],
                None,
            );
            let got = s.summary();
            assert_eq!(got.actuals, 3);
            assert!(close(got.coverage.unwrap(), 2.0 / 3.0));
            assert_eq!(got.mase, None);

            assert_eq!(Scores::default().summary().smape, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_non_overlapping_and_end_at_the_end() {
        assert_eq!(origins(100, 10, 3, 1).unwrap(), [70, 80, 90]);
        assert_eq!(origins(32, 10, 3, 1).unwrap(), [2, 12, 22]);
        let e = origins(31, 10, 3, 1).unwrap_err().to_string();
        assert!(
            e.contains("has 31 points") && e.contains("need at least 32"),
            "{e}"
        );
        let e = origins(40, 10, 3, 24).unwrap_err().to_string();
        assert!(e.contains("need at least 55"), "{e}");
        assert!(origins(10, usize::MAX, 2, 1).is_err());
    }

    #[test]
    fn table_is_aligned_with_one_row_per_model() {
        let s = Summary {
            actuals: 72,
            mase: Some(0.81234),
            smape: Some(4.5),
            pinball: None,
            coverage: Some(0.7777),
        };
        let table = render_table(&[("seasonal-naive".into(), s), ("x".into(), s)], 0.8);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "model            MASE  sMAPE  pinball  coverage  nominal  actuals"
        );
        assert_eq!(
            lines[1],
            "seasonal-naive  0.812  4.50%      n/a     77.8%      80%       72"
        );
        assert!(lines[2].starts_with("x     "));
        assert!(lines.iter().all(|l| l.len() == lines[0].len()));
    }

    #[test]
    fn percent_drops_a_zero_fraction() {
        assert_eq!(percent(0.8), "80%");
        assert_eq!(percent(0.95), "95%");
        assert_eq!(percent(0.7777), "77.8%");
        assert_eq!(percent(1.0), "100%");
    }
}
