//! Datadog's error shapes, mapped to [`shadow_core::Error`].
//!
//! The shared [`parse_error`](crate::http::client::parse_error) classifies a non-2xx answer by its status (the
//! class decides retries); this module only replaces the raw body in the message with Datadog's own words:
//!
//! - a non-2xx answer carries `{"errors": ["…", …]}` (403 `{"errors":["Forbidden"]}` → permission denied, 400
//!   `{"errors":["Error parsing query: …"]}` → invalid input);
//! - a 200 answer of `/api/v1/query` with `"status": "error"` carries the reason in `"error"`: invalid input.

use serde::Deserialize;
use shadow_core::Error;

use super::KIND;

/// The body of a non-2xx Datadog answer.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    errors: Vec<String>,
}

/// Rewrites the message of an error built by the shared `parse_error` from a Datadog `{"errors": [...]}` body.
/// The variant (and so the retry class) is kept; other errors pass through.
pub(crate) fn refine(err: Error) -> Error {
    match err {
        Error::PermissionDenied { provider, message } => Error::PermissionDenied {
            provider,
            message: refine_message(&message),
        },
        Error::NotFound { provider, what } => Error::NotFound {
            provider,
            what: refine_message(&what),
        },
        Error::InvalidInput { what, message } => Error::InvalidInput {
            what,
            message: refine_message(&message),
        },
        Error::Unavailable { provider, message } => Error::Unavailable {
            provider,
            message: refine_message(&message),
        },
        Error::RetriesExhausted { attempts, source } => Error::RetriesExhausted {
            attempts,
            source: Box::new(refine(*source)),
        },
        other => other,
    }
}

/// `"…HTTP 400: {"errors":["a","b"]}"` → `"…HTTP 400: a; b"`; anything else is kept.
fn refine_message(message: &str) -> String {
    let Some(brace) = message.find('{') else {
        return message.to_string();
    };
    match serde_json::from_str::<ErrorBody>(&message[brace..]) {
        Ok(body) if !body.errors.is_empty() => {
            format!("{}{}", &message[..brace], body.errors.join("; "))
        }
        _ => message.to_string(),
    }
}

/// The error of a 200 answer whose `status` is `"error"`.
pub(crate) fn status_error(error: Option<&str>) -> Error {
    Error::InvalidInput {
        what: "query",
        message: format!(
            "{KIND}: {}",
            error.filter(|e| !e.is_empty()).unwrap_or("the query failed")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_json_body_with_the_messages_and_keeps_the_class() {
        let err = refine(Error::InvalidInput {
            what: "request",
            message: r#"datadog: HTTP 400: {"errors": ["Error parsing query: unexpected token"]}"#.into(),
        });
        assert_eq!(
            err.to_string(),
            "invalid request: datadog: HTTP 400: Error parsing query: unexpected token"
        );
        let err = refine(Error::PermissionDenied {
            provider: KIND,
            message: r#"HTTP 403: {"errors":["Forbidden"]}"#.into(),
        });
        assert_eq!(err.to_string(), "datadog: permission denied: HTTP 403: Forbidden");
        let err = refine(Error::Unavailable {
            provider: KIND,
            message: "HTTP 502: <html>bad gateway</html>".into(),
        });
        assert!(err.is_retryable());
        assert_eq!(
            err.to_string(),
            "datadog: unavailable: HTTP 502: <html>bad gateway</html>"
        );
        assert_eq!(
            status_error(Some("Rate of query too high")).to_string(),
            "invalid query: datadog: Rate of query too high"
        );
    }
}
