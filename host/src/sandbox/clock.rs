//! Time, as a guest sees it and as the host accounts for it.
//!
//! The guest CPU budget counts only time spent running guest code: time the
//! guest waits for the LLM, or is parked while other evaluations run, is
//! subtracted. Epoch ticks give the host a chance to check the budget while
//! the guest runs.
//!
//! The guest itself sees frozen clocks: judging needs no time, and a clock is
//! a timing side channel.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use wasmtime_wasi::{HostMonotonicClock, HostWallClock};

#[derive(Clone)]
pub(crate) struct GuestClock {
    started: Instant,
    outside_nanos: Arc<AtomicU64>,
}

impl GuestClock {
    pub(crate) fn start() -> Self {
        GuestClock {
            started: Instant::now(),
            outside_nanos: Arc::default(),
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
