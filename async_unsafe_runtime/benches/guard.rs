//! Cost of the injected check, each context measured against an unguarded twin
//! in the same run. `cargo bench -p async_unsafe_runtime --bench guard`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use async_unsafe_runtime::{Override, SynchronousOnlyOperation, async_unsafe, set_override};
use criterion::{Criterion, criterion_group, criterion_main};

#[inline(never)]
fn unguarded(x: u64) -> Result<u64, SynchronousOnlyOperation> {
    Ok(x.wrapping_mul(3))
}

#[async_unsafe]
#[inline(never)]
fn guarded(x: u64) -> Result<u64, SynchronousOnlyOperation> {
    Ok(x.wrapping_mul(3))
}

fn run(iters: u64, f: fn(u64) -> Result<u64, SynchronousOnlyOperation>) -> Duration {
    let start = Instant::now();
    for i in 0..iters {
        let _ = black_box(f(black_box(i)));
    }
    start.elapsed()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap()
}

fn contexts(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("plain_thread");
    g.bench_function("unguarded", |b| b.iter_custom(|n| run(n, unguarded)));
    g.bench_function("guarded", |b| b.iter_custom(|n| run(n, guarded)));
    g.finish();

    let mut g = c.benchmark_group("spawn_blocking");
    for (name, f) in [("unguarded", unguarded as fn(_) -> _), ("guarded", guarded)] {
        g.bench_function(name, |b| {
            b.iter_custom(|n| rt.block_on(rt.spawn_blocking(move || run(n, f))).unwrap())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("worker_task");
    for (name, f) in [
        ("unguarded", unguarded as fn(_) -> _),
        ("violation_err", guarded),
    ] {
        g.bench_function(name, |b| {
            b.iter_custom(|n| rt.block_on(rt.spawn(async move { run(n, f) })).unwrap())
        });
    }
    g.bench_function("override_on", |b| {
        set_override(Override::Allow);
        b.iter_custom(|n| {
            rt.block_on(rt.spawn(async move { run(n, guarded) }))
                .unwrap()
        });
        set_override(Override::FromEnv);
    });
    g.finish();

    let mut g = c.benchmark_group("block_on_root");
    g.bench_function("unguarded", |b| {
        b.iter_custom(|n| rt.block_on(async { run(n, unguarded) }))
    });
    g.bench_function("violation_err", |b| {
        b.iter_custom(|n| rt.block_on(async { run(n, guarded) }))
    });
    g.finish();
}

/// Two threads calling at once must not share a cache line on the fast path:
/// the wall time for `n` calls on each of two threads should match one thread's.
fn threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("plain_threads_guarded");
    for threads in [1, 2] {
        g.bench_function(format!("{threads}_threads"), |b| {
            b.iter_custom(|n| {
                let start = Instant::now();
                std::thread::scope(|s| {
                    for _ in 0..threads {
                        s.spawn(|| run(n, guarded));
                    }
                });
                start.elapsed()
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = contexts, threads
}
criterion_main!(benches);
