//! The HTTP layer shared by the network backends.
//!
//! - [`config`]: retry and authentication options (pure data, in every build);
//! - `client` (feature `http`): [`HttpClient`](client::HttpClient), with rustls on the ring provider, timeouts,
//!   retries of retryable failures only, and [`parse_error`](client::parse_error), the table from HTTP answers
//!   to [`shadow_core::Error`] variants.
//!
//! # Retries
//! Connection failures, timeouts, 429 and 5xx answers are retried with exponential backoff (a server's
//! `Retry-After` or `X-RateLimit-Reset` wins when longer), up to `retry.max_attempts`. After the last attempt
//! the error becomes [`Error::RetriesExhausted`](shadow_core::Error::RetriesExhausted), which outer loops do not
//! retry again. Other 4xx answers fail at once.

#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod client;
pub mod config;
#[cfg(all(test, feature = "http"))]
pub(crate) mod mock_server;
