use std::panic::Location;

use crate::detect::is_async_context;
use crate::error::FunctionPath;
use crate::{DEFAULT_MESSAGE, SynchronousOnlyOperation, allow, scope};

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
    enforce(DEFAULT_MESSAGE, function)
}

/// The body of [`check`] and of `__private::Site::check`: detection first,
/// the violation out of line. Both callers are `#[track_caller]`, so the
/// location is theirs: the user's call of `check`, or the guarded function's
/// name for `Site::check`.
#[inline(always)]
#[track_caller]
pub(crate) fn enforce(
    message: &'static str,
    // Converted in `violation`, off the hot path, where it costs nothing to
    // callers that are not refused.
    function: impl Into<FunctionPath> + Copy,
) -> Result<(), SynchronousOnlyOperation> {
    if !is_async_context() {
        return Ok(());
    }
    violation(message, function, Location::caller())
}

/// What a detected violation does: a capture or an allowance of this thread
/// ([`scope`](crate::scope)) decides first, then the process override; the
/// error is built once, and only when someone needs it.
///
/// The common case, no scope open and the guard on, returns the error built
/// in place: through the deciding closures it was built into an `Option` and
/// copied out, which made a refusal in a task take about twice as long
/// (44 ns against 24 ns over its unguarded twin, `benches/instructions.rs`
/// under `perf stat`).
#[cold]
#[inline(never)]
pub(crate) fn violation(
    message: &'static str,
    function: impl Into<FunctionPath> + Copy,
    location: &'static Location<'static>,
) -> Result<(), SynchronousOnlyOperation> {
    let function = function.into();
    if !scope::active() && !allow::is_override_active() {
        return Err(SynchronousOnlyOperation::new(message, function, location));
    }
    let mut built = None;
    let mut err = || {
        built
            .get_or_insert_with(|| SynchronousOnlyOperation::new(message, function, location))
            .clone()
    };
    if scope::let_through(&mut err) || allow::let_through(&mut err) {
        return Ok(());
    }
    Err(built.unwrap_or_else(|| SynchronousOnlyOperation::new(message, function, location)))
}
