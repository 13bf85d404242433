//! [`Clock`]: injected time, so that dwell times, cool-downs and simulations are deterministic.

use std::{
    fmt::Debug,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::series::to_delta;

/// A source of wall-clock time that can also wait.
#[async_trait]
pub trait Clock: Debug + Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;

    /// Waits for `duration`.
    async fn sleep(&self, duration: Duration);
}

/// A clock that only moves when it sleeps or is advanced: `sleep` returns at once after moving time forward.
///
/// Used by simulations and by the embedded demo, which replay hours in milliseconds.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    /// A clock that starts at `start`.
    #[must_use]
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Moves time forward.
    pub fn advance(&self, duration: Duration) {
        let delta = to_delta(duration).unwrap_or(chrono::TimeDelta::MAX);
        let mut now = self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *now = now.checked_add_signed(delta).unwrap_or(DateTime::<Utc>::MAX_UTC);
    }
}

#[async_trait]
impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn sleep(&self, duration: Duration) {
        self.advance(duration);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[tokio::test]
    async fn manual_clock_advances_on_sleep() {
        let t0 = Utc.timestamp_opt(1_000, 0).unwrap();
        let clock = ManualClock::new(t0);
        clock.sleep(Duration::from_secs(90)).await;
        assert_eq!(clock.now(), Utc.timestamp_opt(1_090, 0).unwrap());
    }
}
