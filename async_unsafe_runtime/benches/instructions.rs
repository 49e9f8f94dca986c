//! Instruction counts of a guarded call and its unguarded twin, for callgrind,
//! which counts the same on every run (unlike timings on a shared machine):
//!
//! ```sh
//! cargo bench -p async_unsafe_runtime --bench instructions --no-run
//! for c in plain spawn_blocking block_in_place bare_enter block_on_root worker_task; do
//!   for v in ${c}_unguarded ${c}_guarded; do
//!   valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     --toggle-collect='instructions::measure' \
//!     target/release/deps/instructions-* $v 2>&1 | grep Collected
//! done; done
//! ```
//!
//! Only `measure` (100 000 calls) is counted, so runtime start-up is not;
//! (guarded - unguarded) / 100 000 is the guard's cost per call. Unset
//! `RUST_BACKTRACE` first (`env -u RUST_BACKTRACE valgrind ...`), or each
//! refusal captures a backtrace.

use std::hint::black_box;

const CALLS: u64 = 100_000;

#[path = "common/twins.rs"]
mod twins;

use twins::{Call, guarded, unguarded};

#[inline(never)]
fn measure(f: Call) -> u64 {
    let mut ok = 0;
    for i in 0..CALLS {
        ok += u64::from(black_box(f)(black_box(i)).is_ok());
    }
    ok
}

fn in_place(rt: &tokio::runtime::Runtime, f: Call) -> u64 {
    rt.block_on(rt.spawn(async move { tokio::task::block_in_place(|| measure(f)) }))
        .unwrap()
}

fn in_enter(rt: &tokio::runtime::Runtime, f: Call) -> u64 {
    let _guard = rt.enter();
    measure(f)
}

fn in_task(rt: &tokio::runtime::Runtime, f: Call) -> u64 {
    rt.block_on(rt.spawn(async move { measure(f) })).unwrap()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    // Every variant pays the same warm-up, so only `measure` differs.
    let _ = rt.block_on(rt.spawn_blocking(|| (guarded(0), unguarded(0))));
    let _ = (guarded(0), unguarded(0));
    let variant = std::env::args().nth(1).unwrap_or_default();
    let ok = match variant.as_str() {
        "plain_unguarded" => measure(unguarded),
        "plain_guarded" => measure(guarded),
        "spawn_blocking_unguarded" => rt
            .block_on(rt.spawn_blocking(|| measure(unguarded)))
            .unwrap(),
        "spawn_blocking_guarded" => rt.block_on(rt.spawn_blocking(|| measure(guarded))).unwrap(),
        "block_in_place_unguarded" => in_place(&rt, unguarded),
        "block_in_place_guarded" => in_place(&rt, guarded),
        "bare_enter_unguarded" => in_enter(&rt, unguarded),
        "bare_enter_guarded" => in_enter(&rt, guarded),
        // Violations: every call is refused.
        "block_on_root_unguarded" => rt.block_on(async { measure(unguarded) }),
        "block_on_root_guarded" => rt.block_on(async { CALLS - measure(guarded) }),
        "worker_task_unguarded" => in_task(&rt, unguarded),
        "worker_task_guarded" => CALLS - in_task(&rt, guarded),
        // `cargo bench` runs every bench target: nothing to time here.
        _ => {
            return println!(
                "usage: instructions plain_guarded|plain_unguarded|spawn_blocking_guarded|spawn_blocking_unguarded"
            );
        }
    };
    assert_eq!(ok, CALLS, "{variant}: every call is allowed");
}
