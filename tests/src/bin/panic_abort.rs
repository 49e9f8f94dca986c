//! The context table in a build with `panic = "abort"`, where detection cannot
//! catch a panic: run by `tests/tests/panic_abort.rs` as
//! `cargo run --profile panic-abort -p tests --bin panic_abort`.
//!
//! Prints `panic_strategy=abort`, then one `row=ours,refused` line per
//! context. A guarded function that panics is called wherever we answer "no",
//! so a wrong "yes" there would abort the process.

use async_unsafe_runtime::is_async_context;
use tests::{guarded, guarded_panics};

fn observe() -> (bool, bool) {
    let ours = is_async_context();
    let refused = guarded().is_err();
    if !refused {
        guarded_panics();
    }
    (ours, refused)
}

fn main() {
    let strategy = if cfg!(panic = "abort") {
        "abort"
    } else {
        "unwind"
    };
    println!("panic_strategy={strategy}");
    for (name, row) in tests::contexts::rows::<(bool, bool)>() {
        let (ours, refused) = row(observe);
        println!("{name}={ours},{refused}");
    }
}
