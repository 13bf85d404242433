//! The HTTP client shared by the network backends: rustls (ring), timeouts, retries of retryable failures only,
//! and one table that maps HTTP answers to [`shadow_core::Error`] variants.

use std::{fmt, sync::Arc, time::Duration};

use reqwest::{Method, StatusCode, header::HeaderMap};
use serde::de::DeserializeOwned;
use shadow_core::{Error, Result};

use super::config::{Credential, RetryOptions};

/// Longest piece of a response body kept in an error message.
const BODY_EXCERPT: usize = 300;

/// A request to send: method, URL, query, headers and an optional JSON body.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// The full URL.
    pub url: String,
    /// Query parameters.
    pub query: Vec<(String, String)>,
    /// Extra headers; values may be secret, so they are never logged.
    pub headers: Vec<(&'static str, String)>,
    /// A JSON body.
    pub json: Option<serde_json::Value>,
}

impl HttpRequest {
    /// A GET request.
    #[must_use]
    pub fn get(url: impl Into<String>) -> Self {
        Self {
            method: Method::GET,
            url: url.into(),
            query: Vec::new(),
            headers: Vec::new(),
            json: None,
        }
    }

    /// A POST request with a JSON body.
    #[must_use]
    pub fn post_json(url: impl Into<String>, body: serde_json::Value) -> Self {
        Self {
            method: Method::POST,
            url: url.into(),
            query: Vec::new(),
            headers: Vec::new(),
            json: Some(body),
        }
    }

    /// Adds a query parameter.
    #[must_use]
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// Adds a header.
    #[must_use]
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// A configured HTTP client for one provider.
#[derive(Clone)]
pub struct HttpClient {
    provider: &'static str,
    inner: reqwest::Client,
    timeout: Duration,
    retry: RetryOptions,
    credential: Option<Credential>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("provider", &self.provider)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("credential", &self.credential)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// Builds a client. TLS uses rustls with the ring provider and the platform's trust store.
    ///
    /// # Errors
    /// [`Error::Config`] when the retry options are invalid or the TLS stack cannot be set up.
    pub fn new(
        provider: &'static str,
        timeout: Duration,
        retry: RetryOptions,
        credential: Option<Credential>,
    ) -> Result<Self> {
        retry.validate(&format!("{provider}.retry"))?;
        if timeout.is_zero() {
            return Err(Error::config(format!("{provider}.timeout"), "must be positive"));
        }
        let tls = tls_config().map_err(|e| Error::config(format!("{provider}.tls"), e))?;
        let inner = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("shadow/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::config(format!("{provider}.tls"), e.to_string()))?;
        Ok(Self {
            provider,
            inner,
            timeout,
            retry,
            credential,
        })
    }

    /// The provider name used in errors.
    #[must_use]
    pub fn provider(&self) -> &'static str {
        self.provider
    }

    /// Sends `request`, retrying retryable failures, and parses a JSON answer.
    ///
    /// Every call of Shadow's HTTP backends reads data (queries), so it is safe to retry.
    ///
    /// # Errors
    /// The mapped error of the last attempt; [`Error::RetriesExhausted`] when a retryable failure outlived the
    /// attempts. A body that is not the expected JSON is [`Error::Generic`].
    pub async fn send_json<T: DeserializeOwned>(&self, request: &HttpRequest) -> Result<T> {
        let bytes = self.send(request).await?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Generic {
            provider: self.provider,
            source: format!("unexpected response from {}: {e}", redact_url(&request.url)).into(),
        })
    }

    /// Sends `request` with retries and returns the body of a 2xx answer.
    ///
    /// # Errors
    /// As [`HttpClient::send_json`].
    pub async fn send(&self, request: &HttpRequest) -> Result<Vec<u8>> {
        let max = self.retry.max_attempts;
        let mut attempt = 1;
        loop {
            match self.send_once(request).await {
                Ok(body) => return Ok(body),
                Err(e) if e.is_retryable() && attempt < max => {
                    let mut wait = self.retry.backoff(attempt);
                    if let Error::RateLimited {
                        retry_after: Some(after),
                        ..
                    } = &e
                    {
                        wait = (*after).min(self.retry.max_backoff).max(wait);
                    }
                    tracing::info!(
                        provider = self.provider,
                        attempt,
                        max,
                        backoff_ms = wait.as_millis() as u64,
                        error = %e,
                        "retry {attempt} of {}", max - 1
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(e) if e.is_retryable() && max > 1 => {
                    return Err(Error::RetriesExhausted {
                        attempts: attempt,
                        source: Box::new(e),
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn send_once(&self, request: &HttpRequest) -> Result<Vec<u8>> {
        let mut builder = self
            .inner
            .request(request.method.clone(), &request.url)
            .query(&request.query);
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        builder = match &self.credential {
            Some(Credential::Bearer(token)) => builder.bearer_auth(token.expose()),
            Some(Credential::Basic { username, password }) => {
                builder.basic_auth(username, Some(password.expose()))
            }
            None => builder,
        };
        if let Some(json) = &request.json {
            builder = builder.json(json);
        }
        tracing::debug!(provider = self.provider, method = %request.method, url = %redact_url(&request.url), "request");
        let response = builder.send().await.map_err(|e| self.transport_error(&e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(|e| self.transport_error(&e))?;
        if status.is_success() {
            return Ok(body.to_vec());
        }
        Err(parse_error(self.provider, status, &headers, &body))
    }

    fn transport_error(&self, e: &reqwest::Error) -> Error {
        if e.is_timeout() {
            Error::Timeout {
                provider: self.provider,
                after: self.timeout,
            }
        } else {
            // Connection refused, reset, DNS: the backend is not reachable now.
            let mut message = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                message.push_str(": ");
                message.push_str(&s.to_string());
                source = s.source();
            }
            Error::Unavailable {
                provider: self.provider,
                message: redact_url(&message),
            }
        }
    }
}

/// Maps a non-2xx answer to an error: 401/403 → permission denied, 404 → not found, 409 → conflict,
/// 429 → rate limited (with `Retry-After` or `X-RateLimit-Reset` seconds), 5xx → unavailable (retryable), any
/// other 4xx → invalid input (permanent). The message keeps a short excerpt of the body.
#[must_use]
pub fn parse_error(provider: &'static str, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    let excerpt: String = String::from_utf8_lossy(body).chars().take(BODY_EXCERPT).collect();
    let message = format!("HTTP {}: {}", status.as_u16(), excerpt.trim());
    match status.as_u16() {
        401 | 403 => Error::PermissionDenied { provider, message },
        404 => Error::NotFound {
            provider,
            what: message,
        },
        409 => Error::Conflict { provider, message },
        429 => Error::RateLimited {
            provider,
            retry_after: retry_after(headers),
        },
        500..=599 => Error::Unavailable { provider, message },
        _ => Error::InvalidInput {
            what: "request",
            message: format!("{provider}: {message}"),
        },
    }
}

/// The wait a server asked for, from `Retry-After` (seconds) or `X-RateLimit-Reset` (seconds until reset).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    ["retry-after", "x-ratelimit-reset"].iter().find_map(|name| {
        let v = headers.get(*name)?.to_str().ok()?.trim().parse::<f64>().ok()?;
        (v.is_finite() && v >= 0.0).then(|| Duration::from_secs_f64(v.min(3600.0)))
    })
}

/// Removes query strings and user info from URLs in a message, so keys in URLs never reach logs or errors.
#[must_use]
pub fn redact_url(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = [rest.find("http://"), rest.find("https://")]
        .into_iter()
        .flatten()
        .min()
    {
        out.push_str(&rest[..start]);
        let url_len = rest[start..]
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '>'))
            .unwrap_or(rest.len() - start);
        let url = &rest[start..start + url_len];
        let (scheme, after) = url.split_once("://").unwrap_or(("", url));
        let host_path = after.split_once('@').map_or(after, |(_, h)| h);
        let path = host_path.split(['?', '#']).next().unwrap_or(host_path);
        out.push_str(scheme);
        out.push_str("://");
        out.push_str(path);
        if host_path.len() > path.len() {
            out.push_str("?REDACTED");
        }
        rest = &rest[start + url_len..];
    }
    out.push_str(rest);
    out
}

fn tls_config() -> std::result::Result<rustls::ClientConfig, String> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_platform_verifier()
        .map_err(|e| e.to_string())
        .map(|b| b.with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::mock_server::{MockServer, Reply};

    fn client(max_attempts: u32) -> HttpClient {
        let retry = RetryOptions {
            max_attempts,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
        };
        HttpClient::new("test", Duration::from_secs(5), retry, None).unwrap()
    }

    #[test]
    fn maps_statuses_to_variants() {
        let h = HeaderMap::new();
        let e = |code: u16| parse_error("p", StatusCode::from_u16(code).unwrap(), &h, b"nope");
        assert!(matches!(e(401), Error::PermissionDenied { .. }));
        assert!(matches!(e(404), Error::NotFound { .. }));
        assert!(matches!(e(400), Error::InvalidInput { .. }));
        assert!(e(503).is_retryable());
        assert!(!e(400).is_retryable());
        let mut h = HeaderMap::new();
        h.insert("retry-after", "7".parse().unwrap());
        let err = parse_error("p", StatusCode::TOO_MANY_REQUESTS, &h, b"");
        assert!(
            matches!(err, Error::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(7))
        );
    }

    #[test]
    fn redacts_urls() {
        assert_eq!(
            redact_url("error sending request for url (https://user:pw@api.example/v1/query?api_key=abc)"),
            "error sending request for url (https://api.example/v1/query?REDACTED)"
        );
        assert_eq!(redact_url("plain words"), "plain words");
        assert_eq!(
            redact_url("a http://h:1/p b https://x/y?k=v"),
            "a http://h:1/p b https://x/y?REDACTED"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn retries_server_errors_then_succeeds() {
        let server = MockServer::start(vec![
            Reply::status(503, "busy"),
            Reply::status(429, "slow down").with_header("Retry-After", "0"),
            Reply::json(200, r#"{"ok":true}"#),
        ])
        .await;
        let v: serde_json::Value = client(3)
            .send_json(&HttpRequest::get(server.url("/x")))
            .await
            .unwrap();
        assert_eq!(v["ok"], true);
        assert_eq!(server.requests().len(), 3);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn does_not_retry_permanent_errors_and_marks_exhaustion() {
        let server = MockServer::start(vec![Reply::status(400, "bad query")]).await;
        let err = client(3)
            .send(&HttpRequest::get(server.url("/x")))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
        assert_eq!(server.requests().len(), 1);

        let server = MockServer::start(vec![Reply::status(500, "down"), Reply::status(500, "down")]).await;
        let err = client(2)
            .send(&HttpRequest::get(server.url("/x")))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::RetriesExhausted { attempts: 2, .. }),
            "{err}"
        );
        assert!(!err.is_retryable());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unreachable_is_unavailable_and_auth_is_sent() {
        // A port nobody listens on: bind, read the port, drop the listener.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = client(1)
            .send(&HttpRequest::get(format!("http://127.0.0.1:{port}/")))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Unavailable { .. }), "{err}");

        let server = MockServer::start(vec![Reply::json(200, "{}")]).await;
        let c = HttpClient::new(
            "test",
            Duration::from_secs(5),
            RetryOptions::default(),
            Some(Credential::Bearer(crate::http::config::Secret::new("tok"))),
        )
        .unwrap();
        let _: serde_json::Value = c.send_json(&HttpRequest::get(server.url("/x"))).await.unwrap();
        assert_eq!(server.requests()[0].header("authorization"), Some("Bearer tok"));
        assert!(!format!("{c:?}").contains("tok\""));
    }
}
