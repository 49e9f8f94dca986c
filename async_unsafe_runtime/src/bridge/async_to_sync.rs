//! `async_to_sync`: a future run to completion from synchronous code, its
//! thread serving the thread-sensitive calls addressed to it meanwhile.

use std::future::{Future, poll_fn};
use std::panic::Location;
use std::pin::pin;
use std::sync::OnceLock;

use tokio::runtime::{Handle, Runtime};

use super::thread_sensitive::{self, Route};
use crate::{SynchronousOnlyOperation, is_async_context};

/// The message of [`async_to_sync`]'s error, after asgiref's.
const ASYNC_TO_SYNC_MESSAGE: &str = "You cannot use async_to_sync in the same thread as an async \
    event loop - just await the future directly.";

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
/// [thread-sensitive](crate::SyncToAsync::thread_sensitive) calls the future makes, so
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
    Ok(match Route::this_thread() {
        Some(route) => handle.block_on(serve(route.scope(future))),
        None => handle.block_on(serve(future)),
    })
}

/// Polls `future` and, whenever it is pending, runs the thread-sensitive calls
/// sent to this thread. They run under `block_in_place`, outside the runtime
/// context `block_on` entered, so `#[async_unsafe]` functions pass there.
async fn serve<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    poll_fn(|cx| {
        thread_sensitive::serve(
            cx,
            |cx| future.as_mut().poll(cx),
            |job| tokio::task::block_in_place(job),
        )
    })
    .await
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
