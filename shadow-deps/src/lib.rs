//! The dependency graph of Shadow.
