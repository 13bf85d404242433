//! Forecasting models of Shadow.
//!
//! Every model implements the typestate pair [`shadow_core::Fit`]/[`shadow_core::Predict`] and so, through the
//! blanket impl, the object-safe [`shadow_core::Forecaster`] that the controller chooses from config.
//!
//! | model | name | what it is |
//! |---|---|---|
//! | [`SeasonalNaive`] | `seasonal-naive` | repeats the last season, learns additive event effects, empirical quantiles |
//!
//! Use [`by_name`] to build a model from the `[forecast]` section of the config.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod error;
pub mod seasonal_naive;

use std::time::Duration;

pub use error::{Error, Result};
pub use seasonal_naive::{FittedSeasonalNaive, Season, SeasonalNaive};
use shadow_core::Forecaster;

/// The model names [`by_name`] knows.
pub const MODELS: &[&str] = &["seasonal-naive"];

/// Builds a model from its name and an optional season length.
///
/// # Errors
/// [`shadow_core::Error::Config`] naming `forecast.model` when the name is unknown; the message lists the known
/// names.
pub fn by_name(name: &str, season: Option<Duration>) -> shadow_core::Result<Box<dyn Forecaster>> {
    match name {
        "seasonal-naive" | "snaive" => Ok(Box::new(SeasonalNaive::new(
            season.map_or(Season::Auto, Season::Duration),
        ))),
        other => Err(shadow_core::Error::config(
            "forecast.model",
            format!("unknown model `{other}`; known: {}", MODELS.join(", ")),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_by_name() {
        assert_eq!(by_name("seasonal-naive", None).unwrap().name(), "seasonal-naive");
        let e = by_name("prophet", None).unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid config at `forecast.model`: unknown model `prophet`; known: seasonal-naive"
        );
    }
}
