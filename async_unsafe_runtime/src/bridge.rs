//! Crossing between sync and async code the right way, as asgiref's
//! `sync_to_async` and `async_to_sync` do for Django.

use std::cell::RefCell;
use std::future::{Future, IntoFuture, poll_fn};
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe, Location};
use std::pin::{Pin, pin};
use std::sync::{OnceLock, mpsc};
use std::task::{Context, Poll, ready};
use std::thread;

use tokio::runtime::{Handle, Runtime};
use tokio::sync::{mpsc as tokio_mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::{SynchronousOnlyOperation, is_async_context};

/// The message of [`async_to_sync`]'s error, after asgiref's.
const ASYNC_TO_SYNC_MESSAGE: &str = "You cannot use async_to_sync in the same thread as an async \
    event loop - just await the future directly.";

type Job = Box<dyn FnOnce() + Send>;

/// Thread-sensitive calls addressed to one thread, served by whichever
/// `async_to_sync` is innermost on that thread while it waits.
struct Lane {
    sender: tokio_mpsc::UnboundedSender<Job>,
    receiver: RefCell<tokio_mpsc::UnboundedReceiver<Job>>,
}

thread_local! {
    static LANE: Lane = {
        let (sender, receiver) = tokio_mpsc::unbounded_channel();
        Lane { sender, receiver: RefCell::new(receiver) }
    };
}

tokio::task_local! {
    /// Set for the future given to `async_to_sync`: where its thread-sensitive
    /// calls go (back to the thread that is waiting for it).
    static ROUTE: tokio_mpsc::UnboundedSender<Job>;
}

/// Runs a synchronous closure from async code without blocking the runtime.
///
/// Await the returned [`SyncToAsync`]: by default `f` runs on tokio's blocking
/// pool (see [`tokio::task::spawn_blocking`]), where functions marked
/// `#[async_unsafe]` are allowed and many calls run in parallel. Call
/// [`thread_sensitive`](SyncToAsync::thread_sensitive) to run it on one
/// dedicated thread instead.
///
/// `f`'s result is returned as is; a panic in `f` resumes in the awaiting task
/// with its original payload.
///
/// Like every future, nothing happens until the first poll: dropped before,
/// `f` never runs. Once started, `f` runs to completion even if the future is
/// dropped (a blocking closure cannot be interrupted) and its result is dropped.
///
/// With the `tracing` feature, the span current at the first poll is entered
/// while `f` runs, so its events stay attached to the request that caused them.
///
/// # Panics
///
/// In the default mode, when first polled outside a tokio runtime (for
/// instance under another executor); the thread-sensitive mode needs none.
///
/// ```
/// use async_unsafe_runtime::{async_unsafe, sync_to_async, SynchronousOnlyOperation};
///
/// #[async_unsafe]
/// fn load(id: u32) -> Result<String, SynchronousOnlyOperation> {
///     Ok(format!("row {id}"))
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let row = sync_to_async(move || load(7)).await.unwrap();
/// assert_eq!(row, "row 7");
/// # });
/// ```
pub fn sync_to_async<F, R>(f: F) -> SyncToAsync<F>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    SyncToAsync {
        f,
        thread_sensitive: false,
    }
}

/// A synchronous closure waiting to run off the async threads; see
/// [`sync_to_async`]. Await it, or choose a mode first.
///
/// ```
/// use async_unsafe_runtime::{sync_to_async, SyncToAsync};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let call: SyncToAsync<_> = sync_to_async(|| "ran on the blocking pool");
/// assert_eq!(call.await, "ran on the blocking pool");
/// # });
/// ```
#[must_use = "nothing runs until this is awaited"]
#[derive(Debug)]
pub struct SyncToAsync<F> {
    f: F,
    thread_sensitive: bool,
}

impl<F> SyncToAsync<F> {
    /// Runs the closure on one thread, one call at a time, so that state bound
    /// to a thread (a connection in a thread-local, a `!Send` handle parked in
    /// a thread) is always touched from the same thread.
    ///
    /// Inside a future run by [`async_to_sync`] the calls go back to the thread
    /// that called `async_to_sync` (it is waiting anyway), so a sync → async →
    /// sync round trip sees that thread's thread-locals. Everywhere else they
    /// share one process-wide thread, started on first use. The routing follows
    /// the future given to `async_to_sync`, not tasks it spawns.
    ///
    /// This mode works under any executor, not only tokio.
    ///
    /// ```
    /// use async_unsafe_runtime::sync_to_async;
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let a = sync_to_async(|| std::thread::current().id()).thread_sensitive().await;
    /// let b = sync_to_async(|| std::thread::current().id()).thread_sensitive().await;
    /// assert_eq!(a, b);
    /// # });
    /// ```
    pub fn thread_sensitive(mut self) -> Self {
        self.thread_sensitive = true;
        self
    }
}

impl<F, R> IntoFuture for SyncToAsync<F>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    type Output = R;
    type IntoFuture = SyncToAsyncFuture<F, R>;

    fn into_future(self) -> Self::IntoFuture {
        SyncToAsyncFuture {
            state: State::Start {
                f: self.f,
                thread_sensitive: self.thread_sensitive,
            },
            _output: PhantomData,
        }
    }
}

/// The future of an awaited [`SyncToAsync`].
///
/// ```
/// use std::future::IntoFuture;
/// use async_unsafe_runtime::sync_to_async;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let future = sync_to_async(|| 2 + 2).into_future();
/// assert_eq!(future.await, 4);
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct SyncToAsyncFuture<F, R> {
    state: State<F, R>,
    _output: PhantomData<fn() -> R>,
}

enum State<F, R> {
    Start { f: F, thread_sensitive: bool },
    Pool(JoinHandle<R>),
    Sensitive(oneshot::Receiver<thread::Result<R>>),
    Done,
}

// Nothing is structurally pinned: `f` is moved out by value before it runs.
impl<F, R> Unpin for SyncToAsyncFuture<F, R> {}

impl<F, R> std::fmt::Debug for SyncToAsyncFuture<F, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Start { .. } => "not started",
            State::Pool(_) | State::Sensitive(_) => "running",
            State::Done => "done",
        };
        f.debug_struct("SyncToAsyncFuture")
            .field("state", &state)
            .finish()
    }
}

impl<F, R> Future for SyncToAsyncFuture<F, R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<R> {
        let this = &mut *self;
        if let State::Start { .. } = this.state {
            if let State::Start {
                f,
                thread_sensitive,
            } = std::mem::replace(&mut this.state, State::Done)
            {
                this.state = start(in_current_span(f), thread_sensitive);
            }
        }
        let output = match &mut this.state {
            State::Pool(handle) => match ready!(Pin::new(handle).poll(cx)) {
                Ok(output) => output,
                Err(err) if err.is_panic() => panic::resume_unwind(err.into_panic()),
                Err(err) => {
                    panic!("sync_to_async: the runtime shut down before the call ran ({err})")
                }
            },
            State::Sensitive(receiver) => match ready!(Pin::new(receiver).poll(cx)) {
                Ok(Ok(output)) => output,
                Ok(Err(payload)) => panic::resume_unwind(payload),
                Err(_) => panic!("sync_to_async: the thread-sensitive thread dropped the call"),
            },
            State::Start { .. } | State::Done => {
                panic!("SyncToAsyncFuture polled after completion")
            }
        };
        this.state = State::Done;
        Poll::Ready(output)
    }
}

fn start<F, G, R>(f: G, thread_sensitive: bool) -> State<F, R>
where
    G: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    if !thread_sensitive {
        let Ok(handle) = Handle::try_current() else {
            panic!(
                "sync_to_async was awaited outside a tokio runtime: await it inside one, \
                 or call .thread_sensitive(), which needs none"
            );
        };
        return State::Pool(handle.spawn_blocking(f));
    }
    let (sender, receiver) = oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = sender.send(panic::catch_unwind(AssertUnwindSafe(f)));
    });
    // Outside a round trip, or when its thread has gone: the shared thread.
    let unserved = match ROUTE.try_with(Clone::clone) {
        Ok(route) => route.send(job).err().map(|unserved| unserved.0),
        Err(_) => Some(job),
    };
    if let Some(job) = unserved {
        shared_sensitive_thread(job);
    }
    State::Sensitive(receiver)
}

/// The one thread that serves thread-sensitive calls made outside any
/// `async_to_sync` round trip.
fn shared_sensitive_thread(job: Job) {
    static THREAD: OnceLock<mpsc::Sender<Job>> = OnceLock::new();
    let sender = THREAD.get_or_init(|| {
        let (sender, receiver) = mpsc::channel::<Job>();
        thread::Builder::new()
            .name("async-unsafe-sensitive".into())
            .spawn(move || {
                for job in receiver {
                    job();
                }
            })
            .expect("sync_to_async: cannot start the thread-sensitive thread");
        sender
    });
    // The receiving thread never exits, so sending cannot fail.
    let _ = sender.send(job);
}

#[cfg(feature = "tracing")]
fn in_current_span<R>(
    f: impl FnOnce() -> R + Send + 'static,
) -> impl FnOnce() -> R + Send + 'static {
    let span = tracing::Span::current();
    move || span.in_scope(f)
}

#[cfg(not(feature = "tracing"))]
fn in_current_span<F>(f: F) -> F {
    f
}

/// Runs a future to completion from synchronous code.
///
/// - In a thread of a runtime's blocking pool (or under `block_in_place`, or a
///   `Runtime::enter` guard) the future runs on that runtime, so resources bound
///   to it keep working.
/// - On a plain thread it runs on a shared runtime started once per process on
///   first use: multi-thread, one worker per core (tokio's default), IO and
///   timers enabled, threads named `async-unsafe-bridge`.
///
/// Either way the future is polled on the calling thread, so it need not be
/// `Send`. While it waits, the calling thread serves the
/// [thread-sensitive](SyncToAsync::thread_sensitive) calls the future makes, so
/// they see this thread's thread-locals. Calls nest: sync → `async_to_sync` →
/// async → `sync_to_async` → sync → `async_to_sync` → async works.
///
/// # Errors
///
/// Called from an async context it would deadlock or panic, so it returns a
/// [`SynchronousOnlyOperation`] instead: await the future there.
///
/// # Panics
///
/// If the shared runtime cannot be started (the system refuses threads).
///
/// ```
/// use async_unsafe_runtime::{async_to_sync, sync_to_async};
///
/// // Plain synchronous code.
/// let doubled = async_to_sync(async {
///     sync_to_async(|| 21 * 2).await
/// });
/// assert_eq!(doubled.unwrap(), 42);
///
/// // Inside async code it refuses rather than deadlocking.
/// let rt = tokio::runtime::Runtime::new().unwrap();
/// let err = rt.block_on(async { async_to_sync(async { 1 }) }).unwrap_err();
/// assert!(err.message().contains("just await"));
/// ```
#[track_caller]
pub fn async_to_sync<F: Future>(future: F) -> Result<F::Output, SynchronousOnlyOperation> {
    if is_async_context() {
        return Err(SynchronousOnlyOperation::new(
            ASYNC_TO_SYNC_MESSAGE,
            "async_unsafe_runtime::async_to_sync",
            Location::caller(),
        ));
    }
    let current = Handle::try_current().ok();
    let handle = current
        .as_ref()
        .unwrap_or_else(|| shared_runtime().handle());
    let route = LANE.with(|lane| lane.sender.clone());
    Ok(handle.block_on(serve(ROUTE.scope(route, future))))
}

/// Polls `future` and, whenever it is pending, runs the thread-sensitive calls
/// sent to this thread. They run under `block_in_place`, outside the runtime
/// context `block_on` entered, so `#[async_unsafe]` functions pass there.
async fn serve<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let output = poll_fn(|cx| {
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(cx) {
                return Poll::Ready(output);
            }
            match LANE.with(|lane| lane.receiver.borrow_mut().poll_recv(cx)) {
                Poll::Ready(Some(job)) => tokio::task::block_in_place(job),
                Poll::Ready(None) | Poll::Pending => return Poll::Pending,
            }
        }
    })
    .await;
    // Calls whose futures were dropped after sending still run to completion.
    while let Ok(job) = LANE.with(|lane| lane.receiver.borrow_mut().try_recv()) {
        tokio::task::block_in_place(job);
    }
    output
}

fn shared_runtime() -> &'static Runtime {
    static SHARED: OnceLock<Runtime> = OnceLock::new();
    SHARED.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .thread_name("async-unsafe-bridge")
            .enable_all()
            .build()
            .expect("async_to_sync: cannot start the shared runtime")
    })
}
