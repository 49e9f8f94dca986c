//! The execution-context table shared by `tests/contexts.rs` (default
//! detection), `tests/contexts_panic_free.rs` (`detect_without_panics`) and the
//! `panic_abort` binary (a `panic = "abort"` build): each row runs an
//! observation in one context and returns what it saw.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use async_unsafe_runtime::is_async_context;
use tokio::runtime::{Builder, Handle};
use tokio::task::LocalSet;
use tokio::task::coop::unconstrained;

use crate::runtimes::{current_thread, multi_thread};
use crate::{guarded, guarded_panics};

/// What one row saw: our answer, a guarded call returning a `Result`, a
/// guarded call that panics, and tokio's own answer.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct Answer {
    pub ours: bool,
    pub guarded_refused: bool,
    pub guarded_panicked: bool,
    pub tokio: bool,
}

impl Answer {
    /// The answer of a row where everything agrees on `async_context`.
    pub fn all(async_context: bool) -> Self {
        Answer {
            ours: async_context,
            guarded_refused: async_context,
            guarded_panicked: async_context,
            tokio: async_context,
        }
    }
}

thread_local! {
    static EXPECTING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, telling [`LeakCountingHook`] that a panic here is provoked on
/// purpose; returns whether it panicked.
pub fn panics_expectedly(f: impl FnOnce()) -> bool {
    EXPECTING.set(true);
    let panicked = catch_unwind(AssertUnwindSafe(f)).is_err();
    EXPECTING.set(false);
    panicked
}

/// tokio's judgement, asked directly: a fresh runtime's `block_on` panics with
/// "Cannot start a runtime from within a runtime" exactly where blocking is
/// forbidden.
pub fn tokio_says_async() -> bool {
    let rt = Builder::new_current_thread().build().unwrap();
    let panicked = panics_expectedly(|| rt.block_on(async {}));
    rt.shutdown_background();
    panicked
}

/// What a row sees in a build that unwinds: our answer, [`guarded`],
/// [`guarded_panics`] and tokio's answer.
pub fn observe() -> Answer {
    Answer {
        ours: is_async_context(),
        guarded_refused: guarded().is_err(),
        guarded_panicked: panics_expectedly(guarded_panics),
        tokio: tokio_says_async(),
    }
}

static LEAKS: AtomicUsize = AtomicUsize::new(0);

/// A panic hook that hides the panics a test provokes on purpose and counts
/// every other panic about a runtime: a probe of the detector that reached
/// it. Chains to the previous hook for everything else.
pub struct LeakCountingHook(());

impl LeakCountingHook {
    /// Installs the hook once per process. Call it before any guarded call,
    /// so it is installed before the detector's first probe.
    pub fn install() -> Self {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if EXPECTING.try_with(Cell::get).unwrap_or(false) {
                    return;
                }
                if info.to_string().contains("within a runtime") {
                    LEAKS.fetch_add(1, Ordering::SeqCst);
                }
                previous(info);
            }));
        });
        LeakCountingHook(())
    }

    /// Runtime panics seen that no test provoked, in this process so far.
    pub fn leaks(&self) -> usize {
        LEAKS.load(Ordering::SeqCst)
    }
}

/// Runs the observation in one context and hands back its result.
pub type Row<T> = fn(fn() -> T) -> T;

/// Rows the panic-free rule answers "no" although tokio says "async": the two
/// corner cases documented in `async_unsafe_runtime/src/detect.rs`
/// (`unconstrained(..)` in a non-worker root; a multi-thread root after
/// `block_in_place`). Every other row is exact in every build mode.
pub const MISSED_WITHOUT_PROBE: [&str; 4] = [
    "unconstrained in a multi_thread root",
    "unconstrained in Handle::block_on",
    "unconstrained LocalSet task on a multi_thread root",
    "multi_thread root after block_in_place",
];

/// Every context of the table, by name. Generic over what is observed, so the
/// abort build (which cannot ask tokio's panicking oracle) shares it.
pub fn rows<T: Send + 'static>() -> Vec<(&'static str, Row<T>)> {
    vec![
        ("plain thread", |o| o()),
        ("current_thread block_on root", |o| {
            current_thread().block_on(async move { o() })
        }),
        ("multi_thread block_on root", |o| {
            multi_thread().block_on(async move { o() })
        }),
        ("task on a multi_thread worker", |o| {
            let rt = multi_thread();
            rt.block_on(rt.spawn(async move { o() })).unwrap()
        }),
        ("task on a current_thread runtime", |o| {
            let rt = current_thread();
            rt.block_on(rt.spawn(async move { o() })).unwrap()
        }),
        ("unconstrained task on a worker", |o| {
            let rt = multi_thread();
            rt.block_on(rt.spawn(unconstrained(async move { o() })))
                .unwrap()
        }),
        ("LocalSet task on a multi_thread root", |o| {
            LocalSet::new().block_on(&multi_thread(), async move {
                tokio::task::spawn_local(async move { o() }).await.unwrap()
            })
        }),
        ("LocalSet run_until body on a multi_thread root", |o| {
            LocalSet::new().block_on(&multi_thread(), async move { o() })
        }),
        ("LocalSet task on a current_thread root", |o| {
            LocalSet::new().block_on(&current_thread(), async move {
                tokio::task::spawn_local(async move { o() }).await.unwrap()
            })
        }),
        ("spawn_blocking", |o| {
            let rt = multi_thread();
            rt.block_on(rt.spawn_blocking(o)).unwrap()
        }),
        ("spawn_blocking on a current_thread runtime", |o| {
            let rt = current_thread();
            rt.block_on(rt.spawn_blocking(o)).unwrap()
        }),
        ("nested spawn_blocking", |o| {
            let rt = multi_thread();
            rt.block_on(
                rt.spawn_blocking(move || {
                    Handle::current().block_on(tokio::task::spawn_blocking(o))
                }),
            )
            .unwrap()
            .unwrap()
        }),
        ("block_in_place in a task", |o| {
            let rt = multi_thread();
            rt.block_on(rt.spawn(async move { tokio::task::block_in_place(o) }))
                .unwrap()
        }),
        ("block_in_place in a multi_thread root", |o| {
            multi_thread().block_on(async move { tokio::task::block_in_place(o) })
        }),
        ("Handle::block_on inside block_in_place", |o| {
            let rt = multi_thread();
            rt.block_on(rt.spawn(async move {
                tokio::task::block_in_place(|| Handle::current().block_on(async move { o() }))
            }))
            .unwrap()
        }),
        ("bare enter() of a multi_thread runtime", |o| {
            let rt = multi_thread();
            let _guard = rt.enter();
            o()
        }),
        ("bare enter() of a current_thread runtime", |o| {
            let rt = current_thread();
            let _guard = rt.enter();
            o()
        }),
        ("Handle::block_on on a plain thread", |o| {
            let rt = multi_thread();
            let handle = rt.handle().clone();
            std::thread::spawn(move || handle.block_on(async move { o() }))
                .join()
                .unwrap()
        }),
        ("new multi_thread runtime inside spawn_blocking", |o| {
            let rt = multi_thread();
            rt.block_on(rt.spawn_blocking(move || multi_thread().block_on(async move { o() })))
                .unwrap()
        }),
        ("Handle::block_on inside spawn_blocking", |o| {
            let rt = multi_thread();
            rt.block_on(rt.spawn_blocking(move || Handle::current().block_on(async move { o() })))
                .unwrap()
        }),
        ("unconstrained in a multi_thread root", |o| {
            multi_thread().block_on(async move { unconstrained(async move { o() }).await })
        }),
        ("unconstrained in Handle::block_on", |o| {
            let rt = multi_thread();
            rt.block_on(rt.spawn_blocking(move || {
                Handle::current().block_on(unconstrained(async move { o() }))
            }))
            .unwrap()
        }),
        ("unconstrained LocalSet task on a multi_thread root", |o| {
            LocalSet::new().block_on(&multi_thread(), async move {
                tokio::task::spawn_local(unconstrained(async move { o() }))
                    .await
                    .unwrap()
            })
        }),
        ("multi_thread root after block_in_place", |o| {
            multi_thread().block_on(async move {
                tokio::task::block_in_place(|| ());
                o()
            })
        }),
        ("current_thread block_on from a second thread", |o| {
            // One thread runs the root and holds the scheduler; the second
            // thread's block_on polls its future without it.
            let rt = current_thread();
            let (started, wait_started) = mpsc::channel();
            let (finish, finished) = tokio::sync::oneshot::channel::<()>();
            std::thread::scope(|s| {
                s.spawn(|| {
                    rt.block_on(async {
                        started.send(()).unwrap();
                        finished.await.unwrap();
                    })
                });
                wait_started.recv().unwrap();
                let answer = rt.block_on(async move { o() });
                finish.send(()).unwrap();
                answer
            })
        }),
        ("std::thread spawned from a task", |o| {
            let rt = multi_thread();
            rt.block_on(rt.spawn(async move { std::thread::spawn(o).join().unwrap() }))
                .unwrap()
        }),
        ("after the multi_thread runtime was dropped", |o| {
            let rt = multi_thread();
            rt.block_on(async {});
            drop(rt);
            o()
        }),
        ("after the current_thread runtime was dropped", |o| {
            let rt = current_thread();
            rt.block_on(async {});
            drop(rt);
            o()
        }),
    ]
}
