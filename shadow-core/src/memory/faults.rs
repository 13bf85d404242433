//! Failure injection shared by the in-memory fakes.

use std::{
    collections::VecDeque,
    fmt,
    sync::{Arc, Mutex},
};

use super::lock;
use crate::error::{Error, Result};

type MakeError = Arc<dyn Fn() -> Error + Send + Sync>;

/// A queue of injected failures: each entry fails the next `remaining` calls with a fresh error.
#[derive(Clone, Default)]
pub(super) struct Faults {
    queue: Arc<Mutex<VecDeque<(usize, MakeError)>>>,
}

impl Faults {
    /// Fails the next `n` calls with errors made by `make_error`, after any failures already queued.
    pub(super) fn push(&self, n: usize, make_error: impl Fn() -> Error + Send + Sync + 'static) {
        if n > 0 {
            lock(&self.queue).push_back((n, Arc::new(make_error)));
        }
    }

    /// Consumes one injected failure, if any is queued.
    pub(super) fn check(&self) -> Result<()> {
        let mut queue = lock(&self.queue);
        let Some((remaining, make_error)) = queue.front_mut() else {
            return Ok(());
        };
        let err = make_error();
        *remaining -= 1;
        if *remaining == 0 {
            queue.pop_front();
        }
        Err(err)
    }

    /// How many calls will still fail.
    pub(super) fn pending(&self) -> usize {
        lock(&self.queue).iter().map(|(n, _)| n).sum()
    }
}

impl fmt::Debug for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Faults")
            .field("pending", &self.pending())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_consumed_in_order() {
        let faults = Faults::default();
        faults.push(0, || Error::invalid("never", "zero calls"));
        faults.push(2, || Error::invalid("first", "x"));
        faults.push(1, || Error::invalid("second", "y"));
        assert_eq!(faults.pending(), 3);
        let whats: Vec<_> = (0..4)
            .map(|_| match faults.check() {
                Err(Error::InvalidInput { what, .. }) => what,
                Err(other) => panic!("unexpected error {other}"),
                Ok(()) => "ok",
            })
            .collect();
        assert_eq!(whats, ["first", "first", "second", "ok"]);
        assert_eq!(faults.pending(), 0);
    }
}
