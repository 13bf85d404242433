//! Examples of Shadow.
