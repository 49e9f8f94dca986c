//! Keep blocking, synchronous-only functions off the threads that drive an
//! async runtime: Django's async-safety, for Rust.
//!
//! Some APIs must never run on a thread that is polling futures: a synchronous
//! database driver, a connection kept in a thread-local, a blocking file or
//! network call. They stall every task on that thread, or corrupt state that is
//! not task-aware. Mark them `#[async_unsafe]`; when one is called from an async
//! context the caller gets a [`SynchronousOnlyOperation`] that names the function
//! and says what to do instead, rather than a silent stall in production.
//!
//! ```
//! use async_unsafe_runtime::{async_unsafe, SynchronousOnlyOperation};
//!
//! #[async_unsafe]
//! fn load_user(id: u32) -> Result<String, SynchronousOnlyOperation> {
//!     Ok(format!("user {id}")) // a blocking query would go here
//! }
//!
//! let rt = tokio::runtime::Runtime::new().unwrap();
//! rt.block_on(async {
//!     # if async_unsafe_runtime::is_override_active() { return; }
//!     // Called straight from a task: refused.
//!     let err = load_user(1).unwrap_err();
//!     assert!(err.function().ends_with("load_user"));
//!     // Moved to the blocking pool: allowed.
//!     let user = tokio::task::spawn_blocking(|| load_user(1)).await.unwrap();
//!     assert_eq!(user.unwrap(), "user 1");
//! });
//! ```
//!
//! An async context is what tokio means by one: a thread inside `block_on` or
//! polling tasks on a worker, including current_thread runtimes and `LocalSet`.
//! `spawn_blocking`, `block_in_place` and plain threads are not async contexts.
//! See [`is_async_context`] for the rule and its limits.
//!
//! The guard can be switched off, like Django's `DJANGO_ALLOW_ASYNC_UNSAFE`, with
//! the [`ALLOW_ENV`] environment variable or [`allow_async_unsafe`]. Never in
//! production: the guard exists because concurrent access corrupts data.
//!
//! # Features
//! - `macros` (default): re-exports the [`async_unsafe`] attribute.
//! - `futures`: counts `futures::executor::block_on` and its pools as async
//!   contexts.
//! - `tracing`: reports an override through `tracing` (when a subscriber is
//!   set) instead of standard error, and carries the current span into
//!   [`sync_to_async`] closures.

#![warn(missing_docs)]

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

mod allow;
mod bridge;
mod check;
mod detect;
mod error;

pub use allow::{ALLOW_ENV, allow_async_unsafe, is_override_active, warn_async_unsafe};
pub use bridge::{SyncToAsync, SyncToAsyncFuture, async_to_sync, sync_to_async};
pub use check::{check, is_async_context};
pub use detect::{EventLoopGuard, enter_event_loop};
pub use error::{DEFAULT_MESSAGE, SynchronousOnlyOperation};

/// Marks a synchronous function as unsafe to call from an async context.
///
/// The check runs first in the function body. A function returning a type whose
/// last path segment is `Result` (`Result<T, E>`, `io::Result<T>`,
/// `anyhow::Result<T>`) returns `Err(From::from(SynchronousOnlyOperation))`; any
/// other function panics with the error's text. Write `#[async_unsafe(error)]` or
/// `#[async_unsafe(panic)]` to choose explicitly, for instance for a `Result`
/// alias with another name.
///
/// Arguments:
/// - `"message"` or `message = "..."`: replaces [`DEFAULT_MESSAGE`];
/// - `error` / `panic`: how a violation is reported, as above;
/// - `crate = path`: where this crate is, for libraries that re-export it.
///
/// It applies to free functions, methods, default methods of a trait and whole
/// `impl` blocks (every function in them, where a function's own attribute
/// overrides the block's arguments). `async fn` and `const fn` are refused.
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
/// let rt = tokio::runtime::Runtime::new().unwrap();
/// # if !async_unsafe_runtime::is_override_active() {
/// let err = rt.block_on(async { Repo.count() }).unwrap_err();
/// assert!(err.to_string().contains("blocking connection"));
/// # }
/// ```
#[cfg(feature = "macros")]
pub use async_unsafe_macros::async_unsafe;
