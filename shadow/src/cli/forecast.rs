//! `shadow forecast`: fits a model to a `timestamp,value` CSV and writes quantile forecasts as CSV.
//!
//! ```text
//! shadow forecast --input FILE.csv --horizon H [--quantiles 0.5,0.9,0.99] [--output FILE]
//!                 [--model auto|arima|auto-arima|ets|mstl|theta|seasonal-naive|...] [--season 1d]
//!                 [--events FILE] [--plot FILE.svg] [--calibrate]
//!                 [--order p,d,q] [--seasonal-order P,D,Q,m] [--trend none|constant|drift]
//! ```
//!
//! The input format is described in [`super::csv`]. Missing values (empty fields or `NaN`) are skipped by
//! every model; the ARIMA models skip them inside the Kalman filter, so the likelihood stays exact.
//!
//! # Models
//!
//! `--model` takes any name of [`shadow_forecast::MODELS`] (see [`shadow_forecast::by_name_with`]); `auto` is
//! the default. `arima` is exactly ARIMA(p,d,q)(P,D,Q)m with the given trend, fitted by exact maximum
//! likelihood, with the meaning of statsmodels' `SARIMAX(order, seasonal_order, trend)` (`constant` = `c`,
//! `drift` = `t` plus a mean without differencing); `--order` is required and `--season` does not apply (use
//! `--seasonal-order`). A `--season` that is not a whole number of steps is an error for every model.
//!
//! # Events, plot and calibration
//!
//! - `--events FILE` reads a TOML or CSV event file ([`shadow_core::events`]). Each label becomes an indicator
//!   regressor over the history and the horizon ([`EventSet::regressors`]); the model estimates its effect
//!   jointly with the rest of the fit, and announced events in the horizon lift the point forecast and the
//!   quantiles. A label announced for the horizon that never occurs in the history is an error naming its line.
//! - `--plot FILE.svg` draws the recent history, the point forecast, the fan of the central 50 %, 80 % and
//!   95 % intervals (besides the requested quantiles) and the events ([`crate::chart::forecast`]).
//! - `--calibrate` wraps the model in [`Conformal`], calibrated at the requested horizon.
//!
//! `--order`, `--seasonal-order` and `--trend` apply only to `arima`; with another model they are an error.
//!
//! # Output contract
//!
//! This format is stable; scripts may rely on it.
//!
//! - The first line is the header `timestamp,<label>,<label>,...`: one column per requested quantile, in
//!   increasing order of level whatever the order on the command line, named by
//!   [`Quantile::label`] (`p` and the percentage: `0.5` → `p50`, `0.999` → `p99.9`). With the default
//!   quantiles it is exactly `timestamp,p50,p90,p99`.
//! - Then exactly `H` rows, one per step after the last grid point of the input, in time order.
//! - `timestamp` is RFC 3339 in UTC with a `Z` suffix and no fraction unless the time has one, for
//!   example `2024-01-01T05:00:00Z`.
//! - Values are printed with Rust's `{}` for `f64`: the shortest text that parses back to the same number
//!   (`100`, `101.5`, `0.30000000000000004`), never in exponent form, never `NaN` or `inf`.
//! - Lines end with `\n`; there is no trailing blank line and no point-forecast column.
//!
//! With `--output`, the CSV goes to a temporary file in the same directory that is then renamed over the
//! target, so readers never see a half-written file. Otherwise it goes to stdout.
//!
//! # Caveats
//! The model is built through [`shadow_forecast::by_name`] and used through the object-safe
//! [`Forecaster`] trait, which does not expose model-specific diagnostics: a seasonal-naive fallback to the
//! naive forecast on a short history is not reported.

use std::{
    ffi::OsString,
    fs::{self, File},
    io::{self, BufWriter, Write},
    path::Path,
    sync::Arc,
    time::Duration,
};

use chrono::TimeDelta;
use shadow_core::{
    FitInput, FittedModel, Forecast, Forecaster, PredictRequest, Quantile, Regressors, TimeSeries,
    events::EventSet,
};
use shadow_forecast::{
    ModelOptions, Order, SeasonalOrder, Trend,
    conformal::{Conformal, ConformalOptions},
};

use crate::chart::forecast::forecast_chart;

use super::{
    CliError,
    args::{ArimaArgs, ForecastArgs},
    csv::{read_series, write_forecast},
    one_line,
};

/// The largest horizon accepted, in steps.
pub const MAX_HORIZON: usize = 1_000_000;

/// Runs `shadow forecast`.
///
/// # Errors
/// A one-line [`CliError`]: bad arguments, a bad input file, a model that fails to fit, or an output that
/// cannot be written.
pub fn main(args: ForecastArgs) -> Result<(), CliError> {
    check_horizon(args.horizon)?;
    let levels = parse_levels(&args.quantiles)?;
    let options = model_options(args.season, &args.arima)?;
    let series = read_series(&args.input)?;
    check_time_range(&series, args.horizon)?;
    if let Some(season) = args.season {
        // Every model needs a whole number of steps; say so before any fit.
        super::backtest::Span::Duration(season).steps("--season", series.step())?;
    }
    let events = args
        .events
        .as_deref()
        .map(EventSet::from_path)
        .transpose()
        .map_err(|e| CliError::Input(format!("--events: {}", one_line(&e))))?;
    let (past, future) = match &events {
        Some(set) => set
            .regressors(series.start(), series.step(), series.len(), args.horizon)
            .map_err(|e| CliError::Input(format!("--events: {}", one_line(&e))))?,
        None => (Regressors::empty(), Regressors::empty()),
    };
    let mut model: Arc<dyn Forecaster> = build_model(&args.model, &options)?.into();
    if args.calibrate {
        model = Arc::new(Conformal::with_options(
            model,
            ConformalOptions::default().with_horizon(args.horizon),
        ));
    }
    // The plot shows a fan of central intervals besides the requested quantiles; the CSV has only those.
    let mut all_levels = levels.clone();
    if args.plot.is_some() {
        for v in PLOT_LEVELS {
            let q = Quantile::try_new(v).expect("valid level");
            if !all_levels.contains(&q) {
                all_levels.push(q);
            }
        }
        all_levels.sort();
    }
    let input = FitInput::new(&series).with_regressors(&past)?;
    let fitted = model.fit_boxed(&input)?;
    let full =
        fitted.predict_boxed(&PredictRequest::new(args.horizon, &all_levels).with_regressors(&future))?;
    let forecast = select_levels(&full, &levels)?;
    if let Some(path) = &args.plot {
        let title = format!(
            "{} — {} forecast, {} steps{}",
            args.input.display(),
            model.name(),
            args.horizon,
            if events.is_some() { ", with events" } else { "" }
        );
        let evs = events.as_ref().map_or(&[][..], EventSet::events);
        write_atomic(path, |w| {
            w.write_all(
                forecast_chart(&title, &series, &full, evs, None)
                    .to_svg()
                    .as_bytes(),
            )
        })?;
    }
    match &args.output {
        Some(path) => write_atomic(path, |w| write_forecast(w, &forecast)),
        None => {
            let mut w = BufWriter::new(io::stdout().lock());
            write_forecast(&mut w, &forecast)
                .and_then(|()| w.flush())
                .map_err(|e| CliError::io("stdout", e))
        }
    }
}

/// The central intervals the plot's fan shows besides the requested quantiles.
const PLOT_LEVELS: [f64; 7] = [0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975];

/// The forecast restricted to `levels` (all of which it has).
fn select_levels(full: &Forecast, levels: &[Quantile]) -> Result<Forecast, CliError> {
    let paths = levels
        .iter()
        .map(|l| full.quantile(*l).map(<[f64]>::to_vec))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| CliError::Input("the model did not return every requested quantile".into()))?;
    Ok(Forecast::new(
        full.start(),
        full.step(),
        full.point().to_vec(),
        levels.to_vec(),
        paths,
    )?)
}

/// Checks that a horizon is at least 1 and at most [`MAX_HORIZON`].
///
/// # Errors
/// [`CliError::Input`] naming `--horizon`.
pub fn check_horizon(horizon: usize) -> Result<(), CliError> {
    if horizon == 0 || horizon > MAX_HORIZON {
        return Err(CliError::Input(format!(
            "--horizon must be between 1 and {MAX_HORIZON} steps, got {horizon}"
        )));
    }
    Ok(())
}

/// Validates quantile levels and returns them in increasing order.
///
/// # Errors
/// [`CliError::Input`] naming `--quantiles` when a level is not strictly between 0 and 1, a level repeats,
/// two levels would print with the same column label, or there are none.
pub fn parse_levels(raw: &[f64]) -> Result<Vec<Quantile>, CliError> {
    let bad = |msg: String| CliError::Input(format!("--quantiles: {msg}"));
    if raw.is_empty() {
        return Err(bad("give at least one level, such as 0.5,0.9".into()));
    }
    let mut levels = raw
        .iter()
        .map(|&q| Quantile::try_new(q).map_err(|e| bad(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    levels.sort();
    for w in levels.windows(2) {
        if w[0] == w[1] {
            return Err(bad(format!("{} appears twice", w[0])));
        }
        if w[0].label() == w[1].label() {
            return Err(bad(format!(
                "{} and {} would both be labelled {}",
                w[0],
                w[1],
                w[0].label()
            )));
        }
    }
    Ok(levels)
}

/// Parses `--order`, `--seasonal-order` and `--trend` into model options with the season `season`.
///
/// # Errors
/// [`CliError::Input`] naming the flag when its value does not parse.
pub fn model_options(season: Option<Duration>, arima: &ArimaArgs) -> Result<ModelOptions, CliError> {
    fn flag(name: &'static str) -> impl Fn(shadow_forecast::Error) -> CliError {
        move |e| match e {
            shadow_forecast::Error::InvalidParameter { message, .. } => {
                CliError::Input(format!("{name}: {message}"))
            }
            other => CliError::Input(format!("{name}: {other}")),
        }
    }
    let mut options = ModelOptions::new().with_season(season);
    if let Some(s) = &arima.order {
        options = options.with_order(Order::parse(s).map_err(flag("--order"))?);
    }
    if let Some(s) = &arima.seasonal_order {
        options = options.with_seasonal_order(SeasonalOrder::parse(s).map_err(flag("--seasonal-order"))?);
    }
    if let Some(s) = &arima.trend {
        options = options.with_trend(Trend::parse(s).map_err(flag("--trend"))?);
    }
    Ok(options)
}

/// Builds the model named `model` with `options`, fits it to `series` and forecasts `horizon` steps at
/// `levels`.
///
/// # Errors
/// [`CliError::Input`] naming the flag for an unknown model name, options that do not fit the model, absurd
/// orders, or a horizon that runs past the last representable time; [`CliError::Shadow`] when the model fails
/// to fit or predict.
pub fn fit_predict(
    series: &TimeSeries,
    model: &str,
    options: &ModelOptions,
    horizon: usize,
    levels: &[Quantile],
) -> Result<Forecast, CliError> {
    check_time_range(series, horizon)?;
    let forecaster = build_model(model, options)?;
    let fitted = forecaster.fit_boxed(&FitInput::new(series))?;
    Ok(fitted.predict_boxed(&PredictRequest::new(horizon, levels))?)
}

/// Builds the model named `model` (any name of [`shadow_forecast::MODELS`]) with `options`.
///
/// # Errors
/// [`CliError::Input`] naming the flag for an unknown model name, options that do not fit the model, or absurd
/// orders.
pub fn build_model(model: &str, options: &ModelOptions) -> Result<Box<dyn Forecaster>, CliError> {
    shadow_forecast::by_name_with(model, options).map_err(|e| match e {
        shadow_core::Error::Config { field, message } => {
            let flag = match field.as_str() {
                "forecast.order" => "--order",
                "forecast.seasonal_order" => "--seasonal-order",
                "forecast.trend" => "--trend",
                "forecast.season" => "--season",
                _ => "--model",
            };
            CliError::Input(format!("{flag}: {message}"))
        }
        other => CliError::Shadow(other),
    })
}

/// Checks that every forecast timestamp is representable, so that computing them cannot overflow.
fn check_time_range(series: &TimeSeries, horizon: usize) -> Result<(), CliError> {
    let last = series.time_at(series.len().saturating_sub(1));
    let reach = i64::try_from(series.step().as_millis())
        .ok()
        .zip(i64::try_from(horizon).ok())
        .and_then(|(step, h)| step.checked_mul(h))
        .and_then(TimeDelta::try_milliseconds)
        .and_then(|d| last.checked_add_signed(d));
    match reach {
        Some(_) => Ok(()),
        None => Err(CliError::Input(format!(
            "--horizon {horizon} at a {} step runs past the last representable time",
            humantime::format_duration(series.step())
        ))),
    }
}

/// Writes through `write` to a temporary file next to `path`, then renames it over `path`.
fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> Result<(), CliError> {
    let Some(name) = path.file_name() else {
        return Err(CliError::Input(format!(
            "--output `{}` does not name a file",
            path.display()
        )));
    };
    let mut tmp_name = OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let written = (|| {
        let mut w = BufWriter::new(File::create(&tmp)?);
        write(&mut w)?;
        let file = w.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    written.map_err(|e| {
        // Best effort: the temporary file may not exist if creating it failed.
        let _ = fs::remove_file(&tmp);
        CliError::io(path.display(), e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_sorted_and_validated() {
        let got = parse_levels(&[0.99, 0.5, 0.9]).unwrap();
        let labels: Vec<String> = got.iter().map(|q| q.label()).collect();
        assert_eq!(labels, ["p50", "p90", "p99"]);
        for (raw, want) in [
            (vec![0.5, 0.5], "0.5 appears twice"),
            (vec![1.5], "1.5 is not strictly between 0 and 1"),
            (vec![0.0], "0 is not strictly between 0 and 1"),
            (vec![f64::NAN], "NaN is not strictly between"),
            (
                vec![0.1234567001, 0.1234567002],
                "would both be labelled p12.34567",
            ),
            (vec![], "at least one level"),
        ] {
            let e = parse_levels(&raw).unwrap_err().to_string();
            assert!(e.starts_with("--quantiles: ") && e.contains(want), "{raw:?}: {e}");
        }
    }

    #[test]
    fn arima_flags_parse_or_name_the_flag() {
        let args = ArimaArgs {
            order: Some("2, 1, 1".into()),
            seasonal_order: Some("1,1,1,24".into()),
            trend: Some("drift".into()),
        };
        let o = model_options(None, &args).unwrap();
        assert_eq!(o.order, Some(Order::new(2, 1, 1)));
        assert_eq!(o.seasonal_order, Some(SeasonalOrder::new(1, 1, 1, 24)));
        assert_eq!(o.trend, Some(Trend::Drift));
        for (args, want) in [
            (
                ArimaArgs {
                    order: Some("1,x,0".into()),
                    ..ArimaArgs::default()
                },
                "--order: `1,x,0` is not 3 comma-separated integers",
            ),
            (
                ArimaArgs {
                    seasonal_order: Some("1,1,1".into()),
                    ..ArimaArgs::default()
                },
                "--seasonal-order: `1,1,1` is not 4",
            ),
            (
                ArimaArgs {
                    trend: Some("linear".into()),
                    ..ArimaArgs::default()
                },
                "--trend: unknown trend `linear`",
            ),
        ] {
            let e = model_options(None, &args).unwrap_err().to_string();
            assert!(e.starts_with(want), "{e}");
        }
    }

    #[test]
    fn horizon_bounds() {
        assert!(check_horizon(1).is_ok());
        assert!(check_horizon(0).unwrap_err().to_string().contains("--horizon"));
        assert!(check_horizon(MAX_HORIZON + 1).is_err());
    }
}
