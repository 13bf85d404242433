//! Forecasting models of Shadow.
//!
//! Every model implements the typestate pair [`shadow_core::Fit`]/[`shadow_core::Predict`] and so, through the
//! blanket impl, the object-safe [`shadow_core::Forecaster`] that the controller chooses from config.
//!
//! | model | name | what it is |
//! |---|---|---|
//! | [`SeasonalNaive`] | `seasonal-naive` | repeats the last season, learns additive event effects, empirical quantiles |
//! | [`Arima`] | `arima` | ARIMA/SARIMA(p,d,q)(P,D,Q)m with a constant or drift, by exact maximum likelihood |
//! | [`auto::Auto`] | `auto` (default) | rolling-origin backtest of the candidates below, weighted combination of the best three, quantiles calibrated on the backtest ([`calibration`]), report of the winner |
//! | [`AutoArimaOnGrid`] ([`AutoArima`]) | `auto-arima` | Hyndman–Khandakar order selection, then exact ML |
//! | [`ets::Ets`] | `ets` | ETS (A/M error, N/A/Ad trend, N/A/M season), AutoETS by AICc |
//! | [`mstl::Mstl`] | `mstl`, `theta` | MSTL (daily + weekly from the step, periodogram-confirmed) with AutoETS, Theta or AutoARIMA on the adjusted series |
//! | [`seasonal_mean::SeasonalMean`] | `seasonal-mean` | mean of the last weeks (or days) at the same position |
//! | [`seasonal_ar::SeasonalAr`] | `seasonal-ar` | least-squares autoregression on the last 3 values and the neighbours of the daily and weekly lags |
//!
//! Every model here takes event regressors ([`shadow_core::Regressors`]): their effects are learned jointly
//! with a trend and the seasons ([`effects::Effects`]), and an announced event lifts the point forecast and
//! every quantile. A series too short for its season falls back to a simpler model and the fitted model says
//! so (`fallback()`, or the `auto` report).
//!
//! Use [`by_name`] (or [`by_name_with`], for the orders of `arima`) to build a model from the `[forecast]`
//! section of the config.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod arima;
pub mod auto;
pub mod backtest;
pub mod calibration;
pub mod conformal;
pub mod effects;
pub mod error;
pub mod ets;
pub mod metrics;
pub mod mstl;
mod nelder_mead;
pub mod periods;
pub mod registry;
pub mod seasonal_ar;
pub mod seasonal_mean;
pub mod seasonal_naive;
pub mod stl;
#[cfg(test)]
mod test_support;
pub mod theta;

pub use arima::{Arima, AutoArima, FittedArima, Order, SeasonalOrder, Trend};
pub use error::{Error, Result};
pub use registry::{AutoArimaOnGrid, MAX_AUTO_PERIOD, MODELS, ModelOptions, by_name, by_name_with};
pub use seasonal_naive::{FittedSeasonalNaive, Season, SeasonalNaive};
