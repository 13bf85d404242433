//! The wall clock, for the controller binary.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shadow_core::Clock;

/// The system's wall clock; `sleep` is `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}
