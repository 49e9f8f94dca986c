//! Executors other than tokio: futures-executor (the `futures` feature), and
//! any executor that declares its threads with `enter_event_loop`.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use async_unsafe_runtime::{enter_event_loop, is_async_context, sync_to_async};
use futures::executor::{LocalPool, ThreadPool, block_on};
use futures::task::SpawnExt;
use tests::guarded;

/// Our answer, a guarded call, and futures-executor's own (may a new executor
/// start here?), which must all agree.
fn observe() -> (bool, bool, bool) {
    let futures_says = futures::executor::enter().is_err();
    (is_async_context(), guarded().is_err(), futures_says)
}

#[test]
fn futures_block_on_is_async() {
    assert_eq!(observe(), (false, false, false));
    assert_eq!(block_on(async { observe() }), (true, true, true));
    assert_eq!(
        observe(),
        (false, false, false),
        "nothing survives block_on"
    );
}

#[test]
fn local_pool_and_thread_pool_tasks_are_async() {
    let mut pool = LocalPool::new();
    assert_eq!(pool.run_until(async { observe() }), (true, true, true));

    let pool = ThreadPool::builder().pool_size(2).create().unwrap();
    let task = pool.spawn_with_handle(async { observe() }).unwrap();
    assert_eq!(block_on(task), (true, true, true));
}

#[test]
fn plain_thread_from_futures_block_on_is_not_async() {
    let answer = block_on(async { std::thread::spawn(observe).join().unwrap() });
    assert_eq!(answer, (false, false, false));
}

#[test]
fn thread_sensitive_sync_to_async_works_under_futures_block_on() {
    let (direct, bridged) = block_on(async {
        (
            guarded().is_err(),
            sync_to_async(guarded).thread_sensitive().await.is_ok(),
        )
    });
    assert!(direct && bridged);
}

/// A toy executor, as a game loop would have: it declares its thread while it
/// polls, and runs blocking work on a thread of its own.
fn game_loop<F: Future>(future: F) -> F::Output {
    let _loop = enter_event_loop();
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::yield_now();
    }
}

#[test]
fn declared_event_loop_is_async_for_its_scope_and_thread() {
    assert!(!is_async_context());
    let (inside, in_blocking_thread) = game_loop(async {
        let inside = guarded().is_err();
        let in_blocking_thread = std::thread::spawn(guarded).join().unwrap().is_ok();
        (inside, in_blocking_thread)
    });
    assert!(inside && in_blocking_thread);
    assert!(
        !is_async_context() && guarded().is_ok(),
        "the guard ended the declaration"
    );

    let outer = enter_event_loop();
    let inner = enter_event_loop();
    drop(inner);
    assert!(is_async_context(), "guards nest");
    drop(outer);
    assert!(!is_async_context());
}

#[test]
fn declared_event_loop_refuses_through_sync_to_async_too() {
    // Refused on the declared thread; thread-sensitive sync_to_async leaves it
    // for a thread of its own, where the call passes.
    let me = std::thread::current().id();
    let (direct, bridged, bridged_on) = game_loop(async {
        (
            guarded().is_err(),
            sync_to_async(guarded).thread_sensitive().await.is_ok(),
            sync_to_async(|| std::thread::current().id())
                .thread_sensitive()
                .await,
        )
    });
    assert!(direct, "the declared loop refuses a direct call");
    assert!(bridged, "the bridged call passes");
    assert_ne!(bridged_on, me);
}
