//! An r2d2 pool whose checkouts refuse async contexts (feature `r2d2`).
//!
//! `r2d2::Pool::get` blocks its thread until a connection is free, and with
//! `test_on_check_out` (the default) runs a query on it first: on a tokio
//! worker that stalls every task on the thread, and with a sync driver that
//! starts its own runtime (`r2d2_postgres`) it panics. [`GuardedPool`] runs
//! the crate's check (override and warn mode included) before each checkout
//! and otherwise hands the call to r2d2 unchanged, so the pool's own errors
//! (a timeout, a failed connect) are still reported as they are, in
//! [`PoolError::Pool`].
//!
//! It is generic over the manager, so it covers every r2d2 pool: diesel's
//! `r2d2` re-export and `r2d2_postgres` included. The connections it hands
//! out are r2d2's own: use them where they were checked out, inside
//! [`sync_to_async`](crate::sync_to_async) or on a plain thread.
//!
//! Dropping the last `GuardedPool` closes the idle connections; in an async
//! context that happens on tokio's blocking pool, as for [`SyncOnly`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use r2d2::{ManageConnection, Pool, PooledConnection, State};

use crate::{SyncOnly, SynchronousOnlyOperation, check};

/// Why [`GuardedPool::get`] or [`GuardedPool::get_timeout`] gave no
/// connection.
///
/// ```
/// use async_unsafe_runtime::r2d2::PoolError;
///
/// fn explain(err: &PoolError) -> &'static str {
///     match err {
///         PoolError::AsyncUnsafe(_) => "called from async code: use sync_to_async",
///         PoolError::Pool(_) => "the pool gave up (timeout or connect error)",
///     }
/// }
/// # let _ = explain;
/// ```
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// The checkout was attempted from an async context.
    #[error(transparent)]
    AsyncUnsafe(#[from] SynchronousOnlyOperation),
    /// r2d2's own error: no connection within the timeout, or the manager
    /// failed to connect.
    #[error(transparent)]
    Pool(#[from] r2d2::Error),
}

/// An [`r2d2::Pool`] whose checkouts fail with
/// [`PoolError::AsyncUnsafe`] in an async context.
///
/// ```
/// use std::time::Duration;
/// use async_unsafe_runtime::r2d2::{GuardedPool, PoolError};
/// use async_unsafe_runtime::sync_to_async;
///
/// // Any manager works; a trivial one stands in for a database here.
/// #[derive(Debug)]
/// struct Numbers;
/// impl r2d2::ManageConnection for Numbers {
///     type Connection = u32;
///     type Error = std::io::Error;
///     fn connect(&self) -> Result<u32, std::io::Error> { Ok(42) }
///     fn is_valid(&self, _: &mut u32) -> Result<(), std::io::Error> { Ok(()) }
///     fn has_broken(&self, _: &mut u32) -> bool { false }
/// }
///
/// let pool = GuardedPool::from(r2d2::Pool::builder().max_size(2).build(Numbers).unwrap());
/// assert_eq!(*pool.get().unwrap(), 42); // plain thread: fine
///
/// let rt = tokio::runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     # async_unsafe_runtime::set_override(async_unsafe_runtime::Override::Deny);
///     assert!(matches!(pool.get(), Err(PoolError::AsyncUnsafe(_))));
///     let p = pool.clone();
///     let n = sync_to_async(move || p.get().map(|c| *c)).await.unwrap();
///     assert_eq!(n, 42);
/// });
/// ```
pub struct GuardedPool<M: ManageConnection> {
    /// Dropping r2d2's last handle drops the idle connections, which blocks
    /// (and panics on a worker with sync drivers that own a runtime): the
    /// last `GuardedPool` drops it the way `SyncOnly` does.
    pool: Arc<SyncOnly<Pool<M>>>,
}

impl<M: ManageConnection> GuardedPool<M> {
    /// A connection, waiting up to the pool's connection timeout; refused in
    /// an async context.
    ///
    /// ```
    /// # #[derive(Debug)] struct M;
    /// # impl r2d2::ManageConnection for M { type Connection = (); type Error = std::io::Error;
    /// #   fn connect(&self) -> std::io::Result<()> { Ok(()) }
    /// #   fn is_valid(&self, _: &mut ()) -> std::io::Result<()> { Ok(()) }
    /// #   fn has_broken(&self, _: &mut ()) -> bool { false } }
    /// use async_unsafe_runtime::r2d2::{GuardedPool, PoolError};
    ///
    /// let pool = GuardedPool::from(r2d2::Pool::new(M).unwrap());
    /// let conn = pool.get().unwrap();
    /// let rt = tokio::runtime::Runtime::new().unwrap();
    /// # async_unsafe_runtime::set_override(async_unsafe_runtime::Override::Deny);
    /// let err = rt.block_on(async { pool.get().map(drop) }).unwrap_err();
    /// assert!(matches!(err, PoolError::AsyncUnsafe(e) if e.function() == "r2d2::Pool::get"));
    /// ```
    #[track_caller]
    pub fn get(&self) -> Result<PooledConnection<M>, PoolError> {
        check("r2d2::Pool::get")?;
        Ok(self.inner().get()?)
    }

    /// A connection, waiting up to `timeout`; refused in an async context.
    /// An exhausted pool is reported as [`PoolError::Pool`].
    ///
    /// ```
    /// # #[derive(Debug)] struct M;
    /// # impl r2d2::ManageConnection for M { type Connection = (); type Error = std::io::Error;
    /// #   fn connect(&self) -> std::io::Result<()> { Ok(()) }
    /// #   fn is_valid(&self, _: &mut ()) -> std::io::Result<()> { Ok(()) }
    /// #   fn has_broken(&self, _: &mut ()) -> bool { false } }
    /// use std::time::Duration;
    /// use async_unsafe_runtime::r2d2::{GuardedPool, PoolError};
    ///
    /// let pool = GuardedPool::from(r2d2::Pool::builder().max_size(1).build(M).unwrap());
    /// let held = pool.get_timeout(Duration::from_secs(5)).unwrap();
    /// // Exhausted: r2d2's timeout, reported as such.
    /// let err = pool.get_timeout(Duration::from_millis(50)).unwrap_err();
    /// assert!(matches!(err, PoolError::Pool(_)));
    /// ```
    #[track_caller]
    pub fn get_timeout(&self, timeout: Duration) -> Result<PooledConnection<M>, PoolError> {
        check("r2d2::Pool::get_timeout")?;
        Ok(self.inner().get_timeout(timeout)?)
    }

    /// An idle connection if there is one, without waiting for one to be
    /// returned; refused in an async context all the same, since r2d2 still
    /// validates the connection (a query, with `test_on_check_out`).
    ///
    /// ```
    /// # #[derive(Debug)] struct M;
    /// # impl r2d2::ManageConnection for M { type Connection = (); type Error = std::io::Error;
    /// #   fn connect(&self) -> std::io::Result<()> { Ok(()) }
    /// #   fn is_valid(&self, _: &mut ()) -> std::io::Result<()> { Ok(()) }
    /// #   fn has_broken(&self, _: &mut ()) -> bool { false } }
    /// use async_unsafe_runtime::r2d2::GuardedPool;
    ///
    /// let pool = GuardedPool::from(r2d2::Pool::builder().max_size(1).build(M).unwrap());
    /// let first = pool.try_get().unwrap();
    /// assert!(first.is_some());
    /// assert!(pool.try_get().unwrap().is_none()); // the only connection is out
    /// ```
    #[track_caller]
    pub fn try_get(&self) -> Result<Option<PooledConnection<M>>, SynchronousOnlyOperation> {
        check("r2d2::Pool::try_get")?;
        Ok(self.inner().try_get())
    }

    /// The pool's counts. Not checked: it only reads them.
    ///
    /// ```
    /// # #[derive(Debug)] struct M;
    /// # impl r2d2::ManageConnection for M { type Connection = (); type Error = std::io::Error;
    /// #   fn connect(&self) -> std::io::Result<()> { Ok(()) }
    /// #   fn is_valid(&self, _: &mut ()) -> std::io::Result<()> { Ok(()) }
    /// #   fn has_broken(&self, _: &mut ()) -> bool { false } }
    /// let pool = async_unsafe_runtime::r2d2::GuardedPool::from(
    ///     r2d2::Pool::builder().max_size(3).build(M).unwrap(),
    /// );
    /// assert_eq!(pool.state().connections, 3);
    /// ```
    pub fn state(&self) -> State {
        self.inner().state()
    }

    /// The r2d2 pool itself, unguarded: for its configuration, or for code
    /// that already runs off the async threads.
    ///
    /// ```
    /// # #[derive(Debug)] struct M;
    /// # impl r2d2::ManageConnection for M { type Connection = (); type Error = std::io::Error;
    /// #   fn connect(&self) -> std::io::Result<()> { Ok(()) }
    /// #   fn is_valid(&self, _: &mut ()) -> std::io::Result<()> { Ok(()) }
    /// #   fn has_broken(&self, _: &mut ()) -> bool { false } }
    /// let pool = async_unsafe_runtime::r2d2::GuardedPool::from(
    ///     r2d2::Pool::builder().max_size(4).build(M).unwrap(),
    /// );
    /// assert_eq!(pool.inner().max_size(), 4);
    /// ```
    pub fn inner(&self) -> &Pool<M> {
        self.pool.value()
    }
}

impl<M: ManageConnection> From<Pool<M>> for GuardedPool<M> {
    /// Guards `pool`. Clones of the `r2d2::Pool` made before (or through
    /// [`inner`](GuardedPool::inner)) share its connections but not the guard.
    ///
    /// ```
    /// # #[derive(Debug)] struct M;
    /// # impl r2d2::ManageConnection for M { type Connection = (); type Error = std::io::Error;
    /// #   fn connect(&self) -> std::io::Result<()> { Ok(()) }
    /// #   fn is_valid(&self, _: &mut ()) -> std::io::Result<()> { Ok(()) }
    /// #   fn has_broken(&self, _: &mut ()) -> bool { false } }
    /// use async_unsafe_runtime::r2d2::GuardedPool;
    /// let pool: GuardedPool<M> = r2d2::Pool::new(M).unwrap().into();
    /// # let _ = pool;
    /// ```
    fn from(pool: Pool<M>) -> Self {
        Self {
            pool: Arc::new(SyncOnly::new(pool)),
        }
    }
}

impl<M: ManageConnection> Clone for GuardedPool<M> {
    /// Another handle to the same pool, guarded too.
    ///
    /// ```
    /// # #[derive(Debug)] struct M;
    /// # impl r2d2::ManageConnection for M { type Connection = (); type Error = std::io::Error;
    /// #   fn connect(&self) -> std::io::Result<()> { Ok(()) }
    /// #   fn is_valid(&self, _: &mut ()) -> std::io::Result<()> { Ok(()) }
    /// #   fn has_broken(&self, _: &mut ()) -> bool { false } }
    /// let pool = async_unsafe_runtime::r2d2::GuardedPool::from(r2d2::Pool::new(M).unwrap());
    /// let other = pool.clone();
    /// let _held = pool.get().unwrap();
    /// assert_eq!(other.state().idle_connections, pool.state().idle_connections);
    /// ```
    fn clone(&self) -> Self {
        Self {
            pool: Arc::clone(&self.pool),
        }
    }
}

impl<M: ManageConnection + fmt::Debug> fmt::Debug for GuardedPool<M> {
    /// r2d2's `Debug` of the pool, inside `GuardedPool`.
    ///
    /// ```
    /// # #[derive(Debug)] struct M;
    /// # impl r2d2::ManageConnection for M { type Connection = (); type Error = std::io::Error;
    /// #   fn connect(&self) -> std::io::Result<()> { Ok(()) }
    /// #   fn is_valid(&self, _: &mut ()) -> std::io::Result<()> { Ok(()) }
    /// #   fn has_broken(&self, _: &mut ()) -> bool { false } }
    /// let pool = async_unsafe_runtime::r2d2::GuardedPool::from(r2d2::Pool::new(M).unwrap());
    /// assert!(format!("{pool:?}").starts_with("GuardedPool"));
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("GuardedPool").field(self.inner()).finish()
    }
}
