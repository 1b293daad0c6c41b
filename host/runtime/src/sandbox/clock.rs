//! Time, as a guest sees it and as the host accounts for it.
//!
//! The guest CPU budget counts only time spent running guest code: time the
//! guest waits for the LLM, or is parked while other evaluations run, is
//! subtracted. Epoch ticks give the host a chance to check the budget while
//! the guest runs.
//!
//! The wall-clock limit bounds what the judge itself does, so it does not
//! count waiting for LLM answers either: a slow or queueing endpoint is
//! bounded by its own `timeout_secs` and retries, and gives slow results
//! rather than judgments that "timed out" while the model was answering.
//!
//! The guest itself sees frozen clocks: judging needs no time, and a clock is
//! a timing side channel.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime_wasi::{HostMonotonicClock, HostWallClock};

#[derive(Clone)]
pub(crate) struct GuestClock {
    started: Instant,
    outside_nanos: Arc<AtomicU64>,
    llm_waits: Arc<Mutex<LlmWaits>>,
}

/// Time spent waiting for LLM answers.
#[derive(Default)]
struct LlmWaits {
    /// Waits that ended.
    waited: Duration,
    /// When the wait under way began.
    since: Option<Instant>,
}

impl GuestClock {
    pub(crate) fn start() -> Self {
        GuestClock {
            started: Instant::now(),
            outside_nanos: Arc::default(),
            llm_waits: Arc::default(),
        }
    }

    /// Awaits an LLM answer; the time is charged to neither the CPU budget
    /// nor the wall-clock limit, even if the wait is cut short.
    pub(crate) async fn wait_for_llm<F: Future>(&self, answer: F) -> F::Output {
        struct Waiting<'a>(&'a GuestClock, Instant);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                let elapsed = self.1.elapsed();
                self.0.add_outside(elapsed);
                let mut waits = self.0.llm_waits.lock().unwrap_or_else(|e| e.into_inner());
                waits.waited += elapsed;
                waits.since = None;
            }
        }
        let now = Instant::now();
        self.llm_waits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .since = Some(now);
        let _waiting = Waiting(self, now);
        answer.await
    }

    /// Wall-clock time the judge has taken, LLM waits left out.
    pub(crate) fn judge_time(&self) -> Duration {
        let waits = self.llm_waits.lock().unwrap_or_else(|e| e.into_inner());
        let waiting = waits.since.map_or(Duration::ZERO, |since| since.elapsed());
        self.started
            .elapsed()
            .saturating_sub(waits.waited + waiting)
    }

    /// Completes once the judge has taken `limit` of wall-clock time.
    pub(crate) async fn wall_limit(&self, limit: Duration) {
        loop {
            let used = self.judge_time();
            if used >= limit {
                return;
            }
            // While an LLM wait is under way the judge's time stands still,
            // and this sleeps again.
            tokio::time::sleep(limit - used).await;
        }
    }

    /// Time spent running the guest so far.
    pub(crate) fn guest_time(&self) -> Duration {
        let outside = Duration::from_nanos(self.outside_nanos.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(outside)
    }

    /// Records time the guest did not run (an LLM call, a yield).
    pub(crate) fn add_outside(&self, elapsed: Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.outside_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Yields to the executor, and does not count the time parked.
    pub(crate) fn yield_now(&self) -> impl Future<Output = ()> + Send + 'static {
        let clock = self.clone();
        async move {
            let parked = Instant::now();
            tokio::task::yield_now().await;
            clock.add_outside(parked.elapsed());
        }
    }
}

/// Wall clock at the Unix epoch and a monotonic clock at zero, forever.
pub(crate) struct FrozenClock;

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }

    fn now(&self) -> u64 {
        0
    }
}
