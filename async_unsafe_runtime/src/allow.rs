//! The escape hatch, like Django's `DJANGO_ALLOW_ASYNC_UNSAFE`, and a warn mode
//! for adopting the guard in a large codebase.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

use crate::SynchronousOnlyOperation;

/// The environment variable that lets violations through, like Django's
/// `DJANGO_ALLOW_ASYNC_UNSAFE`.
///
/// - unset, empty, `0`, `false`, `no`, `off`: the guard stays on;
/// - `warn`: violations are let through and each is reported (rate-limited),
///   see [`warn_async_unsafe`];
/// - any other value: violations are let through, reported once per process.
///
/// Case and surrounding white space are ignored. The variable is read once,
/// the first time a violation is detected or [`is_override_active`] is called,
/// and the answer is kept for the life of the process: set it before the
/// process starts. To decide from code use [`allow_async_unsafe`] or
/// [`warn_async_unsafe`].
///
/// ```
/// // ALLOW_ASYNC_UNSAFE=warn cargo run   (while adopting the guard)
/// // ALLOW_ASYNC_UNSAFE=1 cargo run      (a notebook, a one-off script: never in production)
/// assert_eq!(async_unsafe_runtime::ALLOW_ENV, "ALLOW_ASYNC_UNSAFE");
/// ```
pub const ALLOW_ENV: &str = "ALLOW_ASYNC_UNSAFE";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Policy {
    Deny,
    Warn,
    Allow,
}

/// What the last programmatic switch said; `FROM_ENV` hands the decision back
/// to the environment.
static BY_CODE: AtomicU8 = AtomicU8::new(FROM_ENV);
const FROM_ENV: u8 = 0;
const WARN: u8 = 1;
const ALLOW: u8 = 2;
static BY_ENV: OnceLock<Policy> = OnceLock::new();
static WARNED_ONCE: AtomicBool = AtomicBool::new(false);

/// Lets violations through for the whole process (`true`), or hands the
/// decision back to [`ALLOW_ENV`] (`false`).
///
/// The safe alternative to setting the environment variable from code, which
/// is `unsafe` since Rust 2024. The last call to this or to
/// [`warn_async_unsafe`] wins. The first violation let through is reported
/// once per process: as a `tracing` warning with the `tracing` feature and a
/// subscriber, on standard error otherwise. Concurrent access to what the
/// guard protects can lose or corrupt data: keep this off in production (see
/// [`is_override_active`]).
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
    BY_CODE.store(if allowed { ALLOW } else { FROM_ENV }, Ordering::Relaxed);
}

/// Warn mode (`true`): violations are let through, and each one is reported as
/// a `tracing` warning naming the function, the message and the call location;
/// `false` hands the decision back to [`ALLOW_ENV`].
///
/// Meant for switching the guard on in a large codebase: run with it, collect
/// the reports, fix the call sites, then turn it off. Reports are
/// rate-limited to ten a second, and the next report says how many were
/// suppressed, so a hot loop cannot flood the log. Without the `tracing`
/// feature, or without a subscriber, they go to standard error. The last call
/// to this or to [`allow_async_unsafe`] wins. Same as `ALLOW_ASYNC_UNSAFE=warn`.
///
/// ```
/// use async_unsafe_runtime::{check, warn_async_unsafe};
///
/// let rt = tokio::runtime::Runtime::new().unwrap();
/// warn_async_unsafe(true);
/// // Let through, and reported.
/// assert!(rt.block_on(async { check("legacy::load") }).is_ok());
/// warn_async_unsafe(false);
/// ```
pub fn warn_async_unsafe(enabled: bool) {
    BY_CODE.store(if enabled { WARN } else { FROM_ENV }, Ordering::Relaxed);
}

/// Whether violations are currently let through, by [`allow_async_unsafe`],
/// [`warn_async_unsafe`] or [`ALLOW_ENV`].
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
    policy() != Policy::Deny
}

pub(crate) fn policy() -> Policy {
    match BY_CODE.load(Ordering::Relaxed) {
        ALLOW => Policy::Allow,
        WARN => Policy::Warn,
        _ => *BY_ENV.get_or_init(|| env_policy(std::env::var_os(ALLOW_ENV).as_deref())),
    }
}

/// Unlike Django, which allows on any non-empty value, the usual spellings of
/// "no" keep the guard on, so `ALLOW_ASYNC_UNSAFE=false` means what it says.
pub(crate) fn env_policy(value: Option<&std::ffi::OsStr>) -> Policy {
    let Some(value) = value else {
        return Policy::Deny;
    };
    let value = value.to_string_lossy();
    let value = value.trim();
    if value.is_empty()
        || ["0", "false", "no", "off"]
            .iter()
            .any(|off| value.eq_ignore_ascii_case(off))
    {
        Policy::Deny
    } else if value.eq_ignore_ascii_case("warn") {
        Policy::Warn
    } else {
        Policy::Allow
    }
}

/// Decides a detected violation: `true` lets it through (and reports it).
///
/// The error is only built when it is needed, and the once-flag is read before
/// it is written, so a hot loop let through by `Allow` touches no shared cache
/// line for writing.
pub(crate) fn let_through(err: impl FnOnce() -> SynchronousOnlyOperation) -> bool {
    match policy() {
        Policy::Deny => false,
        Policy::Allow => {
            if !WARNED_ONCE.load(Ordering::Relaxed) && !WARNED_ONCE.swap(true, Ordering::Relaxed) {
                report(
                    &err(),
                    "async-safety guard overridden (ALLOW_ASYNC_UNSAFE or allow_async_unsafe): \
                     a synchronous-only call was let through from an async context; concurrent \
                     access can lose or corrupt data, never run like this in production. \
                     First violation",
                    0,
                );
            }
            true
        }
        Policy::Warn => {
            if let Some(suppressed) = RATE.admit() {
                report(
                    &err(),
                    "async-safety violation let through (warn mode)",
                    suppressed,
                );
            }
            true
        }
    }
}

/// At most `PER_SECOND` reports in each second of the process's life; the
/// rest are counted and the count rides on the next report.
struct Rate {
    second: AtomicU64,
    in_second: AtomicU32,
    suppressed: AtomicU64,
}

const PER_SECOND: u32 = 10;
static RATE: Rate = Rate {
    second: AtomicU64::new(0),
    in_second: AtomicU32::new(0),
    suppressed: AtomicU64::new(0),
};

impl Rate {
    /// `Some(suppressed since the last report)` when a report may go out.
    fn admit(&self) -> Option<u64> {
        static EPOCH: OnceLock<Instant> = OnceLock::new();
        self.admit_at(EPOCH.get_or_init(Instant::now).elapsed().as_secs() + 1)
    }

    fn admit_at(&self, now: u64) -> Option<u64> {
        let seen = self.second.load(Ordering::Relaxed);
        if seen != now
            && self
                .second
                .compare_exchange(seen, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.in_second.store(0, Ordering::Relaxed);
        }
        if self.in_second.fetch_add(1, Ordering::Relaxed) < PER_SECOND {
            Some(self.suppressed.swap(0, Ordering::Relaxed))
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

fn report(err: &SynchronousOnlyOperation, what: &str, suppressed: u64) {
    // Without a subscriber a tracing event would be lost: standard error then.
    #[cfg(feature = "tracing")]
    if tracing::dispatcher::get_default(|d| !d.is::<tracing::subscriber::NoSubscriber>()) {
        let location = err.location().map(ToString::to_string).unwrap_or_default();
        tracing::warn!(
            function = err.function(),
            location = location.as_str(),
            message = err.message(),
            suppressed,
            "{what}"
        );
        return;
    }
    let more = match suppressed {
        0 => String::new(),
        n => format!(" ({n} more suppressed since the last report)"),
    };
    eprintln!("warning: {what}: {err}{more}");
}

#[cfg(test)]
mod tests {
    use super::{Policy, env_policy};
    use std::ffi::OsStr;

    #[test]
    fn only_a_yes_allows_and_warn_warns() {
        for off in [
            "", " ", "0", "false", "FALSE", " False ", "no", "No", "off", "OFF\n",
        ] {
            assert_eq!(env_policy(Some(OsStr::new(off))), Policy::Deny, "{off:?}");
        }
        for warn in ["warn", "WARN", " Warn "] {
            assert_eq!(env_policy(Some(OsStr::new(warn))), Policy::Warn, "{warn:?}");
        }
        for on in ["1", "true", "yes", "on", "anything", "2", "warning"] {
            assert_eq!(env_policy(Some(OsStr::new(on))), Policy::Allow, "{on:?}");
        }
        assert_eq!(env_policy(None), Policy::Deny);
    }

    #[test]
    fn rate_admits_ten_then_counts() {
        let rate = super::Rate {
            second: Default::default(),
            in_second: Default::default(),
            suppressed: Default::default(),
        };
        let admitted: Vec<_> = (0..25).map(|_| rate.admit_at(1)).collect();
        assert_eq!(admitted[..10], [Some(0); 10]);
        assert_eq!(admitted[10..], [None; 15]);
        // The next second's first report carries the count, once.
        assert_eq!(rate.admit_at(2), Some(15));
        assert_eq!(rate.admit_at(2), Some(0));
    }
}
