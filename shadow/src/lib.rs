//! Shadow.
