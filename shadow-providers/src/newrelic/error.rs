//! New Relic's error shapes, mapped to [`shadow_core::Error`].
//!
//! - A non-2xx answer is classified by the shared [`parse_error`](crate::http::client::parse_error): 401/403
//!   permission denied, 429/5xx retryable, other 4xx invalid input.
//! - NerdGraph answers most failures with **200** and a GraphQL `errors` array:
//!   `{"data": {...}, "errors": [{"message": "…", "extensions": {"errorClass": "TIMEOUT"}}]}`. The first
//!   error's `extensions.errorClass` decides the variant (see [`graphql_error`]).

use std::time::Duration;

use serde::Deserialize;
use shadow_core::Error;

use super::KIND;

/// One entry of a GraphQL `errors` array.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct GraphQlError {
    #[serde(default)]
    pub(crate) message: String,
    #[serde(default)]
    pub(crate) extensions: Option<Extensions>,
}

/// The `extensions` of a GraphQL error.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Extensions {
    #[serde(default, rename = "errorClass")]
    pub(crate) error_class: Option<String>,
}

/// Maps the `errors` of a 200 answer. `timeout` is the request timeout, reported by
/// [`Error::Timeout`].
///
/// | `errorClass` | error | retried |
/// |---|---|---|
/// | `TIMEOUT` | [`Error::Timeout`] | yes |
/// | `SERVER_ERROR`, `INTERNAL_SERVER_ERROR`, `SERVICE_UNAVAILABLE` | [`Error::Unavailable`] | yes |
/// | `TOO_MANY_REQUESTS`, `RATE_LIMITED` | [`Error::RateLimited`] | yes |
/// | `FORBIDDEN`, `UNAUTHORIZED`, `UNAUTHENTICATED`, `ACCESS_DENIED` | [`Error::PermissionDenied`] | no |
/// | `INVALID_INPUT`, `BAD_USER_INPUT`, `GRAPHQL_VALIDATION_FAILED`, none | [`Error::InvalidInput`] | no |
/// | any other | [`Error::Generic`] | no |
pub(crate) fn graphql_error(errors: &[GraphQlError], timeout: Duration) -> Error {
    let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    let message = messages.join("; ");
    let class = errors
        .first()
        .and_then(|e| e.extensions.as_ref())
        .and_then(|x| x.error_class.as_deref());
    match class {
        Some("TIMEOUT") => Error::Timeout {
            provider: KIND,
            after: timeout,
        },
        Some("SERVER_ERROR" | "INTERNAL_SERVER_ERROR" | "SERVICE_UNAVAILABLE") => Error::Unavailable {
            provider: KIND,
            message: format!("{}: {message}", class.unwrap_or_default()),
        },
        Some("TOO_MANY_REQUESTS" | "RATE_LIMITED") => Error::RateLimited {
            provider: KIND,
            retry_after: None,
        },
        Some("FORBIDDEN" | "UNAUTHORIZED" | "UNAUTHENTICATED" | "ACCESS_DENIED") => Error::PermissionDenied {
            provider: KIND,
            message,
        },
        None | Some("INVALID_INPUT" | "BAD_USER_INPUT" | "GRAPHQL_VALIDATION_FAILED") => {
            Error::InvalidInput {
                what: "query",
                message: format!("{KIND}: {message}"),
            }
        }
        Some(other) => Error::Generic {
            provider: KIND,
            source: format!("{other}: {message}").into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(json: &str) -> Vec<GraphQlError> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn maps_error_classes() {
        let t = Duration::from_secs(9);
        let e = graphql_error(
            &errors(r#"[{"message":"NRDB query timed out","extensions":{"errorClass":"TIMEOUT"}}]"#),
            t,
        );
        assert!(matches!(e, Error::Timeout { after, .. } if after == t) && e.is_retryable());
        let e = graphql_error(
            &errors(r#"[{"message":"oops","extensions":{"errorClass":"SERVER_ERROR"}}]"#),
            t,
        );
        assert!(matches!(e, Error::Unavailable { .. }) && e.is_retryable());
        let e = graphql_error(
            &errors(
                r#"[{"message":"NRQL Syntax Error: Error at line 1","extensions":{"errorClass":"INVALID_INPUT"}}]"#,
            ),
            t,
        );
        assert_eq!(
            e.to_string(),
            "invalid query: newrelic: NRQL Syntax Error: Error at line 1"
        );
        let e = graphql_error(
            &errors(r#"[{"message":"Access denied","extensions":{"errorClass":"FORBIDDEN"}}]"#),
            t,
        );
        assert!(matches!(e, Error::PermissionDenied { .. }));
        let e = graphql_error(&errors(r#"[{"message":"Field 'x' doesn't exist"}]"#), t);
        assert!(matches!(e, Error::InvalidInput { .. }) && !e.is_retryable());
        let e = graphql_error(
            &errors(r#"[{"message":"m","extensions":{"errorClass":"ODD"}}]"#),
            t,
        );
        assert_eq!(e.kind(), "generic");
    }
}
