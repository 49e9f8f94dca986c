//! Crossing between sync and async code the right way, as asgiref's
//! `sync_to_async` and `async_to_sync` do for Django.
//!
//! - [`sync_to_async`](sync_to_async::sync_to_async): a closure on tokio's
//!   blocking pool, or on a thread-sensitive lane;
//! - [`async_to_sync`](async_to_sync::async_to_sync): a future from sync code,
//!   its thread serving the lane of calls addressed to it meanwhile;
//! - [`thread_sensitive`]: the lanes (one thread each, one call at a time),
//!   the routing of a call to one, and the scopes that give a request a lane
//!   of its own.

pub(crate) mod async_to_sync;
pub(crate) mod sync_to_async;
pub(crate) mod thread_sensitive;
