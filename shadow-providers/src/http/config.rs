//! Options shared by the HTTP backends: timeouts, retries and authentication. Pure data, compiled in every build.

use std::{fmt, path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};
use shadow_core::{Error, Result};

/// How a failed request is retried. Only retryable failures are retried: connection errors, timeouts, 429 and
/// 5xx answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryOptions {
    /// Attempts in all, the first included. `1` disables retries.
    pub max_attempts: u32,
    /// The wait before the first retry; it doubles after each attempt.
    #[serde(with = "humantime_serde")]
    pub initial_backoff: Duration,
    /// The longest wait between two attempts, a server's `Retry-After` included.
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
}

impl Default for RetryOptions {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
        }
    }
}

impl RetryOptions {
    /// Checks the options. `field` is the dotted path used in errors.
    ///
    /// # Errors
    /// [`Error::Config`] when `max_attempts` is 0 or the initial backoff exceeds the maximum.
    pub fn validate(&self, field: &str) -> Result<()> {
        if self.max_attempts == 0 {
            return Err(Error::config(
                format!("{field}.max_attempts"),
                "must be at least 1",
            ));
        }
        if self.initial_backoff > self.max_backoff {
            return Err(Error::config(
                format!("{field}.initial_backoff"),
                "must not exceed max_backoff",
            ));
        }
        Ok(())
    }

    /// The wait before retry number `retry` (1 for the first retry), without jitter.
    #[must_use]
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        self.initial_backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// Where a credential comes from. Secrets are never written in the config file itself.
///
/// ```toml
/// auth = { bearer_token_env = "PROM_TOKEN" }
/// auth = { bearer_token_file = "/var/run/secrets/prometheus/token" }
/// auth = { username = "shadow", password_env = "PROM_PASSWORD" }
/// ```
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthOptions {
    /// Read a bearer token from this environment variable.
    pub bearer_token_env: Option<String>,
    /// Read a bearer token from this file (trailing white space is trimmed).
    pub bearer_token_file: Option<PathBuf>,
    /// The user name for basic auth.
    pub username: Option<String>,
    /// Read the basic-auth password from this environment variable.
    pub password_env: Option<String>,
    /// Read the basic-auth password from this file.
    pub password_file: Option<PathBuf>,
}

impl fmt::Debug for AuthOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only the places secrets come from, never the secrets.
        f.debug_struct("AuthOptions")
            .field("bearer_token_env", &self.bearer_token_env)
            .field("bearer_token_file", &self.bearer_token_file)
            .field("username", &self.username)
            .field("password_env", &self.password_env)
            .field("password_file", &self.password_file)
            .finish()
    }
}

/// A resolved credential.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// `Authorization: Basic <user:password>`.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: Secret,
    },
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Bearer(_) => f.write_str("Bearer(REDACTED)"),
            Credential::Basic { username, .. } => write!(f, "Basic({username}:REDACTED)"),
        }
    }
}

/// A secret string: its `Debug` and `Display` print `REDACTED`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    #[must_use]
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it is sent.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("REDACTED")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("REDACTED")
    }
}

/// Reads a secret from an environment variable. `field` names the config field in errors.
///
/// # Errors
/// [`Error::Config`] when the variable is unset or empty.
pub fn secret_from_env(field: &str, var: &str) -> Result<Secret> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Ok(Secret(v.trim().to_string())),
        _ => Err(Error::config(
            field,
            format!("environment variable `{var}` is unset or empty"),
        )),
    }
}

/// Reads a secret from a file. `field` names the config field in errors.
///
/// # Errors
/// [`Error::Config`] when the file cannot be read or is empty.
pub fn secret_from_file(field: &str, path: &std::path::Path) -> Result<Secret> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::config(field, format!("cannot read {}: {e}", path.display())))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::config(field, format!("{} is empty", path.display())));
    }
    Ok(Secret(text.to_string()))
}

impl AuthOptions {
    /// Resolves the credential, reading environment variables and files now. `field` is the dotted path of
    /// the options in the config.
    ///
    /// # Errors
    /// [`Error::Config`] when the options mix methods, name no secret, or the secret cannot be read.
    pub fn resolve(&self, field: &str) -> Result<Option<Credential>> {
        let bearer = self.bearer_token_env.is_some() || self.bearer_token_file.is_some();
        let basic = self.username.is_some() || self.password_env.is_some() || self.password_file.is_some();
        match (bearer, basic) {
            (false, false) => Ok(None),
            (true, true) => Err(Error::config(
                field,
                "use either a bearer token or basic auth, not both",
            )),
            (true, false) => {
                let token = match (&self.bearer_token_env, &self.bearer_token_file) {
                    (Some(var), None) => secret_from_env(&format!("{field}.bearer_token_env"), var)?,
                    (None, Some(path)) => secret_from_file(&format!("{field}.bearer_token_file"), path)?,
                    _ => {
                        return Err(Error::config(
                            field,
                            "set one of bearer_token_env and bearer_token_file",
                        ));
                    }
                };
                Ok(Some(Credential::Bearer(token)))
            }
            (false, true) => {
                let username = self.username.clone().ok_or_else(|| {
                    Error::config(format!("{field}.username"), "basic auth needs a username")
                })?;
                let password = match (&self.password_env, &self.password_file) {
                    (Some(var), None) => secret_from_env(&format!("{field}.password_env"), var)?,
                    (None, Some(path)) => secret_from_file(&format!("{field}.password_file"), path)?,
                    _ => return Err(Error::config(field, "set one of password_env and password_file")),
                };
                Ok(Some(Credential::Basic { username, password }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let r = RetryOptions {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(350),
        };
        assert_eq!(r.backoff(1), Duration::from_millis(100));
        assert_eq!(r.backoff(2), Duration::from_millis(200));
        assert_eq!(r.backoff(3), Duration::from_millis(350));
        assert!(
            RetryOptions {
                max_attempts: 0,
                ..r.clone()
            }
            .validate("metrics.retry")
            .is_err()
        );
    }

    #[test]
    fn auth_resolves_and_never_prints_secrets() {
        let dir = std::env::temp_dir().join(format!("shadow-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "s3cr3t\n").unwrap();
        let opts = AuthOptions {
            bearer_token_file: Some(file),
            ..AuthOptions::default()
        };
        let cred = opts.resolve("metrics.auth").unwrap().unwrap();
        assert_eq!(cred, Credential::Bearer(Secret::new("s3cr3t")));
        assert_eq!(format!("{cred:?}"), "Bearer(REDACTED)");

        let both = AuthOptions {
            bearer_token_env: Some("X".into()),
            username: Some("u".into()),
            ..AuthOptions::default()
        };
        assert!(
            both.resolve("metrics.auth")
                .unwrap_err()
                .to_string()
                .contains("not both")
        );
        let unset = AuthOptions {
            username: Some("u".into()),
            password_env: Some("SHADOW_TEST_SURELY_UNSET_VAR".into()),
            ..AuthOptions::default()
        };
        let err = unset.resolve("metrics.auth").unwrap_err().to_string();
        assert!(
            err.contains("metrics.auth.password_env") && err.contains("unset"),
            "{err}"
        );
        assert_eq!(AuthOptions::default().resolve("x").unwrap(), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
