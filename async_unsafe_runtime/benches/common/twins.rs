//! The guarded call and its unguarded twin, shared by the benchmarks: the same
//! body, so what one costs more than the other is the guard.

use async_unsafe_runtime::{SynchronousOnlyOperation, async_unsafe};

/// Both twins are called through a function pointer, so neither is inlined
/// into the measuring loop.
pub type Call = fn(u64) -> Result<u64, SynchronousOnlyOperation>;

#[inline(never)]
pub fn unguarded(x: u64) -> Result<u64, SynchronousOnlyOperation> {
    Ok(x.wrapping_mul(3))
}

#[async_unsafe]
#[inline(never)]
pub fn guarded(x: u64) -> Result<u64, SynchronousOnlyOperation> {
    Ok(x.wrapping_mul(3))
}
