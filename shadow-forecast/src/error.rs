//! Errors of the forecasting models.

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong when fitting or predicting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The series has too few present observations.
    #[error("not enough data: need {need} observations, got {got}")]
    NotEnoughData {
        /// The minimum number of present observations.
        need: usize,
        /// The number of present observations.
        got: usize,
    },

    /// A model parameter is invalid.
    #[error("invalid parameter `{name}`: {message}")]
    InvalidParameter {
        /// The parameter.
        name: &'static str,
        /// What is wrong with it.
        message: String,
    },

    /// The regressors at predict time do not match those at fit time.
    #[error("regressors do not match the fit: {0}")]
    Regressors(String),

    /// A value that must be finite was not.
    #[error("non-finite value in {0}")]
    NonFinite(&'static str),

    /// The optimiser failed.
    #[error("optimisation failed: {0}")]
    Optimize(#[from] argmin::core::Error),

    /// The optimiser finished without a usable parameter vector.
    #[error("the optimiser returned no usable parameter")]
    NoBestParameter,

    /// An error from the core types.
    #[error(transparent)]
    Core(#[from] shadow_core::Error),
}

/// Checks a series to fit: no infinite value (missing values are NaN) and at least `need` present values.
/// Returns how many are present.
pub(crate) fn check_series(values: &[f64], need: usize) -> Result<usize> {
    if values.iter().any(|v| v.is_infinite()) {
        return Err(Error::NonFinite("series"));
    }
    let present = values.iter().filter(|v| !v.is_nan()).count();
    if present < need {
        return Err(Error::NotEnoughData { need, got: present });
    }
    Ok(present)
}
