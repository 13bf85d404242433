//! Building a model from its name and options: the `[forecast]` section of the config and the `--model` flag.

use std::time::Duration;

use shadow_core::{Fit, FitInput, Forecaster, Named};

use crate::{
    arima::{Arima, AutoArima, FittedArima, Order, SeasonalOrder, Trend},
    auto::Auto,
    error::{Error, Result},
    ets::Ets,
    mstl::Mstl,
    seasonal_ar::SeasonalAr,
    seasonal_mean::SeasonalMean,
    seasonal_naive::{Season, SeasonalNaive},
};

/// The model names [`by_name`] and [`by_name_with`] know (alias: `snaive`).
pub const MODELS: &[&str] = &[
    "auto",
    "seasonal-naive",
    "seasonal-mean",
    "seasonal-ar",
    "arima",
    "auto-arima",
    "ets",
    "mstl",
    "theta",
];

/// The longest season, in steps, that `auto` chooses by itself (see [`AutoArimaOnGrid`]).
pub const MAX_AUTO_PERIOD: usize = 96;

/// Options of [`by_name_with`]. Each applies to some models only; giving one to a model that does not use it is
/// an error, so that a typo never silently changes the model.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ModelOptions {
    /// Season length (`seasonal-naive`, `auto`). `None` lets the model choose.
    pub season: Option<Duration>,
    /// Non-seasonal order `(p, d, q)`; required by `arima`.
    pub order: Option<Order>,
    /// Seasonal order `(P, D, Q)m` (`arima` only).
    pub seasonal_order: Option<SeasonalOrder>,
    /// Trend (`arima` only; default none).
    pub trend: Option<Trend>,
}

impl ModelOptions {
    /// No options: every model chooses its defaults (`arima` then fails for lack of an order).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the season length.
    #[must_use]
    pub fn with_season(mut self, season: Option<Duration>) -> Self {
        self.season = season;
        self
    }

    /// Sets the non-seasonal order.
    #[must_use]
    pub fn with_order(mut self, order: Order) -> Self {
        self.order = Some(order);
        self
    }

    /// Sets the seasonal order.
    #[must_use]
    pub fn with_seasonal_order(mut self, seasonal: SeasonalOrder) -> Self {
        self.seasonal_order = Some(seasonal);
        self
    }

    /// Sets the trend.
    #[must_use]
    pub fn with_trend(mut self, trend: Trend) -> Self {
        self.trend = Some(trend);
        self
    }
}

/// Builds a model from its name and an optional season length.
///
/// `arima` needs an order, so it fails here; use [`by_name_with`].
///
/// # Errors
/// As [`by_name_with`].
pub fn by_name(name: &str, season: Option<Duration>) -> shadow_core::Result<Box<dyn Forecaster>> {
    by_name_with(name, &ModelOptions::new().with_season(season))
}

/// Builds a model from its name and options.
///
/// | name | model | options |
/// |---|---|---|
/// | `seasonal-naive`, `snaive` | [`SeasonalNaive`] | `season` |
/// | `arima` | [`Arima`] with exactly the given orders and trend | `order` (required), `seasonal_order`, `trend` |
/// | `auto` (default) | [`Auto`]: backtest-weighted combination of MSTL/Theta/ARIMA variants, seasonal-lag autoregressions and seasonal baselines | `season` |
/// | `auto-arima` | [`AutoArimaOnGrid`]: AutoARIMA, season in steps from `season` or a day | `season` |
/// | `ets` | [`Ets::auto`]: AutoETS by AICc, season of a day when it has at most 24 steps | none |
/// | `mstl` | [`Mstl`]: MSTL with periods from the step (or `season`), AutoETS on the adjusted series | `season` |
/// | `theta` | [`Mstl::with_theta`]: Theta on the MSTL-adjusted series | `season` |
/// | `seasonal-mean` | [`SeasonalMean`]: mean of the last 3 weeks (or days) | none |
/// | `seasonal-ar` | [`SeasonalAr`]: autoregression on the last 3 values and the neighbours of the daily and weekly lags (or of `season`) | `season` |
///
/// # Errors
/// [`shadow_core::Error::Config`] naming `forecast.model` when the name is unknown (the message lists the known
/// names) or an option does not apply to the model, `forecast.order` when `arima` has no order, and
/// `forecast.order`/`forecast.seasonal_order`/`forecast.trend` when the orders are absurd.
pub fn by_name_with(name: &str, options: &ModelOptions) -> shadow_core::Result<Box<dyn Forecaster>> {
    let ModelOptions {
        season,
        order,
        seasonal_order,
        trend,
    } = options.clone();
    let unused = |option: &str| {
        shadow_core::Error::config(
            "forecast.model",
            format!("`{option}` applies only to the `arima` model, not to `{name}`"),
        )
    };
    let arima_only = || match () {
        () if order.is_some() => Err(unused("order")),
        () if seasonal_order.is_some() => Err(unused("seasonal_order")),
        () if trend.is_some() => Err(unused("trend")),
        () => Ok(()),
    };
    match name {
        "seasonal-naive" | "snaive" => {
            arima_only()?;
            Ok(Box::new(SeasonalNaive::new(
                season.map_or(Season::Auto, Season::Duration),
            )))
        }
        "auto" => {
            arima_only()?;
            Ok(Box::new(Auto::new().with_season(season)))
        }
        "auto-arima" => {
            arima_only()?;
            Ok(Box::new(AutoArimaOnGrid::new(season)))
        }
        "seasonal-mean" => {
            arima_only()?;
            if season.is_some() {
                return Err(shadow_core::Error::config(
                    "forecast.season",
                    "`seasonal-mean` takes a week or a day from the step, not a season length",
                ));
            }
            Ok(Box::new(SeasonalMean::new(3)))
        }
        "seasonal-ar" => {
            arima_only()?;
            Ok(Box::new(SeasonalAr::new().with_season(season)))
        }
        "theta" => {
            arima_only()?;
            Ok(Box::new(Mstl::new().with_season(season).with_theta()))
        }
        "ets" => {
            arima_only()?;
            if season.is_some() {
                return Err(shadow_core::Error::config(
                    "forecast.season",
                    "`ets` takes its season from the step (a day of at most 24 steps); use `mstl` for longer ones",
                ));
            }
            Ok(Box::new(Ets::auto()))
        }
        "mstl" => {
            arima_only()?;
            Ok(Box::new(Mstl::new().with_season(season)))
        }
        "arima" => {
            if season.is_some() {
                return Err(shadow_core::Error::config(
                    "forecast.season",
                    "`arima` takes its season from the seasonal order (P,D,Q,m), not from a season length",
                ));
            }
            let order = order.ok_or_else(|| {
                shadow_core::Error::config("forecast.order", "the `arima` model needs an order p,d,q")
            })?;
            let model = Arima::builder()
                .order(order)
                .seasonal(seasonal_order.unwrap_or_else(SeasonalOrder::none))
                .trend(trend.unwrap_or_default())
                .build()
                .map_err(|e| match e {
                    Error::InvalidParameter { name, message } => {
                        let field = match name {
                            "seasonal_order" | "trend" => name,
                            _ => "order",
                        };
                        shadow_core::Error::config(format!("forecast.{field}"), message)
                    }
                    other => shadow_core::Error::config("forecast.order", other.to_string()),
                })?;
            Ok(Box::new(model))
        }
        other => Err(shadow_core::Error::config(
            "forecast.model",
            format!("unknown model `{other}`; known: {}", MODELS.join(", ")),
        )),
    }
}

/// AutoARIMA whose season is a duration, turned into a number of steps when the series (and so its step) is
/// known.
///
/// # Season
/// - With a season length, the period is the season divided by the step; a season that is not a whole number
///   of steps is an error ([`Error::InvalidParameter`] naming `season`).
/// - Without one, the period is a day in steps when the step divides a day and the day has at most
///   [`MAX_AUTO_PERIOD`] steps (a step of 15 minutes or longer); otherwise the search is non-seasonal. Longer
///   seasons make each seasonal fit slow, so give `season` explicitly to use them.
/// - [`AutoArima`] itself falls back to a non-seasonal search when the series has fewer than two seasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoArimaOnGrid {
    season: Option<Duration>,
}

impl AutoArimaOnGrid {
    /// AutoARIMA with a season of `season` (or a day, as the type docs say) and the default search bounds.
    #[must_use]
    pub fn new(season: Option<Duration>) -> Self {
        Self { season }
    }

    /// The period in steps for a series at `step`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `season` when the season is not a whole number of steps.
    pub fn period(&self, step: Duration) -> Result<usize> {
        let step_ms = step.as_millis().max(1);
        match self.season {
            Some(season) => {
                let s = season.as_millis();
                if s < step_ms || s % step_ms != 0 {
                    return Err(Error::InvalidParameter {
                        name: "season",
                        message: format!(
                            "a season of {} ms is not a whole number of {step_ms} ms steps",
                            season.as_millis()
                        ),
                    });
                }
                Ok(usize::try_from(s / step_ms).unwrap_or(usize::MAX))
            }
            None => {
                let day_ms = 86_400_000;
                let m = if day_ms % step_ms == 0 {
                    usize::try_from(day_ms / step_ms).unwrap_or(usize::MAX)
                } else {
                    1
                };
                Ok(if m <= MAX_AUTO_PERIOD { m } else { 1 })
            }
        }
    }
}

impl Named for AutoArimaOnGrid {
    fn model_name(&self) -> &str {
        "auto-arima"
    }
}

impl Fit for AutoArimaOnGrid {
    type Fitted = FittedArima;
    type Error = Error;

    fn fit(&self, input: &FitInput<'_>) -> Result<FittedArima> {
        let period = self.period(input.series.step())?;
        AutoArima::builder().period(period).build()?.fit(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_by_name() {
        assert_eq!(by_name("seasonal-naive", None).unwrap().name(), "seasonal-naive");
        assert_eq!(by_name("auto", None).unwrap().name(), "auto");
        assert_eq!(by_name("ets", None).unwrap().name(), "ets");
        assert_eq!(by_name("mstl", None).unwrap().name(), "mstl");
        assert_eq!(by_name("theta", None).unwrap().name(), "theta");
        assert_eq!(by_name("seasonal-ar", None).unwrap().name(), "seasonal-ar");
        assert_eq!(by_name("auto-arima", None).unwrap().name(), "auto-arima");
        let e = by_name("prophet", None).unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid config at `forecast.model`: unknown model `prophet`; known: auto, seasonal-naive, seasonal-mean, seasonal-ar, arima, auto-arima, ets, mstl, theta"
        );
    }

    #[test]
    fn arima_needs_a_valid_order() {
        let e = by_name("arima", None).unwrap_err().to_string();
        assert!(
            e.contains("`forecast.order`") && e.contains("needs an order"),
            "{e}"
        );
        let opts = ModelOptions::new()
            .with_order(Order::new(1, 0, 1))
            .with_seasonal_order(SeasonalOrder::new(1, 1, 1, 24))
            .with_trend(Trend::Constant);
        assert_eq!(by_name_with("arima", &opts).unwrap().name(), "arima");
        let absurd = ModelOptions::new().with_order(Order::new(500, 0, 0));
        let e = by_name_with("arima", &absurd).unwrap_err().to_string();
        assert!(e.contains("`forecast.order`"), "{e}");
        let e = by_name_with("auto", &ModelOptions::new().with_order(Order::new(1, 0, 0)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`order` applies only to the `arima` model"), "{e}");
    }

    #[test]
    fn auto_period_from_season_or_day() {
        let min = |m: u64| Duration::from_secs(60 * m);
        assert_eq!(AutoArimaOnGrid::new(None).period(min(60)).unwrap(), 24);
        assert_eq!(AutoArimaOnGrid::new(None).period(min(15)).unwrap(), 96);
        assert_eq!(AutoArimaOnGrid::new(None).period(min(5)).unwrap(), 1);
        assert_eq!(AutoArimaOnGrid::new(None).period(min(7)).unwrap(), 1);
        assert_eq!(
            AutoArimaOnGrid::new(Some(min(60 * 168))).period(min(60)).unwrap(),
            168
        );
        assert!(AutoArimaOnGrid::new(Some(min(90))).period(min(60)).is_err());
    }
}
