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
//! Failures, and how a lane survives them:
//! - a wait report that panics (a tracing layer, `eprintln!` to a closed
//!   stderr) is caught and its payload leaked: the call still runs;
//! - whatever else escapes a call on a lane thread (its result dropped there,
//!   the caller gone, with a `Drop` that panics) is caught by the thread's
//!   loop: the thread and its thread-locals live on;
//! - a lane thread that dies all the same (a panic payload whose own `Drop`
//!   panics) closes its queue as it unwinds and hands the calls still queued
//!   to a new thread for the same lane, which every later call goes to: a
//!   dead thread is replaced, never sent to.
//!
//! Limits: a call that waits longer than [`set_thread_sensitive_wait_limit`]
//! behind others is reported when it starts, not while it waits; a lane
//! thread blocked forever by the closure it runs still blocks its lane; the
//! thread-locals of a lane thread that died are gone with it.

use std::cell::{Cell, OnceCell, RefCell};
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
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
    Scope(Arc<Lane>),
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
}

/// Runs `job` on the lane the current poll is routed to.
pub(crate) fn submit(job: Job) {
    let queued = Instant::now();
    let job: Job = Box::new(move || {
        // Nothing a report does may stop the call or its thread: a tracing
        // layer that panics, `eprintln!` to a closed stderr. The payload is
        // leaked, not dropped: its drop could panic too.
        if let Err(payload) = panic::catch_unwind(|| report_wait(queued.elapsed())) {
            std::mem::forget(payload);
        }
        job();
    });
    let route = ROUTE.try_with(Route::clone).ok();
    let unserved = match route {
        // The thread waiting in `async_to_sync` is the one polling: alive.
        Some(Route::Thread(sender)) => deliver(&sender, job).err(),
        Some(Route::Scope(lane)) => lane.submit(job).err().map(|(job, err)| {
            report(&format!(
                "thread_sensitive_scope: cannot start the scope's thread ({err}); the call \
                 goes to the shared thread-sensitive thread"
            ));
            job
        }),
        None => Some(job),
    };
    if let Some(job) = unserved {
        if let Err((_, err)) = shared_lane().submit(job) {
            panic!("sync_to_async: cannot start the thread-sensitive thread ({err})");
        }
    }
}

/// Sends `job` to the thread behind `target`, or runs it at once when that
/// is this thread and it is not serving (it would wait for itself).
fn deliver(target: &UnboundedSender<Job>, job: Job) -> Result<(), Job> {
    if !SERVING.get() && OWN.with(|own| own.get().is_some_and(|own| own.is(target))) {
        run(job);
        return Ok(());
    }
    target.send(job).map_err(|unserved| unserved.0)
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

/// A dedicated lane: the shared one, or a scope's. Its thread starts on the
/// first call; when it has died, the next call starts another, which also
/// takes over the calls the dead one left queued.
#[derive(Debug)]
pub(crate) struct Lane {
    /// The name of its threads.
    name: &'static str,
    /// The current thread's queue; `None` before the first call.
    sender: Mutex<Option<UnboundedSender<Job>>>,
}

impl Lane {
    fn new(name: &'static str) -> Lane {
        Lane {
            name,
            sender: Mutex::new(None),
        }
    }

    /// Sends `job` to the lane's thread, starting one when there is none or
    /// the last one has died; `Err` when no thread can be started.
    fn submit(self: &Arc<Self>, mut job: Job) -> Result<(), (Job, std::io::Error)> {
        loop {
            let sender = match self.sender() {
                Ok(sender) => sender,
                Err(err) => return Err((job, err)),
            };
            match deliver(&sender, job) {
                Ok(()) => return Ok(()),
                // Died between the look and the send: replace it too.
                Err(unserved) => job = unserved,
            }
        }
    }

    /// The queue of the lane's live thread, started here if need be.
    fn sender(self: &Arc<Self>) -> std::io::Result<UnboundedSender<Job>> {
        let mut current = self.sender.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(sender) = current.as_ref().filter(|sender| !sender.is_closed()) {
            return Ok(sender.clone());
        }
        let sender = spawn_lane(self)?;
        *current = Some(sender.clone());
        Ok(sender)
    }
}

/// Starts a thread serving `lane`'s queue; the queue ends when the returned
/// sender and its clones are all dropped, and the thread exits after the
/// calls queued by then. Never joined.
fn spawn_lane(lane: &Arc<Lane>) -> std::io::Result<UnboundedSender<Job>> {
    let (sender, receiver) = unbounded_channel::<Job>();
    let weak = sender.downgrade();
    let handover = Handover(Arc::downgrade(lane));
    thread::Builder::new()
        .name(lane.name.into())
        .spawn(move || {
            OWN.with(|own| {
                let _ = own.set(Own {
                    sender: Sender::Weak(weak),
                    receiver: RefCell::new(receiver),
                });
            });
            let _handover = handover;
            while let Some(job) = own(|own| own.receiver.borrow_mut().blocking_recv()) {
                // What escapes a call (a result dropped here, its caller gone,
                // whose `Drop` panics) must not end the lane and its thread-locals.
                let _ = panic::catch_unwind(AssertUnwindSafe(|| run(job)));
            }
        })?;
    Ok(sender)
}

/// Held by a lane thread: if the thread dies (a panic escaped even the catch
/// around each call, a payload whose `Drop` panics), closes its queue, so
/// that the next call starts a new thread, and hands the calls still queued
/// to that new thread, or to the shared lane if the scope has ended.
struct Handover(Weak<Lane>);

impl Drop for Handover {
    fn drop(&mut self) {
        if !thread::panicking() {
            return;
        }
        let queued = OWN.with(|own| {
            let mut jobs = Vec::new();
            if let Some(own) = own.get() {
                let mut receiver = own.receiver.borrow_mut();
                receiver.close();
                while let Ok(job) = receiver.try_recv() {
                    jobs.push(job);
                }
            }
            jobs
        });
        let lane = self.0.upgrade().unwrap_or_else(|| shared_lane().clone());
        for job in queued {
            // Dropped only if no thread at all can be started; its caller
            // then panics with "dropped the call".
            let _ = lane.submit(job);
        }
    }
}

/// The lane of the calls made outside any round trip and any scope.
fn shared_lane() -> &'static Arc<Lane> {
    static SHARED: OnceLock<Arc<Lane>> = OnceLock::new();
    SHARED.get_or_init(|| Arc::new(Lane::new("async-unsafe-sensitive")))
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
        future: Route::Scope(Arc::new(Lane::new("async-unsafe-scope"))).scope(future),
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
/// reported; a report that panics (a tracing layer, a closed stderr) is
/// caught, and the call runs all the same. [`Duration::MAX`] switches the
/// reports off.
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
