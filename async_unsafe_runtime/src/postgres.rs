//! The synchronous PostgreSQL client, guarded (feature `postgres`).
//!
//! `postgres::Client` runs its own tokio runtime and blocks on it for every
//! call: from a tokio worker that panics with "Cannot start a runtime from
//! within a runtime", and dropping the client there panics too. [`Client`]
//! keeps the real client in a [`SyncOnly`]: connecting and every query first
//! run the crate's check (override and warn mode included) and return
//! [`Error::AsyncUnsafe`] in an async context, naming the method and the
//! caller's line; otherwise they call the real method with the same
//! arguments and return its result. Dropped in an async context, the real
//! client is moved to tokio's blocking pool and closed there.
//!
//! Only the common methods are wrapped; for the rest, use the
//! `postgres::Transaction` that [`Client::transaction`] returns (checked
//! once, when it is opened), or a plain `postgres::Client` off the runtime.

use std::fmt;

use postgres::tls::{MakeTlsConnect, TlsConnect};
use postgres::types::ToSql;
use postgres::{Row, Socket, ToStatement, Transaction};

use crate::{SyncOnly, SynchronousOnlyOperation, check};

/// The guarded statement methods of [`Client`]: each takes the query and its
/// parameters as `postgres::Client`'s method of the same name does, runs the
/// check naming `postgres::Client::<name>`, then calls that method.
macro_rules! statement_methods {
    ($($(#[$doc:meta])* fn $name:ident -> $output:ty;)*) => {$(
        $(#[$doc])*
        #[track_caller]
        pub fn $name<T>(
            &mut self,
            query: &T,
            params: &[&(dyn ToSql + Sync)],
        ) -> Result<$output, Error>
        where
            T: ?Sized + ToStatement,
        {
            Ok(self
                .client(concat!("postgres::Client::", stringify!($name)))?
                .$name(query, params)?)
        }
    )*};
}

/// Why a [`Client`] call failed: refused in an async context, or the
/// database's own error.
///
/// `Display` is the inner error's.
///
/// ```
/// use async_unsafe_runtime::postgres::{Client, Error};
///
/// // Nothing listens on port 1: the database's error, as postgres reports it.
/// let params = "host=127.0.0.1 port=1 user=postgres connect_timeout=5";
/// let err = Client::connect(params, postgres::NoTls).unwrap_err();
/// assert!(matches!(err, Error::Postgres(_)));
///
/// // From async code: refused before any connection is tried.
/// let rt = tokio::runtime::Runtime::new().unwrap();
/// # async_unsafe_runtime::set_override(async_unsafe_runtime::Override::Deny);
/// let err = rt.block_on(async { Client::connect(params, postgres::NoTls) }).unwrap_err();
/// let Error::AsyncUnsafe(guard) = &err else { unreachable!() };
/// assert_eq!(guard.function(), "postgres::Client::connect");
/// assert_eq!(err.to_string(), guard.to_string());
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The call was made from an async context.
    #[error(transparent)]
    AsyncUnsafe(#[from] SynchronousOnlyOperation),
    /// `postgres`'s own error.
    #[error(transparent)]
    Postgres(#[from] postgres::Error),
}

/// A `postgres::Client` that refuses to connect, query or block in an async
/// context.
///
/// Same arguments and success types as `postgres::Client`; errors are
/// [`Error`]. Use it from [`sync_to_async`](crate::sync_to_async) or a plain
/// thread.
///
/// ```no_run
/// use async_unsafe_runtime::postgres::Client;
/// use async_unsafe_runtime::sync_to_async;
///
/// # async fn demo() -> Result<(), async_unsafe_runtime::postgres::Error> {
/// let mut client = sync_to_async(|| {
///     Client::connect("host=127.0.0.1 user=postgres", postgres::NoTls)
/// })
/// .await?;
/// // Here, on the worker, `client.query(..)` would be `Err(Error::AsyncUnsafe(..))`.
/// let (client, rows) = sync_to_async(move || {
///     let rows = client.query("SELECT $1::TEXT", &[&"hello"]);
///     (client, rows)
/// })
/// .await;
/// let greeting: &str = rows?[0].get(0);
/// drop(client); // moved to the blocking pool and closed there
/// # Ok(()) }
/// ```
pub struct Client {
    inner: SyncOnly<postgres::Client>,
}

impl Client {
    /// Connects, as `postgres::Client::connect`; refused in an async context
    /// before any connection is attempted.
    ///
    /// ```no_run
    /// let mut client = async_unsafe_runtime::postgres::Client::connect(
    ///     "host=127.0.0.1 port=5432 user=postgres dbname=postgres",
    ///     postgres::NoTls,
    /// )?;
    /// # Ok::<(), async_unsafe_runtime::postgres::Error>(())
    /// ```
    #[track_caller]
    pub fn connect<T>(params: &str, tls_mode: T) -> Result<Client, Error>
    where
        T: MakeTlsConnect<Socket> + 'static + Send,
        T::TlsConnect: Send,
        T::Stream: Send,
        <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    {
        check("postgres::Client::connect")?;
        let client = postgres::Client::connect(params, tls_mode)?;
        Ok(Client {
            inner: SyncOnly::new(client),
        })
    }

    statement_methods! {
        /// Runs a statement and returns the number of rows modified, as
        /// `postgres::Client::execute`.
        ///
        /// ```no_run
        /// # fn demo(client: &mut async_unsafe_runtime::postgres::Client) -> Result<(), async_unsafe_runtime::postgres::Error> {
        /// let n = client.execute("UPDATE users SET seen = true WHERE id = $1", &[&7_i32])?;
        /// # Ok(()) }
        /// ```
        fn execute -> u64;

        /// Runs a query and returns its rows, as `postgres::Client::query`.
        ///
        /// ```no_run
        /// # fn demo(client: &mut async_unsafe_runtime::postgres::Client) -> Result<(), async_unsafe_runtime::postgres::Error> {
        /// for row in client.query("SELECT id, name FROM users", &[])? {
        ///     let (id, name): (i32, &str) = (row.get(0), row.get(1));
        /// }
        /// # Ok(()) }
        /// ```
        fn query -> Vec<Row>;

        /// Runs a query that returns exactly one row, as
        /// `postgres::Client::query_one`.
        ///
        /// ```no_run
        /// # fn demo(client: &mut async_unsafe_runtime::postgres::Client) -> Result<(), async_unsafe_runtime::postgres::Error> {
        /// let count: i64 = client.query_one("SELECT count(*) FROM users", &[])?.get(0);
        /// # Ok(()) }
        /// ```
        fn query_one -> Row;

        /// Runs a query that returns zero or one row, as
        /// `postgres::Client::query_opt`.
        ///
        /// ```no_run
        /// # fn demo(client: &mut async_unsafe_runtime::postgres::Client) -> Result<(), async_unsafe_runtime::postgres::Error> {
        /// let name: Option<String> = client
        ///     .query_opt("SELECT name FROM users WHERE id = $1", &[&7_i32])?
        ///     .map(|row| row.get(0));
        /// # Ok(()) }
        /// ```
        fn query_opt -> Option<Row>;
    }

    /// Runs several statements separated by semicolons, as
    /// `postgres::Client::batch_execute`.
    ///
    /// ```no_run
    /// # fn demo(client: &mut async_unsafe_runtime::postgres::Client) -> Result<(), async_unsafe_runtime::postgres::Error> {
    /// client.batch_execute("CREATE TABLE t (id INT); INSERT INTO t VALUES (1);")?;
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn batch_execute(&mut self, query: &str) -> Result<(), Error> {
        Ok(self
            .client("postgres::Client::batch_execute")?
            .batch_execute(query)?)
    }

    /// Opens a transaction, as `postgres::Client::transaction`. The check runs
    /// here, once: the returned `postgres::Transaction` borrows the client, so
    /// it cannot leave the thread it was opened on.
    ///
    /// ```no_run
    /// # fn demo(client: &mut async_unsafe_runtime::postgres::Client) -> Result<(), async_unsafe_runtime::postgres::Error> {
    /// let mut tx = client.transaction()?;
    /// tx.execute("INSERT INTO t VALUES (2)", &[])?;
    /// tx.commit()?;
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn transaction(&mut self) -> Result<Transaction<'_>, Error> {
        Ok(self
            .client("postgres::Client::transaction")?
            .transaction()?)
    }

    /// The real client after the check for `function`, whose name the error
    /// carries instead of the type's.
    #[inline]
    #[track_caller]
    fn client(
        &mut self,
        function: &'static str,
    ) -> Result<&mut postgres::Client, SynchronousOnlyOperation> {
        check(function)?;
        Ok(self.inner.value_mut())
    }
}

impl fmt::Debug for Client {
    /// Shows no connection details, and does not touch the connection.
    ///
    /// ```no_run
    /// # fn demo(client: &async_unsafe_runtime::postgres::Client) {
    /// assert_eq!(format!("{client:?}"), "Client { .. }");
    /// # }
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}
