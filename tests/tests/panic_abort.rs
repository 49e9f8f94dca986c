//! The guard in a `panic = "abort"` build (the workspace's `panic-abort`
//! profile): over the whole context table it never aborts, and it agrees with
//! tokio everywhere but in the documented corner cases, where it answers "no".

use tests::contexts::{self, LeakCountingHook, MISSED_WITHOUT_PROBE};

#[test]
fn context_table_in_a_panic_abort_build() {
    let stdout = tests::cargo(
        [
            "run",
            "--quiet",
            "--profile",
            "panic-abort",
            "-p",
            "tests",
            "--bin",
            "panic_abort",
        ],
        "panic-abort",
    );
    let _quiet = LeakCountingHook::install();
    let mut want = vec!["panic_strategy=abort".to_string()];
    for (name, row) in contexts::rows::<bool>() {
        let detected = row(contexts::tokio_says_async) && !MISSED_WITHOUT_PROBE.contains(&name);
        want.push(format!("{name}={detected},{detected}"));
    }
    let got: Vec<&str> = stdout.lines().collect();
    assert_eq!(got, want);
    // The abort build still refuses at block_on roots, the most common mistake.
    assert!(got.contains(&"multi_thread block_on root=true,true"));
}
