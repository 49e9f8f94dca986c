//! A process of its own for the detector's process-wide state (the panic hook,
//! the first probe, `detect_without_panics`), started by
//! `tests/tests/panic_hook.rs` with one scenario per run.
//!
//! Prints one `key=value` line per observation. The exit hooks exit with
//! status 3, so a probe panic reaching one is a failed run.

use std::panic::{self, AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};

use async_unsafe_runtime::detect_without_panics;
use tests::guarded;
use tokio::runtime::Runtime;
use tokio::task::coop::unconstrained;

/// A corner case only the probe sees: `unconstrained` in a multi-thread root.
fn probed_refusals(rt: &Runtime, times: usize) -> usize {
    (0..times)
        .filter(|_| rt.block_on(unconstrained(async { guarded().is_err() })))
        .count()
}

fn exit_hook() {
    panic::set_hook(Box::new(|info| {
        eprintln!("exit hook: {info}");
        std::process::exit(3);
    }));
}

/// The usual pattern: do something, then hand over to the previous hook.
fn chaining_hook(then_exit: bool) {
    static SEEN: AtomicUsize = AtomicUsize::new(0);
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if info.to_string().contains("within a runtime") {
            SEEN.fetch_add(1, Ordering::SeqCst);
            println!("seen={}", SEEN.load(Ordering::SeqCst));
        }
        previous(info);
        if then_exit {
            std::process::exit(3);
        }
    }));
}

/// Calls the guarded function while the thread unwinds.
struct CallsInDrop(&'static str);

impl Drop for CallsInDrop {
    fn drop(&mut self) {
        println!("{}={}", self.0, guarded().is_err());
    }
}

fn main() {
    let scenario = std::env::args()
        .nth(1)
        .expect("usage: detect_child SCENARIO");
    let rt = Runtime::new().unwrap();
    match scenario.as_str() {
        "exit_hook_first" => {
            exit_hook();
            println!("refused={}", probed_refusals(&rt, 5));
        }
        "chaining_exit_hook_first" => {
            chaining_hook(true);
            println!("refused={}", probed_refusals(&rt, 5));
        }
        "exit_hook_after_first_probe" => {
            println!("refused={}", probed_refusals(&rt, 1));
            exit_hook();
            println!("refused={}", probed_refusals(&rt, 5));
        }
        "chaining_hook_after_first_probe" => {
            println!("refused={}", probed_refusals(&rt, 1));
            chaining_hook(false);
            println!("refused={}", probed_refusals(&rt, 5));
        }
        "chaining_exit_hook_without_panics" => {
            detect_without_panics();
            chaining_hook(true);
            println!("refused={}", probed_refusals(&rt, 5));
            let at_root = rt.block_on(async { guarded().is_err() });
            println!("refused_at_root={at_root}");
        }
        "calls_while_unwinding" => {
            // The process's first probe would happen here, while the thread
            // unwinds: it must neither probe nor touch the hook.
            let _ = catch_unwind(AssertUnwindSafe(|| {
                rt.block_on(unconstrained(async {
                    let _call = CallsInDrop("refused_unwinding_in_corner_case");
                    panic!("outer panic");
                }))
            }));
            let _ = catch_unwind(AssertUnwindSafe(|| {
                rt.block_on(async {
                    let _call = CallsInDrop("refused_unwinding_at_root");
                    panic!("outer panic");
                })
            }));
            println!("refused={}", probed_refusals(&rt, 1));
        }
        other => panic!("unknown scenario {other}"),
    }
}
