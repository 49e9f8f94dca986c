//! The tokio runtimes the tests build, and the contexts a guarded call must
//! refuse in, in one place so that every test file builds them alike.

use std::sync::Arc;

use tokio::runtime::{Builder, Runtime};
use tokio::task::LocalSet;

/// The name of the worker threads of [`multi_thread`]'s runtimes, so a test
/// can tell them from another runtime's threads.
pub const WORKER_NAME: &str = "tests-multi-thread";

/// A multi-thread runtime with two workers named [`WORKER_NAME`].
pub fn multi_thread() -> Runtime {
    multi_thread_with_workers(2)
}

/// A multi-thread runtime with `workers` workers named [`WORKER_NAME`].
pub fn multi_thread_with_workers(workers: usize) -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name(WORKER_NAME)
        .enable_all()
        .build()
        .unwrap()
}

/// A current_thread runtime.
pub fn current_thread() -> Runtime {
    Builder::new_current_thread().enable_all().build().unwrap()
}

/// Runs `f` as the root future of a fresh current_thread runtime: an async
/// context.
pub fn in_async<R>(f: impl FnOnce() -> R) -> R {
    current_thread().block_on(async { f() })
}

/// Runs `f` once in each async context a guarded call must refuse: a task
/// on a multi-thread worker, a multi-thread `block_on` root, and a `LocalSet`
/// task on a current_thread runtime. `f` gets the context's name.
pub fn in_each_async_context(f: impl Fn(&'static str) + Send + Sync + 'static) {
    let f = Arc::new(f);
    let rt = multi_thread();
    let task = Arc::clone(&f);
    rt.block_on(rt.spawn(async move { task("task") })).unwrap();
    rt.block_on(async { f("multi-thread root") });
    let in_local = Arc::clone(&f);
    LocalSet::new()
        .block_on(&current_thread(), async move {
            tokio::task::spawn_local(async move { in_local("LocalSet task") }).await
        })
        .unwrap();
}
