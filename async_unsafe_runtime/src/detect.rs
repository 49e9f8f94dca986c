//! Is the current thread driving an async event loop?
//!
//! tokio decides this with a private thread-local flag that `block_on` sets
//! ("Cannot start a runtime from within a runtime") and that `spawn_blocking`
//! and `block_in_place` clear. It exposes no getter, so we read the flag through
//! public behaviour, cheapest question first:
//!
//! 1. `worker_index()` is `Some` only while the flag is set *and* a scheduler
//!    context is installed: every task poll on either flavor and the
//!    current_thread `block_on` root. A "yes" here is exact and costs one
//!    thread-local read.
//! 2. Setting the flag always installs a runtime handle, so when
//!    `Handle::try_current()` fails the flag cannot be set: an exact "no", the
//!    only cost paid on a plain thread.
//! 3. What remains (a handle but no scheduler context) is the multi-thread
//!    `block_on` root, `Handle::block_on`, `LocalSet` tasks in such a root,
//!    blocking-pool threads, `block_in_place` and bare `Runtime::enter` guards.
//!    No public signal separates these, so we ask tokio the question itself:
//!    `Handle::block_on` of a ready future panics exactly when the flag is set,
//!    and otherwise returns at once. The panic is caught and kept out of the
//!    panic hook's output.
//!
//! Limits, by design permissive (a false "no" is a missed warning; a false "yes"
//! would break correct code):
//! - with `panic = "abort"` a panic cannot be caught, so step 3 answers "no": a
//!   guarded call made directly in a multi-thread `block_on` root,
//!   `Handle::block_on` or a `LocalSet` there is not detected; tasks on any
//!   worker and the current_thread root still are (step 1).
//! - while the thread is already unwinding (a guarded call in a `Drop` during a
//!   panic) step 3 answers "no", since a second panic would abort.
//! - a panic hook installed after our first probe replaces our filter; we notice
//!   on the next probe that panics and wrap the new hook, so at most one probe
//!   message reaches it. A hook that aborts the process would abort there.

use tokio::runtime::Handle;

/// One executor's answer to "is this thread driving your event loop?".
///
/// The trait keeps room for other executors; each answers only for itself and
/// [`is_async_context`](crate::is_async_context) asks them in turn.
pub(crate) trait Detector {
    fn is_async_context(&self) -> bool;
}

pub(crate) struct Tokio;

impl Detector for Tokio {
    #[inline]
    fn is_async_context(&self) -> bool {
        if tokio::runtime::worker_index().is_some() {
            return true;
        }
        match Handle::try_current() {
            Err(_) => false,
            Ok(handle) => runtime_entered(&handle),
        }
    }
}

#[cfg(panic = "unwind")]
#[inline(never)]
fn runtime_entered(handle: &Handle) -> bool {
    if std::thread::panicking() {
        return false;
    }
    quiet_panic::catch(|| handle.block_on(std::future::ready(()))).is_err()
}

#[cfg(not(panic = "unwind"))]
fn runtime_entered(_handle: &Handle) -> bool {
    false
}

/// Catches a panic without letting the panic hook print it.
#[cfg(panic = "unwind")]
mod quiet_panic {
    use std::cell::Cell;
    use std::panic::{self, AssertUnwindSafe};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};

    thread_local! {
        static PROBING: Cell<bool> = const { Cell::new(false) };
        static HEARD: Cell<bool> = const { Cell::new(false) };
    }

    static INSTALLED: AtomicBool = AtomicBool::new(false);
    static INSTALL: Mutex<()> = Mutex::new(());

    pub(super) fn catch<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
        if !INSTALLED.load(Ordering::Acquire) {
            install(false);
        }
        PROBING.set(true);
        HEARD.set(false);
        let result = panic::catch_unwind(AssertUnwindSafe(f));
        PROBING.set(false);
        if result.is_err() && !HEARD.get() {
            // Someone replaced the hook after we wrapped it: wrap theirs too.
            install(true);
        }
        result
    }

    fn install(again: bool) {
        let _lock = INSTALL.lock().unwrap_or_else(|poison| poison.into_inner());
        if INSTALLED.load(Ordering::Acquire) && !again {
            return;
        }
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let probing = PROBING.try_with(Cell::get).unwrap_or(false);
            if probing {
                HEARD.set(true);
            } else {
                previous(info);
            }
        }));
        INSTALLED.store(true, Ordering::Release);
    }
}

/// Threads that another executor declared with
/// [`enter_event_loop`](crate::enter_event_loop).
pub(crate) struct Declared;

thread_local! {
    static DECLARED_DEPTH: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

impl Detector for Declared {
    #[inline]
    fn is_async_context(&self) -> bool {
        DECLARED_DEPTH.with(|depth| depth.get() > 0)
    }
}

/// Declares that the current thread drives an event loop until the returned
/// guard is dropped, for executors this crate does not know (smol, async-std,
/// a game loop): guarded functions called on this thread meanwhile fail as
/// they would in a tokio task.
///
/// Guards nest, belong to the thread that made them (the guard is not `Send`)
/// and end with it. Take one around the loop that polls futures, and drop it
/// (or run on another thread) where that executor runs blocking work.
///
/// ```
/// use async_unsafe_runtime::{enter_event_loop, is_async_context};
///
/// assert!(!is_async_context());
/// {
///     let _loop = enter_event_loop();
///     assert!(is_async_context());
///     // ... poll the executor's futures here ...
/// }
/// assert!(!is_async_context());
/// ```
pub fn enter_event_loop() -> EventLoopGuard {
    DECLARED_DEPTH.with(|depth| depth.set(depth.get() + 1));
    EventLoopGuard {
        _not_send: std::marker::PhantomData,
    }
}

/// Keeps the current thread declared as driving an event loop; see
/// [`enter_event_loop`].
///
/// ```
/// use async_unsafe_runtime::{EventLoopGuard, Override, check, enter_event_loop, set_override};
///
/// set_override(Override::Deny);
/// let outer: EventLoopGuard = enter_event_loop();
/// let inner = enter_event_loop();
/// drop(inner);
/// assert!(check("db::load").is_err()); // the outer guard still declares the loop
/// drop(outer);
/// assert!(check("db::load").is_ok());
/// ```
#[must_use = "the thread counts as an event loop only while the guard lives"]
#[derive(Debug)]
pub struct EventLoopGuard {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for EventLoopGuard {
    fn drop(&mut self) {
        DECLARED_DEPTH.with(|depth| depth.set(depth.get() - 1));
    }
}

/// `futures::executor::block_on`, `LocalPool` and `ThreadPool` workers. They
/// mark their threads with `futures_executor::enter`, which refuses a second
/// entry without panicking: an exact answer, one thread-local read.
#[cfg(feature = "futures")]
pub(crate) struct Futures;

#[cfg(feature = "futures")]
impl Detector for Futures {
    #[inline]
    fn is_async_context(&self) -> bool {
        futures_executor::enter().is_err()
    }
}
