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
    /// instantiation, and a hard cap on concurrent evaluations. The pool
    /// holds `slots` times what one component may take (`per_component`),
    /// so no judge can take what another's evaluation needs: a component
    /// over its share fails to instantiate, and that failure is its own.
    Pooling {
        slots: u32,
        per_component: ComponentCaps,
    },
    /// Allocate memory for each instance when it is created.
    OnDemand,
}

/// What one component instance may take from the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComponentCaps {
    /// A componentize-py judge has about a dozen core instances, a Rust
    /// judge two or three.
    pub core_instances: u32,
    /// Each has one or two memories.
    pub memories: u32,
    pub tables: u32,
}

impl Default for ComponentCaps {
    fn default() -> Self {
        ComponentCaps {
            core_instances: 16,
            memories: 2,
            tables: 16,
        }
    }
}

impl Default for Allocation {
    fn default() -> Self {
        Allocation::Pooling {
            slots: 512,
            per_component: ComponentCaps::default(),
        }
    }
}

impl Allocation {
    /// How many evaluations may run at once without exhausting the pool.
    pub(crate) fn concurrency(self) -> usize {
        match self {
            Allocation::Pooling { slots, .. } => slots as usize,
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
    if let Allocation::Pooling {
        slots,
        per_component: caps,
    } = allocation
    {
        let mut pool = PoolingAllocationConfig::default();
        // Every memory slot reserves 4 GiB of address space (not memory) so
        // that bounds checks compile away.
        pool.total_component_instances(slots)
            .max_core_instances_per_component(caps.core_instances)
            .max_memories_per_component(caps.memories)
            .max_tables_per_component(caps.tables)
            .total_core_instances(slots * caps.core_instances)
            .total_memories(slots * caps.memories)
            .total_tables(slots * caps.tables)
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
