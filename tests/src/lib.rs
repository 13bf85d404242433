//! Cross-crate integration tests of Shadow; the tests live in `tests/`.
//!
//! The library holds what the tests share with the crate's binaries: [`prometheus_fixtures`], the series
//! that `prometheus_backfill` writes for the test Prometheus and the values the tests expect back.

pub mod prometheus_fixtures;
