//! Keep blocking, synchronous-only functions off the threads that drive an
//! async runtime: Django's async-safety, for Rust.
//!
//! # Async-safety
//!
//! Some APIs cannot operate safely on a thread that is polling futures: a
//! synchronous database driver, a connection kept in a thread-local, a
//! blocking file or network call. Such a call stalls every other task on that
//! thread for as long as it blocks, or touches state that is not task-aware
//! from many tasks at once. These APIs are *async-unsafe*: mark them with
//! [`#[async_unsafe]`](async_unsafe) and they are protected from execution in
//! an async context.
//!
//! If one is called from a thread that drives an event loop, it returns (or
//! panics with) a [`SynchronousOnlyOperation`] that names the function and
//! says what to do instead. You do not have to be inside an `async fn`
//! directly for this to happen: a synchronous function called from async code
//! without going through something like [`sync_to_async`] or
//! [`spawn_blocking`](tokio::task::spawn_blocking) still runs in the async
//! context.
//!
//! ```
//! use async_unsafe_runtime::{async_unsafe, SynchronousOnlyOperation};
//!
//! #[async_unsafe]
//! fn load_user(id: u32) -> Result<String, SynchronousOnlyOperation> {
//!     Ok(format!("user {id}")) // a blocking query would go here
//! }
//!
//! # async_unsafe_runtime::set_override(async_unsafe_runtime::Override::Deny);
//! let rt = tokio::runtime::Runtime::new().unwrap();
//! rt.block_on(async {
//!     // Called straight from async code: refused.
//!     let err = load_user(1).unwrap_err();
//!     assert!(err.function().ends_with("load_user"));
//!     // Moved to the blocking pool: allowed.
//!     let user = tokio::task::spawn_blocking(|| load_user(1)).await.unwrap();
//!     assert_eq!(user.unwrap(), "user 1");
//! });
//! ```
//!
//! # Fixing a `SynchronousOnlyOperation`
//!
//! Do not call the async-unsafe code from async code. Write the part that
//! talks to it as its own synchronous function, and run that off the async
//! threads:
//!
//! - from async code, [`sync_to_async`]`(move || ...).await` runs it on
//!   tokio's blocking pool (or, with
//!   [`.thread_sensitive()`](SyncToAsync::thread_sensitive), always on the same
//!   thread, for state bound to one thread; wrap each request in a
//!   [`thread_sensitive_scope`] so that requests do not queue for one thread);
//! - [`tokio::task::spawn_blocking`] does the same without the extras;
//! - from synchronous code that needs async results, [`async_to_sync`] runs a
//!   future and brings the result back;
//! - any plain [`std::thread`] is fine too.
//!
//! ```
//! use async_unsafe_runtime::{async_unsafe, sync_to_async, SynchronousOnlyOperation};
//!
//! #[async_unsafe]
//! fn save(text: String) -> Result<usize, SynchronousOnlyOperation> {
//!     Ok(text.len()) // a blocking write would go here
//! }
//!
//! async fn handler(text: String) -> usize {
//!     // Not `save(text)`: that would block this task's thread.
//!     sync_to_async(move || save(text)).await.unwrap()
//! }
//!
//! let rt = tokio::runtime::Runtime::new().unwrap();
//! assert_eq!(rt.block_on(handler("hello".into())), 5);
//! ```
//!
//! # Marking your own API
//!
//! Put [`#[async_unsafe]`](async_unsafe) on free functions, methods or whole
//! `impl` blocks. Functions returning a `Result` get
//! `Err(From::from(SynchronousOnlyOperation))`, so give your error type that
//! `From` impl (or choose `#[async_unsafe(panic)]`); other functions panic.
//! The generated rustdoc gains an "Async safety" section. Code that cannot
//! use the attribute calls [`check`]. The guard stays on in production: on a
//! plain thread it costs a couple of thread-local reads.
//!
//! # What counts as an async context
//!
//! Exactly what tokio means when `Handle::block_on` panics with "Cannot start
//! a runtime from within a runtime": tasks on any runtime flavor, `LocalSet`
//! tasks and `block_on` roots are async contexts; plain threads,
//! `spawn_blocking` and `block_in_place` are not. See [`is_async_context`].
//! With the `futures` feature `futures::executor` counts too, and other
//! executors declare their threads with [`enter_event_loop`].
//!
//! # The override
//!
//! If you are *absolutely* in dire need to run async-unsafe code from an
//! async context (it is forced on you by an environment such as a notebook,
//! and you are sure nothing runs it concurrently), let it through as narrowly
//! as you can:
//!
//! - for one thread or one future: [`allow_on_this_thread`] and
//!   [`allow_in_future`]; every other thread and task stays guarded;
//! - for the whole process: `ALLOW_ASYNC_UNSAFE=1` ([`ALLOW_ENV`]) or, from
//!   code, [`set_override`]`(`[`Override::Allow`]`)`. While adopting the guard
//!   in a large codebase, `ALLOW_ASYNC_UNSAFE=warn` or [`Override::Warn`] let
//!   violations through and report each one (rate-limited).
//!
//! [`Override::Deny`] switches the guard on whatever the environment says,
//! which is what tests want; [`capture_violations`] lets a test assert which
//! violations a code path makes. Reports go to standard error, or to `tracing`
//! (target `async_unsafe`) with the `tracing` feature and a subscriber.
//!
//! **Do not use it in production.** If you enable it and there is concurrent
//! access to async-unsafe code, you may suffer data loss or corruption. An
//! application can refuse to start with it on: see [`is_override_active`].
//!
//! # Features
//! - `macros` (default): re-exports the [`async_unsafe`] attribute.
//! - `futures`: counts `futures::executor::block_on` and its pools as async
//!   contexts.
//! - `tracing`: reports overrides and warn-mode violations as `tracing`
//!   events under the target `async_unsafe` (when a subscriber is set;
//!   standard error otherwise, and always without the feature), and carries
//!   the current span into [`sync_to_async`] closures.
//! - `r2d2`: [`r2d2::GuardedPool`], an r2d2 pool (any manager, diesel's and
//!   `r2d2_postgres`'s included) whose checkouts refuse async contexts.
//! - `postgres`: [`postgres::Client`], the synchronous PostgreSQL client
//!   guarded like [`SyncOnly`]: connecting, querying and dropping.
//! - `syscalls`: [`syscalls::watch`] reports the blocking system calls that
//!   nobody marked (`std::thread::sleep`, `std::fs`, blocking sockets, DNS,
//!   waiting for a child) made in async contexts, with the caller's line.
//!   Linux with glibc, x86_64 and aarch64.
//!
//! Without these features, [`SyncOnly`] guards any value from a crate you do
//! not own (a blocking client, `reqwest::blocking::Client`).

#![warn(missing_docs)]

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

mod allow;
mod bridge;
mod check;
mod depth;
mod detect;
mod error;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "r2d2")]
pub mod r2d2;
mod scope;
mod sync_only;
#[cfg(feature = "syscalls")]
pub mod syscalls;

pub use allow::{ALLOW_ENV, Override, current_override, is_override_active, set_override};
pub use bridge::async_to_sync::async_to_sync;
pub use bridge::sync_to_async::{SyncToAsync, SyncToAsyncFuture, sync_to_async};
pub use bridge::thread_sensitive::{
    ThreadSensitiveScope, set_thread_sensitive_wait_limit, thread_sensitive_scope,
};
pub use check::check;
pub use detect::{EventLoopGuard, detect_without_panics, enter_event_loop, is_async_context};
pub use error::{DEFAULT_MESSAGE, SynchronousOnlyOperation, UserFrame};
pub use scope::{
    AllowGuard, AllowInFuture, CaptureViolations, allow_in_future, allow_on_this_thread,
    capture_violations, capture_violations_in_future,
};
pub use sync_only::SyncOnly;

/// Marks a synchronous function as unsafe to call from an async context.
///
/// The check runs first in the function body. A function returning a type whose
/// last path segment is `Result` (`Result<T, E>`, `io::Result<T>`,
/// `anyhow::Result<T>`) returns `Err(From::from(SynchronousOnlyOperation))`; any
/// other function panics with the error's text. Write `#[async_unsafe(error)]` or
/// `#[async_unsafe(panic)]` to choose explicitly, for instance for a `Result`
/// alias with another name. `fmt::Result` (written `fmt::Result`,
/// `std::fmt::Result` or `core::fmt::Result`) panics: `fmt::Error` cannot be
/// built from the error and would drop its text, so `error` is refused there. A
/// bare `Result` imported from `std::fmt` cannot be told apart from other
/// `Result`s: write `panic` for it.
///
/// Arguments:
/// - `"message"` or `message = "..."`: replaces [`DEFAULT_MESSAGE`];
/// - `error` / `panic`: how a violation is reported, as above;
/// - `track_caller`: the function gets `#[track_caller]`, and the error's
///   [location](SynchronousOnlyOperation::location) is the line that called it
///   (the line to fix) instead of the function's own. The trade-off is
///   `#[track_caller]`'s: a panic inside the body that comes from a
///   `#[track_caller]` function, such as `unwrap` or `expect`, then also names
///   the caller's line, not the body's. Functions with an `extern` ABI other
///   than `"Rust"` cannot take it;
/// - `crate = path`: where this crate is, for libraries that re-export it.
///
/// It applies to free functions, methods, default methods of a trait and whole
/// `impl` blocks (every function in them, where a function's own attribute
/// overrides the block's arguments). `async fn` and `const fn` are refused. A
/// misuse is a compile error at the misused token, and the function is still
/// compiled as written, so its callers report nothing more.
///
/// ```
/// use async_unsafe_runtime::async_unsafe;
///
/// struct Repo;
///
/// #[async_unsafe("Repo holds a blocking connection: call it through sync_to_async.")]
/// impl Repo {
///     fn count(&self) -> std::io::Result<usize> {
///         Ok(3)
///     }
///     fn name(&self) -> &'static str {
///         "repo"
///     }
/// }
///
/// assert_eq!(Repo.count().unwrap(), 3);
/// # async_unsafe_runtime::set_override(async_unsafe_runtime::Override::Deny);
/// let rt = tokio::runtime::Runtime::new().unwrap();
/// let err = rt.block_on(async { Repo.count() }).unwrap_err();
/// assert!(err.to_string().contains("blocking connection"));
/// ```
///
/// With `track_caller`, the location is the caller's:
///
/// ```
/// use async_unsafe_runtime::{async_unsafe, SynchronousOnlyOperation};
///
/// #[async_unsafe(track_caller)]
/// fn load() -> Result<u8, SynchronousOnlyOperation> {
///     Ok(1)
/// }
///
/// let rt = tokio::runtime::Runtime::new().unwrap();
/// # async_unsafe_runtime::set_override(async_unsafe_runtime::Override::Deny);
/// let (err, line) = rt.block_on(async { (load().unwrap_err(), line!()) });
/// assert_eq!(err.location().line(), line);
/// ```
#[cfg(feature = "macros")]
pub use async_unsafe_macros::async_unsafe;
