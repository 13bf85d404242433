//! Conformance checks that every provider runs: one function per trait, which panics with a message naming the
//! provider and the broken rule.
//!
//! Each check exercises the contract written on its trait, through the trait object only. Call it from the
//! provider's own tests, after seeding the backend with what the check's `# Assumptions` ask for:
//!
//! | check | trait | setup it needs |
//! |---|---|---|
//! | [`metric_source`] | [`MetricSource`](crate::MetricSource) | a [`SeededSeries`] the backend holds |
//! | [`provisioner`] | [`Provisioner`](crate::Provisioner) | a known service |
//! | [`traffic_shifter`] | [`TrafficShifter`](crate::TrafficShifter) | a known service |
//! | [`dependency_registry`] | [`DependencyRegistry`](crate::DependencyRegistry) | a service, its dependencies, and a hook that changes them |
//! | [`health_probe`] | [`HealthProbe`](crate::HealthProbe) | a target and a hook that sets its health |
//! | [`forecaster`] | [`Forecaster`](crate::Forecaster) | nothing |
//!
//! The provisioner and traffic shifter checks put back the target and split they found, when the capability
//! allows it; the registry check writes config only under keys unique to the run. So the checks can run
//! against a shared backend. The async checks need no particular runtime: the one timeout
//! (waiting for a watch event) runs on a helper thread.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use shadow_core::{conformance, memory::InMemoryTrafficShifter, ServiceId};
//!
//! let svc = ServiceId::new("checkout").unwrap();
//! conformance::traffic_shifter(&InMemoryTrafficShifter::new().with_service(&svc), &svc).await;
//! # }
//! ```

use std::{
    future::Future,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use futures::future::{self, Either};

use crate::{error::Error, ids::ServiceId};

mod deps;
mod forecaster;
mod health;
mod metric;
mod provisioner;
mod traffic;

pub use deps::dependency_registry;
pub use forecaster::forecaster;
pub use health::health_probe;
pub use metric::{SeededSeries, metric_source};
pub use provisioner::provisioner;
pub use traffic::traffic_shifter;

/// How long [`dependency_registry`] waits for a watch event.
pub const WATCH_TIMEOUT: Duration = Duration::from_secs(10);

/// A service id that no backend is expected to know.
fn unknown_service() -> ServiceId {
    ServiceId::new("shadow-conformance-no-such-service").expect("a valid service id")
}

/// A name unique to this process run, for keys written to shared backends.
fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos}-{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Panics unless `result` is an error of one of the `kinds` (see [`Error::kind`]).
#[track_caller]
fn assert_err_kind<T: std::fmt::Debug>(result: &Result<T, Error>, kinds: &[&str], context: &str) {
    match result {
        Err(e) if kinds.contains(&e.kind()) => {}
        Err(e) => panic!(
            "{context}: expected an error of kind {kinds:?}, got {} ({e})",
            e.kind()
        ),
        Ok(v) => panic!("{context}: expected an error of kind {kinds:?}, got Ok({v:?})"),
    }
}

/// Runs `fut` for at most `limit`; `None` when the time ran out. The timer is a helper thread, so this works on
/// any executor.
async fn within<T>(limit: Duration, fut: impl Future<Output = T>) -> Option<T> {
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        // The receiver is gone when the future finished first.
        let _ = tx.send(());
    });
    match future::select(std::pin::pin!(fut), rx).await {
        Either::Left((value, _)) => Some(value),
        Either::Right(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn within_times_out_and_passes_values_through() {
        assert_eq!(within(Duration::from_secs(5), async { 7 }).await, Some(7));
        let never = future::pending::<()>();
        assert_eq!(within(Duration::from_millis(10), never).await, None);
        assert_ne!(unique_suffix(), unique_suffix());
    }
}
