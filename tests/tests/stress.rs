//! Eight runtimes of both flavors at once, 10 000 tasks calling guarded
//! functions from every context, four blocking-pool threads per runtime
//! calling guarded functions in a loop meanwhile (the database-heavy service's
//! pattern), runtimes created and dropped around them, and plain threads
//! calling all along. Every call is classified; a single wrong
//! answer fails the test. Run with `--nocapture` to see the counts.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;

use async_unsafe_runtime::sync_to_async;
use tests::deadline::within;
use tests::guarded;
use tests::runtimes::{current_thread, multi_thread};
use tokio::runtime::Runtime;

const CONTEXTS: [&str; 10] = [
    "worker task",
    "current_thread task",
    "block_on root",
    "spawn_blocking",
    "sync_to_async",
    "sync_to_async thread_sensitive",
    "block_in_place",
    "plain thread",
    "after runtime dropped",
    "blocking thread loop",
];

struct Tally {
    calls: [AtomicU64; CONTEXTS.len()],
    wrong: [AtomicU64; CONTEXTS.len()],
}

static TALLY: Tally = Tally {
    calls: [const { AtomicU64::new(0) }; CONTEXTS.len()],
    wrong: [const { AtomicU64::new(0) }; CONTEXTS.len()],
};

/// Calls the guarded function and records whether its answer was the expected one.
fn call(context: usize, must_fail: bool) {
    let failed = guarded().is_err();
    TALLY.calls[context].fetch_add(1, Ordering::Relaxed);
    if failed != must_fail {
        TALLY.wrong[context].fetch_add(1, Ordering::Relaxed);
    }
}

const RUNTIMES: usize = 8;
const TASKS: usize = 10_000;
const ROUNDS: usize = 4;
const CHURN: usize = 200;
const BLOCKING_LOOPS: usize = 4;

fn runtime(i: usize) -> (Runtime, bool) {
    let multi = i.is_multiple_of(2);
    let rt = if multi {
        multi_thread()
    } else {
        current_thread()
    };
    (rt, multi)
}

async fn task(n: usize, multi: bool) {
    for round in 0..ROUNDS {
        call(if multi { 0 } else { 1 }, true);
        // n is spread over the runtimes; the runtime's own sequence picks the context.
        let k = n / RUNTIMES + round;
        context_switch(k, multi).await;
    }
}

async fn context_switch(k: usize, multi: bool) {
    match k % 8 {
        0 => tokio::task::spawn_blocking(|| call(3, false))
            .await
            .unwrap(),
        1 => sync_to_async(|| call(4, false)).await,
        2 if k % 32 == 2 => sync_to_async(|| call(5, false)).thread_sensitive().await,
        3 if multi => tokio::task::block_in_place(|| call(6, false)),
        _ => tokio::task::yield_now().await,
    }
}

#[test]
fn zero_misclassifications_under_load() {
    within(|| {
        let done = AtomicBool::new(false);
        thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    while !done.load(Ordering::Relaxed) {
                        call(7, false);
                        thread::yield_now();
                    }
                });
            }
            // Runtimes born and dropped while the others run; the thread that drove
            // one must be a plain thread again afterwards.
            s.spawn(|| {
                let mut i = 0;
                while i < CHURN || !done.load(Ordering::Relaxed) {
                    let (rt, _) = runtime(i);
                    rt.block_on(async {
                        call(2, true);
                        tokio::task::spawn_blocking(|| call(3, false))
                            .await
                            .unwrap();
                    });
                    drop(rt);
                    call(8, false);
                    i += 1;
                }
            });
            let drivers: Vec<_> = (0..RUNTIMES)
                .map(|i| {
                    s.spawn(move || {
                        let (rt, multi) = runtime(i);
                        rt.block_on(async {
                            let tasks_done = Arc::new(AtomicBool::new(false));
                            let loops: Vec<_> = (0..BLOCKING_LOOPS)
                                .map(|_| {
                                    let tasks_done = tasks_done.clone();
                                    tokio::task::spawn_blocking(move || {
                                        while !tasks_done.load(Ordering::Relaxed) {
                                            call(9, false);
                                            thread::yield_now();
                                        }
                                    })
                                })
                                .collect();
                            let mut tasks = tokio::task::JoinSet::new();
                            for n in (i..TASKS).step_by(RUNTIMES) {
                                tasks.spawn(task(n, multi));
                                if n.is_multiple_of(16) {
                                    call(2, true);
                                }
                            }
                            while let Some(result) = tasks.join_next().await {
                                result.unwrap();
                            }
                            tasks_done.store(true, Ordering::Relaxed);
                            for blocking in loops {
                                blocking.await.unwrap();
                            }
                        });
                    })
                })
                .collect();
            for driver in drivers {
                driver.join().unwrap();
            }
            done.store(true, Ordering::Relaxed);
        });

        println!("{:<32} {:>10} {:>6}", "context", "calls", "wrong");
        let mut wrong = 0;
        for (i, name) in CONTEXTS.iter().enumerate() {
            let (calls, bad) = (
                TALLY.calls[i].load(Ordering::Relaxed),
                TALLY.wrong[i].load(Ordering::Relaxed),
            );
            println!("{name:<32} {calls:>10} {bad:>6}");
            assert!(calls > 0, "no call was made from {name}");
            wrong += bad;
        }
        let tasks = TALLY.calls[0].load(Ordering::Relaxed) + TALLY.calls[1].load(Ordering::Relaxed);
        assert_eq!(
            tasks,
            (ROUNDS * TASKS) as u64,
            "every task made its direct calls"
        );
        assert!(TALLY.calls[8].load(Ordering::Relaxed) >= CHURN as u64);
        assert_eq!(wrong, 0, "misclassified calls");
    });
}
