//! Scopes: thread-sensitive scopes in parallel against the one shared thread,
//! and a violation let through by a scoped allowance against the process
//! override. `cargo bench -p async_unsafe_runtime --bench scopes`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use async_unsafe_runtime::{
    Override, allow_on_this_thread, check, set_override, sync_to_async, thread_sensitive_scope,
};
use criterion::{Criterion, criterion_group, criterion_main};

const SCOPES: usize = 8;
const CALLS: usize = 100;

/// One request: `CALLS` thread-sensitive calls of 1 ms each, one after the other.
async fn request() {
    for _ in 0..CALLS {
        sync_to_async(|| std::thread::sleep(Duration::from_millis(1)))
            .thread_sensitive()
            .await;
    }
}

/// `requests` requests at once, each in a scope or all on the shared thread.
fn requests(rt: &tokio::runtime::Runtime, requests: usize, scoped: bool) -> Duration {
    rt.block_on(async {
        let start = Instant::now();
        let tasks: Vec<_> = (0..requests)
            .map(|_| {
                if scoped {
                    tokio::spawn(thread_sensitive_scope(request()))
                } else {
                    tokio::spawn(async { request().await })
                }
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        start.elapsed()
    })
}

fn thread_sensitive_scopes(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut g = c.benchmark_group("thread_sensitive_8x100x1ms");
    g.sample_size(10);
    g.bench_function("one_scope", |b| {
        b.iter_custom(|n| (0..n).map(|_| requests(&rt, 1, true)).sum())
    });
    g.bench_function("eight_scopes", |b| {
        b.iter_custom(|n| (0..n).map(|_| requests(&rt, SCOPES, true)).sum())
    });
    g.bench_function("eight_unscoped_shared_thread", |b| {
        b.iter_custom(|n| (0..n).map(|_| requests(&rt, SCOPES, false)).sum())
    });
    g.finish();
}

fn allowances(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let violations = |n: u64| {
        let start = Instant::now();
        for _ in 0..n {
            let _ = black_box(check(black_box("bench::call")));
        }
        start.elapsed()
    };
    let mut g = c.benchmark_group("violation_let_through");
    g.bench_function("override_allow", |b| {
        set_override(Override::Allow);
        b.iter_custom(|n| rt.block_on(async { violations(n) }));
        set_override(Override::FromEnv);
    });
    g.bench_function("allow_on_this_thread", |b| {
        b.iter_custom(|n| {
            rt.block_on(async {
                let _allowed = allow_on_this_thread();
                violations(n)
            })
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = thread_sensitive_scopes, allowances
}
criterion_main!(benches);
