use std::panic::Location;

use crate::detect::is_async_context;
use crate::{DEFAULT_MESSAGE, SynchronousOnlyOperation, allow};

/// Fails with [`SynchronousOnlyOperation`] when called from an async context,
/// for code that cannot use the `#[async_unsafe]` attribute.
///
/// `function` names the guarded operation in the error; the error's location is
/// the caller of `check`. When an override is active the violation is let
/// through and reported: once per process by [`allow_async_unsafe`](crate::allow_async_unsafe),
/// every time (rate-limited) in [warn mode](crate::warn_async_unsafe).
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
/// let rt = tokio::runtime::Runtime::new().unwrap();
/// # if !async_unsafe_runtime::is_override_active() {
/// assert!(rt.block_on(async { query("select 1") }).is_err());
/// # }
/// ```
#[inline]
#[track_caller]
pub fn check(function: &'static str) -> Result<(), SynchronousOnlyOperation> {
    enforce(DEFAULT_MESSAGE, move || function)
}

/// The body of [`check`] and of `__private::Site::check`: detection first,
/// the violation out of line. Both callers are `#[track_caller]`, so the
/// location is theirs: the user's call of `check`, or the guarded function's
/// name for `Site::check`.
#[inline(always)]
#[track_caller]
pub(crate) fn enforce(
    message: &'static str,
    function: impl Fn() -> &'static str + Copy,
) -> Result<(), SynchronousOnlyOperation> {
    if !is_async_context() {
        return Ok(());
    }
    violation(message, function, Location::caller())
}

#[cold]
#[inline(never)]
pub(crate) fn violation(
    message: &'static str,
    function: impl Fn() -> &'static str + Copy,
    location: &'static Location<'static>,
) -> Result<(), SynchronousOnlyOperation> {
    let err = move || SynchronousOnlyOperation::new(message, function(), Some(location));
    if allow::let_through(err) {
        Ok(())
    } else {
        Err(err())
    }
}
