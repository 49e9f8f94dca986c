//! `SyncOnly<T>`: a value from a crate you do not own, usable only outside
//! async contexts.
//!
//! The blocking APIs most often misused from async code (a sync database
//! client, a pooled connection, `reqwest::blocking`) cannot be marked
//! `#[async_unsafe]` by their users. Wrapping the value instead guards every
//! use of it: [`SyncOnly::get`] and [`SyncOnly::get_mut`] run the same check
//! as [`check`](crate::check) (same override and warn mode) and refuse in an
//! async context, naming the wrapped type and the caller's line.
//!
//! Dropping is the other trap: such values often own a runtime or a thread
//! and block (or panic with "Cannot drop a runtime in a context where
//! blocking is not allowed") when dropped on a worker. In an async context
//! with a tokio runtime the value is moved to the runtime's blocking pool
//! and dropped there, without waiting for it; anywhere else (plain threads,
//! the blocking pool, other executors) it is dropped in place.
//!
//! Limits: while its runtime shuts down, tokio refuses new blocking tasks and
//! drops the value at once, on the current thread; an async context without
//! a tokio runtime (another executor) drops it in place;
//! [`SyncOnly::into_inner`] hands the value back unguarded.

use std::any::type_name;
use std::fmt;

use tokio::runtime::Handle;

use crate::{SynchronousOnlyOperation, check, is_async_context};

/// A value that may only be used, and is only dropped, outside async contexts.
///
/// Wrap a blocking client you do not own, then reach it with [`get`](Self::get)
/// or [`get_mut`](Self::get_mut), which return a [`SynchronousOnlyOperation`]
/// on a thread that drives an event loop. Move the whole `SyncOnly` into
/// [`sync_to_async`](crate::sync_to_async) (or any thread) to use it.
///
/// ```
/// use async_unsafe_runtime::{sync_to_async, SyncOnly};
///
/// let rt = tokio::runtime::Runtime::new().unwrap();
/// let mut client = SyncOnly::new(vec![1, 2, 3]); // a blocking client would go here
/// client.get_mut().unwrap().push(4); // plain thread: fine
///
/// rt.block_on(async move {
///     # async_unsafe_runtime::set_override(async_unsafe_runtime::Override::Deny);
///     let err = client.get().unwrap_err();
///     assert_eq!(err.function(), "alloc::vec::Vec<i32>");
///     let len = sync_to_async(move || client.get().map(Vec::len)).await.unwrap();
///     assert_eq!(len, 4);
/// });
/// ```
///
/// # `reqwest::blocking`
///
/// `reqwest::blocking::Client` blocks its thread for each request (tokio's
/// check there is a debug assertion only, so release builds just stall).
/// Build it outside the runtime, share it as `Arc<SyncOnly<Client>>`, and
/// send from `sync_to_async`; the same shape with a stand-in client:
///
/// ```
/// # mod reqwest { pub mod blocking {
/// #     pub struct Client;
/// #     impl Client { pub fn new() -> Self { Client } pub fn get(&self, url: &str) -> Request { Request(url.into()) } }
/// #     pub struct Request(String);
/// #     impl Request { pub fn send(self) -> Result<Response, std::io::Error> { Ok(Response(self.0)) } }
/// #     pub struct Response(String);
/// #     impl Response { pub fn text(self) -> Result<String, std::io::Error> { Ok(self.0) } }
/// # } }
/// use std::error::Error;
/// use std::sync::Arc;
/// use async_unsafe_runtime::{sync_to_async, SyncOnly};
///
/// type Http = Arc<SyncOnly<reqwest::blocking::Client>>;
///
/// async fn fetch(http: Http, url: String) -> Result<String, Box<dyn Error + Send + Sync>> {
///     // `http.get()` here, on the worker, would be an `Err`.
///     sync_to_async(move || Ok(http.get()?.get(&url).send()?.text()?)).await
/// }
///
/// let http: Http = Arc::new(SyncOnly::new(reqwest::blocking::Client::new()));
/// let rt = tokio::runtime::Runtime::new().unwrap();
/// let body = rt.block_on(fetch(http, "http://127.0.0.1:8080/".into())).unwrap();
/// assert_eq!(body, "http://127.0.0.1:8080/");
/// ```
///
/// `tests/tests/sync_only.rs` runs this recipe with the real client.
pub struct SyncOnly<T: Send + 'static> {
    /// `Some` until `into_inner` or `drop` takes it.
    value: Option<T>,
}

impl<T: Send + 'static> SyncOnly<T> {
    /// Wraps `value`. Not checked: wrapping does not block.
    ///
    /// ```
    /// let wrapped = async_unsafe_runtime::SyncOnly::new(String::from("conn"));
    /// assert_eq!(wrapped.get().unwrap(), "conn");
    /// ```
    pub fn new(value: T) -> Self {
        Self { value: Some(value) }
    }

    /// The value, or a [`SynchronousOnlyOperation`] naming `T` and the
    /// caller's location when called from an async context.
    ///
    /// ```
    /// use async_unsafe_runtime::SyncOnly;
    ///
    /// let wrapped = SyncOnly::new(5_u8);
    /// assert_eq!(*wrapped.get().unwrap(), 5);
    /// let rt = tokio::runtime::Runtime::new().unwrap();
    /// # async_unsafe_runtime::set_override(async_unsafe_runtime::Override::Deny);
    /// let err = rt.block_on(async { wrapped.get().map(|v| *v) }).unwrap_err();
    /// assert_eq!(err.function(), "u8");
    /// assert_eq!(err.location().file(), file!());
    /// ```
    #[inline]
    #[track_caller]
    pub fn get(&self) -> Result<&T, SynchronousOnlyOperation> {
        check(type_name::<T>())?;
        Ok(self.value())
    }

    /// The value, mutably, or a [`SynchronousOnlyOperation`] naming `T` and
    /// the caller's location when called from an async context.
    ///
    /// ```
    /// use async_unsafe_runtime::SyncOnly;
    ///
    /// let mut wrapped = SyncOnly::new(vec![1]);
    /// wrapped.get_mut().unwrap().push(2);
    /// let rt = tokio::runtime::Runtime::new().unwrap();
    /// # async_unsafe_runtime::set_override(async_unsafe_runtime::Override::Deny);
    /// assert!(rt.block_on(async { wrapped.get_mut().map(|v| v.len()) }).is_err());
    /// ```
    #[inline]
    #[track_caller]
    pub fn get_mut(&mut self) -> Result<&mut T, SynchronousOnlyOperation> {
        check(type_name::<T>())?;
        Ok(self.value_mut())
    }

    /// Unwraps the value. Not checked, in any context: moving a value does not
    /// block, and the caller takes over its use and its drop.
    ///
    /// ```
    /// let wrapped = async_unsafe_runtime::SyncOnly::new(7);
    /// let rt = tokio::runtime::Runtime::new().unwrap();
    /// assert_eq!(rt.block_on(async { wrapped.into_inner() }), 7);
    /// ```
    pub fn into_inner(mut self) -> T {
        self.value
            .take()
            .expect("SyncOnly holds its value until dropped")
    }

    /// The value, unchecked, for the crate's own wrappers that run their
    /// own, named check first.
    #[inline]
    pub(crate) fn value(&self) -> &T {
        self.value
            .as_ref()
            .expect("SyncOnly holds its value until dropped")
    }

    /// See [`value`](Self::value).
    #[inline]
    pub(crate) fn value_mut(&mut self) -> &mut T {
        self.value
            .as_mut()
            .expect("SyncOnly holds its value until dropped")
    }
}

impl<T: Send + 'static> Drop for SyncOnly<T> {
    fn drop(&mut self) {
        let Some(value) = self.value.take() else {
            return;
        };
        match Handle::try_current() {
            Ok(handle) if is_async_context() => {
                // Detached: the caller must not wait for a blocking drop.
                drop(handle.spawn_blocking(move || drop(value)));
            }
            _ => drop(value),
        }
    }
}

impl<T: Send + 'static> fmt::Debug for SyncOnly<T> {
    /// Shows the wrapped type only: formatting the value could block.
    ///
    /// ```
    /// let wrapped = async_unsafe_runtime::SyncOnly::new(1_u32);
    /// assert_eq!(format!("{wrapped:?}"), "SyncOnly<u32>");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SyncOnly<{}>", type_name::<T>())
    }
}

impl<T: Send + 'static> From<T> for SyncOnly<T> {
    /// Same as [`SyncOnly::new`].
    ///
    /// ```
    /// let wrapped: async_unsafe_runtime::SyncOnly<u8> = 3.into();
    /// assert_eq!(*wrapped.get().unwrap(), 3);
    /// ```
    fn from(value: T) -> Self {
        Self::new(value)
    }
}
