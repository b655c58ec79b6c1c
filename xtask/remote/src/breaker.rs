//! The circuit breaker: after repeated failures in a row (or one that retrying
//! cannot fix, such as refused credentials) the remote is not called again for the
//! rest of the run, so a dead remote costs a few timeouts, not one per task.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use crate::error::FailureKind;

/// Consecutive failures that open the breaker. Three: one blip is forgiven, a
/// remote that fails three times in a row is down for the length of a build.
pub(crate) const THRESHOLD: u32 = 3;

#[derive(Default)]
pub(crate) struct Breaker {
    consecutive: AtomicU32,
    open: AtomicBool,
}

impl Breaker {
    pub(crate) fn is_open(&self) -> bool {
        self.open.load(Ordering::Relaxed)
    }

    pub(crate) fn success(&self) {
        self.consecutive.store(0, Ordering::Relaxed);
    }

    /// Records a failure; true if this one opened the breaker.
    pub(crate) fn failure(&self, kind: FailureKind) -> bool {
        if !kind.counts_for_breaker() {
            return false;
        }
        let count = self.consecutive.fetch_add(1, Ordering::Relaxed) + 1;
        if kind.is_fatal() || count >= THRESHOLD {
            !self.open.swap(true, Ordering::Relaxed)
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_or_a_fatal_failure() {
        let breaker = Breaker::default();
        assert!(!breaker.failure(FailureKind::Timeout));
        assert!(!breaker.failure(FailureKind::Server));
        breaker.success();
        assert!(!breaker.failure(FailureKind::Server));
        assert!(
            !breaker.failure(FailureKind::TooLarge),
            "says nothing about the remote"
        );
        assert!(!breaker.failure(FailureKind::Server));
        assert!(breaker.failure(FailureKind::Unreachable));
        assert!(breaker.is_open());
        assert!(!breaker.failure(FailureKind::Unreachable), "opens once");

        let breaker = Breaker::default();
        assert!(breaker.failure(FailureKind::Auth));
    }
}
