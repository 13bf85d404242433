//! In-memory implementations of every Shadow trait, for tests, simulations and the embedded demo.
//!
//! | type | trait |
//! |---|---|
//! | [`InMemoryMetricSource`] | [`MetricSource`](crate::MetricSource) |
//! | [`InMemoryProvisioner`] | [`Provisioner`](crate::Provisioner) |
//! | [`InMemoryTrafficShifter`] | [`TrafficShifter`](crate::TrafficShifter) |
//! | [`InMemoryDependencyRegistry`] | [`DependencyRegistry`](crate::DependencyRegistry) |
//! | [`InMemoryHealthProbe`] | [`HealthProbe`](crate::HealthProbe) |
//! | [`InMemorySwitchStateStore`] | [`SwitchStateStore`](crate::SwitchStateStore) |
//! | [`MeanForecaster`] | [`Forecaster`](crate::Forecaster) (through [`Fit`](crate::Fit) + [`Named`](crate::Named)) |
//!
//! Every type is deterministic, `Debug + Send + Sync`, and cheap to clone: a clone is another handle to the same
//! state, so a test can keep one handle while the trait object is owned elsewhere. State sits behind a
//! `std::sync::Mutex`; no lock is held across an `.await`.
//!
//! The async fakes accept injected failures through `fail_next(n, make_error)`: the next `n` trait calls (of
//! the async methods; `name` and `capability` never fail) return the injected error and change nothing. Use it
//! to test retry and fallback paths.
//!
//! Every type passes the [`conformance`](crate::conformance) suite; see `memory/tests.rs`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> shadow_core::Result<()> {
//! use shadow_core::{memory::InMemoryProvisioner, Environment, Error, Provisioner, ServiceId};
//!
//! let checkout = ServiceId::new("checkout")?;
//! let fake = InMemoryProvisioner::new().with_service(&checkout, Environment::Live, 3);
//! let handle = fake.clone(); // keeps seeing what the trait object does
//! let prov: Box<dyn Provisioner> = Box::new(fake);
//!
//! handle.fail_next(1, || Error::Unavailable { provider: "memory", message: "injected".into() });
//! assert!(prov.describe(&checkout, Environment::Live).await.unwrap_err().is_retryable());
//! assert_eq!(prov.describe(&checkout, Environment::Live).await?.desired.0, 3);
//! # Ok(())
//! # }
//! ```

mod deps;
mod faults;
mod forecaster;
mod health;
mod metric;
mod provisioner;
mod switch_state;
mod traffic;

#[cfg(test)]
mod tests;

pub use deps::InMemoryDependencyRegistry;
pub use forecaster::{FittedMean, MeanForecaster};
pub use health::InMemoryHealthProbe;
pub use metric::InMemoryMetricSource;
pub use provisioner::InMemoryProvisioner;
pub use switch_state::InMemorySwitchStateStore;
pub use traffic::InMemoryTrafficShifter;

/// The provider name every in-memory fake reports, and the provider kind that selects them in config.
pub const KIND: &str = "memory";

/// Locks a mutex, recovering the data when a panicking test poisoned it.
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
