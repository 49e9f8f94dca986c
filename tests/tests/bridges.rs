//! sync_to_async and async_to_sync, after asgiref's test_sync.py behaviours.
//! Every test runs under a deadline: a lane that never serves fails it.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};
use std::time::Duration;

use async_unsafe_runtime::{
    SynchronousOnlyOperation, async_to_sync, async_unsafe, is_async_context, sync_to_async,
    thread_sensitive_scope,
};
use tests::deadline::within;
use tests::panics::{Payload, payload_text, quiet_payload_panics};
use tests::runtimes::{WORKER_NAME, current_thread, multi_thread};
use tokio::runtime::Handle;

#[async_unsafe]
fn guarded(x: u32) -> Result<u32, SynchronousOnlyOperation> {
    Ok(x * 2)
}

#[test]
fn results_cross_sync_to_async_in_both_modes_and_flavors() {
    within(|| {
        for rt in [multi_thread(), current_thread()] {
            rt.block_on(async {
                assert_eq!(sync_to_async(|| guarded(21)).await.unwrap(), 42);
                assert_eq!(
                    sync_to_async(|| guarded(4))
                        .thread_sensitive()
                        .await
                        .unwrap(),
                    8
                );
                let text = String::from("moved in, moved out");
                assert_eq!(sync_to_async(move || text).await, "moved in, moved out");
            });
        }
    });
}

#[test]
fn guarded_fns_pass_in_sync_to_async_and_fail_directly_in_the_same_task() {
    within(|| {
        let rt = multi_thread();
        rt.block_on(rt.spawn(async {
            assert!(guarded(1).is_err());
            assert!(sync_to_async(|| guarded(1)).await.is_ok());
            assert!(
                sync_to_async(|| guarded(1))
                    .thread_sensitive()
                    .await
                    .is_ok()
            );
            assert!(!sync_to_async(is_async_context).await);
            assert!(guarded(1).is_err());
        }))
        .unwrap();
    });
}

#[test]
fn panics_cross_sync_to_async_with_their_payload() {
    within(|| {
        quiet_payload_panics();
        let rt = multi_thread();
        for sensitive in [false, true] {
            let task = rt.spawn(async move {
                let call = sync_to_async(|| -> u32 { std::panic::panic_any(Payload(7)) });
                if sensitive {
                    call.thread_sensitive().await
                } else {
                    call.await
                }
            });
            let err = rt.block_on(task).unwrap_err();
            let payload = err.into_panic().downcast::<Payload>().unwrap();
            assert_eq!(*payload, Payload(7), "thread_sensitive: {sensitive}");
        }
        // The thread-sensitive thread survives a panic.
        let after = rt.block_on(
            sync_to_async(|| 5)
                .thread_sensitive()
                .into_future_for_test(),
        );
        assert_eq!(after, 5);
    });
}

/// `IntoFuture` turned into a plain future, to hand to `block_on`.
trait IntoFutureForTest: std::future::IntoFuture + Sized {
    fn into_future_for_test(self) -> Self::IntoFuture {
        self.into_future()
    }
}
impl<T: std::future::IntoFuture> IntoFutureForTest for T {}

#[test]
fn results_and_panics_cross_async_to_sync() {
    within(|| {
        quiet_payload_panics();
        assert_eq!(async_to_sync(async { 40 + 2 }).unwrap(), 42);
        let borrowed = String::from("not Send, not 'static");
        let rc = std::rc::Rc::new(3);
        assert_eq!(async_to_sync(async { borrowed.len() + *rc }).unwrap(), 24);
        let caught =
            catch_unwind(|| async_to_sync(async { std::panic::panic_any::<u32>(Payload(9).0) }));
        assert_eq!(*caught.unwrap_err().downcast::<u32>().unwrap(), 9);
        let caught = catch_unwind(|| {
            async_to_sync(async {
                sync_to_async(|| {
                    std::panic::panic_any(Payload(3));
                })
                .await
            })
        });
        assert_eq!(
            *caught.unwrap_err().downcast::<Payload>().unwrap(),
            Payload(3)
        );
    });
}

#[test]
fn default_mode_runs_in_parallel() {
    // Eight calls that each wait for all eight: they finish only if they run
    // at the same time.
    within(|| {
        let rt = multi_thread();
        let all = Arc::new(std::sync::Barrier::new(8));
        rt.block_on(async {
            let calls: Vec<_> = (0..8)
                .map(|_| {
                    let all = all.clone();
                    tokio::spawn(async move { sync_to_async(move || all.wait()).await })
                })
                .collect();
            for call in calls {
                call.await.unwrap();
            }
        });
    });
}

#[test]
fn thread_sensitive_mode_is_one_thread_one_call_at_a_time() {
    within(|| {
        let rt = multi_thread();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads = Arc::new(Mutex::new(Vec::new()));
        rt.block_on(async {
            let calls: Vec<_> = (0..8)
                .map(|_| {
                    let (in_flight, most, threads) =
                        (in_flight.clone(), most.clone(), threads.clone());
                    tokio::spawn(async move {
                        sync_to_async(move || {
                            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            threads.lock().unwrap().push(thread::current().id());
                            thread::sleep(Duration::from_millis(10));
                            in_flight.fetch_sub(1, Ordering::SeqCst);
                        })
                        .thread_sensitive()
                        .await
                    })
                })
                .collect();
            for call in calls {
                call.await.unwrap();
            }
        });
        assert_eq!(most.load(Ordering::SeqCst), 1, "calls never overlapped");
        let threads = threads.lock().unwrap();
        assert_eq!(threads.len(), 8);
        assert!(threads.iter().all(|id| *id == threads[0]), "{threads:?}");
        assert_ne!(threads[0], thread::current().id());
    });
}

thread_local! {
    static MARK: Cell<u32> = const { Cell::new(0) };
}

fn round_trip(mark: u32) -> (ThreadId, u32) {
    MARK.set(mark);
    async_to_sync(async {
        sync_to_async(|| (thread::current().id(), MARK.get()))
            .thread_sensitive()
            .await
    })
    .unwrap()
}

#[test]
fn round_trip_runs_on_the_callers_thread() {
    within(|| {
        assert_eq!(round_trip(11), (thread::current().id(), 11));
        let rt = multi_thread();
        let (caller, seen) = rt
            .block_on(rt.spawn_blocking(|| (thread::current().id(), round_trip(12))))
            .unwrap();
        assert_eq!(seen, (caller, 12));
        // A current_thread runtime's blocking pool, and block_in_place on a worker.
        let rt = current_thread();
        let (caller, seen) = rt
            .block_on(rt.spawn_blocking(|| (thread::current().id(), round_trip(13))))
            .unwrap();
        assert_eq!(seen, (caller, 13));
        let rt = multi_thread();
        let (caller, seen) = rt
            .block_on(rt.spawn(async {
                tokio::task::block_in_place(|| (thread::current().id(), round_trip(14)))
            }))
            .unwrap();
        assert_eq!(seen, (caller, 14));
    });
}

#[test]
fn nesting_three_levels_deep_completes_on_the_callers_thread() {
    within(|| {
        let me = thread::current().id();
        MARK.set(3);
        let depth = async_to_sync(async {
            sync_to_async(move || {
                assert_eq!(thread::current().id(), me);
                async_to_sync(async {
                    sync_to_async(move || {
                        assert_eq!(thread::current().id(), me);
                        async_to_sync(async {
                            tokio::time::sleep(Duration::from_millis(1)).await;
                            sync_to_async(move || guarded(MARK.get()).unwrap())
                                .thread_sensitive()
                                .await
                        })
                        .unwrap()
                    })
                    .thread_sensitive()
                    .await
                })
                .unwrap()
            })
            .thread_sensitive()
            .await
        })
        .unwrap();
        assert_eq!(depth, 6);
    });
}

#[test]
fn async_to_sync_runs_on_the_runtime_of_the_blocking_pool() {
    within(|| {
        let rt = multi_thread();
        let outer = rt.handle().id();
        let (inner, spawned_on) = rt
            .block_on(rt.spawn_blocking(|| {
                async_to_sync(async {
                    let name = tokio::spawn(async { thread::current().name().map(String::from) });
                    (Handle::current().id(), name.await.unwrap())
                })
            }))
            .unwrap()
            .unwrap();
        assert_eq!(inner, outer);
        assert_eq!(spawned_on.as_deref(), Some(WORKER_NAME));

        // On a plain thread: the shared runtime, the same one every time.
        let shared = async_to_sync(async { Handle::current().id() }).unwrap();
        assert_ne!(shared, outer);
        assert_eq!(
            async_to_sync(async { Handle::current().id() }).unwrap(),
            shared
        );
        let name = async_to_sync(async {
            tokio::spawn(async { thread::current().name().map(String::from) })
                .await
                .unwrap()
        });
        assert_eq!(name.unwrap().as_deref(), Some("async-unsafe-bridge"));
    });
}

#[test]
fn async_to_sync_in_async_contexts_is_an_error_not_a_hang() {
    within(|| {
        let check = || {
            let err = async_to_sync(async { 1 }).unwrap_err();
            assert!(
                err.message().contains("just await the future directly"),
                "{err}"
            );
            assert_eq!(err.function(), "async_unsafe_runtime::async_to_sync");
            assert_eq!(err.location().file(), file!());
        };
        let rt = multi_thread();
        rt.block_on(async { check() });
        rt.block_on(rt.spawn(async move { check() })).unwrap();
        let rt = current_thread();
        rt.block_on(async { check() });
        rt.block_on(rt.spawn(async move { check() })).unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async {
            tokio::task::spawn_local(async move { check() })
                .await
                .unwrap()
        });
        // Still fine from block_in_place, which leaves the async context.
        let rt = multi_thread();
        let value =
            rt.block_on(rt.spawn(async {
                tokio::task::block_in_place(|| async_to_sync(async { 5 }).unwrap())
            }));
        assert_eq!(value.unwrap(), 5);
    });
}

#[test]
fn many_threads_call_async_to_sync_at_once() {
    within(|| {
        let done = AtomicUsize::new(0);
        thread::scope(|s| {
            for t in 0..16u64 {
                let done = &done;
                s.spawn(move || {
                    for i in 0..25u64 {
                        let out = async_to_sync(async move {
                            tokio::time::sleep(Duration::from_micros(100)).await;
                            sync_to_async(move || t * 1000 + i).thread_sensitive().await
                        });
                        assert_eq!(out.unwrap(), t * 1000 + i);
                        done.fetch_add(1, Ordering::SeqCst);
                    }
                });
            }
        });
        assert_eq!(done.load(Ordering::SeqCst), 16 * 25);
    });
}

#[test]
fn sync_to_async_outside_a_runtime_says_so() {
    within(|| {
        use std::future::Future;
        use std::task::{Context, Waker};

        let mut cx = Context::from_waker(Waker::noop());
        let mut fut = std::pin::pin!(sync_to_async(|| 1).into_future_for_test());
        let err = catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(&mut cx))).unwrap_err();
        let text = payload_text(&*err);
        assert!(text.contains("outside a tokio runtime"), "{text}");

        // The thread-sensitive mode needs no tokio runtime at all.
        let sensitive = sync_to_async(|| 2)
            .thread_sensitive()
            .into_future_for_test();
        assert_eq!(futures::executor::block_on(sensitive), 2);
    });
}

#[test]
fn a_call_cancelled_by_the_runtime_says_so_and_debug_shows_each_state() {
    within(|| {
        use std::future::Future;
        use std::task::{Context, Waker};

        let rt = multi_thread();
        let mut cx = Context::from_waker(Waker::noop());
        let (release, released) = std::sync::mpsc::channel::<()>();
        let mut call =
            Box::pin(sync_to_async(move || released.recv().unwrap()).into_future_for_test());
        let state = |call: &dyn std::fmt::Debug| format!("{call:?}");
        assert_eq!(
            state(&call),
            r#"SyncToAsyncFuture { state: "not started" }"#
        );
        {
            let _enter = rt.enter();
            assert!(call.as_mut().poll(&mut cx).is_pending());
        }
        assert_eq!(state(&call), r#"SyncToAsyncFuture { state: "running" }"#);
        release.send(()).unwrap();
        rt.block_on(call.as_mut());
        assert_eq!(state(&call), r#"SyncToAsyncFuture { state: "done" }"#);

        // Started on a runtime that has shut down: tokio cancels the call, which
        // is not a panic of the call's own.
        let handle = rt.handle().clone();
        rt.shutdown_background();
        let mut cancelled = Box::pin(sync_to_async(|| 2).into_future_for_test());
        let _enter = handle.enter();
        let err = catch_unwind(AssertUnwindSafe(|| cancelled.as_mut().poll(&mut cx))).unwrap_err();
        let text = payload_text(&*err);
        assert!(
            text.starts_with("sync_to_async: the runtime shut down before the call ran"),
            "{text}"
        );
    });
}

#[test]
fn a_long_wait_is_reported_on_standard_error_without_a_subscriber() {
    let out = tests::child::run(env!("CARGO_BIN_EXE_override_child"), &["wait_report"], []);
    assert_eq!(out.lines, ["done"]);
    let reports: Vec<&str> = out
        .stderr
        .lines()
        .filter(|line| line.starts_with("warning: a thread-sensitive call waited "))
        .collect();
    assert_eq!(reports.len(), 1, "{}", out.stderr);
    assert!(
        reports[0].contains("behind others on thread `async-unsafe-scope`: give"),
        "{}",
        out.stderr
    );
}

/// Polls `future` once, then drops it.
async fn start_then_drop<F: std::future::IntoFuture>(future: F) {
    let mut future = std::pin::pin!(future.into_future());
    std::future::poll_fn(|cx| {
        assert!(future.as_mut().poll(cx).is_pending());
        std::task::Poll::Ready(())
    })
    .await;
}

#[test]
fn dropping_before_the_first_poll_runs_nothing_and_a_started_call_completes() {
    within(|| {
        let ran = Arc::new(AtomicUsize::new(0));
        let rt = multi_thread();
        for sensitive in [false, true] {
            let (release, released) = std::sync::mpsc::channel::<()>();
            let (finished, done) = std::sync::mpsc::channel();
            rt.block_on(async {
                let r = ran.clone();
                drop(
                    sync_to_async(move || r.fetch_add(1, Ordering::SeqCst)).into_future_for_test(),
                );
                let r = ran.clone();
                drop(sync_to_async(move || r.fetch_add(1, Ordering::SeqCst)).thread_sensitive());
                // Started, then dropped while it waits: it still runs to the end.
                let r = ran.clone();
                let call = sync_to_async(move || {
                    released.recv().unwrap();
                    r.fetch_add(1, Ordering::SeqCst);
                    finished.send(()).unwrap();
                });
                if sensitive {
                    start_then_drop(call.thread_sensitive()).await;
                } else {
                    start_then_drop(call).await;
                }
            });
            release.send(()).unwrap();
            done.recv().unwrap();
        }
        assert_eq!(ran.load(Ordering::SeqCst), 2);
    });
}

#[test]
fn a_call_started_then_dropped_inside_async_to_sync_has_run_when_it_returns() {
    within(|| {
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        async_to_sync(async move {
            start_then_drop(
                sync_to_async(move || r.fetch_add(1, Ordering::SeqCst)).thread_sensitive(),
            )
            .await;
        })
        .unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    });
}

fn sensitive_thread() -> impl std::future::Future<Output = ThreadId> {
    sync_to_async(|| thread::current().id())
        .thread_sensitive()
        .into_future_for_test()
}

#[test]
fn scopes_run_in_parallel_each_on_one_thread_of_its_own() {
    within(|| {
        let rt = multi_thread();
        let shared = rt.block_on(sensitive_thread());
        // Two scopes whose calls each wait for the other's: they finish only
        // if the scopes run their calls at the same time.
        let both = Arc::new(std::sync::Barrier::new(2));
        let scope = |both: Arc<std::sync::Barrier>| {
            thread_sensitive_scope(async move {
                let first = sensitive_thread().await;
                sync_to_async(move || both.wait()).thread_sensitive().await;
                let last = sensitive_thread().await;
                assert_eq!(first, last, "one thread per scope");
                first
            })
        };
        let (a, b) = rt.block_on(async {
            let a = tokio::spawn(scope(both.clone()));
            let b = tokio::spawn(scope(both.clone()));
            (a.await.unwrap(), b.await.unwrap())
        });
        assert_ne!(a, b);
        assert!(a != shared && b != shared);
        // Outside a scope, the shared thread as before.
        assert_eq!(rt.block_on(sensitive_thread()), shared);
    });
}

#[test]
fn a_scope_inside_a_round_trip_and_a_round_trip_inside_a_scope() {
    within(|| {
        let me = thread::current().id();
        let (in_scope, back_home) = async_to_sync(async {
            let in_scope = thread_sensitive_scope(sensitive_thread()).await;
            (in_scope, sensitive_thread().await)
        })
        .unwrap();
        assert_ne!(in_scope, me);
        assert_eq!(back_home, me);

        let rt = multi_thread();
        let (scope_thread, round_trip) = rt.block_on(thread_sensitive_scope(async {
            let scope_thread = sensitive_thread().await;
            let round_trip = sync_to_async(|| async_to_sync(sensitive_thread()).unwrap())
                .thread_sensitive()
                .await;
            (scope_thread, round_trip)
        }));
        assert_eq!(scope_thread, round_trip);
    });
}

#[test]
fn a_task_spawned_inside_a_round_trip_does_not_deadlock_it() {
    // asgiref's classic: sync (on the thread-sensitive thread) -> async ->
    // a spawned task makes a thread-sensitive call, awaited by the round trip.
    within(|| {
        let rt = multi_thread();
        for scoped in [false, true] {
            let spawned_inside = async {
                sync_to_async(|| {
                    let outer = thread::current().id();
                    let spawned =
                        async_to_sync(async { tokio::spawn(sensitive_thread()).await.unwrap() })
                            .unwrap();
                    (outer, spawned)
                })
                .thread_sensitive()
                .await
            };
            let (outer, spawned) = if scoped {
                rt.block_on(thread_sensitive_scope(spawned_inside))
            } else {
                rt.block_on(spawned_inside)
            };
            let shared = rt.block_on(sensitive_thread());
            if scoped {
                // The spawned task's call went to the shared thread.
                assert_eq!(spawned, shared);
                assert_ne!(outer, shared);
            } else {
                // The shared thread served it while waiting in async_to_sync.
                assert_eq!((outer, spawned), (shared, shared));
            }
        }
    });
}

#[test]
fn a_call_addressed_to_its_own_busy_thread_runs_in_place() {
    // On the shared thread-sensitive thread, another executor's block_on makes
    // a thread-sensitive call: it would wait for itself.
    within(|| {
        let rt = multi_thread();
        let (outer, inner) = rt.block_on(
            sync_to_async(|| {
                let inner = futures::executor::block_on(sensitive_thread());
                (thread::current().id(), inner)
            })
            .thread_sensitive()
            .into_future_for_test(),
        );
        assert_eq!(outer, inner);
    });
}

thread_local! {
    static ON_EXIT: std::cell::RefCell<Option<OnExit>> = const { std::cell::RefCell::new(None) };
}

struct OnExit(std::sync::mpsc::Sender<()>);

impl Drop for OnExit {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

#[test]
fn a_scope_ends_without_joining_its_thread_which_then_exits() {
    within(|| {
        let rt = current_thread();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (exit_tx, exited) = std::sync::mpsc::channel();
        // The scope ends while its thread is still busy with a call: on a
        // current_thread runtime, joining it here would deadlock.
        rt.block_on(thread_sensitive_scope(async move {
            start_then_drop(
                sync_to_async(move || {
                    ON_EXIT.with(|e| *e.borrow_mut() = Some(OnExit(exit_tx)));
                    released.recv().unwrap();
                })
                .thread_sensitive(),
            )
            .await;
        }));
        release.send(()).unwrap();
        // Once its call is done and the scope gone, the thread ends.
        exited.recv().unwrap();
    });
}

#[test]
fn thread_sensitive_scope_is_send_and_spawnable() {
    within(|| {
        let rt = multi_thread();
        let task = rt.spawn(thread_sensitive_scope(async {
            sync_to_async(|| guarded(2))
                .thread_sensitive()
                .await
                .unwrap()
        }));
        assert_eq!(rt.block_on(task).unwrap(), 4);
    });
}
