//! An endpoint's request slots: at most `max_concurrency` requests in
//! flight, fewer while the endpoint is timing out.
//!
//! A server that answers one request at a time (llama.cpp, Ollama with one
//! slot) queues the others, so each answer arrives later the more requests
//! are sent; past `timeout_secs` they time out and their retries join the
//! queue again, while the server may still work on the abandoned ones. So a
//! request that times out halves the slots (down to one), and answers win
//! them back one at a time (one more slot after as many answers in a row as
//! there are slots): a slow endpoint gives slow results, not mass timeouts.
//! Requests sent together time out together: like TCP's congestion window,
//! only a request sent after the last cut cuts again.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use tokio::sync::{Semaphore, SemaphorePermit};

pub(crate) struct Slots {
    semaphore: Semaphore,
    max: usize,
    state: Mutex<State>,
    /// Permits to take out of circulation as they come back.
    debt: AtomicUsize,
}

struct State {
    /// Slots in circulation, in use or free (minus `debt`).
    limit: usize,
    /// Answers in a row since the last change.
    answers: usize,
    /// When the slots were last cut.
    cut_at: Option<Instant>,
}

/// A request slot, returned when dropped.
pub(crate) struct Slot<'a> {
    permit: Option<SemaphorePermit<'a>>,
    slots: &'a Slots,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let Some(permit) = self.permit.take() else {
            return;
        };
        let paid = self
            .slots
            .debt
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |d| d.checked_sub(1))
            .is_ok();
        if paid {
            permit.forget();
        }
    }
}

impl Slots {
    pub(crate) fn new(max: usize) -> Self {
        let max = max.max(1);
        Slots {
            semaphore: Semaphore::new(max),
            max,
            state: Mutex::new(State {
                limit: max,
                answers: 0,
                cut_at: None,
            }),
            debt: AtomicUsize::new(0),
        }
    }

    pub(crate) async fn acquire(&self) -> Slot<'_> {
        let permit = self
            .semaphore
            .acquire()
            .await
            .expect("the semaphore is never closed");
        Slot {
            permit: Some(permit),
            slots: self,
        }
    }

    /// Slots in circulation now.
    #[cfg(test)]
    fn limit(&self) -> usize {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).limit
    }

    /// A request sent at `sent` timed out: halves the slots, unless it was
    /// sent before the last cut (the cut already answered its wave).
    /// Returns the new limit when it changed.
    pub(crate) fn timed_out(&self, sent: Instant) -> Option<usize> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.cut_at.is_some_and(|cut| sent < cut) {
            return None;
        }
        state.answers = 0;
        let halved = (state.limit / 2).max(1);
        if halved == state.limit {
            return None;
        }
        state.cut_at = Some(Instant::now());
        self.debt.fetch_add(state.limit - halved, Ordering::AcqRel);
        state.limit = halved;
        Some(halved)
    }

    /// A request was answered: after as many answers in a row as there are
    /// slots, one more slot, up to the maximum. Returns the new limit when it
    /// changed.
    pub(crate) fn answered(&self) -> Option<usize> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.limit >= self.max {
            return None;
        }
        state.answers += 1;
        if state.answers < state.limit {
            return None;
        }
        state.answers = 0;
        state.limit += 1;
        // A slot not yet taken out of circulation stays instead.
        let cancelled = self
            .debt
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |d| d.checked_sub(1))
            .is_ok();
        if !cancelled {
            self.semaphore.add_permits(1);
        }
        Some(state.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Slots that can be taken at once, without waiting.
    fn free(slots: &Slots) -> usize {
        let mut taken = Vec::new();
        while let Ok(permit) = slots.semaphore.try_acquire() {
            taken.push(permit);
        }
        taken.len()
    }

    #[tokio::test]
    async fn timeouts_halve_and_answers_win_slots_back() {
        let slots = Slots::new(8);
        let held: Vec<_> = futures::future::join_all((0..8).map(|_| slots.acquire())).await;
        let wave = Instant::now();
        assert_eq!(slots.timed_out(wave), Some(4));
        // The rest of the wave sent with it does not cut again.
        assert_eq!(slots.timed_out(wave), None);
        assert_eq!(slots.timed_out(Instant::now()), Some(2));
        assert_eq!(slots.timed_out(Instant::now()), Some(1));
        assert_eq!(slots.timed_out(Instant::now()), None);
        drop(held);
        // Seven slots came back into debt; one circulates.
        assert_eq!(free(&slots), 1);
        assert_eq!(slots.answered(), Some(2));
        assert_eq!(slots.answered(), None);
        assert_eq!(slots.answered(), Some(3));
        assert_eq!(free(&slots), 3);
        for _ in 0..30 {
            slots.answered();
        }
        assert_eq!(slots.limit(), 8);
        assert_eq!(free(&slots), 8);
        assert_eq!(slots.answered(), None);
    }

    #[tokio::test]
    async fn growing_back_before_the_slots_return_cancels_the_debt() {
        let slots = Slots::new(4);
        let held: Vec<_> = futures::future::join_all((0..4).map(|_| slots.acquire())).await;
        assert_eq!(slots.timed_out(Instant::now()), Some(2));
        assert_eq!(slots.answered(), None);
        assert_eq!(slots.answered(), Some(3));
        drop(held);
        assert_eq!(free(&slots), 3);
    }
}
