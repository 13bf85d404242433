//! Seasonal naive with event effects: the simplest honest forecaster.
//!
//! The point forecast repeats the value one season ago: `ŷ(T+h) = y(T+h−k·m)` for the smallest `k` that reaches
//! into the history and lands on a present observation. Gaps are skipped by going back further seasons, never
//! filled with zeros.
//!
//! **Events.** Each regressor column is an indicator of an event label (see
//! [`shadow_core::Regressors::from_events`]). Its additive effect is the mean of `y(t) − y(t−m)` over the
//! points inside the event whose reference point one season earlier is outside every event. The history is
//! cleaned of the learned effects before the seasonal values are repeated, and the effects of events announced
//! for the horizon are added back, to the point forecast and to every quantile.
//!
//! **Quantiles.** The residuals `y(t) − y(t−m)` of the cleaned history (outside events) give the error
//! distribution one season ahead. A forecast `k` seasons ahead adds `k` such errors, so its quantile `q` is the
//! point forecast plus `√k` times the empirical `q`-quantile of the residuals (centred on their median).
//!
//! **Fallback.** A series shorter than two seasons falls back to the naive forecast (`m = 1`); the fitted model
//! says so in [`FittedSeasonalNaive::fallback`].

use std::time::Duration;

use shadow_core::{Fit, FitInput, Forecast, Named, Predict, PredictRequest, TimeSeries};

use crate::error::{Error, Result};

/// How to choose the season length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Season {
    /// From the series: one week when the history covers at least two weeks and the step divides a week,
    /// otherwise one day when it covers two days, otherwise no season.
    #[default]
    Auto,
    /// A fixed number of steps.
    Steps(usize),
    /// A fixed duration, divided by the series step at fit time.
    Duration(Duration),
}

/// Seasonal naive with additive event effects and empirical quantiles.
///
/// ```
/// use std::time::Duration;
/// use chrono::{TimeZone, Utc};
/// use shadow_core::{FitInput, PredictRequest, Quantile, TimeSeries, Fit, Predict};
/// use shadow_forecast::{Season, SeasonalNaive};
///
/// // Four days of an hourly series with a daily cycle.
/// let values: Vec<f64> = (0..96).map(|i| 10.0 + (i % 24) as f64).collect();
/// let series = TimeSeries::new(Utc.timestamp_opt(0, 0).unwrap(), Duration::from_secs(3600), values).unwrap();
/// let model = SeasonalNaive::new(Season::Duration(Duration::from_secs(86_400)));
/// let fitted = model.fit(&FitInput::new(&series)).unwrap();
/// let levels = [Quantile::try_new(0.9).unwrap()];
/// let forecast = fitted.predict(&PredictRequest::new(24, &levels)).unwrap();
/// assert_eq!(forecast.point()[5], 15.0);
/// assert_eq!(forecast.start(), series.end());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SeasonalNaive {
    season: Season,
}

impl SeasonalNaive {
    /// A model with the given season.
    #[must_use]
    pub const fn new(season: Season) -> Self {
        Self { season }
    }

    fn season_steps(&self, series: &TimeSeries) -> Result<usize> {
        let step = series.step().as_millis();
        let per = |d: Duration| -> Option<usize> {
            let ms = d.as_millis();
            (ms % step == 0 && ms >= step).then(|| (ms / step) as usize)
        };
        match self.season {
            Season::Steps(0) => Err(Error::InvalidParameter {
                name: "season",
                message: "must be at least 1 step".into(),
            }),
            Season::Steps(m) => Ok(m),
            Season::Duration(d) => per(d).ok_or_else(|| Error::InvalidParameter {
                name: "season",
                message: format!("{d:?} is not a whole number of {:?} steps", series.step()),
            }),
            Season::Auto => {
                let candidates = [Duration::from_secs(7 * 86_400), Duration::from_secs(86_400)];
                Ok(candidates
                    .into_iter()
                    .filter_map(per)
                    .find(|&m| m > 1 && series.len() >= 2 * m)
                    .unwrap_or(1))
            }
        }
    }
}

impl Named for SeasonalNaive {
    fn model_name(&self) -> &str {
        "seasonal-naive"
    }
}

/// A fitted [`SeasonalNaive`].
#[derive(Debug, Clone)]
pub struct FittedSeasonalNaive {
    series: TimeSeries,
    /// The history with the learned event effects removed.
    clean: Vec<f64>,
    season: usize,
    /// Sorted residuals `y(t) − y(t−m)` of the cleaned history, centred on their median.
    residuals: Vec<f64>,
    effects: Vec<(String, f64)>,
    fallback: Option<String>,
}

impl FittedSeasonalNaive {
    /// The season length in steps that the model uses (1 after a fallback to naive).
    #[must_use]
    pub fn season(&self) -> usize {
        self.season
    }

    /// The learned additive effect of each event label, in the order of the fit's regressor columns.
    #[must_use]
    pub fn effects(&self) -> &[(String, f64)] {
        &self.effects
    }

    /// Why the model fell back to a simpler form, if it did.
    #[must_use]
    pub fn fallback(&self) -> Option<&str> {
        self.fallback.as_deref()
    }

    /// The empirical quantile of the residuals at level `q`, by linear interpolation.
    fn residual_quantile(&self, q: f64) -> f64 {
        empirical_quantile(&self.residuals, q)
    }
}

impl Fit for SeasonalNaive {
    type Fitted = FittedSeasonalNaive;
    type Error = Error;

    fn fit(&self, input: &FitInput<'_>) -> Result<FittedSeasonalNaive> {
        let series = input.series;
        let y = series.values();
        let present = y.iter().filter(|v| !v.is_nan()).count();
        if present < 2 {
            return Err(Error::NotEnoughData {
                need: 2,
                got: present,
            });
        }
        let mut season = self.season_steps(series)?;
        let mut fallback = None;
        if season > 1 && y.len() < 2 * season {
            fallback = Some(format!(
                "history of {} points is shorter than two seasons of {season}; using the naive forecast",
                y.len()
            ));
            season = 1;
        }

        let columns = input.regressors.columns();
        let in_event = |t: usize| columns.iter().any(|c| c[t] != 0.0);
        let effects: Vec<(String, f64)> = input
            .regressors
            .names()
            .iter()
            .zip(columns)
            .map(|(name, col)| {
                let diffs: Vec<f64> = (season..y.len())
                    .filter(|&t| col[t] != 0.0 && !in_event(t - season))
                    .filter_map(|t| {
                        let d = y[t] - y[t - season];
                        d.is_finite().then_some(d / col[t])
                    })
                    .collect();
                let effect = if diffs.is_empty() {
                    0.0
                } else {
                    diffs.iter().sum::<f64>() / diffs.len() as f64
                };
                (name.clone(), effect)
            })
            .collect();
        let clean: Vec<f64> = (0..y.len())
            .map(|t| {
                y[t] - effects
                    .iter()
                    .zip(columns)
                    .map(|((_, e), c)| e * c[t])
                    .sum::<f64>()
            })
            .collect();

        let mut residuals: Vec<f64> = (season..clean.len())
            .filter(|&t| !in_event(t) && !in_event(t - season))
            .map(|t| clean[t] - clean[t - season])
            .filter(|d| d.is_finite())
            .collect();
        residuals.sort_by(f64::total_cmp);
        let median = if residuals.is_empty() {
            0.0
        } else {
            empirical_quantile(&residuals, 0.5)
        };
        residuals.iter_mut().for_each(|r| *r -= median);

        Ok(FittedSeasonalNaive {
            series: series.clone(),
            clean,
            season,
            residuals,
            effects,
            fallback,
        })
    }
}

impl Predict for FittedSeasonalNaive {
    type Error = Error;

    fn predict_inplace(&self, request: &PredictRequest<'_>, out: &mut Forecast) -> Result<()> {
        let future = request.regressors;
        // An empty frame means "no events ahead"; otherwise the columns must match the fit.
        if !future.is_empty() && !future.names().iter().eq(self.effects.iter().map(|(n, _)| n)) {
            return Err(Error::Regressors(format!(
                "fit had columns {:?}, predict has {:?}",
                self.effects.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
                future.names()
            )));
        }
        if !future.is_empty() && future.rows() != request.horizon {
            return Err(Error::Regressors(format!(
                "{} rows of future regressors for a horizon of {}",
                future.rows(),
                request.horizon
            )));
        }
        out.reset(
            self.series.end(),
            self.series.step(),
            request.horizon,
            request.levels,
        )?;
        let n = self.clean.len();
        let m = self.season;
        let spread: Vec<f64> = request
            .levels
            .iter()
            .map(|q| self.residual_quantile(q.get()))
            .collect();
        for h in 0..request.horizon {
            // Smallest k with n + h − k·m < n, then go back further seasons past gaps.
            let mut k = h / m + 1;
            let value = loop {
                let Some(idx) = (n + h).checked_sub(k * m) else {
                    break f64::NAN;
                };
                let v = self.clean[idx];
                if !v.is_nan() {
                    break v;
                }
                k += 1;
            };
            let value = if value.is_nan() {
                // Only gaps at this seasonal position: use the last present cleaned value.
                self.clean
                    .iter()
                    .rev()
                    .copied()
                    .find(|v| !v.is_nan())
                    .unwrap_or(0.0)
            } else {
                value
            };
            let uplift: f64 = if future.is_empty() {
                0.0
            } else {
                self.effects
                    .iter()
                    .zip(future.columns())
                    .map(|((_, e), c)| e * c[h])
                    .sum()
            };
            let point = value + uplift;
            out.point_mut()[h] = point;
            let scale = ((h / m + 1) as f64).sqrt();
            for (path, s) in out.quantile_paths_mut().iter_mut().zip(&spread) {
                path[h] = point + scale * s;
            }
        }
        out.finish()?;
        Ok(())
    }
}

/// The `q`-quantile of sorted values by linear interpolation (type 7, as R's default). 0 when empty.
#[must_use]
pub fn empirical_quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => 0.0,
        1 => sorted[0],
        n => {
            let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let lo = pos.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + (pos - lo as f64) * (sorted[hi] - sorted[lo])
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use proptest::prelude::*;
    use shadow_core::{Event, Regressors, TimeRange};

    use super::*;
    use crate::test_support::{hourly, levels};

    #[test]
    fn repeats_the_season_and_skips_gaps() {
        let mut v: Vec<f64> = (0..72).map(|i| (i % 24) as f64).collect();
        v[70] = f64::NAN; // the last value at hour 22 is missing; the previous day's is used
        let fitted = SeasonalNaive::new(Season::Steps(24))
            .fit(&FitInput::new(&hourly(v)))
            .unwrap();
        let f = fitted.predict(&PredictRequest::new(30, &levels())).unwrap();
        assert_eq!(f.point()[0], 0.0);
        assert_eq!(f.point()[22], 22.0);
        assert_eq!(f.point()[25], 1.0);
        assert_eq!(f.horizon(), 30);
    }

    #[test]
    fn auto_season_picks_daily_on_four_days() {
        let v: Vec<f64> = (0..96).map(|i| (i % 24) as f64).collect();
        let fitted = SeasonalNaive::default().fit(&FitInput::new(&hourly(v))).unwrap();
        assert_eq!(fitted.season(), 24);
        assert!(fitted.fallback().is_none());
    }

    #[test]
    fn short_history_falls_back_to_naive_and_says_so() {
        let fitted = SeasonalNaive::new(Season::Steps(24))
            .fit(&FitInput::new(&hourly(vec![1.0, 2.0, 3.0])))
            .unwrap();
        assert_eq!(fitted.season(), 1);
        assert!(fitted.fallback().unwrap().contains("naive"));
        let f = fitted.predict(&PredictRequest::new(2, &[])).unwrap();
        assert_eq!(f.point(), &[3.0, 3.0]);
    }

    #[test]
    fn rejects_too_little_data_and_bad_seasons() {
        let e = SeasonalNaive::default()
            .fit(&FitInput::new(&hourly(vec![f64::NAN, 1.0])))
            .unwrap_err();
        assert!(matches!(e, Error::NotEnoughData { need: 2, got: 1 }));
        let e = SeasonalNaive::new(Season::Duration(Duration::from_secs(5400)))
            .fit(&FitInput::new(&hourly(vec![1.0; 10])))
            .unwrap_err();
        assert!(e.to_string().contains("season"));
    }

    #[test]
    fn learns_an_event_effect_and_applies_it_to_an_announced_event() {
        // Daily cycle; a past event on day 3 hours 10..14 adds +50; an event is announced for tomorrow 10..14.
        let t = |h: i64| Utc.timestamp_opt(h * 3600, 0).unwrap();
        let mut v: Vec<f64> = (0..120).map(|i| 100.0 + (i % 24) as f64).collect();
        for x in &mut v[82..86] {
            *x += 50.0;
        }
        let series = hourly(v);
        let past = Event::new("campaign", TimeRange::new(t(82), t(86)).unwrap()).unwrap();
        let future = Event::new("campaign", TimeRange::new(t(130), t(134)).unwrap()).unwrap();
        let events = [past, future];
        let x_fit = Regressors::from_events(&events, series.start(), series.step(), series.len()).unwrap();
        let x_new = Regressors::from_events(&events, series.end(), series.step(), 24).unwrap();
        let input = FitInput::new(&series).with_regressors(&x_fit).unwrap();
        let fitted = SeasonalNaive::new(Season::Steps(24)).fit(&input).unwrap();
        assert_eq!(fitted.effects(), &[("campaign".to_string(), 50.0)]);
        let f = fitted
            .predict(&PredictRequest::new(24, &levels()).with_regressors(&x_new))
            .unwrap();
        // Hour 10 of day 5 is step 10: 110 + 50. The past spike itself is not repeated.
        assert_eq!(f.point()[10], 160.0);
        assert_eq!(f.point()[9], 109.0);
        // Without the announcement the spike does not appear.
        let plain = fitted.predict(&PredictRequest::new(24, &levels())).unwrap();
        assert_eq!(plain.point()[10], 110.0);
    }

    #[test]
    fn quantiles_widen_with_seasons_ahead() {
        let v: Vec<f64> = (0..240)
            .map(|i| (i % 24) as f64 + ((i * 7919) % 13) as f64 / 13.0)
            .collect();
        let fitted = SeasonalNaive::new(Season::Steps(24))
            .fit(&FitInput::new(&hourly(v)))
            .unwrap();
        let f = fitted.predict(&PredictRequest::new(48, &levels())).unwrap();
        let width = |h: usize| f.quantile_paths()[2][h] - f.quantile_paths()[0][h];
        assert!(width(0) > 0.0);
        assert!((width(30) / width(0) - 2f64.sqrt()).abs() < 1e-9);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        #[test]
        fn invariants(
            values in proptest::collection::vec(prop_oneof![9 => -1e6f64..1e6, 1 => Just(f64::NAN)], 2..200),
            horizon in 0usize..100,
            shift in -1e3f64..1e3,
            scale in 0.1f64..10.0,
        ) {
            prop_assume!(values.iter().filter(|v| !v.is_nan()).count() >= 2);
            let model = SeasonalNaive::new(Season::Steps(24));
            let lv = levels();
            let f = model.fit(&FitInput::new(&hourly(values.clone()))).unwrap()
                .predict(&PredictRequest::new(horizon, &lv)).unwrap();
            prop_assert_eq!(f.horizon(), horizon);
            for h in 0..horizon {
                prop_assert!(f.point()[h].is_finite());
                prop_assert!(f.quantile_paths()[0][h] <= f.quantile_paths()[1][h]);
                prop_assert!(f.quantile_paths()[1][h] <= f.quantile_paths()[2][h]);
            }
            let moved: Vec<f64> = values.iter().map(|v| v * scale + shift).collect();
            let g = model.fit(&FitInput::new(&hourly(moved))).unwrap()
                .predict(&PredictRequest::new(horizon, &lv)).unwrap();
            for h in 0..horizon {
                let want = f.point()[h] * scale + shift;
                prop_assert!((g.point()[h] - want).abs() <= 1e-6 * (1.0 + want.abs()));
            }
        }
    }
}
