//! The circuit breaker: stops calling a remote that keeps failing, so a dead or
//! stalling remote costs a few timeouts per run, not one per task.
//!
//! Reads (GET, HEAD) and writes (PUT) are counted apart. A server whose GETs
//! stall while its PUTs succeed must not have every successful upload forgive
//! the last stalled download. A direction opens after [`THRESHOLD`] failures in
//! a row or [`RUN_LIMIT`] failures in the run (so that misses in between, such
//! as 404s, cannot keep a mostly-stalling remote alive). A failure that
//! retrying cannot fix (refused credentials, a rejected request) opens both.
//!
//! The bound this gives, per direction: at most `RUN_LIMIT + concurrency - 1`
//! failed requests in a run (`THRESHOLD + concurrency - 1` if every request
//! fails). The `concurrency - 1` are requests already in flight when the
//! direction opens. Each one takes at most `timeout`.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use crate::error::FailureKind;

/// Failures in a row that open a direction. Three: one blip is forgiven, a
/// remote that fails three times in a row is down for the length of a build.
pub(crate) const THRESHOLD: u32 = 3;

/// Failures in one run that open a direction whatever succeeded in between.
pub(crate) const RUN_LIMIT: u32 = 2 * THRESHOLD;

/// Which way the bytes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Fetches and lookups.
    Read,
    /// Uploads.
    Write,
}

/// Why a direction opened, for the one notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opened {
    /// The server refused the request: both directions are off.
    Refused,
    InARow,
    InTheRun,
}

#[derive(Default)]
struct Side {
    consecutive: AtomicU32,
    total: AtomicU32,
    open: AtomicBool,
}

#[derive(Default)]
pub(crate) struct Breaker {
    read: Side,
    write: Side,
}

impl Breaker {
    fn side(&self, direction: Direction) -> &Side {
        match direction {
            Direction::Read => &self.read,
            Direction::Write => &self.write,
        }
    }

    pub(crate) fn is_open(&self, direction: Direction) -> bool {
        self.side(direction).open.load(Ordering::Relaxed)
    }

    /// A request that worked (a 404 counts: the remote answered) forgives the
    /// failures in a row of its own direction only.
    pub(crate) fn success(&self, direction: Direction) {
        self.side(direction).consecutive.store(0, Ordering::Relaxed);
    }

    /// Records a failure; `Some` if this one opened the direction.
    pub(crate) fn failure(&self, direction: Direction, kind: FailureKind) -> Option<Opened> {
        if !kind.counts_for_breaker() {
            return None;
        }
        let side = self.side(direction);
        let in_a_row = side.consecutive.fetch_add(1, Ordering::Relaxed) + 1;
        let in_the_run = side.total.fetch_add(1, Ordering::Relaxed) + 1;
        let why = if kind.is_fatal() {
            let other = match direction {
                Direction::Read => &self.write,
                Direction::Write => &self.read,
            };
            other.open.store(true, Ordering::Relaxed);
            Opened::Refused
        } else if in_a_row >= THRESHOLD {
            Opened::InARow
        } else if in_the_run >= RUN_LIMIT {
            Opened::InTheRun
        } else {
            return None;
        };
        (!side.open.swap(true, Ordering::Relaxed)).then_some(why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::{Read, Write};

    #[test]
    fn opens_after_threshold_in_a_row_or_a_fatal_failure() {
        let breaker = Breaker::default();
        assert_eq!(breaker.failure(Read, FailureKind::Timeout), None);
        assert_eq!(breaker.failure(Read, FailureKind::Server), None);
        breaker.success(Read);
        assert_eq!(breaker.failure(Read, FailureKind::Server), None);
        assert_eq!(
            breaker.failure(Read, FailureKind::TooLarge),
            None,
            "says nothing about the remote"
        );
        assert_eq!(breaker.failure(Read, FailureKind::Server), None);
        assert_eq!(
            breaker.failure(Read, FailureKind::Unreachable),
            Some(Opened::InARow)
        );
        assert!(breaker.is_open(Read));
        assert!(!breaker.is_open(Write), "uploads may still work");
        assert_eq!(
            breaker.failure(Read, FailureKind::Unreachable),
            None,
            "opens once"
        );

        let breaker = Breaker::default();
        assert_eq!(
            breaker.failure(Write, FailureKind::Auth),
            Some(Opened::Refused)
        );
        assert!(breaker.is_open(Read) && breaker.is_open(Write));
    }

    #[test]
    fn successes_of_the_other_direction_forgive_nothing() {
        // GETs stall, PUTs succeed: the old shared count never reached three.
        let breaker = Breaker::default();
        let mut opened = None;
        for attempt in 1..=THRESHOLD {
            opened = breaker.failure(Read, FailureKind::Timeout);
            breaker.success(Write);
            assert_eq!(opened.is_some(), attempt == THRESHOLD, "attempt {attempt}");
        }
        assert_eq!(opened, Some(Opened::InARow));
        assert!(!breaker.is_open(Write));
    }

    #[test]
    fn misses_in_between_do_not_keep_a_failing_direction_alive() {
        let breaker = Breaker::default();
        for attempt in 1..RUN_LIMIT {
            assert_eq!(
                breaker.failure(Read, FailureKind::Timeout),
                None,
                "{attempt}"
            );
            breaker.success(Read);
        }
        assert_eq!(
            breaker.failure(Read, FailureKind::Timeout),
            Some(Opened::InTheRun)
        );
        assert!(breaker.is_open(Read));
    }
}
