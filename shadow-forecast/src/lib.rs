//! Forecasting models of Shadow.
//!
//! Every model implements the typestate pair [`shadow_core::Fit`]/[`shadow_core::Predict`] and so, through the
//! blanket impl, the object-safe [`shadow_core::Forecaster`] that the controller chooses from config.
//!
//! | model | name | what it is |
//! |---|---|---|
//! | [`SeasonalNaive`] | `seasonal-naive` | repeats the last season, learns additive event effects, empirical quantiles |
//! | [`Arima`] | `arima` | ARIMA/SARIMA(p,d,q)(P,D,Q)m with a constant or drift, by exact maximum likelihood |
//! | [`AutoArimaOnGrid`] ([`AutoArima`]) | `auto`, `auto-arima` | Hyndman–Khandakar order selection, then exact ML |
//!
//! Use [`by_name`] (or [`by_name_with`], for the orders of `arima`) to build a model from the `[forecast]`
//! section of the config.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod arima;
pub mod auto;
pub mod backtest;
pub mod conformal;
pub mod effects;
pub mod error;
pub mod ets;
pub mod metrics;
pub mod mstl;
mod nelder_mead;
pub mod periods;
pub mod registry;
pub mod seasonal_naive;
pub mod stl;
pub mod theta;

pub use arima::{Arima, AutoArima, FittedArima, Order, SeasonalOrder, Trend};
pub use error::{Error, Result};
pub use registry::{AutoArimaOnGrid, MAX_AUTO_PERIOD, MODELS, ModelOptions, by_name, by_name_with};
pub use seasonal_naive::{FittedSeasonalNaive, Season, SeasonalNaive};
