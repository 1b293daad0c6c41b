//! The wasmtime engine every judge runs in, and its epoch ticker.

use std::thread;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig};

use crate::limits::Limits;

/// How often the epoch advances: the granularity of the guest CPU budget.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Instance slots of the pooling allocator. Each evaluation in flight holds
/// one; memory for them is reserved, not committed, until used.
#[derive(Debug, Clone, Copy)]
pub enum Allocation {
    /// Pre-reserved slots for this many instances at once: the cheapest
    /// instantiation, and a hard cap on concurrent evaluations.
    Pooling { slots: u32 },
    /// Allocate memory for each instance when it is created.
    OnDemand,
}

impl Default for Allocation {
    fn default() -> Self {
        Allocation::Pooling { slots: 512 }
    }
}

impl Allocation {
    /// How many evaluations may run at once without exhausting the pool.
    pub(crate) fn concurrency(self) -> usize {
        match self {
            Allocation::Pooling { slots } => slots as usize,
            Allocation::OnDemand => tokio::sync::Semaphore::MAX_PERMITS,
        }
    }
}

/// Builds the engine. `maxima` bounds every judge's limits; the pool is
/// sized for it.
pub(crate) fn build(allocation: Allocation, maxima: &Limits) -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .cranelift_opt_level(OptLevel::Speed);
    if let Allocation::Pooling { slots } = allocation {
        let mut pool = PoolingAllocationConfig::default();
        // A componentize-py judge has about a dozen core instances; a Rust
        // judge two or three; each has one or two memories. Every memory
        // slot reserves 4 GiB of address space (not memory) so that bounds
        // checks compile away.
        pool.total_component_instances(slots)
            .total_core_instances(slots * 16)
            .total_memories(slots * 2)
            .total_tables(slots * 16)
            .total_stacks(slots)
            .max_memory_size(usize::try_from(maxima.memory_bytes).unwrap_or(usize::MAX))
            // Keep a little of each memory resident between instances: the
            // next instance in the slot starts without page faults.
            .linear_memory_keep_resident(64 << 10);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    let engine = Engine::new(&config)?;
    start_epoch_ticker(&engine)?;
    Ok(engine)
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until the engine is
/// dropped; each tick lets a running guest be checked against its budget.
/// Without it a guest could not be interrupted, so failing to start it is
/// fatal to the engine.
fn start_epoch_ticker(engine: &Engine) -> std::io::Result<()> {
    let weak = engine.weak();
    thread::Builder::new()
        .name("gavel-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                thread::sleep(EPOCH_TICK);
            }
        })
        .map(drop)
}
