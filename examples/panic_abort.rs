//! What the guard decides in a build with `panic = "abort"`, where it cannot
//! catch a panic: run by `tests/tests/panic_abort.rs` as
//! `cargo run --profile panic-abort -p examples --example panic_abort`.
//!
//! Prints one `context=answer` line per context and never aborts.

use async_unsafe_runtime::{SynchronousOnlyOperation, async_unsafe};

#[async_unsafe]
fn guarded() -> Result<(), SynchronousOnlyOperation> {
    Ok(())
}

/// Panics on a violation, so a wrong "yes" below would abort the process.
#[async_unsafe]
fn guarded_panics() {}

fn answer() -> &'static str {
    if guarded().is_err() {
        "refused"
    } else {
        "allowed"
    }
}

fn main() {
    println!(
        "panic_strategy={}",
        if cfg!(panic = "abort") {
            "abort"
        } else {
            "unwind"
        }
    );

    let mt = tokio::runtime::Runtime::new().unwrap();
    let ct = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();

    println!(
        "worker_task={}",
        mt.block_on(mt.spawn(async { answer() })).unwrap()
    );
    println!(
        "current_thread_task={}",
        ct.block_on(ct.spawn(async { answer() })).unwrap()
    );
    println!("current_thread_root={}", ct.block_on(async { answer() }));
    // Not detected in this build: asking tokio would need a caught panic.
    println!("multi_thread_root={}", mt.block_on(async { answer() }));

    let blocking = mt.block_on(mt.spawn_blocking(|| {
        guarded_panics();
        answer()
    }));
    println!("spawn_blocking={}", blocking.unwrap());
    let in_place = mt.block_on(mt.spawn(async {
        tokio::task::block_in_place(|| {
            guarded_panics();
            answer()
        })
    }));
    println!("block_in_place={}", in_place.unwrap());
    let _guard = mt.enter();
    guarded_panics();
    println!("enter_guard={}", answer());
    drop(_guard);
    guarded_panics();
    println!("plain_thread={}", answer());
}
