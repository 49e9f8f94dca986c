//! A process of its own for the override tests: the environment variable is
//! read once per process and the override is process-wide, so each scenario
//! runs here, started by `tests/override.rs` with the environment it needs.
//! Also for reports written to standard error, which only a parent can read
//! (`wait_report`, started by `tests/bridges.rs`).
//!
//! Prints one `key=value` line per observation on standard output.

use std::time::Duration;

use async_unsafe_runtime::{
    ALLOW_ENV, Override, current_override, is_override_active, set_override,
};
use tests::guarded;

fn refused_in_root() -> bool {
    // A multi-thread block_on root: the detector's most expensive path, where
    // it provokes and swallows a panic of tokio's.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async { guarded().is_err() })
}

fn refused_in_task() -> bool {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(rt.spawn(async { guarded().is_err() })).unwrap()
}

/// `n` violations in one task, and how many of them were refused.
fn violations(n: usize) -> usize {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(rt.spawn(async move { (0..n).filter(|_| guarded().is_err()).count() }))
        .unwrap()
}

fn main() {
    let scenario = std::env::args()
        .nth(1)
        .expect("usage: override_child SCENARIO");
    match scenario.as_str() {
        "env" => {
            println!("refused_in_root={}", refused_in_root());
            println!("refused_in_task={}", refused_in_task());
            println!("active={}", is_override_active());
        }
        "env_read_once" => {
            // The first question reads the environment; later changes to it
            // are not seen. Nothing else runs yet, so changing it is sound.
            let first = current_override();
            println!("override={first:?}");
            let flipped = if first == Override::Deny { "1" } else { "0" };
            // SAFETY: single-threaded here: no runtime or other thread exists yet.
            unsafe { std::env::set_var(ALLOW_ENV, flipped) };
            println!("override={:?}", current_override());
            println!("refused_in_task={}", refused_in_task());
        }
        "switch" => {
            println!("override={:?}", current_override());
            println!("refused={}", refused_in_task());
            set_override(Override::Allow);
            println!("override={:?}", current_override());
            println!("refused={}", refused_in_task());
            println!("refused={}", refused_in_root());
            set_override(Override::Deny);
            println!("override={:?}", current_override());
            println!("refused={}", refused_in_task());
            println!("refused={}", refused_in_root());
            set_override(Override::FromEnv);
            println!("override={:?}", current_override());
            println!("refused={}", refused_in_task());
        }
        "flood" => {
            // Reports in warn mode: every violation is either reported or
            // counted, and the count rides on a later report.
            set_override(Override::Warn);
            println!("active={}", is_override_active());
            println!("refused={}", violations(1000));
            // Into the limiter's next one-second bucket: the next report goes
            // out and carries everything suppressed so far.
            std::thread::sleep(Duration::from_millis(1100));
            println!("refused={}", violations(1));
        }
        "backtrace" => {
            // Captured per RUST_BACKTRACE / RUST_LIB_BACKTRACE, shared by clones.
            let rt = tokio::runtime::Runtime::new().unwrap();
            let err = rt
                .block_on(rt.spawn(async { guarded() }))
                .unwrap()
                .unwrap_err();
            let clone = err.clone();
            println!("status={:?}", err.backtrace().status());
            println!(
                "shared={}",
                std::ptr::eq(err.backtrace(), clone.backtrace())
            );
            println!(
                "names_caller={}",
                err.backtrace().to_string().contains("tests::guarded")
            );
        }
        "wait_report" => {
            // A thread-sensitive call queued behind one that takes 50 ms,
            // with a 10 ms limit and no tracing subscriber.
            async_unsafe_runtime::set_thread_sensitive_wait_limit(Duration::from_millis(10));
            let (release, released) = std::sync::mpsc::channel::<()>();
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async_unsafe_runtime::thread_sensitive_scope(async move {
                let first = async_unsafe_runtime::sync_to_async(move || released.recv().unwrap())
                    .thread_sensitive();
                let behind = async_unsafe_runtime::sync_to_async(|| ()).thread_sensitive();
                // Both are queued before the first is released.
                tokio::join!(first, behind, async {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    release.send(()).unwrap();
                });
            }));
            println!("done");
        }
        other => panic!("unknown scenario {other}"),
    }
}
