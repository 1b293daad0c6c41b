//! The memory cap of one evaluation, over all of a component's memories.

use wasmtime::ResourceLimiter;

pub(crate) struct MemoryLimiter {
    limit: usize,
    used: usize,
    /// Set when the guest asked for more than `limit`: whatever the guest
    /// does next (trap, or an error of its own), the failure is reported as
    /// out of memory.
    pub(crate) exceeded: bool,
}

/// Table elements per evaluation: far above what judges use, far below what
/// would matter to the host.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

impl MemoryLimiter {
    pub(crate) fn new(limit: u64) -> Self {
        MemoryLimiter {
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            used: 0,
            exceeded: false,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let used = self.used - current.min(self.used) + desired;
        if used > self.limit {
            // Refusing (rather than trapping) lets a guest that checks its
            // allocations report the failure itself.
            self.exceeded = true;
            return Ok(false);
        }
        self.used = used;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}
