//! The execution-context table: in every row our answer, a guarded call and
//! tokio's own answer (does starting a runtime here panic?) must agree.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

use async_unsafe_runtime::{SynchronousOnlyOperation, async_unsafe, is_async_context};
use tokio::runtime::{Builder, Handle, Runtime};
use tokio::task::LocalSet;

#[async_unsafe]
fn guarded() -> Result<(), SynchronousOnlyOperation> {
    Ok(())
}

#[async_unsafe]
fn guarded_panics() {}

#[derive(Debug, PartialEq)]
struct Answer {
    ours: bool,
    guarded_refused: bool,
    guarded_panicked: bool,
    tokio: bool,
}

/// tokio's judgement, asked directly: a fresh runtime's `block_on` panics with
/// "Cannot start a runtime from within a runtime" exactly where blocking is
/// forbidden.
fn tokio_says_async() -> bool {
    quiet_expected_panics();
    let rt = Builder::new_current_thread().build().unwrap();
    let panicked = catch_unwind(AssertUnwindSafe(|| rt.block_on(async {}))).is_err();
    rt.shutdown_background();
    panicked
}

fn observe() -> Answer {
    quiet_expected_panics();
    Answer {
        ours: is_async_context(),
        guarded_refused: guarded().is_err(),
        guarded_panicked: catch_unwind(guarded_panics).is_err(),
        tokio: tokio_says_async(),
    }
}

#[track_caller]
fn expect(answer: Answer, async_context: bool) {
    let want = Answer {
        ours: async_context,
        guarded_refused: async_context,
        guarded_panicked: async_context,
        tokio: async_context,
    };
    assert_eq!(answer, want);
}

/// Keeps the panics these tests provoke on purpose out of the output.
fn quiet_expected_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let text = info.to_string();
            if !(text.contains("Cannot start a runtime") || text.contains("async context")) {
                default(info);
            }
        }));
    });
}

fn multi_thread() -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn current_thread() -> Runtime {
    Builder::new_current_thread().enable_all().build().unwrap()
}

#[test]
fn plain_thread_is_not_async() {
    expect(observe(), false);
    expect(std::thread::spawn(observe).join().unwrap(), false);
}

#[test]
fn block_on_root_is_async() {
    expect(multi_thread().block_on(async { observe() }), true);
    expect(current_thread().block_on(async { observe() }), true);
}

#[tokio::main]
async fn tokio_main_body() -> Answer {
    observe()
}

#[test]
fn tokio_main_body_is_async() {
    expect(tokio_main_body(), true);
}

#[tokio::test(flavor = "multi_thread")]
async fn tokio_test_body_is_async() {
    expect(observe(), true);
}

#[test]
fn spawned_tasks_are_async() {
    let rt = multi_thread();
    expect(rt.block_on(rt.spawn(async { observe() })).unwrap(), true);
    let rt = current_thread();
    expect(rt.block_on(rt.spawn(async { observe() })).unwrap(), true);
}

#[test]
fn unconstrained_task_is_async() {
    let rt = multi_thread();
    let answer = rt.block_on(rt.spawn(tokio::task::unconstrained(async { observe() })));
    expect(answer.unwrap(), true);
}

#[test]
fn local_set_tasks_are_async() {
    for rt in [current_thread(), multi_thread()] {
        let local = LocalSet::new();
        let answer = local.block_on(&rt, async {
            tokio::task::spawn_local(async { observe() }).await.unwrap()
        });
        expect(answer, true);
        let answer = local.block_on(&rt, async { observe() });
        expect(answer, true);
    }
}

#[test]
fn spawn_blocking_is_not_async() {
    for rt in [multi_thread(), current_thread()] {
        expect(rt.block_on(rt.spawn_blocking(observe)).unwrap(), false);
        let nested =
            rt.block_on(rt.spawn_blocking(|| {
                Handle::current().block_on(tokio::task::spawn_blocking(observe))
            }));
        expect(nested.unwrap().unwrap(), false);
    }
}

#[test]
fn block_in_place_is_not_async() {
    let rt = multi_thread();
    let in_task = rt.block_on(rt.spawn(async { tokio::task::block_in_place(observe) }));
    expect(in_task.unwrap(), false);
    let in_root = rt.block_on(async { tokio::task::block_in_place(observe) });
    expect(in_root, false);
}

#[test]
fn block_on_inside_block_in_place_is_async_again() {
    let rt = multi_thread();
    let answer = rt.block_on(rt.spawn(async {
        tokio::task::block_in_place(|| Handle::current().block_on(async { observe() }))
    }));
    expect(answer.unwrap(), true);
}

#[test]
fn bare_enter_guard_is_not_async() {
    let rt = multi_thread();
    let _guard = rt.enter();
    expect(observe(), false);
    drop(_guard);
    let rt = current_thread();
    let _guard = rt.enter();
    expect(observe(), false);
}

#[test]
fn runtimes_started_in_blocking_threads_are_async() {
    let rt = multi_thread();
    let new_runtime =
        rt.block_on(rt.spawn_blocking(|| current_thread().block_on(async { observe() })));
    expect(new_runtime.unwrap(), true);
    let handle_block_on =
        rt.block_on(rt.spawn_blocking(|| Handle::current().block_on(async { observe() })));
    expect(handle_block_on.unwrap(), true);
}

#[test]
fn std_thread_from_worker_is_not_async() {
    let rt = multi_thread();
    let answer = rt.block_on(rt.spawn(async { std::thread::spawn(observe).join().unwrap() }));
    expect(answer.unwrap(), false);
}

#[test]
fn context_ends_with_the_runtime() {
    let rt = multi_thread();
    expect(rt.block_on(async { observe() }), true);
    drop(rt);
    expect(observe(), false);
    let rt = current_thread();
    expect(rt.block_on(async { observe() }), true);
    expect(observe(), false);
}
