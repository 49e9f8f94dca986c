//! Is the current thread driving an async event loop? Every executor's
//! question, in one place.
//!
//! # tokio
//!
//! tokio decides with a private thread-local flag that `block_on` and every
//! worker set ("Cannot start a runtime from within a runtime") and that
//! `spawn_blocking` and `block_in_place` clear. It has no getter, so we read it
//! through public behaviour, cheapest question first. On a worker, a plain
//! thread and a blocking-pool thread no question writes memory another thread
//! reads, so the cost stays flat however many threads ask at once; only a
//! thread with a handle but no task id (a root, a bare `enter()`) touches the
//! handle's reference count.
//!
//! 1. `task::try_id()` is `Some` in a task poll and in `spawn_blocking` (and
//!    in roots started inside one). There, `worker_index()`, `Some` only while
//!    the flag is set *and* a scheduler context is installed, is an exact
//!    "yes" for every task on a worker of either flavor. Two thread-local reads.
//! 2. Without a task id, `Handle::try_current()` failing is an exact "no":
//!    setting the flag always installs a handle. This is the plain thread's
//!    whole cost. A handle found, `worker_index()` answers for the
//!    current_thread `block_on` root. (The handle is looked up only here:
//!    cloning it touches the runtime's shared `Arc`.)
//! 3. A task id but no worker: the probe (below) answers exactly. It panics
//!    only in a `LocalSet` task on a non-worker root or in a root started
//!    inside `spawn_blocking`; in `spawn_blocking` and `block_in_place`, the
//!    hot paths, it returns at once without touching shared state.
//! 4. A handle, no task id, no worker: a multi-thread or `Handle::block_on`
//!    root (a `LocalSet`'s `run_until` body, a current_thread root waiting on
//!    a second thread), a bare `Runtime::enter()`, or `block_in_place` in such
//!    a root. The coop budget tells most of them apart without a panic: it is
//!    `Some(n)` while tokio polls a root future or a task and unconstrained in
//!    `spawn_blocking`, `block_in_place` and under `enter()`. We read it with
//!    `task::coop::poll_proceed` (its guard restores the budget when dropped)
//!    and the guard's `Debug` text, the only public view of the value; an
//!    exhausted budget is `Pending`, also a "yes". An unconstrained budget with
//!    the flag set happens in two corner cases only: inside
//!    `task::coop::unconstrained(..)` polled by a root that is not a worker,
//!    and in a multi-thread `block_on` root after a `block_in_place` returned
//!    there (tokio restores the budget only on workers). So an unconstrained
//!    budget is settled by the probe.
//!
//! The probe blocks on a closed, thread-local channel: `blocking_recv` panics
//! ("Cannot block the current thread from within a runtime") exactly when the
//! flag is set and otherwise returns at once. Its panic is caught and kept out
//! of the panic hook (below). Without the probe, step 3 reads the budget too.
//!
//! # What each build mode misses
//!
//! A false "no" is a missed violation; a false "yes" would break correct code,
//! so every rule errs towards "no".
//! - Default build: nothing, over the table of `tests/tests/contexts.rs`.
//! - `panic = "abort"` builds, after [`detect_without_panics`], and on a
//!   thread that is already unwinding (a guarded call in a `Drop` during a
//!   panic, where changing the panic hook would itself panic): the budget
//!   decides alone, so exactly the two corner cases above are missed: a guarded
//!   call inside `unconstrained(..)` awaited directly in a non-worker root
//!   (multi-thread `block_on`, `Handle::block_on`, `LocalSet` on such a root),
//!   and one in a multi-thread `block_on` root after a `block_in_place` and
//!   before the root next yields.
//!
//! The budget's `Debug` text is no stability promise. An unreadable budget
//! falls back to the probe (or to "no" without it), and the context table,
//! run against the tokio in `Cargo.lock`, fails if the text changes. The
//! dependency is deliberately not pinned to one minor version: two copies of
//! tokio in an application would have two sets of thread-locals, and
//! detection would see neither runtime.
//!
//! # The panic hook
//!
//! A probe's panic goes through the process's panic hook. Before its first
//! probe, this module wraps the installed hook with a filter that swallows
//! panics raised while this thread probes. If the application later replaces
//! the hook *without* keeping ours (`set_hook` drops it), we notice the drop and
//! wrap the new hook before the next probe: such a hook never sees a probe. A
//! hook that *chains* to the previous one keeps ours alive inside it, which is
//! invisible until a probe panics: after each probe that panicked we check that
//! our filter is still outermost and wrap the new hook if not, so a chaining
//! hook installed after our first probe sees at most one probe panic, the first
//! after its installation. An application whose hook must never see one (a
//! hook that exits the process and chains) installs it before the first
//! guarded call, or calls [`detect_without_panics`]. Detection never aborts
//! the process: in a `panic = "abort"` build it never panics, and while a thread
//! unwinds it neither probes nor touches the hook.
//!
//! # Other executors
//!
//! Threads declared with [`enter_event_loop`] (one thread-local counter), and
//! with the `futures` feature `futures::executor`'s `block_on` and pools, which
//! mark their threads with `futures_executor::enter` (it refuses a second entry
//! without panicking: exact, one thread-local read).

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::runtime::Handle;

use crate::depth::Depth;

/// Whether the current thread is driving an async event loop, so that blocking
/// here would stall it.
///
/// Agrees with tokio's own rule, the one behind `Handle::block_on`'s
/// "Cannot start a runtime from within a runtime": `true` in tasks on any
/// runtime flavor, in `LocalSet` tasks and in `block_on` roots; `false` on
/// plain threads, in `spawn_blocking`, in `block_in_place` and under a bare
/// `Runtime::enter` guard. With the `futures` feature, `futures::executor`'s
/// `block_on` and pools count too, and any executor can declare its threads
/// with [`enter_event_loop`]. The override
/// ([`set_override`](crate::set_override)) does not change the
/// answer. [`detect_without_panics`] lists the two cases missed without a
/// probe.
///
/// On a plain thread this costs two thread-local reads, in a task on a worker
/// two more; in tasks and on blocking-pool threads it writes no memory shared
/// with other threads.
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
    tokio_entered() || declared_event_loop() || futures_entered()
}

/// Steps 1 and 2 of the module docs, inlined into every guarded function.
#[inline]
fn tokio_entered() -> bool {
    if tokio::task::try_id().is_some() {
        // A task poll, `spawn_blocking`, or a root started inside one.
        return tokio::runtime::worker_index().is_some() || in_task_off_worker();
    }
    // Cloning the handle touches the runtime's shared `Arc`, so this comes
    // after the task id, which every worker task and blocking thread has.
    match Handle::try_current() {
        Err(_) => false,
        Ok(_) => tokio::runtime::worker_index().is_some() || in_root_off_worker(),
    }
}

/// The panic-free rule of [`detect_without_panics`], whatever the process
/// chose, for callers that must never panic nor allocate after their first
/// call on a thread: the system-call hooks. Misses the two cases that
/// [`detect_without_panics`] lists.
#[cfg(feature = "syscalls")]
pub(crate) fn is_async_context_without_panics() -> bool {
    let tokio = if tokio::task::try_id().is_some() {
        tokio::runtime::worker_index().is_some() || coop_budget() == Budget::Constrained
    } else {
        Handle::try_current().is_ok()
            && (tokio::runtime::worker_index().is_some() || coop_budget() == Budget::Constrained)
    };
    tokio || declared_event_loop() || futures_entered()
}

/// A task id but no worker: `spawn_blocking` and `block_in_place` (flag
/// clear, the hot paths of a database-heavy service), or a `LocalSet` task or
/// a root started inside `spawn_blocking` (flag set). The probe answers
/// exactly and panics only in the latter, rarer contexts, so it goes first;
/// without it the budget answers.
#[inline(never)]
fn in_task_off_worker() -> bool {
    if may_probe() {
        return probe::runtime_entered();
    }
    coop_budget() == Budget::Constrained
}

/// A handle but neither a task id nor a worker: a multi-thread or
/// `Handle::block_on` root (the most common mistake: read the budget, no
/// panic), a bare `enter()` or `block_in_place` in a root, or a corner case.
#[inline(never)]
fn in_root_off_worker() -> bool {
    match coop_budget() {
        Budget::Constrained => true,
        Budget::Unconstrained | Budget::Unreadable => may_probe() && probe::runtime_entered(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Budget {
    Constrained,
    Unconstrained,
    /// tokio changed the guard's `Debug` text; the context table catches it.
    Unreadable,
}

/// Reads the current coop budget without changing it: `poll_proceed` takes
/// one unit and hands back a guard that puts it back when dropped.
fn coop_budget() -> Budget {
    use std::fmt::Write;
    use std::task::{Context, Poll, Waker};

    let mut cx = Context::from_waker(Waker::noop());
    let restore = match tokio::task::coop::poll_proceed(&mut cx) {
        // Only a constrained budget can be exhausted.
        Poll::Pending => return Budget::Constrained,
        Poll::Ready(restore) => restore,
    };
    /// Stops formatting at the first `Some` or `None`: the remembered budget,
    /// printed as `RestoreOnPending(Cell { value: Budget(Some(127)) }, ..)`.
    struct Scan(Budget);
    impl Write for Scan {
        fn write_str(&mut self, text: &str) -> std::fmt::Result {
            self.0 = match text {
                "Some" => Budget::Constrained,
                "None" => Budget::Unconstrained,
                _ => return Ok(()),
            };
            Err(std::fmt::Error)
        }
    }
    let mut scan = Scan(Budget::Unreadable);
    // The `Err` is how `Scan` stops early, not a failure.
    let _ = write!(scan, "{restore:?}");
    scan.0
}

static WITHOUT_PANICS: AtomicBool = AtomicBool::new(false);

/// Switches detection, for the rest of the process, to its panic-free rule:
/// it never provokes a panic, so no panic hook can see one of its probes.
///
/// For applications whose panic hook must never run for a caught panic (it
/// exits the process, pages someone) and cannot be installed before the first
/// guarded call. The cost is two missed cases, the same as in a
/// `panic = "abort"` build: a guarded call inside `tokio::task::coop::unconstrained(..)`
/// awaited directly in a root that is not a worker (a multi-thread `block_on`,
/// `Handle::block_on`, a `LocalSet` on such a root), and one made in a
/// multi-thread `block_on` root after a `block_in_place` returned there and
/// before the root yields again. Everything else is detected as before.
///
/// ```
/// use async_unsafe_runtime::{detect_without_panics, is_async_context};
///
/// detect_without_panics();
/// let rt = tokio::runtime::Runtime::new().unwrap();
/// assert!(rt.block_on(async { is_async_context() }));
/// assert!(!rt.block_on(rt.spawn_blocking(is_async_context)).unwrap());
/// ```
pub fn detect_without_panics() {
    WITHOUT_PANICS.store(true, Ordering::Relaxed);
}

/// Whether the probe may run here: not in an abort build, not after
/// [`detect_without_panics`], not while this thread unwinds (installing the
/// hook filter would panic inside a panic).
#[inline]
fn may_probe() -> bool {
    cfg!(panic = "unwind") && !WITHOUT_PANICS.load(Ordering::Relaxed) && !std::thread::panicking()
}

/// The probe: block on a closed channel, which panics exactly when tokio's
/// flag is set, and keep that panic out of the panic hook.
mod probe {
    #[cfg(panic = "unwind")]
    pub(super) fn runtime_entered() -> bool {
        use std::cell::RefCell;
        use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

        fn closed() -> UnboundedReceiver<()> {
            unbounded_channel().1
        }
        thread_local! {
            static CLOSED: RefCell<UnboundedReceiver<()>> = RefCell::new(closed());
        }
        let result = super::quiet_panic::catch(|| {
            // A thread-local being torn down gets a channel of its own.
            CLOSED
                .try_with(|rx| rx.borrow_mut().blocking_recv())
                .unwrap_or_else(|_| closed().blocking_recv())
        });
        match result {
            Ok(_) => false,
            // Only tokio's refusal means "entered"; a failure to park (thread
            // locals gone) is no answer, and "no" is the permissive one.
            Err(payload) => {
                let text = payload
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| payload.downcast_ref::<&str>().copied())
                    .unwrap_or("");
                text.contains("from within a runtime")
            }
        }
    }

    #[cfg(not(panic = "unwind"))]
    pub(super) fn runtime_entered() -> bool {
        false
    }
}

/// Catches a panic without letting the panic hook see it.
#[cfg(panic = "unwind")]
mod quiet_panic {
    use std::cell::Cell;
    use std::panic::{self, AssertUnwindSafe, PanicHookInfo};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

    type Hook = Box<dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static>;

    thread_local! {
        static PROBING: Cell<bool> = const { Cell::new(false) };
    }

    /// Our filter is the installed hook, as far as drops can tell.
    static OUTERMOST: AtomicBool = AtomicBool::new(false);
    /// The filter installed last; older ones may live on, chained inside.
    static GENERATION: AtomicU64 = AtomicU64::new(0);
    static INSTALL: Mutex<()> = Mutex::new(());

    /// Travels inside our filter: when `set_hook` drops the filter, the next
    /// probe knows to wrap the new hook first.
    struct DropAlarm(u64);

    impl Drop for DropAlarm {
        fn drop(&mut self) {
            if GENERATION.load(Ordering::Acquire) == self.0 {
                OUTERMOST.store(false, Ordering::Release);
            }
        }
    }

    pub(super) fn catch<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
        if !OUTERMOST.load(Ordering::Acquire) {
            wrap_installed_hook();
        }
        PROBING.set(true);
        let result = panic::catch_unwind(AssertUnwindSafe(f));
        PROBING.set(false);
        if result.is_err() {
            // A hook that chained to ours keeps our filter alive inside it:
            // only looking at the installed hook tells.
            wrap_installed_hook();
        }
        result
    }

    /// Address of the installed filter's closure, to recognise it.
    static OURS: AtomicUsize = AtomicUsize::new(0);

    fn address(hook: &Hook) -> usize {
        (&**hook as *const (dyn Fn(&PanicHookInfo<'_>) + Sync + Send)).cast::<()>() as usize
    }

    fn is_ours(hook: &Hook) -> bool {
        address(hook) == OURS.load(Ordering::Acquire)
    }

    /// Wraps the installed hook in our filter, unless it is ours.
    fn wrap_installed_hook() {
        let _lock = INSTALL.lock().unwrap_or_else(|poison| poison.into_inner());
        let installed = panic::take_hook();
        if is_ours(&installed) {
            panic::set_hook(installed);
            OUTERMOST.store(true, Ordering::Release);
            return;
        }
        let generation = GENERATION.fetch_add(1, Ordering::AcqRel) + 1;
        let alarm = DropAlarm(generation);
        let filter: Hook = Box::new(move |info| {
            let _alarm = &alarm;
            if !PROBING.try_with(Cell::get).unwrap_or(false) {
                installed(info);
            }
        });
        OURS.store(address(&filter), Ordering::Release);
        panic::set_hook(filter);
        OUTERMOST.store(true, Ordering::Release);
    }
}

thread_local! {
    static DECLARED_DEPTH: Cell<u32> = const { Cell::new(0) };
}

#[inline]
fn declared_event_loop() -> bool {
    DECLARED_DEPTH.with(|depth| depth.get() > 0)
}

/// `futures::executor::block_on`, `LocalPool` and `ThreadPool` workers.
#[cfg(feature = "futures")]
#[inline]
fn futures_entered() -> bool {
    futures_executor::enter().is_err()
}

#[cfg(not(feature = "futures"))]
#[inline]
fn futures_entered() -> bool {
    false
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
    EventLoopGuard {
        _depth: Depth::enter(&DECLARED_DEPTH),
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
    _depth: Depth,
}
