//! Calls in a row that failed against an endpoint, counted so that an
//! answer that arrives late cannot hide a failure that came after it.
//!
//! "In a row" is in the order the endpoint answered. A call that succeeds
//! ends the streak only if no call failed after its answer came in: with
//! one request at a time, the task holding an answer may resume only after
//! the next call has already failed (the endpoint went down in between),
//! and ending the streak then would make a failing endpoint look fine to a
//! run deciding whether a failed row is an outage.

use std::sync::atomic::{AtomicU64, Ordering};

/// Failures counted so far (high 32 bits) and failures in a row (low 32
/// bits), in one atomic so that both change together.
#[derive(Debug, Default)]
pub(crate) struct FailureStreak(AtomicU64);

/// When the endpoint answered a call: the failures counted up to then.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark(u32);

fn split(value: u64) -> (u32, u32) {
    ((value >> 32) as u32, value as u32)
}

fn join(failures: u32, in_a_row: u32) -> u64 {
    (u64::from(failures) << 32) | u64::from(in_a_row)
}

impl FailureStreak {
    /// Marks the moment an answer came in.
    pub(crate) fn mark(&self) -> Mark {
        Mark(split(self.0.load(Ordering::Acquire)).0)
    }

    /// A failure that speaks against the endpoint; returns the failures in
    /// a row now.
    pub(crate) fn failed(&self) -> u32 {
        let update = |value| {
            let (failures, in_a_row) = split(value);
            Some(join(failures.wrapping_add(1), in_a_row.saturating_add(1)))
        };
        let before = self
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, update)
            .expect("the update always applies");
        split(before).1.saturating_add(1)
    }

    /// The endpoint answered at `answered` (or the call failed for a
    /// reason of the request's own): the streak ends unless a call failed
    /// after that.
    pub(crate) fn ended(&self, answered: Mark) {
        let _ = self
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |value| {
                let (failures, in_a_row) = split(value);
                (failures == answered.0 && in_a_row > 0).then(|| join(failures, 0))
            });
    }

    pub(crate) fn in_a_row(&self) -> u32 {
        split(self.0.load(Ordering::Acquire)).1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_recorded_late_does_not_end_a_streak_that_began_after_it() {
        let streak = FailureStreak::default();
        let early = streak.mark();
        let late = streak.mark();
        assert_eq!(streak.failed(), 1);
        // An answer that came in before the failure is recorded after it.
        streak.ended(early);
        assert_eq!(streak.in_a_row(), 1);
        assert_eq!(streak.failed(), 2);
        streak.ended(late);
        assert_eq!(streak.in_a_row(), 2);
        // An answer after the failures: the streak is over.
        let after = streak.mark();
        streak.ended(after);
        assert_eq!(streak.in_a_row(), 0);
        assert_eq!(streak.failed(), 1);
    }
}
