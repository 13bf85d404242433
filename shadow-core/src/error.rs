//! The error type shared by every trait in `shadow-core`.

use std::time::Duration;

/// A boxed error from a provider, a model or a user callback.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Whether retrying the failed operation can succeed.
///
/// Derived from the error variant, never from its message. A retry layer marks an error it gave up on as
/// [`ErrorStatus::Persistent`] so that outer loops do not retry it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorStatus {
    /// Retrying cannot help: bad input, missing permission, unsupported operation.
    Permanent,
    /// A passing condition (rate limit, timeout, unavailable backend): retrying may succeed.
    Temporary,
    /// Was temporary, but retries already ran out. Do not retry again.
    Persistent,
}

/// Everything that can go wrong in Shadow's core operations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The service, resource, key or object does not exist.
    #[error("{provider}: not found: {what}")]
    NotFound {
        /// The provider that answered.
        provider: &'static str,
        /// What was looked up.
        what: String,
    },

    /// The credentials were refused.
    #[error("{provider}: permission denied: {message}")]
    PermissionDenied {
        /// The provider that answered.
        provider: &'static str,
        /// The provider's explanation, with secrets redacted.
        message: String,
    },

    /// The provider asked us to slow down.
    #[error("{provider}: rate limited{}", retry_after.map(|d| format!(", retry after {d:?}")).unwrap_or_default())]
    RateLimited {
        /// The provider that answered.
        provider: &'static str,
        /// How long the provider asked us to wait, when it said.
        retry_after: Option<Duration>,
    },

    /// The provider could not be reached or answered with a server error.
    #[error("{provider}: unavailable: {message}")]
    Unavailable {
        /// The provider that failed.
        provider: &'static str,
        /// What happened.
        message: String,
    },

    /// The operation did not finish in time.
    #[error("{provider}: timed out after {after:?}")]
    Timeout {
        /// The provider that was called.
        provider: &'static str,
        /// The deadline that passed.
        after: Duration,
    },

    /// A concurrent writer changed the state first (compare-and-set lost).
    #[error("{provider}: conflict: {message}")]
    Conflict {
        /// The provider that answered.
        provider: &'static str,
        /// What conflicted.
        message: String,
    },

    /// A configuration value is invalid. `field` is the dotted path of the field.
    #[error("invalid config at `{field}`: {message}")]
    Config {
        /// Dotted path of the offending field, for example `services[0].policy.max_replicas`.
        field: String,
        /// What is wrong with it.
        message: String,
    },

    /// An argument is invalid.
    #[error("invalid {what}: {message}")]
    InvalidInput {
        /// The argument or value that is invalid.
        what: &'static str,
        /// What is wrong with it.
        message: String,
    },

    /// The operation is not supported by this provider. Check its capability first.
    #[error("{provider}: not supported: {operation}")]
    NotSupported {
        /// The provider.
        provider: &'static str,
        /// The operation that was attempted.
        operation: &'static str,
    },

    /// The config names a provider whose cargo feature is not compiled into this build.
    #[error("provider `{provider}` is not compiled into this build; enable the cargo feature `{feature}`")]
    FeatureDisabled {
        /// The provider kind named in the config.
        provider: String,
        /// The cargo feature that provides it.
        feature: &'static str,
    },

    /// The config names a provider kind nobody registered.
    #[error("unknown provider kind `{kind}`; available: {}", available.join(", "))]
    UnknownProvider {
        /// The kind that was asked for.
        kind: String,
        /// The kinds that are registered.
        available: Vec<String>,
    },

    /// A series is too short for the requested operation.
    #[error("not enough data: need {need} observations, got {got}")]
    NotEnoughData {
        /// The minimum number of observations.
        need: usize,
        /// The number available.
        got: usize,
    },

    /// A value that must be finite was NaN or infinite.
    #[error("non-finite value in {what}")]
    NonFinite {
        /// Where the value was found.
        what: &'static str,
    },

    /// A forecasting model failed to fit or predict.
    #[error("model `{model}` failed")]
    Model {
        /// The model's name.
        model: String,
        /// The model's own error.
        #[source]
        source: BoxError,
    },

    /// Retries ran out; the last error is the source. Never retried again.
    #[error("gave up after {attempts} attempts: {source}")]
    RetriesExhausted {
        /// How many attempts were made.
        attempts: u32,
        /// The last error.
        #[source]
        source: Box<Error>,
    },

    /// Any other provider failure.
    #[error("{provider}: {source}")]
    Generic {
        /// The provider that failed.
        provider: &'static str,
        /// The provider's own error.
        #[source]
        source: BoxError,
    },
}

impl Error {
    /// Classifies the error for retry decisions.
    #[must_use]
    pub fn status(&self) -> ErrorStatus {
        match self {
            Error::RateLimited { .. } | Error::Unavailable { .. } | Error::Timeout { .. } => {
                ErrorStatus::Temporary
            }
            Error::RetriesExhausted { .. } => ErrorStatus::Persistent,
            _ => ErrorStatus::Permanent,
        }
    }

    /// Whether retrying the operation may succeed.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        self.status() == ErrorStatus::Temporary
    }

    /// A short, stable name of the variant, for metrics labels (`errors_total{kind="timeout"}`).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Error::NotFound { .. } => "not_found",
            Error::PermissionDenied { .. } => "permission_denied",
            Error::RateLimited { .. } => "rate_limited",
            Error::Unavailable { .. } => "unavailable",
            Error::Timeout { .. } => "timeout",
            Error::Conflict { .. } => "conflict",
            Error::Config { .. } => "config",
            Error::InvalidInput { .. } => "invalid_input",
            Error::NotSupported { .. } => "not_supported",
            Error::FeatureDisabled { .. } => "feature_disabled",
            Error::UnknownProvider { .. } => "unknown_provider",
            Error::NotEnoughData { .. } => "not_enough_data",
            Error::NonFinite { .. } => "non_finite",
            Error::Model { .. } => "model",
            Error::RetriesExhausted { .. } => "retries_exhausted",
            Error::Generic { .. } => "generic",
        }
    }

    /// Shorthand for [`Error::InvalidInput`].
    #[must_use]
    pub fn invalid(what: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidInput {
            what,
            message: message.into(),
        }
    }

    /// Shorthand for [`Error::Config`].
    #[must_use]
    pub fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_classification_comes_from_the_variant() {
        let temporary = Error::Timeout {
            provider: "p",
            after: Duration::from_secs(1),
        };
        assert!(temporary.is_retryable());
        let exhausted = Error::RetriesExhausted {
            attempts: 3,
            source: Box::new(temporary),
        };
        assert_eq!(exhausted.status(), ErrorStatus::Persistent);
        assert!(!exhausted.is_retryable());
        assert!(!Error::invalid("x", "bad").is_retryable());
        assert!(
            Error::RateLimited {
                provider: "p",
                retry_after: None
            }
            .is_retryable()
        );
    }

    #[test]
    fn messages_are_lowercase_and_name_the_field() {
        let e = Error::config("services[0].policy.max_replicas", "must be >= min_replicas (4)");
        assert_eq!(
            e.to_string(),
            "invalid config at `services[0].policy.max_replicas`: must be >= min_replicas (4)"
        );
        let e = Error::UnknownProvider {
            kind: "x".into(),
            available: vec!["memory".into(), "static".into()],
        };
        assert_eq!(
            e.to_string(),
            "unknown provider kind `x`; available: memory, static"
        );
    }
}
