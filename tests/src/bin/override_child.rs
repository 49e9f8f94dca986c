//! A process of its own for the override tests: the environment variable is
//! read once per process and the switch is process-wide, so each scenario runs
//! here, started by `tests/override.rs` with the environment it needs.
//!
//! Prints one `key=value` line per observation on standard output.

use async_unsafe_runtime::{
    SynchronousOnlyOperation, allow_async_unsafe, async_unsafe, is_override_active,
    warn_async_unsafe,
};

#[async_unsafe]
fn guarded() -> Result<(), SynchronousOnlyOperation> {
    Ok(())
}

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
        "switch" => {
            println!("active={}", is_override_active());
            println!("refused={}", refused_in_task());
            allow_async_unsafe(true);
            println!("active={}", is_override_active());
            println!("refused={}", refused_in_task());
            println!("refused={}", refused_in_root());
            allow_async_unsafe(false);
            println!("active={}", is_override_active());
            println!("refused={}", refused_in_task());
        }
        "flood" => {
            warn_async_unsafe(true);
            println!("active={}", is_override_active());
            let rt = tokio::runtime::Runtime::new().unwrap();
            let refused =
                rt.block_on(rt.spawn(async { (0..1000).filter(|_| guarded().is_err()).count() }));
            println!("refused={}", refused.unwrap());
        }
        other => panic!("unknown scenario {other}"),
    }
}
