//! Allowances narrower than the process-wide [`Override`](crate::Override):
//! one thread ([`allow_on_this_thread`]), one future ([`allow_in_future`]),
//! and the test helper that records violations instead of failing
//! ([`capture_violations`], [`capture_violations_in_future`]).
//!
//! Two thread-locals hold the state: a depth counter for the allowances and a
//! stack of capture buffers. The futures set them around each poll of the
//! future they wrap, so the allowance follows the future from one worker
//! thread to the next, and never leaks to the other tasks polled on the same
//! thread, nor into tasks the future spawns (they are polled elsewhere).
//!
//! Nothing here is read on the guarded fast path: the detection runs first,
//! and only a detected violation asks the scopes (then the process override).
//! A capture takes precedence over any allowance; the innermost capture gets
//! the record.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::SynchronousOnlyOperation;
use crate::allow::{self, Once, Override};
use crate::depth::Depth;

thread_local! {
    static ALLOWED: Cell<u32> = const { Cell::new(0) };
    static CAPTURES: RefCell<Vec<Vec<SynchronousOnlyOperation>>> = const { RefCell::new(Vec::new()) };
}

static ALLOW_REPORTED: Once = Once::new();

/// Whether a capture or an allowance is open on this thread.
pub(crate) fn active() -> bool {
    ALLOWED.get() > 0 || CAPTURES.with(|c| !c.borrow().is_empty())
}

/// Decides a detected violation by the scopes of this thread: `true` lets it
/// through (recorded by a capture, or reported as an allowance).
pub(crate) fn let_through(err: &mut dyn FnMut() -> SynchronousOnlyOperation) -> bool {
    if CAPTURES.with(|c| !c.borrow().is_empty()) {
        let err = err();
        CAPTURES.with(|c| c.borrow_mut().last_mut().map(|top| top.push(err)));
        return true;
    }
    if ALLOWED.get() == 0 {
        return false;
    }
    if allow::current_override() == Override::Warn {
        allow::warn(&err());
    } else if ALLOW_REPORTED.first() {
        allow::report(
            &err(),
            "async-safety guard overridden on one thread or future (allow_on_this_thread or \
             allow_in_future): a synchronous-only call was let through from an async context. \
             First violation",
            0,
        );
    }
    true
}

/// Lets violations through on this thread until the returned guard drops.
///
/// For the one legacy call, notebook cell or test that needs it, instead of
/// switching the guard off for the whole process. Every other thread stays
/// guarded. Violations let through are reported as the process override
/// reports them: the first one in the process, or each one (rate-limited)
/// while the process is in [`Override::Warn`](crate::Override::Warn). The
/// allowance wins over [`Override::Deny`](crate::Override::Deny).
///
/// Guards nest (the allowance ends when the last one drops) and are not
/// `Send`: they belong to the thread that made them. Across `.await` points in
/// a multi-thread runtime a task may move to another thread: use
/// [`allow_in_future`] there.
///
/// ```
/// use async_unsafe_runtime::{Override, allow_on_this_thread, check, set_override};
///
/// set_override(Override::Deny);
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// rt.block_on(async {
///     {
///         let _allowed = allow_on_this_thread();
///         assert!(check("legacy::load").is_ok());
///     }
///     assert!(check("legacy::load").is_err());
/// });
/// # set_override(Override::FromEnv);
/// ```
pub fn allow_on_this_thread() -> AllowGuard {
    AllowGuard {
        _depth: Depth::enter(&ALLOWED),
    }
}

/// Lets violations through on its thread while it lives; see
/// [`allow_on_this_thread`].
///
/// ```
/// use async_unsafe_runtime::{AllowGuard, allow_on_this_thread};
///
/// let outer: AllowGuard = allow_on_this_thread();
/// let inner = allow_on_this_thread();
/// drop(inner); // still allowed: the outer guard lives
/// drop(outer);
/// ```
#[must_use = "the allowance ends when the guard is dropped"]
#[derive(Debug)]
pub struct AllowGuard {
    _depth: Depth,
}

/// Lets violations through for everything polled inside `future`.
///
/// The allowance is set around each poll of `future`, on whichever thread
/// polls it, so it follows the future across `.await` points and worker
/// threads; other tasks polled on the same threads stay guarded, and so do
/// tasks `future` spawns. Reports as [`allow_on_this_thread`] does. The
/// returned future is `Send` when `future` is, so it can be spawned.
///
/// ```
/// use async_unsafe_runtime::{Override, allow_in_future, check, set_override};
///
/// set_override(Override::Deny);
/// let rt = tokio::runtime::Runtime::new().unwrap();
/// let legacy = rt.spawn(allow_in_future(async {
///     tokio::task::yield_now().await;
///     check("legacy::load").is_ok()
/// }));
/// assert!(rt.block_on(legacy).unwrap());
/// assert!(rt.block_on(async { check("legacy::load") }).is_err());
/// # set_override(Override::FromEnv);
/// ```
pub fn allow_in_future<F: Future>(future: F) -> AllowInFuture<F> {
    AllowInFuture { future }
}

/// The future returned by [`allow_in_future`].
///
/// ```
/// use async_unsafe_runtime::{AllowInFuture, allow_in_future};
///
/// let future: AllowInFuture<_> = allow_in_future(async { 7 });
/// let rt = tokio::runtime::Runtime::new().unwrap();
/// assert_eq!(rt.block_on(future), 7);
/// ```
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct AllowInFuture<F> {
    future: F,
}

impl<F: Future> Future for AllowInFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let _allowed = allow_on_this_thread();
        // SAFETY: `future` is structurally pinned: never moved out of `self`,
        // and `AllowInFuture` has no `Drop` impl and is `Unpin` only if `F` is.
        unsafe { self.map_unchecked_mut(|this| &mut this.future) }.poll(cx)
    }
}

/// Runs `f` with violations on this thread let through and recorded, and
/// returns its result with the violations, in order.
///
/// A test helper: assert that a code path makes no async-unsafe call, or
/// exactly the expected ones, without child processes or the environment.
/// Violations recorded here are not reported, and pass whatever the process
/// override says. Captures nest: the innermost one records. Only this thread
/// is watched: calls on other threads, or in tasks polled elsewhere, are not
/// recorded (for a future, see [`capture_violations_in_future`]).
///
/// ```
/// use async_unsafe_runtime::{async_unsafe, capture_violations, SynchronousOnlyOperation};
///
/// #[async_unsafe]
/// fn load() -> Result<u32, SynchronousOnlyOperation> {
///     Ok(1)
/// }
///
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let (sum, violations) = rt.block_on(async { capture_violations(|| load().unwrap() + load().unwrap()) });
/// assert_eq!(sum, 2);
/// assert_eq!(violations.len(), 2);
/// assert!(violations[0].function().ends_with("load"));
///
/// // Outside async code there is nothing to record.
/// assert!(capture_violations(load).1.is_empty());
/// ```
pub fn capture_violations<R>(f: impl FnOnce() -> R) -> (R, Vec<SynchronousOnlyOperation>) {
    let frame = Frame::push();
    let output = f();
    (output, frame.pop())
}

/// The future twin of [`capture_violations`]: runs `future` with the
/// violations made while polling it let through and recorded, and resolves to
/// its output with the violations, in order.
///
/// Like [`allow_in_future`], the capture is set around each poll, so it
/// follows the future across threads and does not reach tasks it spawns. The
/// returned future is `Send` when `future` is.
///
/// ```
/// use async_unsafe_runtime::{capture_violations_in_future, check, sync_to_async};
///
/// let rt = tokio::runtime::Runtime::new().unwrap();
/// let ((), violations) = rt.block_on(capture_violations_in_future(async {
///     check("db::load").unwrap(); // a mistake: recorded
///     tokio::task::yield_now().await;
///     sync_to_async(|| check("db::load").unwrap()).await; // fine: not recorded
/// }));
/// assert_eq!(violations.len(), 1);
/// assert_eq!(violations[0].function(), "db::load");
/// ```
pub fn capture_violations_in_future<F: Future>(future: F) -> CaptureViolations<F> {
    CaptureViolations {
        future,
        violations: Vec::new(),
    }
}

/// The future returned by [`capture_violations_in_future`].
///
/// ```
/// use async_unsafe_runtime::{CaptureViolations, capture_violations_in_future};
///
/// let capture: CaptureViolations<_> = capture_violations_in_future(async { 3 });
/// let rt = tokio::runtime::Runtime::new().unwrap();
/// let (three, violations) = rt.block_on(capture);
/// assert_eq!(three, 3);
/// assert!(violations.is_empty());
/// ```
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct CaptureViolations<F> {
    future: F,
    violations: Vec<SynchronousOnlyOperation>,
}

impl<F: Future> Future for CaptureViolations<F> {
    type Output = (F::Output, Vec<SynchronousOnlyOperation>);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is structurally pinned (never moved out, no `Drop`
        // impl); `violations` is not pinned and only ever used by `&mut`.
        let this = unsafe { self.get_unchecked_mut() };
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        let frame = Frame::push();
        let poll = future.poll(cx);
        this.violations.extend(frame.pop());
        match poll {
            Poll::Ready(output) => Poll::Ready((output, std::mem::take(&mut this.violations))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// One capture buffer on this thread's stack; popped on drop, so a panic in
/// the captured code leaves the stack as it found it.
struct Frame {
    depth: usize,
}

impl Frame {
    fn push() -> Frame {
        CAPTURES.with(|c| {
            let mut c = c.borrow_mut();
            c.push(Vec::new());
            Frame { depth: c.len() }
        })
    }

    fn pop(self) -> Vec<SynchronousOnlyOperation> {
        let recorded = CAPTURES.with(|c| {
            let mut c = c.borrow_mut();
            debug_assert_eq!(c.len(), self.depth, "capture frames pop in order");
            c.pop().unwrap_or_default()
        });
        std::mem::forget(self);
        recorded
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        CAPTURES.with(|c| c.borrow_mut().truncate(self.depth - 1));
    }
}
