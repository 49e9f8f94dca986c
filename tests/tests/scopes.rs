//! Scoped allowances and the capture helper: they let violations through for
//! one thread or one future only, whatever runs beside them.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use async_unsafe_runtime::{
    AllowGuard, Override, allow_in_future, allow_on_this_thread, capture_violations,
    capture_violations_in_future, check, set_override, sync_to_async,
};
use tests::{guarded, runtimes};
use tokio::runtime::Runtime;
use tokio::sync::Barrier;

/// Every test here asserts refusals: the guard on, whatever the environment
/// says (no test of this process turns it off).
fn multi_thread() -> Runtime {
    set_override(Override::Deny);
    runtimes::multi_thread_with_workers(4)
}

fn current_thread() -> Runtime {
    set_override(Override::Deny);
    runtimes::current_thread()
}

/// Calls [`guarded`] `times` times, yielding after each call; returns how
/// many calls were refused.
async fn refusals(times: usize) -> usize {
    let mut refused = 0;
    for _ in 0..times {
        refused += usize::from(guarded().is_err());
        tokio::task::yield_now().await;
    }
    refused
}

#[test]
fn allow_guard_is_not_send() {
    // Resolves only if exactly one impl applies, that is if the type is not Send.
    trait AmbiguousIfSend<A> {
        fn some_item() {}
    }
    impl<T: ?Sized> AmbiguousIfSend<()> for T {}
    impl<T: ?Sized + Send> AmbiguousIfSend<u8> for T {}
    <AllowGuard as AmbiguousIfSend<_>>::some_item();
}

#[test]
fn allow_on_this_thread_nests_and_leaves_other_threads_guarded() {
    let rt = current_thread();
    rt.block_on(async {
        assert!(guarded().is_err());
        let outer = allow_on_this_thread();
        let inner = allow_on_this_thread();
        assert!(guarded().is_ok());
        drop(inner);
        assert!(guarded().is_ok(), "the outer guard still allows");
        // Another thread, another runtime: still guarded.
        let elsewhere = std::thread::spawn(|| current_thread().block_on(async { guarded() }));
        assert!(elsewhere.join().unwrap().is_err());
        drop(outer);
        assert!(guarded().is_err());
    });
}

#[test]
fn allow_in_future_follows_the_future_across_await_points_and_threads() {
    let rt = multi_thread();
    // Many allowed tasks and many guarded ones share four workers, and hop
    // between them at every yield.
    let allowed: Vec<_> = (0..16)
        .map(|_| rt.spawn(allow_in_future(refusals(50))))
        .collect();
    let guarded_tasks: Vec<_> = (0..16).map(|_| rt.spawn(refusals(50))).collect();
    for task in allowed {
        assert_eq!(rt.block_on(task).unwrap(), 0);
    }
    for task in guarded_tasks {
        assert_eq!(rt.block_on(task).unwrap(), 50);
    }
}

#[test]
fn two_tasks_on_one_thread_one_allowed_one_not() {
    let rt = current_thread();
    let barrier = Arc::new(Barrier::new(2));
    let observations = rt.block_on(async {
        // Each task checks, then waits for the other, three times: their polls
        // interleave on the one thread.
        let run = |barrier: Arc<Barrier>| async move {
            let mut seen = Vec::new();
            for _ in 0..3 {
                seen.push((std::thread::current().id(), guarded().is_ok()));
                barrier.wait().await;
            }
            seen
        };
        let allowed = tokio::spawn(allow_in_future(run(barrier.clone())));
        let not_allowed = tokio::spawn(run(barrier.clone()));
        (allowed.await.unwrap(), not_allowed.await.unwrap())
    });
    let here = std::thread::current().id();
    assert_eq!(observations.0, [(here, true); 3]);
    assert_eq!(observations.1, [(here, false); 3]);
}

#[test]
fn allow_in_future_does_not_reach_spawned_tasks() {
    let rt = multi_thread();
    let (inside, spawned) = rt
        .block_on(rt.spawn(allow_in_future(async {
            let spawned = tokio::spawn(async { guarded().is_err() }).await.unwrap();
            (guarded().is_ok(), spawned)
        })))
        .unwrap();
    assert!(inside && spawned);
}

#[test]
fn capture_records_exactly_the_violations_in_order() {
    let rt = current_thread();
    let ((), violations) = rt.block_on(async {
        capture_violations(|| {
            guarded().unwrap();
            check("second").unwrap();
            guarded().unwrap();
        })
    });
    let names: Vec<_> = violations.iter().map(|v| v.function()).collect();
    assert_eq!(names, ["tests::guarded", "second", "tests::guarded"]);
    // `guarded`'s own location, and the caller's for `check`.
    let files: Vec<_> = violations.iter().map(|v| v.location().file()).collect();
    assert_eq!(files, ["tests/src/lib.rs", file!(), "tests/src/lib.rs"]);
    // Outside async code, and off the event loop, there is nothing to record.
    assert!(capture_violations(|| guarded().unwrap()).1.is_empty());
    let ((), violations) = rt.block_on(capture_violations_in_future(async {
        sync_to_async(|| guarded().unwrap()).await
    }));
    assert!(violations.is_empty());
    // And the guard is back afterwards.
    assert!(rt.block_on(async { guarded() }).is_err());
}

#[test]
fn captures_nest_take_precedence_and_survive_panics() {
    let rt = current_thread();
    rt.block_on(async {
        let _allowed = allow_on_this_thread();
        let (inner, outer) = capture_violations(|| {
            check("outer").unwrap();
            let ((), inner) = capture_violations(|| check("inner").unwrap());
            inner
        });
        assert_eq!(inner.len(), 1);
        assert_eq!(inner[0].function(), "inner");
        assert_eq!(outer.len(), 1);
        assert_eq!(outer[0].function(), "outer");
    });
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async { capture_violations(|| panic!("in the captured code")) })
    }));
    assert!(panicked.is_err());
    assert!(
        rt.block_on(async { guarded() }).is_err(),
        "the capture ended with the panic"
    );
}

#[test]
fn capture_in_future_follows_the_future_and_not_its_neighbours() {
    let rt = multi_thread();
    let neighbours: Vec<_> = (0..8).map(|_| rt.spawn(refusals(20))).collect();
    let captured = rt.spawn(capture_violations_in_future(async {
        for _ in 0..20 {
            guarded().unwrap();
            tokio::task::yield_now().await;
        }
    }));
    let ((), violations) = rt.block_on(captured).unwrap();
    assert_eq!(violations.len(), 20);
    for task in neighbours {
        assert_eq!(rt.block_on(task).unwrap(), 20);
    }
}
