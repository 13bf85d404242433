//! Cross-crate integration tests of Shadow; the tests live in `tests/`.
