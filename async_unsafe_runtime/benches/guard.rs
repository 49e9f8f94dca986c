//! Cost of the injected check, each context measured against an unguarded twin
//! in the same run: `cargo bench -p async_unsafe_runtime --bench guard`.
//! Timings on a shared machine are noisy; compare each guarded figure with its
//! twin. The stable figure is `benches/instructions.rs` (callgrind).
//! Run both with `RUST_BACKTRACE` and `RUST_LIB_BACKTRACE` unset: otherwise
//! every refusal captures a backtrace (microseconds, not nanoseconds).
//!
//! `contention/*` run the calls on 1, 2 and 8 threads of one runtime at once
//! and report CPU time per call per thread (`CLOCK_THREAD_CPUTIME_ID`), so a shared cache line shows as growth with
//! the thread count even when the threads outnumber the cores.

use std::hint::black_box;
use std::time::{Duration, Instant};

use async_unsafe_runtime::{Override, set_override};
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::runtime::{Builder, Runtime};

#[path = "common/twins.rs"]
mod twins;

use twins::{Call, guarded, unguarded};
const TWINS: [(&str, Call); 2] = [("unguarded", unguarded), ("guarded", guarded)];

fn run(iters: u64, f: Call) -> Duration {
    let start = Instant::now();
    for i in 0..iters {
        let _ = black_box(f(black_box(i)));
    }
    start.elapsed()
}

/// This thread's CPU time so far.
fn thread_cpu() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0);
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

fn run_cpu(iters: u64, f: Call) -> Duration {
    let start = thread_cpu();
    for i in 0..iters {
        let _ = black_box(f(black_box(i)));
    }
    thread_cpu() - start
}

fn runtime(workers: usize) -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .unwrap()
}

fn contexts(c: &mut Criterion) {
    let rt = runtime(1);
    let mut g = c.benchmark_group("plain_thread");
    for (name, f) in TWINS {
        g.bench_function(name, |b| b.iter_custom(|n| run(n, f)));
    }
    g.finish();

    let mut g = c.benchmark_group("spawn_blocking");
    for (name, f) in TWINS {
        g.bench_function(name, |b| {
            b.iter_custom(|n| rt.block_on(rt.spawn_blocking(move || run(n, f))).unwrap())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("block_in_place");
    for (name, f) in TWINS {
        g.bench_function(name, |b| {
            b.iter_custom(|n| {
                rt.block_on(rt.spawn(async move { tokio::task::block_in_place(|| run(n, f)) }))
                    .unwrap()
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("bare_enter");
    for (name, f) in TWINS {
        g.bench_function(name, |b| {
            let _guard = rt.enter();
            b.iter_custom(|n| run(n, f))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("worker_task");
    for (name, f) in [("unguarded", unguarded as Call), ("violation_err", guarded)] {
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

    let mut g = c.benchmark_group("multi_thread_block_on_root");
    for (name, f) in [("unguarded", unguarded as Call), ("violation_err", guarded)] {
        g.bench_function(name, |b| {
            b.iter_custom(|n| rt.block_on(async { run(n, f) }))
        });
    }
    g.finish();
}

/// Mean CPU time per thread for `n` calls on each of `threads` threads that
/// share one runtime, each thread started by `spawn`.
fn per_thread_cpu(threads: usize, spawn: impl Fn() -> Duration + Sync) -> Duration {
    let total: Duration = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads).map(|_| s.spawn(&spawn)).collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    total / threads as u32
}

fn contention(c: &mut Criterion) {
    for threads in [1, 2, 8] {
        let rt = runtime(threads);
        let mut g = c.benchmark_group(format!("contention/{threads}_threads"));
        for (name, f) in TWINS {
            g.bench_function(format!("spawn_blocking/{name}"), |b| {
                b.iter_custom(|n| {
                    per_thread_cpu(threads, || {
                        rt.block_on(rt.spawn_blocking(move || run_cpu(n, f)))
                            .unwrap()
                    })
                })
            });
            g.bench_function(format!("block_in_place/{name}"), |b| {
                b.iter_custom(|n| {
                    per_thread_cpu(threads, || {
                        let task = async move { tokio::task::block_in_place(|| run_cpu(n, f)) };
                        rt.block_on(rt.spawn(task)).unwrap()
                    })
                })
            });
            g.bench_function(format!("bare_enter/{name}"), |b| {
                b.iter_custom(|n| {
                    per_thread_cpu(threads, || {
                        let _guard = rt.enter();
                        run_cpu(n, f)
                    })
                })
            });
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    targets = contexts, contention
}
criterion_main!(benches);
