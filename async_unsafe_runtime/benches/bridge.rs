//! The bridges against what they wrap. `cargo bench -p async_unsafe_runtime --bench bridge`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use async_unsafe_runtime::{async_to_sync, sync_to_async};
use criterion::{Criterion, criterion_group, criterion_main};

fn sync_to_async_vs_spawn_blocking(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut g = c.benchmark_group("sync_to_async");
    g.bench_function("bare_spawn_blocking", |b| {
        b.iter_custom(|n| {
            rt.block_on(async {
                let start = Instant::now();
                for i in 0..n {
                    black_box(
                        tokio::task::spawn_blocking(move || black_box(i))
                            .await
                            .unwrap(),
                    );
                }
                start.elapsed()
            })
        })
    });
    g.bench_function("default_mode", |b| {
        b.iter_custom(|n| {
            rt.block_on(async {
                let start = Instant::now();
                for i in 0..n {
                    black_box(sync_to_async(move || black_box(i)).await);
                }
                start.elapsed()
            })
        })
    });
    g.finish();
}

fn async_to_sync_vs_block_on(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let handle = rt.handle().clone();
    // Start the shared runtime outside the measurement.
    async_to_sync(async {}).unwrap();
    let mut g = c.benchmark_group("async_to_sync_ready_future");
    g.bench_function("handle_block_on", |b| {
        b.iter(|| handle.block_on(async { black_box(1) }))
    });
    g.bench_function("async_to_sync", |b| {
        b.iter(|| async_to_sync(async { black_box(1) }).unwrap())
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = sync_to_async_vs_spawn_blocking, async_to_sync_vs_block_on
}
criterion_main!(benches);
