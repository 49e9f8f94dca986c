//! The escape hatch, like Django's `DJANGO_ALLOW_ASYNC_UNSAFE`.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::SynchronousOnlyOperation;

/// The environment variable that lets violations through, like Django's
/// `DJANGO_ALLOW_ASYNC_UNSAFE`.
///
/// Unset, empty, `0`, `false`, `no` and `off` (any case, surrounding white space
/// ignored) leave the guard on; any other value turns it off. It is read once,
/// the first time a violation is detected or [`is_override_active`] is called,
/// and the answer is kept for the life of the process: set it before the
/// process starts. To switch the guard off from code use [`allow_async_unsafe`].
///
/// ```no_run
/// // ALLOW_ASYNC_UNSAFE=1 cargo run   (a notebook, a one-off script: never in production)
/// assert_eq!(async_unsafe_runtime::ALLOW_ENV, "ALLOW_ASYNC_UNSAFE");
/// ```
pub const ALLOW_ENV: &str = "ALLOW_ASYNC_UNSAFE";

static ALLOWED_BY_CODE: AtomicBool = AtomicBool::new(false);
static ALLOWED_BY_ENV: OnceLock<bool> = OnceLock::new();
static WARNED: AtomicBool = AtomicBool::new(false);

/// Lets violations through for the whole process (`true`), or hands the
/// decision back to [`ALLOW_ENV`] (`false`).
///
/// The safe alternative to setting the environment variable from code, which
/// is `unsafe` since Rust 2024. The first violation let through is reported
/// once per process: as a `tracing` warning with the `tracing` feature and a
/// subscriber, on standard error otherwise. Concurrent access to what the guard protects can lose or corrupt
/// data: keep this off in production (see [`is_override_active`]).
///
/// ```
/// use async_unsafe_runtime::{allow_async_unsafe, check};
///
/// let rt = tokio::runtime::Runtime::new().unwrap();
/// allow_async_unsafe(true);
/// assert!(rt.block_on(async { check("notebook::cell") }).is_ok());
/// allow_async_unsafe(false);
/// # if !async_unsafe_runtime::is_override_active() {
/// assert!(rt.block_on(async { check("notebook::cell") }).is_err());
/// # }
/// ```
pub fn allow_async_unsafe(allowed: bool) {
    ALLOWED_BY_CODE.store(allowed, Ordering::Relaxed);
}

/// Whether violations are currently let through, by [`allow_async_unsafe`] or
/// by [`ALLOW_ENV`].
///
/// An application can refuse to start with the guard off, as Django's system
/// check `async.E001` does.
///
/// ```
/// if async_unsafe_runtime::is_override_active() {
///     eprintln!("refusing to start: ALLOW_ASYNC_UNSAFE is set");
/// #   return;
/// }
/// ```
pub fn is_override_active() -> bool {
    ALLOWED_BY_CODE.load(Ordering::Relaxed) || allowed_by_env()
}

fn allowed_by_env() -> bool {
    *ALLOWED_BY_ENV.get_or_init(|| env_value_allows(std::env::var_os(ALLOW_ENV).as_deref()))
}

/// Unlike Django, which allows on any non-empty value, the usual spellings of
/// "no" keep the guard on, so `ALLOW_ASYNC_UNSAFE=false` means what it says.
pub(crate) fn env_value_allows(value: Option<&std::ffi::OsStr>) -> bool {
    let Some(value) = value else { return false };
    let value = value.to_string_lossy();
    let value = value.trim();
    !(value.is_empty()
        || ["0", "false", "no", "off"]
            .iter()
            .any(|off| value.eq_ignore_ascii_case(off)))
}

/// Decides a detected violation: `true` lets it through (and says so once).
///
/// The error is only built when it is needed, and the warning flag is read
/// before it is written, so a hot loop let through by the override touches no
/// shared cache line for writing.
pub(crate) fn let_through(err: impl FnOnce() -> SynchronousOnlyOperation) -> bool {
    if !is_override_active() {
        return false;
    }
    if !WARNED.load(Ordering::Relaxed) && !WARNED.swap(true, Ordering::Relaxed) {
        warn(&err());
    }
    true
}

fn warn(err: &SynchronousOnlyOperation) {
    const TEXT: &str = "async-safety guard overridden (ALLOW_ASYNC_UNSAFE or allow_async_unsafe): \
        a synchronous-only call was let through from an async context; concurrent access \
        can lose or corrupt data, never run like this in production. First violation";
    // Without a subscriber a tracing event would be lost: standard error then.
    #[cfg(feature = "tracing")]
    if tracing::dispatcher::get_default(|d| !d.is::<tracing::subscriber::NoSubscriber>()) {
        tracing::warn!(function = err.function(), "{TEXT}: {err}");
        return;
    }
    eprintln!("warning: {TEXT}: {err}");
}

#[cfg(test)]
mod tests {
    use super::env_value_allows;
    use std::ffi::OsStr;

    #[test]
    fn only_a_yes_allows() {
        for off in [
            "", " ", "0", "false", "FALSE", " False ", "no", "No", "off", "OFF\n",
        ] {
            assert!(!env_value_allows(Some(OsStr::new(off))), "{off:?}");
        }
        for on in ["1", "true", "yes", "on", "anything", "2"] {
            assert!(env_value_allows(Some(OsStr::new(on))), "{on:?}");
        }
        assert!(!env_value_allows(None));
    }
}
