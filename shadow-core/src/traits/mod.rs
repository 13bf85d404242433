//! The traits that sibling crates meet through.
//!
//! The async traits are dyn-compatible (`#[async_trait]`) so that providers can be chosen at run time and stored
//! as `Arc<dyn Trait>`. Forecasting is synchronous and lives in [`forecaster`].

pub mod clock;
pub mod deps;
pub mod forecaster;
pub mod health;
pub mod metric;
pub mod provisioner;
pub mod switch_state;
pub mod traffic;
