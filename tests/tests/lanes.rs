//! Thread-sensitive lanes outlive whatever their calls and reports do: a
//! report that panics, a call's leftovers that panic when dropped, a lane
//! thread that dies anyway. A process of its own: it sets the global tracing
//! subscriber and the wait limit, and kills the shared lane's thread.

use std::future::IntoFuture;
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread::{self, ThreadId};
use std::time::Duration;

use async_unsafe_runtime::{
    async_to_sync, set_thread_sensitive_wait_limit, sync_to_async, thread_sensitive_scope,
};
use tests::deadline::within;
use tests::panics::{Payload, quiet_payload_panics};
use tests::runtimes::multi_thread;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// How many wait reports the layer has refused, by panicking.
static REFUSED_REPORTS: AtomicUsize = AtomicUsize::new(0);

/// A tracing layer that panics on every event with a `waited_ms` field: the
/// wait report of a thread-sensitive call.
struct PanicOnWaitReports;

impl<S: Subscriber> Layer<S> for PanicOnWaitReports {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        struct HasWait(bool);
        impl Visit for HasWait {
            fn record_debug(&mut self, field: &Field, _: &dyn std::fmt::Debug) {
                self.0 |= field.name() == "waited_ms";
            }
        }
        let mut wait = HasWait(false);
        event.record(&mut wait);
        if wait.0 {
            REFUSED_REPORTS.fetch_add(1, Ordering::SeqCst);
            std::panic::panic_any(Payload(0));
        }
    }
}

/// Every test of this process runs with the panicking layer as the global
/// subscriber and every call reported (a wait limit of zero); the panics it
/// provokes on purpose are kept out of the output.
fn setup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        quiet_payload_panics();
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.payload().is::<Killer>() {
                previous(info);
            }
        }));
        tracing::subscriber::set_global_default(
            tracing_subscriber::registry().with(PanicOnWaitReports),
        )
        .unwrap();
        set_thread_sensitive_wait_limit(Duration::ZERO);
    });
}

fn sensitive_thread() -> impl std::future::Future<Output = ThreadId> {
    sync_to_async(|| thread::current().id())
        .thread_sensitive()
        .into_future()
}

#[test]
fn a_report_that_panics_stops_neither_the_call_nor_the_calls_after_it() {
    setup();
    within(|| {
        let rt = multi_thread();
        let before = REFUSED_REPORTS.load(Ordering::SeqCst);
        // The shared lane, outside any scope: one thread, every time.
        let shared = rt.block_on(sensitive_thread());
        for _ in 0..3 {
            assert_eq!(rt.block_on(sensitive_thread()), shared);
        }
        // A scope's lane: one thread of its own, every time.
        let (first, later) = rt.block_on(thread_sensitive_scope(async {
            let first = sensitive_thread().await;
            let mut later = Vec::new();
            for _ in 0..3 {
                later.push(sensitive_thread().await);
            }
            (first, later)
        }));
        assert_ne!(first, shared);
        assert!(later.iter().all(|id| *id == first), "{later:?}");
        // A round trip's own lane: the calling thread.
        let me = thread::current().id();
        let home = async_to_sync(async { (sensitive_thread().await, sensitive_thread().await) });
        assert_eq!(home.unwrap(), (me, me));
        // Every one of those calls was reported, and every report refused.
        assert!(
            REFUSED_REPORTS.load(Ordering::SeqCst) - before >= 10,
            "the reports were not made: the test tests nothing"
        );
    });
}

/// Polls `future` once (the call starts), then drops it: its result, when
/// the call ends, is dropped on the lane's thread.
async fn start_then_drop<F: IntoFuture>(future: F) {
    let mut future = std::pin::pin!(future.into_future());
    std::future::poll_fn(|cx| {
        assert!(future.as_mut().poll(cx).is_pending());
        std::task::Poll::Ready(())
    })
    .await;
}

/// A panic payload that panics when dropped, so that a lane thread whose
/// loop catches it dies dropping it.
struct Killer;

impl Drop for Killer {
    fn drop(&mut self) {
        std::panic::panic_any(Payload(100));
    }
}

/// A call, abandoned by its caller, whose result runs `leftover` when the
/// lane's thread drops it; then a call queued behind it before it ends.
/// Returns (the first call's thread, the queued call's thread).
async fn abandon_then_queue(leftover: impl FnOnce() + Send + 'static) -> (ThreadId, ThreadId) {
    let (release, released) = mpsc::channel::<()>();
    let (started, on) = mpsc::channel();
    start_then_drop(
        sync_to_async(move || {
            started.send(thread::current().id()).unwrap();
            released.recv().unwrap();
            OnDrop(Some(Box::new(leftover)))
        })
        .thread_sensitive(),
    )
    .await;
    let behind = sensitive_thread();
    let (behind, ()) = tokio::join!(behind, async {
        // Queued first (polled first by join!), then released.
        release.send(()).unwrap();
    });
    (on.recv().unwrap(), behind)
}

/// Runs its closure when dropped.
struct OnDrop(Option<Box<dyn FnOnce() + Send>>);

impl Drop for OnDrop {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

#[test]
fn a_result_that_panics_when_dropped_leaves_the_lane_thread_and_its_queue_alone() {
    setup();
    within(|| {
        let rt = multi_thread();
        for scoped in [false, true] {
            let abandoned = abandon_then_queue(|| std::panic::panic_any(Payload(1)));
            let (first, behind) = if scoped {
                rt.block_on(thread_sensitive_scope(abandoned))
            } else {
                rt.block_on(abandoned)
            };
            // The same thread served the call queued behind: it did not die.
            assert_eq!(first, behind, "scoped: {scoped}");
        }
    });
}

#[test]
fn a_dead_lane_thread_is_replaced_and_its_queued_calls_handed_over() {
    setup();
    within(|| {
        let rt = multi_thread();
        // A scope's thread dies; the call queued behind it, the scope's later
        // calls, and calls outside any scope all complete.
        let (dead, behind, later) = rt.block_on(thread_sensitive_scope(async {
            let (dead, behind) = abandon_then_queue(|| std::panic::panic_any(Killer)).await;
            (dead, behind, sensitive_thread().await)
        }));
        assert_ne!(behind, dead, "the dead thread served a call");
        assert_eq!(later, behind, "the scope's calls share one new thread");
        let shared = rt.block_on(sensitive_thread());
        assert_ne!(shared, behind);

        // The shared thread dies: the same, outside any scope.
        let (dead, behind) = rt.block_on(abandon_then_queue(|| std::panic::panic_any(Killer)));
        assert_eq!(dead, shared);
        assert_ne!(behind, dead, "the dead thread served a call");
        assert_eq!(rt.block_on(sensitive_thread()), behind);
        // And a scope still gets a thread of its own.
        let scoped = rt.block_on(thread_sensitive_scope(sensitive_thread()));
        assert_ne!(scoped, behind);
    });
}
