//! The switchover state machine of Shadow.
