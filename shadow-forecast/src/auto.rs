//! `auto`: the default model. It backtests a set of candidate models on the end of the training data and
//! combines the best of them with weights from that backtest.
//!
//! **Candidates** (all take event regressors):
//! - `mstl-log`, `theta-log`, `arima-log`: MSTL with periods from the step (a day and a week, each confirmed
//!   by the periodogram), in logs, with AutoETS, Theta or a non-seasonal AutoARIMA on the adjusted series.
//!   For a strictly positive series; otherwise `mstl`, `theta`, `arima`, the same on the raw values. (Both
//!   transforms of this family would double the run time, the ARIMA fits being most of it, and the raw ones
//!   were rarely among the best on a positive series.)
//! - `seasonal-ar` and, for a strictly positive series, `seasonal-ar-log`: a least-squares autoregression
//!   on the last 3 values and on the lags `m − 1, m, m + 1` of each season ([`crate::seasonal_ar`]). The
//!   neighbouring seasonal lags follow a daily shape whose phase drifts, which a repeated seasonal profile
//!   cannot; it is cheap, so both transforms are tried.
//! - `seasonal-naive`: the last week (or day) repeated, a robust anchor for very regular series.
//! - `seasonal-mean-2`, `seasonal-mean-3`: the mean of the last 2 or 3 weeks (or days) at the same position
//!   ([`crate::seasonal_mean::SeasonalMean`]), a less noisy anchor.
//!
//! **Backtest.** Rolling origin inside the training data: [`Auto::with_folds`] origins (default 3), each
//! [`Auto::with_validation`] steps (default two of the shortest season, or 24 steps without one) before the
//! next, the last one that many steps before the end. Each candidate is scored per fold by
//! `½(sMAPE/best sMAPE + MAE/best MAE)` (the OWA idea, relative to the best candidate on the fold) and the
//! fold scores are averaged.
//!
//! **Combination.** The [`Auto::with_top`] best candidates (default 3) are refitted on the whole history and
//! their point forecasts and quantiles averaged with weights proportional to `1/score²`. The fitted model
//! reports every candidate's score, the weights, and the winner ([`FittedAuto::report`]).
//!
//! **Calibration.** The backtest's fold forecasts of the combined members, weighted as in the final
//! combination, give the combination's own errors at no extra fitting cost. At predict time they replace the
//! members' Gaussian quantiles by calibrated ones ([`crate::calibration::FoldCalibration`]: an empirical tail
//! shape and a scale shrunk towards the members' own, for the few folds). Without a scorable fold the
//! members' quantiles stay; [`FittedAuto::calibration`] says which. [`Auto::with_calibration`] turns it off.
//!
//! **Short series.** Without room for one validation fold after `2·validation` points of history, the backtest
//! is skipped and the result is MSTL on the raw values (itself falling back to AutoETS without a season); the
//! report says so.

use std::{fmt, time::Duration};

use shadow_core::{
    Fit, FitInput, FittedModel, Forecast, Forecaster, Named, Predict, PredictRequest, Quantile, TimeSeries,
};

use crate::{
    backtest::{Fold, slice_regressors},
    calibration::FoldCalibration,
    effects::sort_quantiles,
    error::{Error, Result, check_series},
    metrics,
    mstl::{AdjustedKind, Mstl, Transform},
    periods,
    seasonal_ar::SeasonalAr,
    seasonal_mean::SeasonalMean,
    seasonal_naive::{Season, SeasonalNaive},
};

/// The default model: a backtest-weighted combination of MSTL variants (AutoETS, Theta or AutoARIMA on the
/// adjusted series), seasonal-lag autoregressions, seasonal naive and seasonal means. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auto {
    season: Option<Duration>,
    validation: Option<usize>,
    folds: usize,
    top: usize,
    calibrate: bool,
}

impl Default for Auto {
    fn default() -> Self {
        Self::new()
    }
}

impl Auto {
    /// Periods from the step, three folds, the best three candidates combined.
    #[must_use]
    pub fn new() -> Self {
        Self {
            season: None,
            validation: None,
            folds: 3,
            top: 3,
            calibrate: true,
        }
    }

    /// Uses one season of this length instead of detecting the periods.
    #[must_use]
    pub fn with_season(mut self, season: Option<Duration>) -> Self {
        self.season = season;
        self
    }

    /// Sets the length of each validation fold, in steps.
    #[must_use]
    pub fn with_validation(mut self, steps: usize) -> Self {
        self.validation = Some(steps.max(1));
        self
    }

    /// Sets the number of validation folds (at least 1).
    #[must_use]
    pub fn with_folds(mut self, folds: usize) -> Self {
        self.folds = folds.max(1);
        self
    }

    /// Sets how many of the best candidates are combined (1 = pure selection).
    #[must_use]
    pub fn with_top(mut self, top: usize) -> Self {
        self.top = top.max(1);
        self
    }

    /// Whether to calibrate the quantiles on the backtest folds (default `true`; see the module docs).
    #[must_use]
    pub fn with_calibration(mut self, calibrate: bool) -> Self {
        self.calibrate = calibrate;
        self
    }

    /// The candidates: with `logs` (a strictly positive series with a backtest), the MSTL family in logs
    /// only and seasonal-ar both ways; otherwise everything on the raw values.
    fn candidates(&self, logs: bool) -> Vec<(&'static str, Box<dyn Forecaster>)> {
        let mstl = Mstl::new().with_season(self.season);
        let ar = SeasonalAr::new().with_season(self.season);
        let mut out: Vec<(&'static str, Box<dyn Forecaster>)> = Vec::new();
        if logs {
            let mstl = mstl.with_transform(Transform::Log);
            out.push(("mstl-log", Box::new(mstl.clone())));
            out.push(("theta-log", Box::new(mstl.clone().with_theta())));
            out.push(("arima-log", Box::new(mstl.with_adjusted(AdjustedKind::Arima))));
            out.push((
                "seasonal-ar-log",
                Box::new(ar.clone().with_transform(Transform::Log)),
            ));
        } else {
            out.push(("mstl", Box::new(mstl.clone())));
            out.push(("theta", Box::new(mstl.clone().with_theta())));
            out.push(("arima", Box::new(mstl.with_adjusted(AdjustedKind::Arima))));
        }
        out.push(("seasonal-ar", Box::new(ar)));
        let season = self.season.map_or(Season::Auto, Season::Duration);
        out.push(("seasonal-naive", Box::new(SeasonalNaive::new(season))));
        out.push(("seasonal-mean-2", Box::new(SeasonalMean::new(2))));
        out.push(("seasonal-mean-3", Box::new(SeasonalMean::new(3))));
        out
    }
}

impl Named for Auto {
    fn model_name(&self) -> &str {
        "auto"
    }
}

/// One candidate's backtest result.
#[derive(Debug, Clone, PartialEq)]
pub struct CandidateScore {
    /// The candidate's name.
    pub name: &'static str,
    /// Mean relative score over the folds (1 = best on every fold); `None` when it failed on a fold.
    pub score: Option<f64>,
    /// Mean sMAPE over the folds, percent.
    pub smape: Option<f64>,
    /// Its weight in the combination (0 when not combined).
    pub weight: f64,
}

/// What `auto` chose and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// Every candidate, best first.
    pub candidates: Vec<CandidateScore>,
    /// Validation folds and their length.
    pub folds: usize,
    /// Steps per fold.
    pub validation: usize,
    /// Set when the backtest was skipped or a candidate failed.
    pub note: Option<String>,
}

impl Selection {
    /// The name of the candidate with the largest weight.
    #[must_use]
    pub fn winner(&self) -> &str {
        self.candidates
            .iter()
            .max_by(|a, b| a.weight.total_cmp(&b.weight))
            .map_or("none", |c| c.name)
    }
}

impl fmt::Display for Selection {
    /// `winner mstl-log; combined mstl-log 0.52, theta-log 0.31, mstl 0.17 by 1/score² over 3 folds of 48`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "winner {}", self.winner())?;
        let used: Vec<String> = self
            .candidates
            .iter()
            .filter(|c| c.weight > 0.0)
            .map(|c| format!("{} {:.2}", c.name, c.weight))
            .collect();
        if self.folds > 0 {
            write!(
                f,
                "; combined {} by 1/score² over {} backtest folds of {} steps",
                used.join(", "),
                self.folds,
                self.validation
            )?;
        }
        if let Some(note) = &self.note {
            write!(f, "; {note}")?;
        }
        Ok(())
    }
}

/// A fitted [`Auto`]: the weighted members and the [`Selection`] report.
#[derive(Debug)]
pub struct FittedAuto {
    members: Vec<(f64, Box<dyn FittedModel>)>,
    report: Selection,
    calibration: Option<FoldCalibration>,
    start: chrono::DateTime<chrono::Utc>,
    step: Duration,
}

impl FittedAuto {
    /// Which model won and why.
    #[must_use]
    pub fn report(&self) -> &Selection {
        &self.report
    }

    /// The calibration of the quantiles on the backtest folds, if any (`None`: the members' own quantiles).
    #[must_use]
    pub fn calibration(&self) -> Option<&FoldCalibration> {
        self.calibration.as_ref()
    }

    /// The weighted mean of the members' forecasts.
    fn combine(&self, request: &PredictRequest<'_>, out: &mut Forecast) -> Result<()> {
        out.reset(self.start, self.step, request.horizon, request.levels)?;
        for (w, model) in &self.members {
            let f = model.predict_boxed(request)?;
            for (o, p) in out.point_mut().iter_mut().zip(f.point()) {
                *o += w * p;
            }
            for (o, p) in out.quantile_paths_mut().iter_mut().zip(f.quantile_paths()) {
                for (a, b) in o.iter_mut().zip(p) {
                    *a += w * b;
                }
            }
        }
        sort_quantiles(out);
        out.finish()?;
        Ok(())
    }
}

/// The default validation length: two of the shortest detected season, or 24 steps.
fn default_validation(y: &[f64], step: Duration, season: Option<Duration>) -> usize {
    let from_season = season.and_then(|d| {
        let (ms, s) = (d.as_millis(), step.as_millis().max(1));
        (ms % s == 0 && ms >= s).then(|| usize::try_from(ms / s).unwrap_or(usize::MAX))
    });
    let m = from_season.or_else(|| periods::detect(y, step).first().copied());
    m.map_or(24, |m| 2 * m)
}

impl Fit for Auto {
    type Fitted = FittedAuto;
    type Error = Error;

    fn fit(&self, input: &FitInput<'_>) -> Result<FittedAuto> {
        let series = input.series;
        let y = series.values();
        let n = y.len();
        check_series(y, 4)?;
        let positive = y.iter().filter(|v| !v.is_nan()).all(|&v| v > 0.0);
        let v = self
            .validation
            .unwrap_or_else(|| default_validation(y, series.step(), self.season));
        let folds = (0..self.folds).filter(|k| n >= (k + 1) * v + 2 * v).count();
        let candidates = self.candidates(positive && folds > 0);
        let mut note = None;
        let mut scores: Vec<Vec<Option<(f64, f64)>>> = vec![Vec::new(); candidates.len()];
        // Every candidate's fold forecasts (with the spread levels), kept for the calibration.
        let spread_levels = FoldCalibration::spread_levels();
        let mut fold_forecasts: Vec<Vec<Option<Forecast>>> = vec![Vec::new(); candidates.len()];
        let mut fold_actuals: Vec<(usize, Vec<f64>)> = Vec::new();
        for k in (0..folds).rev() {
            let origin = n - (k + 1) * v;
            let actual = &y[origin..origin + v];
            if actual.iter().all(|a| a.is_nan()) {
                continue;
            }
            let train = TimeSeries::new(series.start(), series.step(), y[..origin].to_vec())?;
            let past = slice_regressors(input.regressors, 0, origin)?;
            let future = slice_regressors(input.regressors, origin, origin + v)?;
            let fit_input = FitInput::new(&train).with_regressors(&past)?;
            let request = PredictRequest::new(v, &spread_levels).with_regressors(&future);
            fold_actuals.push((origin, actual.to_vec()));
            for (c, (_, model)) in candidates.iter().enumerate() {
                let forecast = model
                    .fit_boxed(&fit_input)
                    .and_then(|f| f.predict_boxed(&request))
                    .ok();
                let result = forecast.as_ref().and_then(|f| {
                    let mae = mean_abs(actual, f.point())?;
                    Some((metrics::smape(actual, f.point())?, mae))
                });
                scores[c].push(result);
                fold_forecasts[c].push(forecast);
            }
        }
        let fold_count = scores.first().map_or(0, Vec::len);
        let mut rel = vec![Some(0.0); candidates.len()];
        let mut smapes = vec![Some(0.0); candidates.len()];
        for f in 0..fold_count {
            let best = |g: fn(&(f64, f64)) -> f64| {
                scores
                    .iter()
                    .filter_map(|s| s[f].as_ref().map(g))
                    .fold(f64::INFINITY, f64::min)
                    .max(1e-12)
            };
            let (bs, bm) = (best(|p| p.0), best(|p| p.1));
            let wf = 1.0 / fold_count as f64;
            for c in 0..candidates.len() {
                rel[c] = rel[c].zip(scores[c][f]).map(|(acc, (s, m))| {
                    let s_rel = if bs > 1e-12 { s / bs } else { 1.0 };
                    acc + 0.5 * (s_rel + m / bm) * wf
                });
                smapes[c] = smapes[c]
                    .zip(scores[c][f])
                    .map(|(acc, (s, _))| acc + s / fold_count as f64);
            }
        }
        let mut ranked: Vec<CandidateScore> = candidates
            .iter()
            .enumerate()
            .map(|(c, (name, _))| CandidateScore {
                name,
                score: if fold_count > 0 { rel[c] } else { None },
                smape: if fold_count > 0 { smapes[c] } else { None },
                weight: 0.0,
            })
            .collect();
        ranked.sort_by(|a, b| {
            a.score
                .unwrap_or(f64::INFINITY)
                .total_cmp(&b.score.unwrap_or(f64::INFINITY))
        });
        let chosen: Vec<usize> = if fold_count == 0 {
            note = Some(format!(
                "history of {n} points is too short for a backtest of {v} steps; using MSTL alone"
            ));
            let i = ranked.iter().position(|c| c.name == "mstl").unwrap_or(0);
            ranked[i].weight = 1.0;
            vec![i]
        } else {
            let top: Vec<usize> = (0..ranked.len())
                .filter(|&i| ranked[i].score.is_some())
                .take(self.top)
                .collect();
            let total: f64 = top
                .iter()
                .map(|&i| ranked[i].score.map_or(0.0, |s| 1.0 / (s * s)))
                .sum();
            for &i in &top {
                ranked[i].weight = ranked[i].score.map_or(0.0, |s| 1.0 / (s * s)) / total;
            }
            if ranked.iter().any(|c| c.score.is_none()) {
                let failed: Vec<&str> = ranked
                    .iter()
                    .filter(|c| c.score.is_none())
                    .map(|c| c.name)
                    .collect();
                note = Some(format!("failed in the backtest: {}", failed.join(", ")));
            }
            top
        };
        let mut members = Vec::new();
        for &i in &chosen {
            let name = ranked[i].name;
            let Some((_, model)) = candidates.iter().find(|(n, _)| *n == name) else {
                continue;
            };
            match model.fit_boxed(input) {
                Ok(f) => members.push((ranked[i].weight, f)),
                Err(e) if chosen.len() == 1 => return Err(e.into()),
                Err(_) => ranked[i].weight = 0.0,
            }
        }
        if members.is_empty() {
            return Err(Error::NoBestParameter);
        }
        let total: f64 = members.iter().map(|m| m.0).sum();
        for m in &mut members {
            m.0 /= total;
        }
        for c in &mut ranked {
            c.weight /= total;
        }
        let calibration = if self.calibrate {
            let weights: Vec<(f64, &[Option<Forecast>])> = ranked
                .iter()
                .filter(|c| c.weight > 0.0)
                .filter_map(|c| {
                    let i = candidates.iter().position(|(n, _)| *n == c.name)?;
                    Some((c.weight, fold_forecasts[i].as_slice()))
                })
                .collect();
            let folds = combined_folds(&fold_actuals, &weights);
            FoldCalibration::from_folds(series, &folds)
        } else {
            None
        };
        Ok(FittedAuto {
            members,
            calibration,
            report: Selection {
                candidates: ranked,
                folds: fold_count,
                validation: v,
                note,
            },
            start: series.end(),
            step: series.step(),
        })
    }
}

/// The folds of the weighted combination of the members' fold forecasts; a fold that a member failed is
/// left out.
fn combined_folds(actuals: &[(usize, Vec<f64>)], members: &[(f64, &[Option<Forecast>])]) -> Vec<Fold> {
    let mut out = Vec::new();
    for (f, (origin, actual)) in actuals.iter().enumerate() {
        let forecasts: Option<Vec<(f64, &Forecast)>> = members
            .iter()
            .map(|(w, fc)| fc.get(f).and_then(Option::as_ref).map(|fc| (*w, fc)))
            .collect();
        let Some(forecasts) = forecasts.filter(|v| !v.is_empty()) else {
            continue;
        };
        let first = forecasts[0].1;
        let mut point = vec![0.0; first.horizon()];
        let mut paths = vec![vec![0.0; first.horizon()]; first.levels().len()];
        for (w, fc) in &forecasts {
            for (o, p) in point.iter_mut().zip(fc.point()) {
                *o += w * p;
            }
            for (o, p) in paths.iter_mut().zip(fc.quantile_paths()) {
                for (a, b) in o.iter_mut().zip(p) {
                    *a += w * b;
                }
            }
        }
        let mut forecast = Forecast::empty();
        if forecast
            .reset(first.start(), first.step(), first.horizon(), first.levels())
            .is_err()
        {
            continue;
        }
        forecast.point_mut().copy_from_slice(&point);
        for (o, p) in forecast.quantile_paths_mut().iter_mut().zip(paths) {
            o.copy_from_slice(&p);
        }
        sort_quantiles(&mut forecast);
        if forecast.finish().is_ok() {
            out.push(Fold {
                origin: *origin,
                actual: actual.clone(),
                forecast,
            });
        }
    }
    out
}

fn mean_abs(actual: &[f64], point: &[f64]) -> Option<f64> {
    let (mut s, mut k) = (0.0, 0usize);
    for (a, p) in actual.iter().zip(point) {
        if !a.is_nan() {
            s += (a - p).abs();
            k += 1;
        }
    }
    (k > 0).then(|| s / k as f64)
}

impl Predict for FittedAuto {
    type Error = Error;

    fn predict_inplace(&self, request: &PredictRequest<'_>, out: &mut Forecast) -> Result<()> {
        let Some(cal) = &self.calibration else {
            return self.combine(request, out);
        };
        let levels: &[Quantile] = request.levels;
        let spread_levels = FoldCalibration::spread_levels();
        let mut raw = Forecast::empty();
        self.combine(
            &PredictRequest::new(request.horizon, &spread_levels).with_regressors(request.regressors),
            &mut raw,
        )?;
        let calibrated = cal.apply(&raw, levels)?;
        out.reset(self.start, self.step, request.horizon, levels)?;
        out.point_mut().copy_from_slice(calibrated.point());
        for (o, p) in out
            .quantile_paths_mut()
            .iter_mut()
            .zip(calibrated.quantile_paths())
        {
            o.copy_from_slice(p);
        }
        out.finish()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use shadow_core::{Event, Regressors, TimeRange};

    use super::*;
    use crate::test_support::{hourly, levels, noise};

    fn truth(t: usize) -> f64 {
        let day = (2.0 * std::f64::consts::PI * (t % 24) as f64 / 24.0).sin();
        let weekend = if (t / 24) % 7 >= 5 { -25.0 } else { 0.0 };
        300.0 + 0.02 * t as f64 + 40.0 * day + weekend
    }

    #[test]
    fn combines_the_best_candidates_and_reports_why() {
        let n = 24 * 7 * 5;
        let e = noise(11, n);
        let y: Vec<f64> = (0..n).map(|t| truth(t) + 3.0 * e[t]).collect();
        let fitted = Auto::new().fit(&FitInput::new(&hourly(y))).unwrap();
        let report = fitted.report();
        assert_eq!(report.folds, 3);
        assert_eq!(report.validation, 48);
        let names: Vec<&str> = report.candidates.iter().map(|c| c.name).collect();
        for name in [
            "mstl-log",
            "theta-log",
            "arima-log",
            "seasonal-ar-log",
            "seasonal-ar",
        ] {
            assert!(names.contains(&name), "{names:?}");
        }
        // A positive series runs the MSTL family in logs only.
        assert!(!names.contains(&"mstl") && !names.contains(&"arima"), "{names:?}");
        let total: f64 = report.candidates.iter().map(|c| c.weight).sum();
        assert!((total - 1.0).abs() < 1e-9);
        assert_eq!(report.candidates.iter().filter(|c| c.weight > 0.0).count(), 3);
        // Best first, and the winner is among the combined ones.
        assert!(report.candidates[0].score <= report.candidates[1].score);
        let text = report.to_string();
        assert!(text.starts_with(&format!("winner {}", report.winner())), "{text}");
        let f = fitted.predict(&PredictRequest::new(48, &levels())).unwrap();
        let mae = (0..48).map(|h| (f.point()[h] - truth(n + h)).abs()).sum::<f64>() / 48.0;
        assert!(mae < 6.0, "mae {mae}");
    }

    #[test]
    fn quantiles_are_calibrated_on_the_backtest_folds() {
        // A daily cycle with spiky noise (small errors, a large jump every 11 hours). The calibration is
        // learned from the two backtest folds, replaces the members' quantiles (not the point) and covers
        // near the nominal levels on held-out days. Its behaviour on known error laws is tested in
        // `crate::calibration`.
        let n = 24 * 7 * 6;
        let e = noise(21, n);
        let y: Vec<f64> = (0..n)
            .map(|t| {
                let spike = if t % 11 == 0 { 25.0 * e[t] } else { 0.0 };
                truth(t) + e[t] + spike
            })
            .collect();
        let lv = [0.025, 0.1, 0.5, 0.9, 0.975].map(|v| Quantile::try_new(v).unwrap());
        let (mut raw_cov, mut cal_cov, mut cal_cov95) = (Vec::new(), Vec::new(), Vec::new());
        for origin in [n - 3 * 48, n - 2 * 48, n - 48] {
            let train = hourly(y[..origin].to_vec());
            let actual = &y[origin..origin + 48];
            let fitted = Auto::new().fit(&FitInput::new(&train)).unwrap();
            let cal = fitted.calibration().expect("calibrated");
            assert_eq!((cal.folds(), cal.scored()), (3, 144));
            let f = fitted.predict(&PredictRequest::new(48, &lv)).unwrap();
            let p = f.quantile_paths();
            assert!((0..48).all(|h| (0..4).all(|k| p[k][h] <= p[k + 1][h])));
            cal_cov.push(metrics::coverage(actual, &p[1], &p[3]).unwrap());
            cal_cov95.push(metrics::coverage(actual, &p[0], &p[4]).unwrap());
            let raw = Auto::new()
                .with_calibration(false)
                .fit(&FitInput::new(&train))
                .unwrap();
            assert!(raw.calibration().is_none());
            let r = raw.predict(&PredictRequest::new(48, &lv)).unwrap();
            assert_eq!(r.point(), f.point(), "calibration keeps the point forecast");
            assert_ne!(
                r.quantile_paths(),
                f.quantile_paths(),
                "the calibration is applied"
            );
            raw_cov.push(metrics::coverage(actual, &r.quantile_paths()[1], &r.quantile_paths()[3]).unwrap());
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let (raw80, cal80, cal95) = (mean(&raw_cov), mean(&cal_cov), mean(&cal_cov95));
        assert!(
            (0.6..=0.95).contains(&raw80),
            "the members' own 80% interval covers {raw80}"
        );
        assert!(
            (0.7..=0.9).contains(&cal80),
            "calibrated 80% covers {cal80} (raw {raw80})"
        );
        assert!(cal95 >= 0.9, "calibrated 95% covers {cal95}");
    }

    #[test]
    fn short_history_skips_the_backtest_and_says_so() {
        let y: Vec<f64> = (0..60).map(truth).collect();
        let fitted = Auto::new().fit(&FitInput::new(&hourly(y))).unwrap();
        assert_eq!(fitted.report().folds, 0);
        assert_eq!(fitted.report().winner(), "mstl");
        assert!(fitted.report().note.as_deref().unwrap().contains("too short"));
    }

    #[test]
    fn non_positive_series_skip_the_log_candidates() {
        let n = 24 * 7 * 3;
        let y: Vec<f64> = (0..n).map(|t| truth(t) - 300.0).collect();
        let fitted = Auto::new().fit(&FitInput::new(&hourly(y))).unwrap();
        let names: Vec<&str> = fitted.report().candidates.iter().map(|c| c.name).collect();
        assert!(names.iter().all(|c| !c.ends_with("-log")), "{names:?}");
        assert!(
            names.contains(&"mstl") && names.contains(&"seasonal-ar"),
            "{names:?}"
        );
    }

    #[test]
    fn an_announced_event_lifts_the_combined_forecast() {
        let t = |h: usize| Utc.timestamp_opt(h as i64 * 3600, 0).unwrap();
        let n = 24 * 7 * 4;
        let e = noise(12, n);
        let mut y: Vec<f64> = (0..n).map(|t| truth(t) + 2.0 * e[t]).collect();
        for v in &mut y[300..308] {
            *v += 120.0;
        }
        let series = hourly(y);
        let events = [
            Event::new("campaign", TimeRange::new(t(300), t(308)).unwrap()).unwrap(),
            Event::new("campaign", TimeRange::new(t(n + 10), t(n + 14)).unwrap()).unwrap(),
        ];
        let x = Regressors::from_events(&events, series.start(), series.step(), n).unwrap();
        let x_new = Regressors::from_events(&events, series.end(), series.step(), 24).unwrap();
        let fitted = Auto::new()
            .fit(&FitInput::new(&series).with_regressors(&x).unwrap())
            .unwrap();
        let lv = levels();
        let with = fitted
            .predict(&PredictRequest::new(24, &lv).with_regressors(&x_new))
            .unwrap();
        let without = fitted.predict(&PredictRequest::new(24, &lv)).unwrap();
        for h in 0..24 {
            let lift = with.point()[h] - without.point()[h];
            let upper = with.quantile_paths()[2][h] - without.quantile_paths()[2][h];
            if (10..14).contains(&h) {
                assert!((lift - 120.0).abs() < 15.0, "h={h}: lift {lift}");
                assert!((upper - 120.0).abs() < 15.0, "h={h}: upper {upper}");
            } else {
                assert!(lift.abs() < 1e-9);
            }
        }
    }
}
