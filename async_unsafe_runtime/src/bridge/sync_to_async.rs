//! `sync_to_async`: a synchronous closure awaited from async code, on tokio's
//! blocking pool or on a thread-sensitive lane.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::thread;

use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::thread_sensitive;

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
    /// Which thread: the innermost of
    /// - inside a future run by [`async_to_sync`](crate::async_to_sync), the
    ///   thread that called `async_to_sync` (it is waiting anyway), so a sync →
    ///   async → sync round trip sees that thread's thread-locals;
    /// - inside a [`thread_sensitive_scope`](crate::thread_sensitive_scope),
    ///   the scope's own thread;
    /// - everywhere else, one process-wide thread, started on first use.
    ///
    /// The routing follows the future given to `async_to_sync` or to the
    /// scope, not tasks it spawns: their calls go to the process-wide thread,
    /// which serves them even while it is itself waiting in `async_to_sync`
    /// (so a task spawned inside a round trip never deadlocks it). A call
    /// addressed to the thread that is making it, while that thread is not
    /// serving (another executor's `block_on` on that thread), would wait for
    /// itself: it runs at once, in place. Calls that wait long behind others
    /// are reported: see
    /// [`set_thread_sensitive_wait_limit`](crate::set_thread_sensitive_wait_limit).
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
    thread_sensitive::submit(Box::new(move || {
        let _ = sender.send(panic::catch_unwind(AssertUnwindSafe(f)));
    }));
    State::Sensitive(receiver)
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
