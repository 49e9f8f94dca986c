use std::panic::Location;

use crate::detect::{Declared, Detector, Tokio};
use crate::{DEFAULT_MESSAGE, SynchronousOnlyOperation, allow, scope};

/// Whether the current thread is driving an async event loop, so that blocking
/// here would stall it.
///
/// Agrees with tokio's own rule, the one behind `Handle::block_on`'s
/// "Cannot start a runtime from within a runtime": `true` in tasks on any
/// runtime flavor, in `LocalSet` tasks and in `block_on` roots; `false` on
/// plain threads, in `spawn_blocking`, in `block_in_place` and under a bare
/// `Runtime::enter` guard. With the `futures` feature, `futures::executor`'s
/// `block_on` and pools count too, and any executor can declare its threads
/// with [`enter_event_loop`](crate::enter_event_loop). The override
/// ([`set_override`](crate::set_override)) and the scoped allowances do not
/// change the answer.
///
/// Outside any runtime this costs a couple of thread-local reads.
///
/// ```
/// use async_unsafe_runtime::is_async_context;
///
/// assert!(!is_async_context());
/// let rt = tokio::runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     assert!(is_async_context());
///     let in_pool = tokio::task::spawn_blocking(is_async_context).await.unwrap();
///     assert!(!in_pool);
/// });
/// ```
#[inline]
pub fn is_async_context() -> bool {
    // Short-circuits: a tokio worker answers before the others are asked.
    Tokio.is_async_context() || Declared.is_async_context() || futures_executor_entered()
}

#[cfg(feature = "futures")]
#[inline]
fn futures_executor_entered() -> bool {
    crate::detect::Futures.is_async_context()
}

#[cfg(not(feature = "futures"))]
#[inline]
fn futures_executor_entered() -> bool {
    false
}

/// Fails with [`SynchronousOnlyOperation`] when called from an async context,
/// for code that cannot use the `#[async_unsafe]` attribute.
///
/// `function` names the guarded operation in the error; the error's location is
/// the caller of `check`. A violation is let through, and recorded, inside
/// [`capture_violations`](crate::capture_violations); let through under an
/// allowance ([`allow_on_this_thread`](crate::allow_on_this_thread),
/// [`allow_in_future`](crate::allow_in_future)) or an active
/// [`Override`](crate::Override), and reported as that says.
///
/// ```
/// use async_unsafe_runtime::{check, SynchronousOnlyOperation};
///
/// fn query(sql: &str) -> Result<usize, SynchronousOnlyOperation> {
///     check("db::query")?;
///     Ok(sql.len()) // the blocking work would go here
/// }
///
/// assert!(query("select 1").is_ok());
/// # async_unsafe_runtime::set_override(async_unsafe_runtime::Override::Deny);
/// let rt = tokio::runtime::Runtime::new().unwrap();
/// assert!(rt.block_on(async { query("select 1") }).is_err());
/// ```
#[inline]
#[track_caller]
pub fn check(function: &'static str) -> Result<(), SynchronousOnlyOperation> {
    if !is_async_context() {
        return Ok(());
    }
    violation(DEFAULT_MESSAGE, || function, Location::caller())
}

/// What a detected violation does: a capture or an allowance of this thread
/// ([`scope`](crate::scope)) decides first, then the process override; the
/// error is built once, and only when someone needs it.
#[cold]
#[inline(never)]
pub(crate) fn violation(
    message: &'static str,
    function: impl Fn() -> &'static str + Copy,
    location: &'static Location<'static>,
) -> Result<(), SynchronousOnlyOperation> {
    let mut built = None;
    let mut err = || {
        built
            .get_or_insert_with(|| SynchronousOnlyOperation::new(message, function(), location))
            .clone()
    };
    if scope::let_through(&mut err) || allow::let_through(&mut err) {
        return Ok(());
    }
    Err(built.unwrap_or_else(|| SynchronousOnlyOperation::new(message, function(), location)))
}
