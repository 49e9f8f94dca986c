//! Thread-sensitive lanes: where a `.thread_sensitive()` call runs.
//!
//! A *lane* is one thread's queue of calls, run one at a time on that thread.
//! Every thread that makes a round trip owns one (its [`Own`] queue), served
//! while the thread waits in `async_to_sync`; dedicated lane threads (the
//! process-wide shared lane, and one per [`thread_sensitive_scope`]) serve
//! theirs in a loop, and, when a call they run makes a round trip, from
//! inside that `async_to_sync` too.
//!
//! A call goes to the lane of the innermost of, around the poll that starts
//! it: the future of an `async_to_sync` (back to the waiting thread), a
//! [`thread_sensitive_scope`] (the scope's thread), or, when neither is set,
//! the shared lane. The routing is a tokio task-local, set around each poll
//! of the wrapped future: it follows that future, not the tasks it spawns.
//! A spawned task's calls go to the shared lane, so they never wait for the
//! round trip that spawned them, with one exception handled below.
//!
//! Hangs, and how each is avoided:
//! - asgiref's classic (a task spawned inside sync → async → sync makes a
//!   thread-sensitive call): the spawned task's call goes to the shared lane;
//!   if the shared thread is the one waiting in `async_to_sync`, that wait
//!   serves the shared queue, since it is the thread's own.
//! - re-entry: a call addressed to the current thread while it is not
//!   serving (a lane thread blocked in another executor's `block_on`) would
//!   wait for itself; it runs at once, in place, instead.
//! - a scope ends without joining its thread: the thread finishes the calls
//!   already queued and exits when the last sender is gone.
//!
//! Limits: a call that waits longer than [`set_thread_sensitive_wait_limit`]
//! behind others is reported when it starts, not while it waits; a lane
//! thread blocked forever by the closure it runs still blocks its lane.

use std::cell::{Cell, OnceCell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{
    UnboundedReceiver, UnboundedSender, WeakUnboundedSender, unbounded_channel,
};
use tokio::task::futures::TaskLocalFuture;

/// One thread-sensitive call, ready to run on its lane.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// This thread's queue of thread-sensitive calls.
struct Own {
    /// Strong on threads that make round trips; weak on dedicated lane
    /// threads, so that they exit once nobody else can send to them.
    sender: Sender,
    receiver: RefCell<UnboundedReceiver<Job>>,
}

enum Sender {
    Strong(UnboundedSender<Job>),
    Weak(WeakUnboundedSender<Job>),
}

impl Own {
    fn sender(&self) -> Option<UnboundedSender<Job>> {
        match &self.sender {
            Sender::Strong(sender) => Some(sender.clone()),
            Sender::Weak(sender) => sender.upgrade(),
        }
    }

    fn is(&self, other: &UnboundedSender<Job>) -> bool {
        match &self.sender {
            Sender::Strong(sender) => sender.same_channel(other),
            Sender::Weak(sender) => sender.upgrade().is_some_and(|s| s.same_channel(other)),
        }
    }
}

thread_local! {
    static OWN: OnceCell<Own> = const { OnceCell::new() };
    /// Whether this thread is waiting in `async_to_sync`, ready to run the
    /// calls of its own queue (and not inside one of them).
    static SERVING: Cell<bool> = const { Cell::new(false) };
}

fn own<R>(f: impl FnOnce(&Own) -> R) -> R {
    OWN.with(|own| {
        f(own.get_or_init(|| {
            let (sender, receiver) = unbounded_channel();
            Own {
                sender: Sender::Strong(sender),
                receiver: RefCell::new(receiver),
            }
        }))
    })
}

/// Where the calls made while polling the future go.
#[derive(Clone, Debug)]
pub(crate) enum Route {
    /// Back to the thread waiting in `async_to_sync`.
    Thread(UnboundedSender<Job>),
    /// To a scope's own thread, started on its first call.
    Scope(Arc<ScopeLane>),
}

tokio::task_local! {
    static ROUTE: Route;
}

impl Route {
    /// The current thread's queue, for the future of an `async_to_sync` made
    /// here; `None` on a dedicated lane thread whose lane has ended.
    pub(crate) fn this_thread() -> Option<Route> {
        own(Own::sender).map(Route::Thread)
    }

    pub(crate) fn scope<F: Future>(self, future: F) -> TaskLocalFuture<Route, F> {
        ROUTE.scope(self, future)
    }

    fn sender(&self) -> Option<UnboundedSender<Job>> {
        match self {
            Route::Thread(sender) => Some(sender.clone()),
            Route::Scope(lane) => lane.sender(),
        }
    }
}

/// Runs `job` on the lane the current poll is routed to.
pub(crate) fn submit(job: Job) {
    let queued = Instant::now();
    let job: Job = Box::new(move || {
        report_wait(queued.elapsed());
        job();
    });
    let target = ROUTE
        .try_with(Route::sender)
        .ok()
        .flatten()
        .unwrap_or_else(|| shared_lane().clone());
    if !SERVING.get() && OWN.with(|own| own.get().is_some_and(|own| own.is(&target))) {
        // Re-entry: this thread would wait for itself.
        return run(job);
    }
    if let Err(unserved) = target.send(job) {
        // Its thread has gone: the shared lane, which never ends.
        let _ = shared_lane().send(unserved.0);
    }
}

/// Runs one call, not serving meanwhile.
fn run(job: Job) {
    let serving = SERVING.replace(false);
    job();
    SERVING.set(serving);
}

/// Polls `poll` while serving this thread's queue: the calls waiting in it
/// run (through `each`) whenever `poll` is pending; on completion, the calls
/// queued by then run too, so none started by the future is left behind.
pub(crate) fn serve<T>(
    cx: &mut Context<'_>,
    mut poll: impl FnMut(&mut Context<'_>) -> Poll<T>,
    each: impl Fn(Job),
) -> Poll<T> {
    loop {
        let serving = SERVING.replace(true);
        let polled = poll(cx);
        SERVING.set(serving);
        if let Poll::Ready(output) = polled {
            // The calls queued by now; later ones are for the next server.
            for _ in 0..own(|own| own.receiver.borrow().len()) {
                match own(|own| own.receiver.borrow_mut().try_recv()) {
                    Ok(job) => each(Box::new(move || run(job))),
                    Err(_) => break,
                }
            }
            return Poll::Ready(output);
        }
        match own(|own| own.receiver.borrow_mut().poll_recv(cx)) {
            Poll::Ready(Some(job)) => each(Box::new(move || run(job))),
            Poll::Ready(None) | Poll::Pending => return Poll::Pending,
        }
    }
}

/// Starts a dedicated lane thread; its lane ends when the returned sender
/// and its clones are all dropped, and the thread exits after the calls
/// queued by then. Never joined.
fn spawn_lane(name: &str) -> std::io::Result<UnboundedSender<Job>> {
    let (sender, receiver) = unbounded_channel::<Job>();
    let weak = sender.downgrade();
    thread::Builder::new().name(name.into()).spawn(move || {
        OWN.with(|own| {
            let _ = own.set(Own {
                sender: Sender::Weak(weak),
                receiver: RefCell::new(receiver),
            });
        });
        while let Some(job) = own(|own| own.receiver.borrow_mut().blocking_recv()) {
            run(job);
        }
    })?;
    Ok(sender)
}

/// The lane of the calls made outside any round trip and any scope.
fn shared_lane() -> &'static UnboundedSender<Job> {
    static SHARED: OnceLock<UnboundedSender<Job>> = OnceLock::new();
    SHARED.get_or_init(|| {
        spawn_lane("async-unsafe-sensitive")
            .expect("sync_to_async: cannot start the thread-sensitive thread")
    })
}

/// A scope's lane, started on its first call.
#[derive(Debug, Default)]
pub(crate) struct ScopeLane {
    sender: OnceLock<Option<UnboundedSender<Job>>>,
}

impl ScopeLane {
    fn sender(&self) -> Option<UnboundedSender<Job>> {
        self.sender
            .get_or_init(|| match spawn_lane("async-unsafe-scope") {
                Ok(sender) => Some(sender),
                Err(err) => {
                    report(&format!(
                        "thread_sensitive_scope: cannot start the scope's thread ({err}); \
                         its calls go to the shared thread-sensitive thread"
                    ));
                    None
                }
            })
            .clone()
    }
}

/// Gives the [thread-sensitive](crate::SyncToAsync::thread_sensitive) calls
/// made while polling `future` a thread of their own.
///
/// Outside a scope (and outside `async_to_sync`) every thread-sensitive call
/// in the process queues for one shared thread: one request's slow call
/// delays every other request's. Wrap each request (or any unit of work whose
/// calls share thread-bound state) in a scope, and independent scopes run
/// their calls in parallel, while the calls of one scope still run one at a
/// time on one thread.
///
/// The thread starts on the scope's first call and ends, without being
/// joined, once the scope is dropped and its queued calls have run. Like
/// [`allow_in_future`](crate::allow_in_future), the scope follows `future`
/// across threads, not into tasks it spawns (their calls go to the shared
/// thread). The returned future is `Send` when `future` is.
///
/// ```
/// use async_unsafe_runtime::{sync_to_async, thread_sensitive_scope};
///
/// let rt = tokio::runtime::Runtime::new().unwrap();
/// let request = |n: u32| thread_sensitive_scope(async move {
///     let a = sync_to_async(std::thread::current).thread_sensitive().await;
///     let b = sync_to_async(std::thread::current).thread_sensitive().await;
///     assert_eq!(a.id(), b.id()); // one thread per scope
///     (n, a.id())
/// });
/// let (one, two) = rt.block_on(async {
///     let one = tokio::spawn(request(1));
///     let two = tokio::spawn(request(2));
///     (one.await.unwrap(), two.await.unwrap())
/// });
/// assert_ne!(one.1, two.1); // two scopes, two threads
/// ```
pub fn thread_sensitive_scope<F: Future>(future: F) -> ThreadSensitiveScope<F> {
    ThreadSensitiveScope {
        future: Route::Scope(Arc::default()).scope(future),
    }
}

/// The future returned by [`thread_sensitive_scope`].
///
/// ```
/// use async_unsafe_runtime::{ThreadSensitiveScope, thread_sensitive_scope};
///
/// let scope: ThreadSensitiveScope<_> = thread_sensitive_scope(async { 5 });
/// let rt = tokio::runtime::Runtime::new().unwrap();
/// assert_eq!(rt.block_on(scope), 5);
/// ```
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct ThreadSensitiveScope<F> {
    future: TaskLocalFuture<Route, F>,
}

impl<F: Future> Future for ThreadSensitiveScope<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: never moved out of `self`,
        // and `ThreadSensitiveScope` has no `Drop` impl.
        unsafe { self.map_unchecked_mut(|this| &mut this.future) }.poll(cx)
    }
}

/// In nanoseconds; one second unless set.
static WAIT_LIMIT: AtomicU64 = AtomicU64::new(1_000_000_000);

/// Reports every [thread-sensitive](crate::SyncToAsync::thread_sensitive) call
/// that waited longer than `limit` behind other calls of its thread before it
/// started (one second by default).
///
/// A long wait means one thread serves too many callers: give them
/// [scopes](thread_sensitive_scope) of their own. The report goes to standard
/// error, or, with the `tracing` feature and a subscriber, to a `WARN` event
/// under the target `async_unsafe` with the fields `waited_ms` and `thread`.
/// It is made when the call starts, so a call that never starts is never
/// reported. [`Duration::MAX`] switches the reports off.
///
/// ```
/// use std::time::Duration;
/// use async_unsafe_runtime::set_thread_sensitive_wait_limit;
///
/// set_thread_sensitive_wait_limit(Duration::from_millis(200));
/// # set_thread_sensitive_wait_limit(Duration::from_secs(1));
/// ```
pub fn set_thread_sensitive_wait_limit(limit: Duration) {
    let nanos = u64::try_from(limit.as_nanos()).unwrap_or(u64::MAX);
    WAIT_LIMIT.store(nanos, Ordering::Relaxed);
}

fn report_wait(waited: Duration) {
    let limit = WAIT_LIMIT.load(Ordering::Relaxed);
    if u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX) <= limit || limit == u64::MAX {
        return;
    }
    let thread = thread::current();
    let thread = thread.name().unwrap_or("unnamed");
    #[cfg(feature = "tracing")]
    if tracing::dispatcher::get_default(|d| !d.is::<tracing::subscriber::NoSubscriber>()) {
        tracing::warn!(
            target: "async_unsafe",
            waited_ms = waited.as_millis() as u64,
            thread,
            "a thread-sensitive call waited behind others: give independent callers a \
             thread_sensitive_scope each"
        );
        return;
    }
    report(&format!(
        "a thread-sensitive call waited {waited:?} behind others on thread `{thread}`: give \
         independent callers a thread_sensitive_scope each"
    ));
}

fn report(what: &str) {
    #[cfg(feature = "tracing")]
    if tracing::dispatcher::get_default(|d| !d.is::<tracing::subscriber::NoSubscriber>()) {
        tracing::warn!(target: "async_unsafe", "{what}");
        return;
    }
    eprintln!("warning: {what}");
}
