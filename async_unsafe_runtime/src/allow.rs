//! The process-wide override, like Django's `DJANGO_ALLOW_ASYNC_UNSAFE`, and
//! the reports of the violations it lets through.
//!
//! One encoding of the policy: [`Override`]. Code sets it with
//! [`set_override`]; [`Override::FromEnv`] (the initial value) hands the
//! decision to [`ALLOW_ENV`], read once per process, the first time it is
//! needed. Violations let through are reported on standard error, or as
//! `tracing` events (target `async_unsafe`) with the `tracing` feature and a
//! subscriber; warn-mode reports go through a rate limiter.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Instant;

use crate::SynchronousOnlyOperation;

/// The environment variable that lets violations through, like Django's
/// `DJANGO_ALLOW_ASYNC_UNSAFE`.
///
/// - unset, empty, `0`, `false`, `no`, `off`: the guard stays on;
/// - `warn`: violations are let through and each is reported (rate-limited),
///   as with [`Override::Warn`];
/// - any other value: violations are let through, reported once per process,
///   as with [`Override::Allow`].
///
/// Case and surrounding white space are ignored. The variable is read once,
/// the first time a violation is detected or the override is asked for
/// ([`current_override`], [`is_override_active`]), and the answer is kept for
/// the life of the process: set it before the process starts. It applies only
/// while the override set by code is [`Override::FromEnv`] (the default).
///
/// ```
/// // ALLOW_ASYNC_UNSAFE=warn cargo run   (while adopting the guard)
/// // ALLOW_ASYNC_UNSAFE=1 cargo run      (a notebook, a one-off script: never in production)
/// assert_eq!(async_unsafe_runtime::ALLOW_ENV, "ALLOW_ASYNC_UNSAFE");
/// ```
pub const ALLOW_ENV: &str = "ALLOW_ASYNC_UNSAFE";

/// What happens to a violation anywhere in the process: the guard's
/// process-wide setting, chosen with [`set_override`].
///
/// For one thread or one future instead of the whole process, see
/// [`allow_on_this_thread`](crate::allow_on_this_thread) and
/// [`allow_in_future`](crate::allow_in_future).
///
/// ```
/// use async_unsafe_runtime::{Override, check, current_override, set_override};
///
/// let rt = tokio::runtime::Runtime::new().unwrap();
/// set_override(Override::Deny); // whatever the environment says
/// assert_eq!(current_override(), Override::Deny);
/// assert!(rt.block_on(async { check("notebook::cell") }).is_err());
/// set_override(Override::Allow);
/// assert!(rt.block_on(async { check("notebook::cell") }).is_ok());
/// set_override(Override::FromEnv); // back to ALLOW_ASYNC_UNSAFE
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
pub enum Override {
    /// Decided by [`ALLOW_ENV`] (the default): [`Deny`](Override::Deny) when
    /// it is unset. Never returned by [`current_override`].
    #[default]
    FromEnv,
    /// The guard is on: violations fail (or panic), whatever the environment
    /// says. What tests want.
    Deny,
    /// Violations are let through and each one is reported, at most ten in
    /// each one-second bucket (see [`set_override`]): the way to switch the
    /// guard on in a large codebase. Same as `ALLOW_ASYNC_UNSAFE=warn`.
    Warn,
    /// Violations are let through, and the first one is reported once per
    /// process. Never in production. Same as `ALLOW_ASYNC_UNSAFE=1`.
    Allow,
}

/// What the last [`set_override`] said, as `Override as u8`.
static BY_CODE: AtomicU8 = AtomicU8::new(Override::FromEnv as u8);
static BY_ENV: OnceLock<Override> = OnceLock::new();

/// Sets the guard's process-wide [`Override`]; the last call wins.
///
/// [`Override::Deny`] switches the guard on even when [`ALLOW_ENV`] says
/// otherwise; [`Override::FromEnv`] hands the decision back to it. The safe
/// alternative to setting the environment variable from code, which is
/// `unsafe` since Rust 2024.
///
/// Reports of the violations let through name the function, the message, the
/// location, the tokio task id and the suppressed count. They go to standard
/// error, or, with the `tracing` feature and a subscriber, to a `WARN` event
/// under the target `async_unsafe` (fields `function`, `location`, `task_id`,
/// `message`, `suppressed`, in the current span). [`Override::Allow`]
/// reports the first violation of the process only. [`Override::Warn`]
/// reports each one, at most ten in each one-second bucket counted from the
/// first report (so never more than twenty within any sliding second); the
/// others are counted, and the next report says how many were suppressed.
///
/// Concurrent access to what the guard protects can lose or corrupt data:
/// keep the override off in production (see [`is_override_active`]).
///
/// ```
/// use async_unsafe_runtime::{Override, check, set_override};
///
/// let rt = tokio::runtime::Runtime::new().unwrap();
/// set_override(Override::Warn);
/// // Let through: nothing fails. (The report, on standard error here, is
/// // checked by the repository's tests/tests/override.rs and tracing.rs.)
/// assert!(rt.block_on(async { check("legacy::load") }).is_ok());
/// set_override(Override::Deny);
/// assert!(rt.block_on(async { check("legacy::load") }).is_err());
/// # set_override(Override::FromEnv);
/// ```
pub fn set_override(policy: Override) {
    BY_CODE.store(policy as u8, Ordering::Relaxed);
}

/// The override in effect: the one set by [`set_override`], or, while that is
/// [`Override::FromEnv`], the one [`ALLOW_ENV`] gives. Never `FromEnv`.
///
/// ```
/// use async_unsafe_runtime::{Override, current_override, set_override};
///
/// set_override(Override::Warn);
/// assert_eq!(current_override(), Override::Warn);
/// set_override(Override::FromEnv);
/// assert_ne!(current_override(), Override::FromEnv); // Deny unless ALLOW_ASYNC_UNSAFE is set
/// ```
pub fn current_override() -> Override {
    match BY_CODE.load(Ordering::Relaxed) {
        x if x == Override::Deny as u8 => Override::Deny,
        x if x == Override::Warn as u8 => Override::Warn,
        x if x == Override::Allow as u8 => Override::Allow,
        _ => *BY_ENV.get_or_init(|| env_policy(std::env::var_os(ALLOW_ENV).as_deref())),
    }
}

/// Whether violations are currently let through process-wide, that is whether
/// [`current_override`] is not [`Override::Deny`].
///
/// An application can refuse to start with the guard off, as Django's system
/// check `async.E001` does. Scoped allowances
/// ([`allow_on_this_thread`](crate::allow_on_this_thread)) do not count.
///
/// ```
/// use async_unsafe_runtime::{Override, is_override_active, set_override};
///
/// set_override(Override::Allow);
/// assert!(is_override_active());
/// set_override(Override::Deny);
/// assert!(!is_override_active());
/// # set_override(Override::FromEnv);
/// ```
pub fn is_override_active() -> bool {
    current_override() != Override::Deny
}

/// Unlike Django, which allows on any non-empty value, the usual spellings of
/// "no" keep the guard on, so `ALLOW_ASYNC_UNSAFE=false` means what it says.
pub(crate) fn env_policy(value: Option<&std::ffi::OsStr>) -> Override {
    let Some(value) = value else {
        return Override::Deny;
    };
    let value = value.to_string_lossy();
    let value = value.trim();
    if value.is_empty()
        || ["0", "false", "no", "off"]
            .iter()
            .any(|off| value.eq_ignore_ascii_case(off))
    {
        Override::Deny
    } else if value.eq_ignore_ascii_case("warn") {
        Override::Warn
    } else {
        Override::Allow
    }
}

/// A once-per-process report: the flag is read before it is written, so a hot
/// loop let through touches no shared cache line for writing.
pub(crate) struct Once(std::sync::atomic::AtomicBool);

impl Once {
    pub(crate) const fn new() -> Self {
        Once(std::sync::atomic::AtomicBool::new(false))
    }

    pub(crate) fn first(&self) -> bool {
        !self.0.load(Ordering::Relaxed) && !self.0.swap(true, Ordering::Relaxed)
    }
}

static ALLOW_REPORTED: Once = Once::new();

/// Decides a detected violation by the process-wide override: `true` lets it
/// through (and reports it). The error is only built when it is needed.
pub(crate) fn let_through(err: &mut dyn FnMut() -> SynchronousOnlyOperation) -> bool {
    match current_override() {
        Override::Deny | Override::FromEnv => false,
        Override::Allow => {
            if ALLOW_REPORTED.first() {
                report(
                    &err(),
                    "async-safety guard overridden (ALLOW_ASYNC_UNSAFE or Override::Allow): \
                     a synchronous-only call was let through from an async context; concurrent \
                     access can lose or corrupt data, never run like this in production. \
                     First violation",
                    0,
                );
            }
            true
        }
        Override::Warn => {
            warn(&err());
            true
        }
    }
}

/// A warn-mode report, through the rate limiter.
pub(crate) fn warn(err: &SynchronousOnlyOperation) {
    if let Some(suppressed) = RATE.admit() {
        report(
            err,
            "async-safety violation let through (warn mode)",
            suppressed,
        );
    }
}

/// At most `PER_BUCKET` reports in each one-second bucket of the process's
/// life (counted from the first report); the rest are counted and the count
/// rides on the next report.
///
/// The bucket's number and its count share one atomic word, updated by one
/// compare-and-swap, so a reset cannot race with a concurrent increment: each
/// bucket admits exactly `PER_BUCKET` reports however many threads report at
/// once. A sliding second can still straddle two buckets and hold twice as
/// many.
struct Rate {
    /// `bucket << 32 | reports admitted or refused in it`.
    state: AtomicU64,
    suppressed: AtomicU64,
}

const PER_BUCKET: u64 = 10;
static RATE: Rate = Rate {
    state: AtomicU64::new(0),
    suppressed: AtomicU64::new(0),
};

impl Rate {
    /// `Some(suppressed since the last report)` when a report may go out.
    fn admit(&self) -> Option<u64> {
        static EPOCH: OnceLock<Instant> = OnceLock::new();
        self.admit_at(EPOCH.get_or_init(Instant::now).elapsed().as_secs() + 1)
    }

    /// `bucket` counts from 1; a caller that computed an older bucket than
    /// the current one is counted in the current one.
    fn admit_at(&self, bucket: u64) -> Option<u64> {
        let mut count = 0;
        let update = self
            .state
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |state| {
                let (seen, n) = (state >> 32, state & u64::from(u32::MAX));
                count = if bucket > seen {
                    1
                } else {
                    n.saturating_add(1)
                };
                let count = count.min(u64::from(u32::MAX));
                Some(bucket.max(seen) << 32 | count)
            });
        debug_assert!(update.is_ok());
        if count <= PER_BUCKET {
            Some(self.suppressed.swap(0, Ordering::Relaxed))
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// One report of a violation let through, on standard error or, with the
/// `tracing` feature and a subscriber, as a `tracing` event.
pub(crate) fn report(err: &SynchronousOnlyOperation, what: &str, suppressed: u64) {
    // Without a subscriber a tracing event would be lost: standard error then.
    #[cfg(feature = "tracing")]
    if tracing::dispatcher::get_default(|d| !d.is::<tracing::subscriber::NoSubscriber>()) {
        let location = err.site();
        let task_id = err.task_id().map(|id| id.to_string());
        tracing::warn!(
            target: "async_unsafe",
            function = err.function(),
            location = location.as_str(),
            task_id = task_id.as_deref(),
            message = err.message(),
            suppressed,
            "{what}"
        );
        return;
    }
    let task = match err.task_id() {
        Some(id) => format!(" in tokio task {id}"),
        None => String::new(),
    };
    let more = match suppressed {
        0 => String::new(),
        n => format!(" ({n} more suppressed since the last report)"),
    };
    eprintln!("warning: {what}: {err}{task}{more}");
}

#[cfg(test)]
mod tests {
    use super::{Override, Rate, env_policy};
    use std::ffi::OsStr;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn only_a_yes_allows_and_warn_warns() {
        for off in [
            "", " ", "0", "false", "FALSE", " False ", "no", "No", "off", "OFF\n",
        ] {
            assert_eq!(env_policy(Some(OsStr::new(off))), Override::Deny, "{off:?}");
        }
        for warn in ["warn", "WARN", " Warn "] {
            assert_eq!(
                env_policy(Some(OsStr::new(warn))),
                Override::Warn,
                "{warn:?}"
            );
        }
        for on in ["1", "true", "yes", "on", "anything", "2", "warning"] {
            assert_eq!(env_policy(Some(OsStr::new(on))), Override::Allow, "{on:?}");
        }
        assert_eq!(env_policy(None), Override::Deny);
    }

    fn rate() -> Rate {
        Rate {
            state: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    #[test]
    fn rate_admits_ten_then_counts() {
        let rate = rate();
        let admitted: Vec<_> = (0..25).map(|_| rate.admit_at(1)).collect();
        assert_eq!(admitted[..10], [Some(0); 10]);
        assert_eq!(admitted[10..], [None; 15]);
        // The next bucket's first report carries the count, once.
        assert_eq!(rate.admit_at(2), Some(15));
        assert_eq!(rate.admit_at(2), Some(0));
        // A late caller that still computed bucket 1 counts in bucket 2.
        for _ in 0..8 {
            assert_eq!(rate.admit_at(1), Some(0));
        }
        assert_eq!(rate.admit_at(1), None);
        assert_eq!(rate.admit_at(2), None);
        assert_eq!(rate.admit_at(3), Some(2));
    }

    #[test]
    fn concurrent_reports_and_bucket_changes_admit_exactly_ten_per_bucket() {
        let rate = rate();
        // Eight threads, each reporting 50 times in bucket 1 then 50 in bucket 2:
        // the bucket changes while others are still counting in the old one.
        let admitted: Vec<Vec<(u64, Option<u64>)>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        (1..=2)
                            .flat_map(|b| (0..50).map(move |_| b))
                            .map(|b| (b, rate.admit_at(b)))
                            .collect()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let all: Vec<_> = admitted.into_iter().flatten().collect();
        let reports = all.iter().filter(|(_, a)| a.is_some()).count() as u64;
        let carried: u64 = all.iter().filter_map(|(_, a)| *a).sum();
        // Two buckets: exactly twenty reports, and every refused one is either
        // carried by a report or still pending for the next.
        assert_eq!(reports, 2 * super::PER_BUCKET);
        let refused = 800 - reports;
        let pending = rate.admit_at(3).unwrap();
        assert_eq!(carried + pending, refused);
    }
}
